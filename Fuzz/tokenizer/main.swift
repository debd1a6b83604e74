// Fuzz/tokenizer — libFuzzer target for tokenizer.json (Sources/OCRText, compiled in with swiftc):
// the JSON parser, the model section (BPE, WordPiece, Unigram), normalizers, pre-tokenizers,
// post-processors, decoders and added tokens; then each tokenizer that loads encodes fixed text and
// the input's own bytes, and decodes ids in and out of its vocabulary. Loading may throw; nothing
// may trap.

import Foundation

private let file = fuzzScratchFolder("tokenizer")?.appendingPathComponent("tokenizer.json")
private let texts = ["Hello, world! 123 4567", "  héllo\tWORLD\n ążć 日本語 🙂 ", "<s>[CLS] </s> <unk> [UNK]", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Data(data.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0))
    guard let file, writeFuzzInput(data, size, to: file) else { return 0 }
    guard let tokenizer = try? Tokenizer(tokenizerJSON: file) else { return 0 }
    let own = String(decoding: bytes.prefix(256), as: UTF8.self)
    for text in texts + [own] {
        let ids = tokenizer.encode(text)
        _ = tokenizer.encode(text, addSpecialTokens: false)
        _ = tokenizer.tokenize(text)
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode(ids, skipSpecialTokens: false)
    }
    let size = tokenizer.vocabularySize
    let odd = [0, 1, size - 1, size, size + 7, -1, Int(Int32.max)]
    _ = tokenizer.decode(odd)
    _ = tokenizer.decode(odd, skipSpecialTokens: false)
    for id in odd { _ = tokenizer.idToToken(id) }
    return 0
}
