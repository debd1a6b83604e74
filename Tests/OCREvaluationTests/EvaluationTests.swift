// Scoring, external predictions, run folders and the bootstrap comparison.

import Foundation
import OCREvaluation
import OCRImaging
import XCTest

final class StubRecognizer: TextRecognizer {
    let name = "stub"
    let preferredBatchSize = 2
    var calls = 0
    /// The image widths of each call.
    var batches: [[Int]] = []
    /// Reads the text "stored" in an image's width (a fixed table).
    let table: [Int: String]
    init(_ table: [Int: String]) { self.table = table }
    func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        calls += 1
        batches.append(images.map(\.width))
        return images.map { table[$0.width] ?? "" }
    }
}

func tempDir() -> String {
    let path = NSTemporaryDirectory() + "ocrtune-eval-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

final class EvaluationTests: XCTestCase {
    func testRecognizerRunIsBatchedAndScored() throws {
        let samples = (1 ... 5).map { i in
            EvalSample(id: "s\(i)", reference: ["一二三", "abc", "xyz", "hello", "二"][i - 1]) { RGBImage(width: i, height: 1) }
        }
        let recognizer = StubRecognizer([1: "二二三", 2: "abc", 3: "xy", 4: "hello!", 5: "二"])
        var progress: [Int] = []
        let result = try Evaluator.run(recognizer: recognizer, samples: samples) { progress.append($0.done) }
        XCTAssertEqual(recognizer.calls, 3)
        XCTAssertEqual(progress, [2, 4, 5])
        // edits: 1 + 0 + 1 + 1 + 0 = 3 over 3+3+3+5+1 = 15 reference characters.
        XCTAssertEqual(result.report.text!.cer, 3.0 / 15, accuracy: 1e-12)
        XCTAssertEqual(result.records.map(\.exactMatch), [false, true, false, false, true])
        XCTAssertEqual(result.records[0].cer, 1.0 / 3, accuracy: 1e-12)
        XCTAssertNotNil(result.records[0].latencyMs)
        let confusion = result.report.errors!.confusions.first!
        XCTAssertEqual([confusion.reference, confusion.prediction], ["一", "二"])
    }

    /// Batches are cut from all samples sorted by aspect ratio, as PaddleOCR and RapidOCR cut
    /// theirs (#18): a line batched with a much wider one is padded, and the padding changes what
    /// a CTC network reads. Predictions come back in the samples' order.
    func testBatchesAreCutFromSamplesSortedByAspectRatio() throws {
        let widths = [300, 90, 250, 100, 280, 95]
        let samples = widths.enumerated().map { i, w in
            EvalSample(id: "s\(i)", reference: "t\(w)", width: w, height: 10) { RGBImage(width: w, height: 10) }
        }
        let recognizer = StubRecognizer(Dictionary(uniqueKeysWithValues: widths.map { ($0, "t\($0)") }))
        let result = try Evaluator.run(recognizer: recognizer, samples: samples)
        XCTAssertEqual(recognizer.batches, [[90, 95], [100, 250], [280, 300]])
        XCTAssertEqual(result.records.map(\.id), samples.map(\.id))
        XCTAssertEqual(result.records.map(\.prediction), widths.map { "t\($0)" })
        XCTAssertEqual(Evaluator.readingOrder(samples), [1, 5, 3, 2, 4, 0])
    }

    func testReportShowsCodePointsOfConfusionsAndNoEmptyWorstTable() throws {
        let samples = [EvalSample(id: "a", reference: "好，"), EvalSample(id: "b", reference: "ok")]
        let result = Evaluator.score(samples: samples, predictions: ["好,", "ok"])
        let html = HTMLReport.render(result, info: RunInfo(model: "m", data: nil, split: nil), options: EvaluationOptions())
        XCTAssertTrue(html.contains("U+FF0C"), "the full-width comma is named")
        XCTAssertTrue(html.contains("U+002C"))
        let exact = Evaluator.score(samples: samples, predictions: ["好，", "ok"])
        let clean = HTMLReport.render(exact, info: RunInfo(model: "m", data: nil, split: nil), options: EvaluationOptions())
        XCTAssertTrue(clean.contains("Every sample is read exactly."))
        XCTAssertFalse(clean.contains("Worst samples (0)"))
    }

    func testExternalPredictionsNeedReferencesOrData() throws {
        let dir = tempDir()
        let file = dir + "/preds.jsonl"
        try Data("{\"id\": \"a\", \"reference\": \"cat\", \"prediction\": \"cot\"}\n{\"id\": \"b\", \"prediction\": \"dog\"}\n".utf8).write(to: URL(fileURLWithPath: file))
        let lines = try ExternalPredictions.read(path: file)
        XCTAssertThrowsError(try Evaluator.external(lines, samples: nil, file: file)) { error in
            XCTAssertTrue("\(error)".contains("\"b\" has no \"reference\""), "\(error)")
        }
        let samples = [EvalSample(id: "b", reference: "dog"), EvalSample(id: "a", reference: "cat")]
        let (joined, predictions) = try Evaluator.external(lines, samples: samples, file: file)
        XCTAssertEqual(joined.map(\.id), ["b", "a"])
        XCTAssertEqual(predictions, ["dog", "cot"])
        XCTAssertThrowsError(try Evaluator.external(lines, samples: [EvalSample(id: "zzz", reference: "q")], file: file)) { error in
            XCTAssertTrue("\(error)".contains("zzz"), "\(error)")
        }
    }

    func testBadPredictionLinesNameFileAndLine() throws {
        let file = tempDir() + "/bad.jsonl"
        try Data("{\"id\": \"a\", \"prediction\": \"x\"}\n\nnot json\n".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try ExternalPredictions.read(path: file)) { error in
            XCTAssertEqual((error as? PredictionFileError)?.line, 3)
        }
    }

    func testRunFolderIsWrittenCompleteOrNotAtAll() throws {
        let samples = (0 ..< 4).map { EvalSample(id: "\($0)", reference: "abcd") }
        let result = Evaluator.score(samples: samples, predictions: ["abcd", "abed", "", "abcde"])
        let run = tempDir() + "/run"
        try RunFolder.write(result, info: RunInfo(model: "m"), options: EvaluationOptions(), to: run)
        let names = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        XCTAssertEqual(names, ["metrics.json", "predictions.jsonl", "report.html"])
        let records = try RunFolder.readPredictions(run: run)
        XCTAssertEqual(records.map(\.characterEdits), [0, 1, 4, 1])
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/metrics.json"))) as! [String: Any]
        XCTAssertEqual(metrics["cer"] as! Double, 6.0 / 16, accuracy: 1e-12)
        for key in ["wer", "ned", "exact_match", "char_precision", "char_recall", "char_f1", "run"] {
            XCTAssertNotNil(metrics[key], key)
        }
        XCTAssertEqual(RunFolder.readInfo(run: run)?.model, "m")
        // No temporary folders are left beside the run.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (run as NSString).deletingLastPathComponent)
        XCTAssertEqual(siblings, ["run"])
    }

    func testCERByImageWidthBuckets() {
        let samples = [EvalSample(id: "a", reference: "abcd", width: 40), EvalSample(id: "b", reference: "abcd", width: 50),
                       EvalSample(id: "c", reference: "ab", width: 300), EvalSample(id: "d", reference: "ab")]
        let result = Evaluator.score(samples: samples, predictions: ["abcd", "abxx", "a", "zz"])
        let rows = HTMLReport.cerByWidth(result)
        XCTAssertEqual(rows.map(\.label), ["0–63 px", "256–511 px"])
        XCTAssertEqual(rows.map(\.count), [2, 1])
        XCTAssertEqual(rows[0].cer, 2.0 / 8, accuracy: 1e-12)  // 0 + 2 edits over 4 + 4 characters
        XCTAssertEqual(rows[1].cer, 0.5, accuracy: 1e-12)
    }

    func testWorstSamplesAreThoseWithErrorsHighestCERFirst() {
        let samples = (0 ..< 5).map { EvalSample(id: "\($0)", reference: "abcd") }
        let result = Evaluator.score(samples: samples, predictions: ["abcd", "xbcd", "xxcd", "abcd", "xxxx"])
        XCTAssertEqual(HTMLReport.worstRecordIndices(result.records, limit: 10), [4, 2, 1])
        XCTAssertEqual(HTMLReport.worstRecordIndices(result.records, limit: 2), [4, 2])
    }
}

final class ComparisonTests: XCTestCase {
    private func records(_ predictions: [String], references: [String]) -> [PredictionRecord] {
        let samples = references.enumerated().map { EvalSample(id: "\($0.offset)", reference: $0.element) }
        return Evaluator.score(samples: samples, predictions: predictions).records
    }

    func testIdenticalRunsHaveZeroDeltaAndInterval() throws {
        let refs = ["abc", "def", "ghi", "jkl"]
        let a = records(["abc", "dex", "ghi", "j"], references: refs)
        let c = try Comparison.compare(a, a, resamples: 200)
        for m in c.metrics {
            XCTAssertEqual(m.delta, 0)
            XCTAssertEqual(m.low, 0)
            XCTAssertEqual(m.high, 0)
        }
        XCTAssertTrue(c.fixed.isEmpty && c.broken.isEmpty)
    }

    func testFixedBrokenAndASignificantImprovement() throws {
        let refs = (0 ..< 40).map { "sample\($0)" }
        let before = records(refs.enumerated().map { $0.offset % 4 == 0 ? $0.element : "xx" + $0.element.dropFirst(2) }, references: refs)
        var afterPredictions = refs
        afterPredictions[0] = "zample0"  // was right, now wrong
        let after = records(afterPredictions, references: refs)
        let c = try Comparison.compare(before, after, resamples: 500, seed: 3)
        XCTAssertEqual(c.count, 40)
        XCTAssertEqual(c.broken, ["0"])
        XCTAssertEqual(c.fixed.count, 30)
        let cer = c.metrics.first { $0.name == "cer" }!
        XCTAssertLessThan(cer.delta, 0)
        XCTAssertLessThan(cer.high, 0, "the improvement's interval excludes zero")
        XCTAssertTrue(cer.isSignificant)
        // Same seed, same intervals.
        let again = try Comparison.compare(before, after, resamples: 500, seed: 3)
        XCTAssertEqual(again.metrics, c.metrics)

        // The summary people read (compare prints it; --json gives the JSON).
        let summary = c.summary(nameA: "models/base", nameB: "runs/ft/model", listing: 3).split(separator: "\n").map(String.init)
        XCTAssertEqual(summary[0], "A: models/base")
        XCTAssertEqual(summary[2], "40 samples in both; 95% intervals from 500 paired bootstrap resamples")
        let cerLine = try XCTUnwrap(summary.first { $0.hasPrefix("cer ") })
        XCTAssertTrue(cerLine.contains(String(format: "%.2f%%", cer.a * 100)), cerLine)
        XCTAssertTrue(cerLine.hasSuffix("better"), cerLine)
        XCTAssertTrue(summary.contains("fixed 30 · broken 1 · CER improved on \(c.improved.count) · worsened on \(c.worsened.count)"))
        XCTAssertTrue(summary.contains("broken: 0"))
        XCTAssertTrue(summary.contains { $0.hasPrefix("fixed:  ") && $0.hasSuffix(" …") })
    }

    func testRunsWithoutCommonSamplesAreAnError() {
        let a = records(["a"], references: ["a"])
        var b = a
        b[0].id = "other"
        XCTAssertThrowsError(try Comparison.compare(a, b))
    }
}
