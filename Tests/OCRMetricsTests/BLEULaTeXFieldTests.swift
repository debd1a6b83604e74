import XCTest
@testable import OCRMetrics

final class BLEULaTeXFieldTests: XCTestCase {
    // MARK: BLEU

    func testBLEUBrevityPenalty() {
        // hyp "a b c d e" (5 tokens) vs ref "a b c d e f g h" (8 tokens):
        // n-gram precisions 5/5, 4/4, 3/3, 2/2 = 100% each; BP = exp(1 − 8/5) = exp(−0.6)
        // BLEU = 100 · exp(−0.6) = 54.8811636094…
        let score = BLEU.corpusScore(hypotheses: ["a b c d e"], references: ["a b c d e f g h"])
        XCTAssertEqual(score.precisions, [100, 100, 100, 100])
        XCTAssertEqual(score.brevityPenalty, exp(-0.6), accuracy: 1e-15)
        XCTAssertEqual(score.score, 100 * exp(-0.6), accuracy: 1e-9)
    }

    func testBLEUExpSmoothingAndClipping() {
        // hyp: "the" × 7, ref "the cat is on the mat" (6 tokens), BP = 1 (7 ≥ 6)
        // 1-grams: "the" clipped to 2 of 7 → p1 = 100·2/7
        // 2-,3-,4-grams: 0 of 6, 5, 4 → exp smoothing 100/(2·6), 100/(4·5), 100/(8·4)
        // BLEU = exp((ln 28.571 + ln 8.333 + ln 5 + ln 3.125) / 4) = 7.8098498423…
        let score = BLEU.corpusScore(hypotheses: ["the the the the the the the"], references: ["the cat is on the mat"])
        XCTAssertEqual(score.statistics.correct, [2, 0, 0, 0])
        XCTAssertEqual(score.statistics.total, [7, 6, 5, 4])
        XCTAssertEqual(score.precisions[0], 100.0 * 2 / 7, accuracy: 1e-12)
        XCTAssertEqual(score.precisions[1], 100.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(score.precisions[2], 5, accuracy: 1e-12)
        XCTAssertEqual(score.precisions[3], 3.125, accuracy: 1e-12)
        XCTAssertEqual(score.score, 7.809849842300637, accuracy: 1e-9)
    }

    func testBLEUShortSegmentsScoreZero() {
        // "a b" has no 3-grams: total[2] = 0 stops the loop, p3 = p4 = 0 → log floored → 0
        XCTAssertEqual(BLEU.corpusScore(hypotheses: ["a b"], references: ["a b"]).score, 0, accuracy: 1e-12)
        XCTAssertEqual(BLEU.corpusScore(hypotheses: [""], references: ["a b c d"]).score, 0)
    }

    func testTokenizer13a() {
        // Punctuation split, except period/comma between digits; dash after a digit split.
        XCTAssertEqual(BLEU.tokenize13a("It costs $3.14, ok."), ["It", "costs", "$", "3.14", ",", "ok", "."])
        XCTAssertEqual(BLEU.tokenize13a("10-20 AT&amp;T"), ["10", "-", "20", "AT", "&", "T"])
        // "-\n" is removed with its hyphen (mteval joins hyphenated line breaks)
        XCTAssertEqual(BLEU.tokenize13a("well-\nknown <skipped>"), ["wellknown"])
    }

    // MARK: LaTeX

    func testLaTeXTokenizer() {
        XCTAssertEqual(LaTeX.tokenize("\\frac{a}{b}"), ["\\frac", "{", "a", "}", "{", "b", "}"])
        XCTAssertEqual(LaTeX.tokenize("x_1 \\\\ \\{y\\}"), ["x", "_", "1", "\\\\", "\\{", "y", "\\}"])
        XCTAssertEqual(LaTeX.tokenize("a\\ b"), ["a", "\\ ", "b"])
        XCTAssertEqual(LaTeX.tokenize("\\alpha2"), ["\\alpha", "2"])
    }

    func testLaTeXNormalization() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\frac{a}{b}"), ["\\frac", "a", "b"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\left( x \\right)"), ["(", "x", ")"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\left. x \\right|"), ["x", "|"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\bigl[ x \\bigr]"), ["[", "x", "]"])
        XCTAssertEqual(LaTeX.normalizedTokens("{{a}}"), ["a"])
        XCTAssertEqual(LaTeX.normalizedTokens("x^{10}"), ["x", "^", "{", "1", "0", "}"])  // two tokens keep braces
        XCTAssertEqual(LaTeX.normalizedTokens("a \\le b \\ne c \\to d \\ge e"),
                       ["a", "\\leq", "b", "\\neq", "c", "\\rightarrow", "d", "\\geq", "e"])
        XCTAssertEqual(LaTeX.normalizedTokens("a\\,b\\quad c"), ["a", "b", "c"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\{ x \\}"), ["\\{", "x", "\\}"])
    }

    func testLaTeXEditDistance() {
        var scorer = LaTeXScorer()
        // Equivalent after normalization: 0 edits
        XCTAssertEqual(scorer.score(reference: "x^{2} \\le \\left( y \\right)", prediction: "x^2\\leq(y)").tokenEdits, 0)
        // [\alpha + \beta] vs [\alpha - \beta]: 1 substitution / 3 tokens
        let sample = scorer.score(reference: "\\alpha + \\beta", prediction: "\\alpha - \\beta")
        XCTAssertEqual(sample, LaTeXSampleScore(tokenEdits: 1, referenceTokens: 3, predictionTokens: 3))
        // Report: samples (1 edit / 3) and (0 / 2, "a b" vs "ab" are equal in LaTeX)
        // TER = 1 / 5 = 0.2; mean = (1/3 + 0) / 2; ned = 1 − (1/3 + 0) / 2; exact = 1/2
        let report = LaTeXScorer.evaluate([
            TextPair(reference: "\\alpha + \\beta", prediction: "\\alpha - \\beta"),
            TextPair(reference: "a b", prediction: "ab"),
        ])
        XCTAssertEqual(report.tokenErrorRate, 0.2, accuracy: 1e-12)
        XCTAssertEqual(report.tokenErrorRateMean, 1.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(report.ned, 1 - 1.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(report.exactMatch, 0.5)
    }

    // MARK: Fields

    func testFieldMetrics() {
        let pair = FieldPair(
            reference: ["name": "ACME Corp", "total": "12.50", "date": "2024-01-01"],
            prediction: ["name": "acme  corp ", "total": "12.50", "vat": "1.00", "date": " "])
        // Present predictions: name, total, vat (date is blank → absent) = 3; expected: 3
        // exact TP: total → P = R = F1 = 1/3
        // normalized TP: name ("acme corp" both) + total = 2 → P = R = F1 = 2/3
        let report = FieldMetrics.evaluate([pair])
        XCTAssertEqual(report.exact.truePositives, 1)
        XCTAssertEqual(report.exact.predicted, 3)
        XCTAssertEqual(report.exact.expected, 3)
        XCTAssertEqual(report.exact.f1, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(report.normalized.precision, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(report.normalized.recall, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(report.normalized.f1, 2.0 / 3.0, accuracy: 1e-12)
        // Per field: "date" expected but not predicted → recall 0; "vat" predicted, not expected → precision 0
        XCTAssertEqual(report.perField["date"]?.normalized.recall, 0)
        XCTAssertEqual(report.perField["vat"]?.normalized.precision, 0)
        XCTAssertEqual(report.perField["name"]?.exact.f1, 0)
        XCTAssertEqual(report.perField["name"]?.normalized.f1, 1)
    }

    func testFieldValueNormalization() {
        XCTAssertEqual(FieldMetrics.normalizedValue("  Straße\t\tNo.\u{3000}5 "), "strasse no. 5")
        XCTAssertFalse(FieldMetrics.isPresent(" \t"))
        XCTAssertTrue(FieldMetrics.isPresent("0"))
    }
}
