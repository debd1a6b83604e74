import Foundation
import XCTest
@testable import OCRText

/// Hand-written split matchers against ICU, exact-bytes vocabulary keys, the JSON reader.
final class InternalsTests: XCTestCase {
    // MARK: Built-in split patterns = ICU regex

    /// Extra strings stressing the alternatives (contractions, whitespace runs, newlines, digits).
    static let stress: [String] = [
        "", " ", "  ", "\n", " \n ", "a  b", "a \n\n b", "'s'S'll'LL 'Re ſ'ſ", "x'sy", "  'd", "\r\n\r\n  x",
        "12345 6789", "a1b2 ١٢٣", "!!  ??\n\n", " ...\r\nx", "\t\tx", "\u{3000}x\u{A0}y\u{85}z\u{0B}w",
        "e\u{301}\u{301} \u{301}x", "😀😀 👍🏽a", "Ⅻ ② ³", "a\u{200D}b c_d", "end   ",
    ]

    func checkBuiltin(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fast = try TokenRegex(source)
        let icu = try TokenRegex("(?:" + source + ")")  // not recognized: NSRegularExpression
        XCTAssertNotNil(BuiltinPattern(source: source), file: file, line: line)
        var mismatches = 0
        for text in TokenizerParityTests.strings + Self.stress {
            let a = fast.matches(in: text).map { text.scalarSlice($0) }
            let b = icu.matches(in: text).map { text.scalarSlice($0) }
            if !a.elementsEqual(b, by: TokenizerParityTests.identical) {
                mismatches += 1
                if mismatches < 4 { XCTFail("\(text.debugDescription): \(a) vs \(b)", file: file, line: line) }
            }
        }
        XCTAssertEqual(mismatches, 0, file: file, line: line)
    }

    func testGPT2PatternMatchesICU() throws { try checkBuiltin(ByteLevel.gpt2Pattern) }
    func testQwen2PatternMatchesICU() throws { try checkBuiltin(BuiltinPattern.qwen2Source) }
    func testCL100KPatternMatchesICU() throws { try checkBuiltin(BuiltinPattern.cl100kSource) }
    func testWordPatternMatchesICU() throws { try checkBuiltin(#"\w+|[^\w\s]+"#) }

    // MARK: Canonically equivalent tokens stay distinct

    func testCanonicallyEquivalentTokensAreDistinct() throws {
        let json = #"{"model": {"type": "BPE", "vocab": {"\u00e9": 0, "e": 1, "\u0301": 2, "\u212b": 3, "\u00c5": 4}, "merges": []}}"#
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtext-nf-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let t = try Tokenizer(tokenizerJSON: url)
        XCTAssertEqual(t.vocabularySize, 5)
        XCTAssertEqual(t.encode("e\u{301}"), [1, 2])
        XCTAssertEqual(t.encode("\u{e9}"), [0])
        XCTAssertEqual(t.encode("\u{212B}\u{C5}"), [3, 4])
        XCTAssertEqual(t.tokenToID("\u{212B}"), 3)
        XCTAssertEqual(t.tokenToID("\u{C5}"), 4)
        XCTAssertTrue(TokenizerParityTests.identical(t.idToToken(3)!, "\u{212B}"))
    }

    /// Duplicate Unigram pieces: the last one wins (`tokenizers` gives [4] and id 3).
    func testUnigramDuplicatePieces() throws {
        let json = #"{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["a", -1], ["b", -1], ["a", -5], ["ab", -3]]}}"#
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtext-uni-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let t = try Tokenizer(tokenizerJSON: url)
        XCTAssertEqual(t.encode("ab"), [4])
        XCTAssertEqual(t.tokenToID("a"), 3)
        XCTAssertEqual(t.vocabularySize, 5)
    }

    // MARK: JSON reader

    func testJSONReader() throws {
        let text = #"{"a": [1, -2.5e1, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "b": {}, "a": 3}"#
        let root = try JSONNode.parse(Data(text.utf8), file: "t.json")
        let items = try root.required("a").int()  // the last duplicate wins, as in serde
        XCTAssertEqual(items, 3)
        let members = try root.members()
        XCTAssertEqual(members.map(\.0), ["a", "b", "a"])
        let array = try members[0].1.array()
        XCTAssertEqual(try array[0].int(), 1)
        XCTAssertEqual(try array[1].double(), -25)
        XCTAssertEqual(try array[2].bool(), true)
        XCTAssertTrue(try TokenizerParityTests.identical(array[5].string(), "x\"\\/\u{8}\u{c}\n\r\t\u{e9}😀"))
        XCTAssertThrowsError(try JSONNode.parse(Data("[1,]".utf8), file: "t.json"))
        XCTAssertThrowsError(try JSONNode.parse(Data("{\"a\" 1}".utf8), file: "t.json"))
        XCTAssertThrowsError(try JSONNode.parse(Data("[1] x".utf8), file: "t.json"))
    }
}
