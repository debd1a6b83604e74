import XCTest
@testable import OCRMetrics

final class TextMetricsTests: XCTestCase {
    private let accuracy = 1e-12

    private func report(_ pairs: [(String, String)], _ options: MetricOptions = .default) -> TextMetricsReport {
        TextMetrics.evaluate(pairs.map { TextPair(reference: $0.0, prediction: $0.1) }, options: options).report
    }

    // MARK: CER / WER

    func testSinglePairCERAndWER() {
        // kitten → sitting: 3 edits / 6 reference characters = 0.5
        XCTAssertEqual(TextMetrics.cer(reference: "kitten", prediction: "sitting"), 0.5, accuracy: accuracy)
        // [the cat sat] → [the bat sat down]: cat→bat + insert "down" = 2 edits / 3 words
        XCTAssertEqual(TextMetrics.wer(reference: "the cat sat", prediction: "the bat sat down"), 2.0 / 3.0, accuracy: accuracy)
        // CER may exceed 1: "ab" → "xxxxxx": 6 edits (2 sub + 4 ins) / 2 = 3
        XCTAssertEqual(TextMetrics.cer(reference: "ab", prediction: "xxxxxx"), 3.0, accuracy: accuracy)
    }

    func testCorpusMicroAverageMeanAndMedian() {
        // ("abcd","abce"): 1 edit / 4;  ("xy",""): 2 edits / 2
        // micro = (1 + 2) / (4 + 2) = 0.5; mean = (0.25 + 1) / 2 = 0.625;
        // median of two values = their mean = 0.625
        let r = report([("abcd", "abce"), ("xy", "")])
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r.cer, 0.5, accuracy: accuracy)
        XCTAssertEqual(r.cerMean, 0.625, accuracy: accuracy)
        XCTAssertEqual(r.cerMedian, 0.625, accuracy: accuracy)
        XCTAssertEqual(r.characterEdits, 3)
        XCTAssertEqual(r.referenceCharacters, 6)
        // Words: [abcd]→[abce] 1/1, [xy]→[] 1/1: micro 2/2 = 1, mean 1, median 1
        XCTAssertEqual(r.wer, 1.0, accuracy: accuracy)
        XCTAssertEqual(r.werMedian, 1.0, accuracy: accuracy)

