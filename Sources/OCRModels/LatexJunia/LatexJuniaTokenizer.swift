// The character tokenizer of latex-ocr-junia: one token per Unicode code point (a Python `str`
// character), BOS / EOS around the text, unknown characters → <unk>; decoding stops at EOS and
// drops the special tokens.
//
// Reference: latex_ocr_junia/tokenizer.py (LatexTokenizer.encode / decode / load).

import Foundation

public struct LatexJuniaTokenizer: Sendable, Equatable {
    public static let fileName = "char_tokenizer.json"

    public let tokenToID: [String: Int]
    public let idToToken: [Int: String]
    public let padID: Int
    public let bosID: Int
    public let eosID: Int
    public let unkID: Int
    /// Single-code-point tokens by scalar value (Swift's `String` equality is canonical
    /// equivalence; Python's `dict[str]` compares code points).
    private let scalarToID: [Unicode.Scalar: Int]
    /// The special tokens' strings: pad, bos, eos, unk.
    public let specials: [String: String]

    public init(tokenToID: [String: Int], pad: String = "<pad>", bos: String = "<bos>", eos: String = "<eos>", unk: String = "<unk>", source: String = "tokenizer") throws {
        func id(_ token: String, _ role: String) throws -> Int {
            guard let i = tokenToID[token] else { throw ModelFolderError("\(source): the \(role) token \"\(token)\" is not in token_to_id") }
            return i
        }
        self.tokenToID = tokenToID
        specials = ["pad": pad, "bos": bos, "eos": eos, "unk": unk]
        idToToken = Dictionary(tokenToID.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        scalarToID = Dictionary(
            tokenToID.compactMap { token, id in token.unicodeScalars.count == 1 ? (token.unicodeScalars.first!, id) : nil },
            uniquingKeysWith: { a, _ in a })
        padID = try id(pad, "pad")
        bosID = try id(bos, "bos")
        eosID = try id(eos, "eos")
        unkID = try id(unk, "unk")
    }

    /// Reads the package's `tokenizer.json` layout: `{"token_to_id": {...}, "specials": {"pad", "bos", "eos", "unk"}}`.
    public init(contentsOf url: URL) throws {
        struct File: Decodable {
            struct Specials: Decodable { let pad, bos, eos, unk: String }
            let token_to_id: [String: Int]
            let specials: Specials?
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        } catch {
            throw ModelFolderError("cannot read \(url.path): \(error)")
        }
        let s = file.specials
        try self.init(
            tokenToID: file.token_to_id, pad: s?.pad ?? "<pad>", bos: s?.bos ?? "<bos>", eos: s?.eos ?? "<eos>",
            unk: s?.unk ?? "<unk>", source: url.path)
    }

    /// The file in the package's layout (keys sorted).
    public func write(to url: URL) throws {
        struct File: Encodable { let token_to_id: [String: Int]; let specials: [String: String] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(File(token_to_id: tokenToID, specials: specials)).write(to: url)
    }

    public var vocabularySize: Int { tokenToID.count }

    /// The specials, never produced by ``decode(_:)``.
    public var specialIDs: Set<Int> { [padID, bosID, eosID, unkID] }

    /// `[bos] + one id per code point + [eos]`, truncated to `maxLength` with EOS kept last.
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var ids = [bosID]
        ids += text.unicodeScalars.map { scalarToID[$0] ?? unkID }
        ids.append(eosID)
        if let maxLength, ids.count > maxLength {
            ids = Array(ids.prefix(Swift.max(2, maxLength)))
            ids[ids.count - 1] = eosID
        }
        return ids
    }

    /// Text of `ids` up to the first EOS; specials (and unknown ids, read as <unk>) dropped.
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for id in ids {
            if id == eosID { break }
            guard let token = idToToken[id], !specialIDs.contains(id) else { continue }
            text += token
        }
        return text
    }

    /// Whether every code point of `text` has its own token.
    public func covers(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalarToID[$0] != nil }
    }
}
