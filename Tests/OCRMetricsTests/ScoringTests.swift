import XCTest
@testable import OCRMetrics

final class ScoringTests: XCTestCase {
    private func parse(_ text: String, file: String = "preds.jsonl") throws -> [ScoreRecord] {
        try ScoreInput.parse(Data(text.utf8), file: file)
    }

    // MARK: JSONL input

    func testParsesTextRecords() throws {
        let input = "\u{FEFF}{\"id\": \"a\", \"reference\": \"x\", \"prediction\": \"y\"}\r\n"
            + "\n"
            + "{\"id\": 7, \"reference\": \"e\\u0301\", \"prediction\": null}\n"
            + "   \n"
            + "{\"reference\": \"z\", \"prediction\": \"z\", \"extra\": [1, 2]}"
        let records = try parse(input)
        XCTAssertEqual(records, [
            .text(TextPair(id: "a", reference: "x", prediction: "y")),
            .text(TextPair(id: "7", reference: "e\u{301}", prediction: "")),
            .text(TextPair(id: nil, reference: "z", prediction: "z")),
        ])
        // The decoder keeps code points as written (no normalization).
        if case let .text(pair) = records[1] { XCTAssertEqual(pair.reference.unicodeScalars.count, 2) }
    }

    func testBadLineNamesFileAndLine() {
        let input = "{\"reference\": \"a\", \"prediction\": \"b\"}\n\n{\"reference\": \"a\", \"prediction\": \n"
        XCTAssertThrowsError(try parse(input, file: "run/preds.jsonl")) { error in
            XCTAssertEqual(error as? ScoreInputError, .badLine(file: "run/preds.jsonl", line: 3, reason: "invalid JSON"))
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "run/preds.jsonl:3: invalid JSON")
        }
        XCTAssertThrowsError(try parse("{\"reference\": \"a\"}\n")) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "preds.jsonl:1: missing key \"prediction\"")
        }
        XCTAssertThrowsError(try parse("{\"prediction\": \"a\"}\n")) { error in
            XCTAssertEqual((error as? LocalizedError)?.errorDescription, "preds.jsonl:1: missing key \"reference\"")
        }
        XCTAssertThrowsError(try parse("{\"reference\": 5, \"prediction\": \"a\"}\n")) { error in
            guard case let .badLine(_, line, _)? = error as? ScoreInputError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 1)
        }
        XCTAssertThrowsError(try parse("[1, 2]\n")) { error in
            guard case .badLine(_, 1, _)? = error as? ScoreInputError else { return XCTFail("\(error)") }
        }
    }

    func testFieldRecordsAndMixedKinds() throws {
        let input = "{\"reference\": {\"total\": \"12.50\", \"vat\": null}, \"prediction\": {\"total\": \"12.50\"}}\n"
        let records = try parse(input)
        XCTAssertEqual(records, [.fields(FieldPair(reference: ["total": "12.50"], prediction: ["total": "12.50"]))])
        let mixed = input + "{\"reference\": \"a\", \"prediction\": \"b\"}\n"
        XCTAssertThrowsError(try parse(mixed)) { error in
            XCTAssertEqual(error as? ScoreInputError, .mixedRecordKinds(file: "preds.jsonl", line: 2))
        }
        XCTAssertThrowsError(try parse("{\"reference\": \"a\", \"prediction\": {\"k\": \"v\"}}\n"))
    }

    func testUnreadableAndEmptyFiles() throws {
        XCTAssertThrowsError(try ScoreJob.run(path: "/nonexistent/preds.jsonl", configuration: ScoreConfiguration())) { error in
            guard case .unreadable(let file, _)? = error as? ScoreInputError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/nonexistent/preds.jsonl")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrmetrics-empty-\(UUID()).jsonl")
        try Data("\n\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try ScoreJob.run(path: url.path, configuration: ScoreConfiguration())) { error in
            XCTAssertEqual(error as? ScoreInputError, .noRecords(file: url.path))
        }
    }

    // MARK: Report

    func testReportJSONKeysAndOptionsEcho() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrmetrics-\(UUID()).jsonl")
        try Data("""
            {"id": "1", "reference": "hello world", "prediction": "helo world"}
            {"id": "2", "reference": "x^{2}", "prediction": "x^2"}
            """.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let configuration = ScoreConfiguration(options: MetricOptions(ignoreCase: true), latex: true, errors: 5)
        let report = try ScoreJob.run(path: url.path, configuration: configuration)
        let json = try report.jsonString()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in ["cer", "wer", "ned", "exact_match", "char_precision", "char_recall", "char_f1", "count",
                    "cer_mean", "cer_median", "wer_mean", "wer_median", "bleu", "options", "errors", "latex"] {
            XCTAssertNotNil(object[key], "missing \(key)")
        }
        XCTAssertEqual(object["count"] as? Int, 2)
        let options = try XCTUnwrap(object["options"] as? [String: Any])
        XCTAssertEqual(options["unit"] as? String, "grapheme")
        XCTAssertEqual(options["normalization"] as? String, "nfc")
        XCTAssertEqual(options["ignore_case"] as? Bool, true)
        XCTAssertEqual(options["errors"] as? Int, 5)
        XCTAssertEqual(options["latex"] as? Bool, true)
        // Keys are sorted: "bleu" is the first key.
        XCTAssertTrue(json.hasPrefix("{\n  \"bleu\""), json)
        // "hello world"→"helo world": 1/11; "x^{2}"→"x^2": 2/5 → micro 3/16
        XCTAssertEqual(report.text?.cer ?? -1, 3.0 / 16.0, accuracy: 1e-12)
        // LaTeX-aware: "hello world" is 10 letter tokens (1 deleted), "x^{2}" and "x^2"
        // both normalize to [x ^ 2] → 1 edit / 13 tokens, and 1 of 2 samples exact.
        XCTAssertEqual(report.latex?.tokenErrorRate ?? -1, 1.0 / 13.0, accuracy: 1e-12)
        XCTAssertEqual(report.latex?.exactMatch, 0.5)
        // The report round-trips through Codable.
        let decoded = try JSONDecoder().decode(ScoreReport.self, from: Data(json.utf8))
        XCTAssertEqual(decoded, report)
    }

    func testFieldReport() throws {
        let records: [ScoreRecord] = [.fields(FieldPair(reference: ["a": "X"], prediction: ["a": "x"]))]
        let report = ScoreJob.run(records: records, configuration: ScoreConfiguration())
        XCTAssertNil(report.text)
        XCTAssertEqual(report.fields?.exact.f1, 0)
        XCTAssertEqual(report.fields?.normalized.f1, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try report.jsonString().utf8)) as? [String: Any])
        XCTAssertEqual(object["count"] as? Int, 1)
        XCTAssertNotNil(object["fields"])
        XCTAssertNil(object["cer"])
    }

    // MARK: Error analysis

    func testErrorAnalysis() {
        // 一二三→二二三: sub 一→二; 一x→一y: sub x→y; abc→ab: delete c; ab→abz: insert z
        let pairs = [("一二三", "二二三"), ("一x", "一y"), ("abc", "ab"), ("ab", "abz")]
        var scorer = TextScorer()
        var analyzer = ErrorAnalyzer(topN: 10)
        for (reference, prediction) in pairs {
            analyzer.add(reference: scorer.prepare(reference).characters, prediction: scorer.prepare(prediction).characters)
        }
        let report = analyzer.report(vocabulary: scorer.preprocessor.characterVocabulary)
        XCTAssertEqual(report.confusions, [
            ConfusionPair(reference: "x", prediction: "y", count: 1),  // ties in code point order: x < 一
            ConfusionPair(reference: "一", prediction: "二", count: 1),
        ])
        XCTAssertEqual(report.deletions, [UnitCount(unit: "c", count: 1)])
        XCTAssertEqual(report.insertions, [UnitCount(unit: "z", count: 1)])
        // 一 is missed once but recognized in "一x", so only c and x were never recognized.
        XCTAssertEqual(report.neverRecognized, [UnitCount(unit: "c", count: 1), UnitCount(unit: "x", count: 1)])
        XCTAssertEqual(report.neverRecognizedCount, 2)
        XCTAssertEqual(report.substitutionCount + report.insertionCount + report.deletionCount, 4)
        // All references have 2–3 units → one bucket "1-10": 4 edits / 10 units
        XCTAssertEqual(report.cerByLength.count, 1)
        XCTAssertEqual(report.cerByLength[0].label, "1-10")
        XCTAssertEqual(report.cerByLength[0].cer, 0.4, accuracy: 1e-12)
        // mean of 1/3, 1/2, 1/3, 1/2
        XCTAssertEqual(report.cerByLength[0].cerMean, (1.0 / 3 + 0.5 + 1.0 / 3 + 0.5) / 4, accuracy: 1e-12)
    }

    func testErrorAnalysisTopNAndGraphemes() {
        var scorer = TextScorer()
        var analyzer = ErrorAnalyzer(topN: 1)
        for (reference, prediction) in [("👍🏽a", "👍a"), ("👍🏽b", "👍b"), ("c", "d"), ("", "")] {
            analyzer.add(reference: scorer.prepare(reference).characters, prediction: scorer.prepare(prediction).characters)
        }
        let report = analyzer.report(vocabulary: scorer.preprocessor.characterVocabulary)
        XCTAssertEqual(report.confusions, [ConfusionPair(reference: "👍🏽", prediction: "👍", count: 2)])
        XCTAssertEqual(report.cerByLength.map(\.label), ["0", "1-10"])
    }
}