        // Odd count: CERs 0.25, 1, 0 → sorted [0, 0.25, 1] → median 0.25
        let odd = report([("abcd", "abce"), ("xy", ""), ("q", "q")])
        XCTAssertEqual(odd.cerMedian, 0.25, accuracy: accuracy)
        // micro = 3 / 7
        XCTAssertEqual(odd.cer, 3.0 / 7.0, accuracy: accuracy)
    }

    // MARK: NED, exact match, character P/R/F1

    func testNormalizedEditDistanceScore() {
        // ("abcd","abce"): 1/max(4,4) = 0.25; ("xy",""): 2/max(2,0) = 1;
        // ("ab","abcd"): 2/max(2,4) = 0.5. mean = 1.75/3; ned = 1 − 1.75/3 = 0.41666…
        let r = report([("abcd", "abce"), ("xy", ""), ("ab", "abcd")])
        XCTAssertEqual(r.ned, 1 - 1.75 / 3, accuracy: accuracy)
        // No sample matches exactly.
        XCTAssertEqual(r.exactMatch, 0, accuracy: accuracy)
    }

    func testExactMatchRate() {
        // 1 of 3 identical (after stripping the ends, as CER does) → 1/3
        let r = report([("same", "  same "), ("a", "b"), ("c", "")])
        XCTAssertEqual(r.exactMatch, 1.0 / 3.0, accuracy: accuracy)
    }

    func testCharacterPrecisionRecallF1() {
        // bag(aab) ∩ bag(abb) = {a:min(2,1), b:min(1,2)} = 2 → P = 2/3, R = 2/3, F1 = 2/3
        let single = report([("aab", "abb")])
        XCTAssertEqual(single.charPrecision, 2.0 / 3.0, accuracy: accuracy)
        XCTAssertEqual(single.charRecall, 2.0 / 3.0, accuracy: accuracy)
        XCTAssertEqual(single.charF1, 2.0 / 3.0, accuracy: accuracy)
        // hello/hallo: ∩ = h,l,l,o = 4; ab/"": 0. Σ|P| = 5, Σ|R| = 7
        // P = 4/5, R = 4/7, F1 = 2·(4/5)(4/7)/((4/5)+(4/7)) = (32/35)/(48/35) = 2/3
        let corpus = report([("hello", "hallo"), ("ab", "")])
        XCTAssertEqual(corpus.charPrecision, 0.8, accuracy: accuracy)
        XCTAssertEqual(corpus.charRecall, 4.0 / 7.0, accuracy: accuracy)
        XCTAssertEqual(corpus.charF1, 2.0 / 3.0, accuracy: accuracy)
    }

    // MARK: Edge cases

    func testEmptyPrediction() {
        // "abc" vs "": 3 deletions / 3 = 1; one word deleted → WER 1; NED term 3/3 → ned 0
        let r = report([("abc", "")])
        XCTAssertEqual(r.cer, 1, accuracy: accuracy)
        XCTAssertEqual(r.wer, 1, accuracy: accuracy)
        XCTAssertEqual(r.ned, 0, accuracy: accuracy)
        // Nothing predicted, something expected: P = 0 (0/0 with Σ|R| > 0), R = 0, F1 = 0
        XCTAssertEqual(r.charPrecision, 0)
        XCTAssertEqual(r.charRecall, 0)
        XCTAssertEqual(r.charF1, 0)
        XCTAssertEqual(r.bleu, 0)
    }

    func testEmptyReference() {
        // Documented: CER = edits / max(reference length, 1) (what jiwer returns).
        // ("", ""): 0 edits → 0; exact match; NED term 0 → ned 1; P = R = 1 (both totals 0)
        let both = report([("", "")])
        XCTAssertEqual(both.cer, 0)
        XCTAssertEqual(both.wer, 0)
        XCTAssertEqual(both.exactMatch, 1)
        XCTAssertEqual(both.ned, 1)
        XCTAssertEqual(both.charPrecision, 1)
        XCTAssertEqual(both.charRecall, 1)
        // ("", "abc"): 3 insertions / max(0, 1) = 3; one inserted word → WER 1
        XCTAssertEqual(TextMetrics.cer(reference: "", prediction: "abc"), 3, accuracy: accuracy)
        XCTAssertEqual(TextMetrics.wer(reference: "", prediction: "abc"), 1, accuracy: accuracy)
        // Whitespace-only reference strips to empty: ("  ", "a b") → 3 units "a b" / 1
        XCTAssertEqual(TextMetrics.cer(reference: "  ", prediction: "a b", options: .jiwerCompatible), 3, accuracy: accuracy)
        // In a corpus an empty reference adds edits but no length:
        // ("", "ab"): 2 edits, ("abcd","abcd"): 0 → micro = 2 / 4 = 0.5
        XCTAssertEqual(report([("", "ab"), ("abcd", "abcd")]).cer, 0.5, accuracy: accuracy)
        // Empty corpus: every value 0.
        let empty = report([])
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.cer, 0)
        XCTAssertEqual(empty.ned, 0)
    }

    func testEmojiGraphemeVersusCodePoint() {
        let grapheme = MetricOptions(unit: .grapheme)
        let codepoint = MetricOptions(unit: .codepoint)
        // 👍🏽 (U+1F44D U+1F3FD) vs 👍: graphemes 1 vs 1 → 1 substitution / 1 = 1.0;
        // code points 2 vs 1 → 1 deletion / 2 = 0.5
        XCTAssertEqual(TextMetrics.cer(reference: "👍🏽", prediction: "👍", options: grapheme), 1.0, accuracy: accuracy)
        XCTAssertEqual(TextMetrics.cer(reference: "👍🏽", prediction: "👍", options: codepoint), 0.5, accuracy: accuracy)
        // Family (7 code points: 4 people + 3 ZWJ) vs 3 people (5 code points):
        // grapheme 1 substitution / 1; code point: 2 deletions / 7
        let family = "👨‍👩‍👧‍👦"
        let three = "👨‍👩‍👧"
        XCTAssertEqual(TextMetrics.cer(reference: family, prediction: three, options: grapheme), 1.0, accuracy: accuracy)
        XCTAssertEqual(TextMetrics.cer(reference: family, prediction: three, options: codepoint), 2.0 / 7.0, accuracy: accuracy)
        // Counts: "ok 👍🏽🇯🇵" is 5 graphemes (o, k, space, 👍🏽, 🇯🇵) and 7 code points.
        var scorer = TextScorer(options: grapheme)
        XCTAssertEqual(scorer.prepare("ok 👍🏽🇯🇵").characters.count, 5)
        var scalarScorer = TextScorer(options: codepoint)
        XCTAssertEqual(scalarScorer.prepare("ok 👍🏽🇯🇵").characters.count, 7)
        // CRLF is one grapheme, two code points.
        XCTAssertEqual(scorer.prepare("a\r\nb").characters.count, 3)
        XCTAssertEqual(scalarScorer.prepare("a\r\nb").characters.count, 4)
    }

    // MARK: Options

    func testUnicodeNormalization() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        // NFC (default): identical → 0
        XCTAssertEqual(TextMetrics.cer(reference: composed, prediction: decomposed), 0)
        // none + code points: é → e (sub) + insert U+0301 = 2 / 4 = 0.5
        XCTAssertEqual(TextMetrics.cer(reference: composed, prediction: decomposed, options: .jiwerCompatible), 0.5, accuracy: accuracy)
        // none + graphemes: 4 vs 4 graphemes, "é" ≠ "é" by code points → 1 / 4
        let noneGrapheme = MetricOptions(unit: .grapheme, normalization: .none)
        XCTAssertEqual(TextMetrics.cer(reference: composed, prediction: decomposed, options: noneGrapheme), 0.25, accuracy: accuracy)
        // "ﬁle" vs "file": NFC keeps the ligature: ﬁ→f + insert i = 2 / 3; NFKC folds it → 0
        XCTAssertEqual(TextMetrics.cer(reference: "\u{FB01}le", prediction: "file"), 2.0 / 3.0, accuracy: accuracy)
        XCTAssertEqual(TextMetrics.cer(reference: "\u{FB01}le", prediction: "file", options: MetricOptions(normalization: .nfkc)), 0)
    }

    func testIgnoreCase() {
        // Hello vs hello: 1 / 5 case-sensitive, 0 folded; full folding maps ß → ss
        XCTAssertEqual(TextMetrics.cer(reference: "Hello", prediction: "hello"), 0.2, accuracy: accuracy)
        let folded = MetricOptions(ignoreCase: true)
        XCTAssertEqual(TextMetrics.cer(reference: "Hello", prediction: "hello", options: folded), 0)
        XCTAssertEqual(TextMetrics.cer(reference: "Straße", prediction: "STRASSE", options: folded), 0)
        XCTAssertEqual(TextMetrics.wer(reference: "Straße Über", prediction: "STRASSE über", options: folded), 0)
    }

    func testIgnorePunctuation() {
        // "Hello, world!" (13) vs "Hello world" (11): 2 deletions / 13
        XCTAssertEqual(TextMetrics.cer(reference: "Hello, world!", prediction: "Hello world"), 2.0 / 13.0, accuracy: accuracy)
        let options = MetricOptions(ignorePunctuation: true)
        XCTAssertEqual(TextMetrics.cer(reference: "Hello, world!", prediction: "Hello world", options: options), 0)
        // CJK punctuation and ASCII symbols are removed too: 「你好」、$5 → 你好5
        XCTAssertEqual(TextMetrics.cer(reference: "「你好」、$5", prediction: "你好5", options: options), 0)
        XCTAssertEqual(TextPreprocessor.normalize("a-b_c+d", options: options), "abcd")
    }

    func testIgnoreWhitespace() {
        // "a b c" vs "abc": 2 / 5 normally, 0 ignoring whitespace
        XCTAssertEqual(TextMetrics.cer(reference: "a b c", prediction: "abc"), 0.4, accuracy: accuracy)
        let options = MetricOptions(ignoreWhitespace: true)
        XCTAssertEqual(TextMetrics.cer(reference: "a b c", prediction: "abc", options: options), 0)
        // WER keeps words: [a b c] vs [abc]: 1 sub + 2 del = 3 / 3
        XCTAssertEqual(TextMetrics.wer(reference: "a b c", prediction: "abc", options: options), 1, accuracy: accuracy)
    }

    // MARK: Tokenization (jiwer 4.0 rules)

    func testWordSplitFollowsJiwer() {
        func words(_ s: String) -> [String] { TextPreprocessor.words(s).map(String.init) }
        XCTAssertEqual(words("  a  b  "), ["a", "b"])
        XCTAssertEqual(words("a\tb"), ["a\tb"])  // a single tab does not split
        XCTAssertEqual(words("a\t\tb"), ["a", "b"])  // a run of two does
        XCTAssertEqual(words("a\u{3000}b"), ["a\u{3000}b"])
        XCTAssertEqual(words("a \u{3000}b"), ["a", "b"])
        XCTAssertEqual(words("a \u{200B}b"), ["a", "\u{200B}b"])  // ZWSP is not whitespace
        XCTAssertEqual(words("\ta b\n"), ["a", "b"])  // ends stripped
        XCTAssertEqual(words("\u{1C}x"), ["x"])  // U+001C is whitespace for Python
        XCTAssertEqual(words(""), [])
        XCTAssertEqual(words(" \t "), [])
    }

    func testCharacterTextStripsEnds() {
        XCTAssertEqual(TextPreprocessor.characterText("  ab c \n", ignoreWhitespace: false), "ab c")
        XCTAssertEqual(TextPreprocessor.characterText("  ab c \n", ignoreWhitespace: true), "abc")
        XCTAssertEqual(TextPreprocessor.characterText("\u{85}\u{A0}", ignoreWhitespace: false), "")
        // Stripping works on code points: a trailing combining mark after a space stays.
        XCTAssertEqual(TextPreprocessor.characterText("a \u{301}", ignoreWhitespace: false).unicodeScalars.count, 3)
    }

    func testSimpleScalarFastPath() {
        // Every fast-path code point must be NFC-stable and a grapheme of its own
        // next to any other fast-path code point. The probes detect each
        // Grapheme_Cluster_Break class that could join: "a" + Extend/ZWJ/
        // SpacingMark, Prepend + "a", CR + "\n", L + "가", "가" (LV) + V/T, RI + RI.
        let probes = ["a", "가", "\n"]
        var checked = 0
        for value in UInt32(0)...0xFFFF where TextPreprocessor.isSimpleScalar(value) {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let c = String(Character(scalar))
            XCTAssertTrue(c.precomposedStringWithCanonicalMapping.unicodeScalars.elementsEqual(c.unicodeScalars),
                          "U+\(String(value, radix: 16)) not NFC-stable")
            XCTAssertEqual((c + c).count, 2, "U+\(String(value, radix: 16)) joins itself")
            for probe in probes {
                XCTAssertEqual((c + probe).count, 2, "U+\(String(value, radix: 16)) joins \(probe.debugDescription)")
                XCTAssertEqual((probe + c).count, 2, "\(probe.debugDescription) joins U+\(String(value, radix: 16))")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30_000)
        // The fast path and the slow path agree on mixed strings.
        var fast = TextScorer(options: MetricOptions(unit: .grapheme))
        for text in ["abc 一二三 가각", "cafe\u{301}", "👍🏽 x", "a\r\nb", "ｶﾞ", "می‌خواهم"] {
            XCTAssertEqual(fast.prepare(text).characters.count, text.precomposedStringWithCanonicalMapping.count, text)
        }
    }

    func testScalarKeyIsExact() {
        XCTAssertEqual("é", "e\u{301}")  // Swift String equality is canonical…
        XCTAssertNotEqual(ScalarKey("é"), ScalarKey("e\u{301}"))  // …ScalarKey is not.
        var vocabulary = UnitVocabulary()
        let a = vocabulary.id(for: "e\u{301}")
        let b = vocabulary.id(for: "a\u{301}")
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(vocabulary.id(for: "e\u{301}"), a)
        XCTAssertGreaterThanOrEqual(a, UnitVocabulary.firstCompositeID)
        XCTAssertEqual(vocabulary.unit(for: a).unicodeScalars.count, 2)
        XCTAssertEqual(vocabulary.id(for: "x"), 0x78)
        XCTAssertEqual(vocabulary.unit(for: 0x4E00), "一")
    }
}

