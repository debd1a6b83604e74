import Foundation
import XCTest
import OCRText

/// Added / special tokens, vocabulary queries, directory loading and errors.
/// Expected ids were printed by `tokenizers` 0.23 on the fixture tokenizers.
final class TokenizerAPITests: XCTestCase {
    func fixture(_ kind: String) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: TokenizerParityTests.fixtures
            .appendingPathComponent(kind).appendingPathComponent("tokenizer.json"))
    }

    // MARK: Added and special tokens

    func testAddedTokenFlags() throws {
        let t = try fixture("roberta")
        // <mask> has lstrip: it swallows the space on its left.
        XCTAssertEqual(t.encode("The <mask> is", addSpecialTokens: false), [55, 75, 72, 1200, 584, 86])
        // OCRtune is single_word: not matched inside "myOCRtune" nor before "_".
        XCTAssertEqual(t.encode("myOCRtune OCRtune_x OCRtune!", addSpecialTokens: false),
                       [80, 92, 50, 38, 53, 87, 88, 81, 72, 224, 50, 38, 53, 87, 88, 81, 72, 66, 91, 224, 1201, 4])
        // [[x]] has rstrip: it swallows the spaces on its right.
        XCTAssertEqual(t.encode("[[x]]   y", addSpecialTokens: false), [1202, 92])
        XCTAssertEqual(t.encode("<s>hi</s>", addSpecialTokens: false), [0, 75, 76, 2])
        XCTAssertEqual(t.encode("hi"), [0, 75, 76, 2])
    }

    func testQwenSpecialTokensAndDecode() throws {
        let t = try fixture("qwen2")
        let text = "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|>hi<|im_end|>"
        let ids = t.encode(text, addSpecialTokens: false)
        XCTAssertEqual(ids, [1501, 84, 82, 68, 81, 198, 1503, 1504, 1504, 71, 72, 1502])
        XCTAssertEqual(t.decode(ids), "user\nhi")
        XCTAssertEqual(t.decode(ids, skipSpecialTokens: false), text)
        XCTAssertEqual(t.tokenToID("<|image_pad|>"), 1504)
        XCTAssertEqual(t.idToToken(1504), "<|image_pad|>")
        XCTAssertEqual(t.idToToken(198), "Ċ")
        XCTAssertTrue(t.isSpecial(1501))
        XCTAssertFalse(t.isSpecial(84))
        XCTAssertEqual(t.vocabularySize, 1505)
        XCTAssertEqual(t.specialTokenIDs.eos, 1500)  // <|endoftext|>, by name
        XCTAssertNil(t.specialTokenIDs.pad)
        XCTAssertEqual(t.encode(""), [1501, 1502])
        XCTAssertEqual(t.encode("", addSpecialTokens: false), [])
        XCTAssertEqual(t.decode([]), "")
        XCTAssertEqual(t.decode([999_999, 84]), "u")  // unknown ids are ignored
    }

    func testVocabularySizesAndSpecialIDs() throws {
        XCTAssertEqual(try fixture("roberta").vocabularySize, 1204)
        XCTAssertEqual(try fixture("xlmr").vocabularySize, 1501)
        XCTAssertEqual(try fixture("llama").vocabularySize, 1556)
        let x = try fixture("xlmr").specialTokenIDs
        XCTAssertEqual(x, Tokenizer.SpecialTokenIDs(bos: 1, eos: 2, pad: 3, unk: 0))
        let l = try fixture("llama")
        XCTAssertEqual(l.specialTokenIDs.unk, 0)
        XCTAssertEqual(l.tokenToID("<0x0A>"), 13)
        XCTAssertEqual(try fixture("bert").specialTokenIDs, Tokenizer.SpecialTokenIDs(bos: 2, eos: 3, pad: 0, unk: 1))
    }

    func testConcurrentEncodeMatchesSerial() throws {
        let t = try fixture("qwen2")
        let strings = Array(TokenizerParityTests.strings.prefix(400))
        let serial = strings.map { t.encode($0) }
        let lock = NSLock()
        var results = [[Int]](repeating: [], count: strings.count)
        DispatchQueue.concurrentPerform(iterations: strings.count) { i in
            let ids = t.encode(strings[i])
            lock.withLock { results[i] = ids }
        }
        XCTAssertEqual(results, serial)
    }

    // MARK: Directory loading

    func testDirectoryWithTokenizerConfig() throws {
        let dir = try temporaryDirectory()
        let source = TokenizerParityTests.fixtures.appendingPathComponent("qwen2/tokenizer.json")
        try FileManager.default.copyItem(at: source, to: dir.appendingPathComponent("tokenizer.json"))
        let config = #"{"eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"}, "bos_token": null}"#
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let t = try Tokenizer(directory: dir)
        XCTAssertEqual(t.specialTokenIDs.eos, 1502)
        XCTAssertEqual(t.specialTokenIDs.pad, 1500)
        XCTAssertEqual(t.encode("hi", addSpecialTokens: false), [71, 72])
    }

    func testDirectoryWithVocabAndMerges() throws {
        let dir = try temporaryDirectory()
        let source = TokenizerParityTests.fixtures.appendingPathComponent("roberta")
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let t = try Tokenizer(directory: dir)
        XCTAssertEqual(t.encode("<s>hi</s>", addSpecialTokens: false), [0, 75, 76, 2])
        XCTAssertEqual(t.decode(t.encode("Hello  world\n")), "Hello  world\n")
    }

    func testEmptyDirectoryFails() throws {
        let dir = try temporaryDirectory()
        XCTAssertThrowsError(try Tokenizer(directory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .noTokenizerFiles(directory: dir.path))
        }
    }

    // MARK: Errors name the file and the field

    func testMalformedTokenizerJSON() throws {
        let valid = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}"#
        XCTAssertEqual(try load(valid).encode("abba"), [2, 1, 0])

        try expect(#"{"model": "#, .invalidJSON(file: "tokenizer.json", reason: ""), prefix: "tokenizer.json: invalid JSON")
        try expect(#"{"normalizer": null}"#, .missingField(file: "tokenizer.json", field: "model"))
        try expect(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.merges[0]",
                                 reason: "merged token 'ab' is not in the vocabulary"))
        try expect(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.merges[0]", reason: "expected [left, right]"))
        try expect(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.vocab.a", reason: "expected an integer id"))
        // Fuzz/tokenizer's crash-d2019d1d…: a negative id trapped in BPE's merge key (UInt64(id)).
        try expect(#"{"model": {"type": "BPE", "vocab": {"a": 0, "5": -4}, "merges": []}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.vocab.5", reason: "id -4 out of range 0...4294967295"))
        try expect(#"{"model": {"type": "WordPiece", "vocab": {"a": 4294967296}}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.vocab.a", reason: "id 4294967296 out of range 0...4294967295"))
        try expect(#"{"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b"]], "unk_id": 0}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.vocab[1]", reason: "expected [piece, score]"))
        try expect(#"{"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 5}}"#,
                   .invalidField(file: "tokenizer.json", field: "model.unk_id", reason: "out of range 0..<1"))
        try expect(#"{"model": {"type": "Magic"}}"#,
                   .unsupported(file: "tokenizer.json", field: "model.type", type: "Magic"))
        let model = #""model": {"type": "WordPiece", "vocab": {"a": 0}}"#
        try expect(#"{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Shout"}]}, "# + model + "}",
                   .unsupported(file: "tokenizer.json", field: "normalizer.normalizers[1].type", type: "Shout"))
        try expect(#"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}, "# + model + "}",
                   .invalidField(file: "tokenizer.json", field: "pre_tokenizer.pattern.Regex", reason: ""),
                   prefix: "tokenizer.json: field 'pre_tokenizer.pattern.Regex': invalid regular expression")
        try expect(#"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}, "# + model + "}",
                   .invalidField(file: "tokenizer.json", field: "pre_tokenizer.behavior", reason: "unknown split behavior 'Sideways'"))
        try expect(#"{"added_tokens": [{"id": "7", "content": "x"}], "# + model + "}",
                   .invalidField(file: "tokenizer.json", field: "added_tokens[0].id", reason: "expected an integer"))
        try expect(#"{"decoder": {"type": "Strip", "content": "ab", "start": 1, "stop": 0}, "# + model + "}",
                   .invalidField(file: "tokenizer.json", field: "decoder.content", reason: "expected one character"))
        try expect(#"{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {}}, "# + model + "}",
                   .invalidField(file: "tokenizer.json", field: "post_processor.single[0].SpecialToken",
                                 reason: "special token '<s>' is not in special_tokens"))
        XCTAssertEqual(TokenizerError.missingField(file: "tokenizer.json", field: "model").description,
                       "tokenizer.json: missing field 'model'")
    }

    func testMalformedMergesTXT() throws {
        let dir = try temporaryDirectory()
        try #"{"a": 0, "b": 1, "ab": 2}"#.write(to: dir.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        try "#version: 0.2\na b\nab\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Tokenizer(directory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .invalidField(file: "merges.txt", field: "line 3", reason: "expected 'left right'"))
        }
    }

    // MARK: Helpers

    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    private func load(_ json: String) throws -> Tokenizer {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("tokenizer.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return try Tokenizer(tokenizerJSON: url)
    }

    /// Loading `json` fails with `expected` (or, with `prefix`, an error whose description starts so).
    private func expect(_ json: String, _ expected: TokenizerError, prefix: String? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try load(json), file: file, line: line) { error in
            guard let e = error as? TokenizerError else {
                return XCTFail("not a TokenizerError: \(error)", file: file, line: line)
            }
            if let prefix {
                XCTAssertTrue(e.description.hasPrefix(prefix), e.description, file: file, line: line)
            } else {
                XCTAssertEqual(e, expected, file: file, line: line)
            }
        }
    }
}
