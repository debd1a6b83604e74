import Foundation
import XCTest
import OCRText

/// Encode/decode parity with the `tokenizers` library on the committed fixture
/// (tools/make_tokenizer_fixtures.py): 2,000+ strings × five tokenizer kinds.
final class TokenizerParityTests: XCTestCase {
    // MARK: Fixture

    struct Case: Decodable {
        let ids: [Int]
        let special: [Int]?
        let decoded: String?
        let decoded_keep: String?
    }

    struct Expected: Decodable {
        let prefix: [Int]
        let suffix: [Int]
        let cases: [Case]
    }

    static var fixtures: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static let strings: [String] = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("strings.json"))
        return try! JSONDecoder().decode([String].self, from: data)
    }()

    func load(_ kind: String) throws -> (Tokenizer, Expected) {
        let dir = Self.fixtures.appendingPathComponent(kind)
        let tokenizer = try Tokenizer(tokenizerJSON: dir.appendingPathComponent("tokenizer.json"))
        let data = try Data(contentsOf: dir.appendingPathComponent("expected.json"))
        return (tokenizer, try JSONDecoder().decode(Expected.self, from: data))
    }

    /// Checks every fixture string; reports the first few mismatches in full.
    func checkParity(_ kind: String, minimumCases: Int = 2000, file: StaticString = #filePath, line: UInt = #line) throws {
        let (tokenizer, expected) = try load(kind)
        let strings = Self.strings
        XCTAssertLessThanOrEqual(expected.cases.count, strings.count, file: file, line: line)
        XCTAssertGreaterThanOrEqual(expected.cases.count, minimumCases, file: file, line: line)
        var failures: [String] = []
        for (text, c) in zip(strings, expected.cases) {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            if ids != c.ids {
                failures.append("encode \(text.debugDescription):\n  got  \(ids)\n  want \(c.ids)")
                continue
            }
            let withSpecial = tokenizer.encode(text)
            let wantSpecial = c.special ?? (expected.prefix + c.ids + expected.suffix)
            if withSpecial != wantSpecial {
                failures.append("encode+special \(text.debugDescription):\n  got  \(withSpecial)\n  want \(wantSpecial)")
            }
            let decoded = tokenizer.decode(c.ids)
            if !Self.identical(decoded, c.decoded ?? text) {
                failures.append("decode \(text.debugDescription):\n  got  \(decoded.debugDescription)\n  want \((c.decoded ?? text).debugDescription)")
            }
            if let keep = c.decoded_keep {
                let got = tokenizer.decode(wantSpecial, skipSpecialTokens: false)
                if !Self.identical(got, keep) {
                    failures.append("decode(keep) \(text.debugDescription):\n  got  \(got.debugDescription)\n  want \(keep.debugDescription)")
                }
            }
        }
        XCTAssert(failures.isEmpty, "\(kind): \(failures.count) mismatches of \(strings.count)\n"
                  + failures.prefix(8).joined(separator: "\n"), file: file, line: line)
    }

    /// Byte equality (Swift `==` on String is canonical equivalence: "é" == "e\u{301}").
    static func identical(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    // MARK: Parity per kind

    func testRobertaByteLevelBPE() throws { try checkParity("roberta") }
    func testQwen2ByteLevelBPE() throws { try checkParity("qwen2") }
    func testXLMRUnigram() throws { try checkParity("xlmr") }
    func testLlamaSentencePieceBPE() throws { try checkParity("llama") }
    func testBertWordPiece() throws { try checkParity("bert") }

    // MARK: Variants (other components on the same models, first 400 strings)

    /// ByteLevel add_prefix_space + ByteLevel post-processor.
    func testGPT2Variant() throws { try checkParity("gpt2", minimumCases: 400) }
    /// Metaspace prepend_scheme "first", split false (newer Llama layout).
    func testMetaspaceFirstVariant() throws { try checkParity("metaspace_first", minimumCases: 400) }
    /// Nmt, NFKC, Lowercase, NFD, StripAccents, Replace, Strip; Split / Punctuation / Digits.
    func testMiscUnigramVariant() throws { try checkParity("misc_unigram", minimumCases: 400) }
    /// NFKD, Split (Removed / Contiguous / MergedWithNext / inverted), Whitespace, ByteLevel.
    func testMiscBPEVariant() throws { try checkParity("misc_bpe", minimumCases: 400) }

    // MARK: Decoding arbitrary id sequences

    struct DecodeCases: Decodable {
        let sequences: [[Int]]
        let skip: [String]
        let keep: [String]
    }

    /// Random id sequences (stray byte tokens, broken UTF-8, specials) decode as in `tokenizers`.
    func checkDecode(_ kind: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Self.fixtures.appendingPathComponent(kind)
        let tokenizer = try Tokenizer(tokenizerJSON: dir.appendingPathComponent("tokenizer.json"))
        let cases = try JSONDecoder().decode(DecodeCases.self, from: Data(contentsOf: dir.appendingPathComponent("decode.json")))
        XCTAssertGreaterThanOrEqual(cases.sequences.count, 200, file: file, line: line)
        var failures: [String] = []
        for (k, ids) in cases.sequences.enumerated() {
            let skip = tokenizer.decode(ids)
            let keep = tokenizer.decode(ids, skipSpecialTokens: false)
            if !Self.identical(skip, cases.skip[k]) {
                failures.append("\(ids): got \(skip.debugDescription) want \(cases.skip[k].debugDescription)")
            }
            if !Self.identical(keep, cases.keep[k]) {
                failures.append("\(ids) (keep): got \(keep.debugDescription) want \(cases.keep[k].debugDescription)")
            }
        }
        XCTAssert(failures.isEmpty, "\(kind): \(failures.count) mismatches\n" + failures.prefix(8).joined(separator: "\n"),
                  file: file, line: line)
    }

    func testDecodeRandomRoberta() throws { try checkDecode("roberta") }
    func testDecodeRandomQwen2() throws { try checkDecode("qwen2") }
    func testDecodeRandomXLMR() throws { try checkDecode("xlmr") }
    func testDecodeRandomLlama() throws { try checkDecode("llama") }
    func testDecodeRandomBert() throws { try checkDecode("bert") }
    /// The CTC decoder (repeats collapsed, pad removed, word delimiter → space).
    func testDecodeRandomCTC() throws { try checkDecode("ctc") }

    // MARK: vocab.json + merges.txt

    func testVocabAndMergesMatchTokenizerJSON() throws {
        let dir = Self.fixtures.appendingPathComponent("roberta")
        let files = try Tokenizer(vocabJSON: dir.appendingPathComponent("vocab.json"),
                                  mergesTXT: dir.appendingPathComponent("merges.txt"))
        let (json, expected) = try load("roberta")
        var checked = 0
        for (text, c) in zip(Self.strings, expected.cases) where !text.contains("<") && !text.contains("OCRtune")
            && !text.contains("[[x]]") && !text.contains("naïve") {
            XCTAssertEqual(files.encode(text, addSpecialTokens: false), c.ids, text.debugDescription)
            XCTAssertEqual(files.encode(text), json.encode(text))
            XCTAssertTrue(Self.identical(files.decode(c.ids), json.decode(c.ids)))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 1500)
        XCTAssertEqual(files.encode("<s>a</s>", addSpecialTokens: false), json.encode("<s>a</s>", addSpecialTokens: false))
        XCTAssertEqual(files.specialTokenIDs.bos, 0)
        XCTAssertEqual(files.specialTokenIDs.eos, 2)
    }
}