/// Scripts written without spaces (#16): a Chinese line is not one word, BLEU is not 0 at 100%.
/// Expected values from sacreBLEU 2.x (`BLEU(tokenize="zh", effective_order=True)`) and jiwer 4.0 on
/// the text with Chinese characters separated (tools/make_metrics_fixtures.py's environment).
final class UnspacedScriptMetricsTests: XCTestCase {
    let references = ["若非巾柴车，应是钓秋水。", "床前明月光", "一二三"]
    let predictions = ["若柴车，应是钓秋。", "床前明月光", "一二三"]

    func testWERCountsChineseCharactersAsWords() {
        let pairs = zip(references, predictions).map { TextPair(reference: $0, prediction: $1) }
        let report = TextMetrics.evaluate(pairs).report
        XCTAssertEqual(report.cer, 0.15, accuracy: 1e-12)
        XCTAssertEqual(report.wer, 0.15, accuracy: 1e-12, "three errors in 20 characters")
        XCTAssertEqual(TextMetrics.evaluate(pairs, options: .jiwerCompatible).report.wer, 1.0 / 3, accuracy: 1e-12, "jiwer: one wrong line-word in three")
        XCTAssertEqual(TextPreprocessor.words("OCR 识别 test", splittingUnspacedScripts: true).map(String.init), ["OCR", "识", "别", "test"])
        XCTAssertEqual(TextPreprocessor.words("a\u{3000}b", splittingUnspacedScripts: true).map(String.init), ["a\u{3000}b"], "U+3000 stays whitespace")
    }

    func testBLEUTokenizesChineseAndUsesTheEffectiveOrder() {
        let pairs = zip(references, predictions).map { TextPair(reference: $0, prediction: $1) }
        XCTAssertEqual(TextMetrics.evaluate(pairs).report.bleu, 71.38399865938348, accuracy: 1e-9)
        XCTAssertEqual(TextMetrics.evaluate([TextPair(reference: "一二三", prediction: "一二三")]).report.bleu, 100, accuracy: 1e-9)
        XCTAssertEqual(TextMetrics.evaluate([TextPair(reference: "一二三", prediction: "一二三")], options: .jiwerCompatible).report.bleu, 0,
                       "sacreBLEU's corpus default: one 13a token, no 4-grams")
    }
}
