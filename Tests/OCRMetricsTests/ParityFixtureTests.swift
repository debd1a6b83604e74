import XCTest
@testable import OCRMetrics

/// Checks against `Fixtures/metrics_parity.json`, produced by
/// `tools/make_metrics_fixtures.py` with jiwer 4.0.0 and sacreBLEU 2.x.
final class ParityFixtureTests: XCTestCase {
    struct Pair: Decodable {
        var reference: String
        var prediction: String
        var cer: Double
        var wer: Double
    }

    struct Chunk: Decodable {
        var start: Int
        var end: Int
        var cer: Double
        var wer: Double
    }

    struct TokenizerCase: Decodable {
        var text: String
        var tokens: [String]
    }

    struct BLEUCase: Decodable {
        var hypotheses: [String]
        var references: [String]
        var score: Double
        var precisions: [Double]
        var bp: Double
        var sys_len: Int
        var ref_len: Int
    }

    struct Fixture: Decodable {
        var jiwer_version: String
        var pairs: [Pair]
        var corpus: [String: Double]
        var chunks: [Chunk]
        var empty_reference_pairs: [Pair]
        var tokenizer_13a: [TokenizerCase]
        var bleu: [BLEUCase]
    }

    static let fixture: Fixture = {
        guard let url = Bundle.module.url(forResource: "metrics_parity", withExtension: "json", subdirectory: "Fixtures")
        else { fatalError("Fixtures/metrics_parity.json is missing from the test bundle") }
        do {
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot decode metrics_parity.json: \(error)")
        }
    }()

    private let tolerance = 1e-9

    func testFixtureShape() {
        let fixture = Self.fixture
        XCTAssertTrue(fixture.jiwer_version.hasPrefix("4."))
        XCTAssertGreaterThanOrEqual(fixture.pairs.count, 1000)
        // Every reference is non-empty after stripping; some predictions are empty.
        XCTAssertTrue(fixture.pairs.allSatisfy { !TextPreprocessor.characterText($0.reference, ignoreWhitespace: false).isEmpty })
        XCTAssertGreaterThan(fixture.pairs.filter { $0.prediction.isEmpty }.count, 10)
    }

    // MARK: jiwer

    func testPerPairParityWithJiwer() {
        var failures = 0
        for (index, pair) in Self.fixture.pairs.enumerated() {
            let cer = TextMetrics.cer(reference: pair.reference, prediction: pair.prediction, options: .jiwerCompatible)
            let wer = TextMetrics.wer(reference: pair.reference, prediction: pair.prediction, options: .jiwerCompatible)
            if abs(cer - pair.cer) > tolerance || abs(wer - pair.wer) > tolerance {
                failures += 1
                if failures <= 10 {
                    XCTFail("pair \(index): cer \(cer) vs jiwer \(pair.cer), wer \(wer) vs jiwer \(pair.wer): "
                            + "\(pair.reference.debugDescription) → \(pair.prediction.debugDescription)")
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    func testCorpusParityWithJiwerIsMicroAveraged() throws {
        let fixture = Self.fixture
        let pairs = fixture.pairs.map { TextPair(reference: $0.reference, prediction: $0.prediction) }
        let report = TextMetrics.evaluate(pairs, options: .jiwerCompatible).report
        XCTAssertEqual(report.cer, try XCTUnwrap(fixture.corpus["cer"]), accuracy: tolerance)
        XCTAssertEqual(report.wer, try XCTUnwrap(fixture.corpus["wer"]), accuracy: tolerance)
        // The macro mean differs from jiwer's corpus value: jiwer is micro.
        XCTAssertGreaterThan(abs(report.cerMean - report.cer), 1e-3)
        for chunk in fixture.chunks {
            let slice = Array(pairs[chunk.start..<chunk.end])
            let chunkReport = TextMetrics.evaluate(slice, options: .jiwerCompatible).report
            XCTAssertEqual(chunkReport.cer, chunk.cer, accuracy: tolerance, "chunk \(chunk.start)")
            XCTAssertEqual(chunkReport.wer, chunk.wer, accuracy: tolerance, "chunk \(chunk.start)")
        }
    }

    func testEmptyReferencesMatchJiwer() {
        for pair in Self.fixture.empty_reference_pairs {
            XCTAssertEqual(TextMetrics.cer(reference: pair.reference, prediction: pair.prediction, options: .jiwerCompatible),
                           pair.cer, accuracy: tolerance, pair.prediction.debugDescription)
            XCTAssertEqual(TextMetrics.wer(reference: pair.reference, prediction: pair.prediction, options: .jiwerCompatible),
                           pair.wer, accuracy: tolerance, pair.prediction.debugDescription)
        }
    }

    // MARK: sacreBLEU

    func testTokenizer13aParity() {
        for testCase in Self.fixture.tokenizer_13a {
            let tokens = BLEU.tokenize13a(testCase.text)
            XCTAssertTrue(tokens.elementsEqual(testCase.tokens) { $0.unicodeScalars.elementsEqual($1.unicodeScalars) },
                          "\(testCase.text.debugDescription): \(tokens) vs \(testCase.tokens)")
        }
    }

    func testCorpusBLEUParity() {
        for (index, testCase) in Self.fixture.bleu.enumerated() {
            let score = BLEU.corpusScore(hypotheses: testCase.hypotheses, references: testCase.references)
            XCTAssertEqual(score.score, testCase.score, accuracy: tolerance, "case \(index)")
            XCTAssertEqual(score.brevityPenalty, testCase.bp, accuracy: tolerance, "case \(index)")
            XCTAssertEqual(score.statistics.hypothesisLength, testCase.sys_len, "case \(index)")
            XCTAssertEqual(score.statistics.referenceLength, testCase.ref_len, "case \(index)")
            for n in 0..<4 {
                XCTAssertEqual(score.precisions[n], testCase.precisions[n], accuracy: tolerance, "case \(index) n=\(n + 1)")
            }
        }
    }

    func testReportBLEUEqualsSacreBLEUWithoutNormalization() throws {
        // The whole fixture as one corpus: the report's `bleu` goes through the
        // option pipeline, which with .jiwerCompatible leaves the text alone.
        let fixture = Self.fixture
        let wholeCorpus = try XCTUnwrap(fixture.bleu.first { $0.hypotheses.count == fixture.pairs.count })
        let pairs = fixture.pairs.map { TextPair(reference: $0.reference, prediction: $0.prediction) }
        XCTAssertEqual(TextMetrics.evaluate(pairs, options: .jiwerCompatible).report.bleu, wholeCorpus.score, accuracy: tolerance)
    }
}
