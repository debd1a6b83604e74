// Decoders.swift — the `decoder` and `post_processor` sections of tokenizer.json.

import Foundation

// MARK: - Decoder

/// Turns tokens back into text; each step maps a token list to a token list
/// (`decode_chain`), and the final list is concatenated.
indirect enum Decoder {
    case byteLevel
    case metaspace(replacement: String, prependScheme: PreTokenizer.PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(pattern: TextPattern, content: String)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)
    case ctc(pad: String, wordDelimiter: String, cleanup: Bool)
    case sequence([Decoder])

    init(json: JSONNode) throws {
        let type = try json.typeName()
        switch type {
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            self = .metaspace(replacement: try PreTokenizer.replacement(json),
                              prependScheme: try PreTokenizer.prependScheme(json))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try json.required("content")
            guard let scalar = try content.string().unicodeScalars.first,
                  try content.string().unicodeScalars.count == 1 else {
                throw content.invalid("expected one character")
            }
            self = .strip(content: scalar, start: try json.int("start"), stop: try json.int("stop"))
        case "Replace":
            self = .replace(pattern: try parsePattern(try json.required("pattern")),
                            content: try json.string("content"))
        case "WordPiece":
            self = .wordPiece(prefix: try json.optionalString("prefix") ?? "##",
                              cleanup: try json.bool("cleanup", default: true))
        case "BPEDecoder":
            self = .bpe(suffix: try json.optionalString("suffix") ?? "</w>")
        case "CTC":
            self = .ctc(pad: try json.optionalString("pad_token") ?? "<pad>",
                        wordDelimiter: try json.optionalString("word_delimiter_token") ?? "|",
                        cleanup: try json.bool("cleanup", default: true))
        case "Sequence":
            self = .sequence(try json.required("decoders").array().map(Decoder.init(json:)))
        default:
            throw json.unsupported(type)
        }
    }

    func decode(_ tokens: [String]) -> String { decodeChain(tokens).joined() }

    // MARK: Chain steps

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevel.bytes(of: t) ?? Array(t.utf8) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(replacement, scheme):
            let r = replacement.unicodeScalars.first!
            return tokens.enumerated().map { i, token in
                var out = String.UnicodeScalarView()
                for s in token.unicodeScalars {
                    if s == r {
                        if i == 0 && scheme != .never { continue }
                        out.append(" ")
                    } else {
                        out.append(s)
                    }
                }
                return String(out)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validatingUTF8Bytes: pending) {
                    out.append(s)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Self.byteValue(t) { pending.append(b); continue }
                flush()
                out.append(t)
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var lo = 0
                while lo < min(start, scalars.count), scalars[lo] == content { lo += 1 }
                var hi = scalars.count
                var k = 0
                while k < stop, hi > lo, scalars[hi - 1] == content { hi -= 1; k += 1 }
                return String(String.UnicodeScalarView(scalars[lo..<hi]))
            }
        case let .replace(pattern, content):
            return tokens.map { Normalizer.replace($0, pattern: pattern, with: content) }
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, token in
                var t = token
                if i != 0 {
                    if t.hasScalarPrefix(prefix) { t = t.droppingScalarPrefix(prefix.unicodeScalars.count) } else { t = " " + t }
                }
                return cleanup ? Self.cleanup(t) : t
            }
        case let .bpe(suffix):
            return tokens.enumerated().map { i, token in
                Normalizer.replace(token, pattern: .string(suffix), with: i == tokens.count - 1 ? "" : " ")
            }
        case let .ctc(pad, delimiter, cleanup):
            var out: [String] = []
            var previous: String?
            for token in tokens {
                defer { previous = token }
                if let p = previous, TokenKey(p) == TokenKey(token) { continue }  // collapse repeats
                var t = Normalizer.replace(token, pattern: .string(pad), with: "")
                if cleanup {
                    t = Normalizer.replace(Self.cleanup(t), pattern: .string(delimiter), with: " ")
                }
                if !t.isEmpty { out.append(t) }
            }
            return out
        case let .sequence(list):
            return list.reduce(tokens) { $1.decodeChain($0) }
        }
    }

    /// The byte of a `<0xAB>` token.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// WordPiece's clean-up of spaces before punctuation and contractions.
    static func cleanup(_ text: String) -> String {
        var t = text
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            t = Normalizer.replace(t, pattern: .string(a), with: b)
        }
        return t
    }
}

extension String {
    /// Strict UTF-8 decoding; nil on invalid input.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var out = String.UnicodeScalarView()
        var it = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): out.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(out)
    }
}

// MARK: - Post-processor

/// Adds the special tokens around an encoded sequence.
indirect enum PostProcessor {
    /// Ids before and after the sequence.
    case wrap(prefix: [Int], suffix: [Int])
    case sequence([PostProcessor])
    case none

    init(json: JSONNode) throws {
        let type = try json.typeName()
        switch type {
        case "RobertaProcessing", "BertProcessing":
            let cls = try Self.pair(try json.required("cls"))
            let sep = try Self.pair(try json.required("sep"))
            self = .wrap(prefix: [cls], suffix: [sep])
        case "ByteLevel":
            self = .none
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let node = try json.optional("special_tokens") {
                for (key, entry) in try node.members() {
                    specials[key] = try entry.required("ids").array().map { try $0.int() }
                }
            }
            var prefix: [Int] = [], suffix: [Int] = []
            var seenSequence = false
            let single = try json.required("single")
            for item in try single.array() {
                if let special = try item.optional("SpecialToken") {
                    let name = try special.string("id")
                    guard let ids = specials[name] else {
                        throw special.invalid("special token '\(name)' is not in special_tokens")
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else if try item.optional("Sequence") != nil {
                    seenSequence = true
                } else {
                    throw item.invalid("expected SpecialToken or Sequence")
                }
            }
            self = .wrap(prefix: prefix, suffix: suffix)
        case "Sequence":
            self = .sequence(try json.required("processors").array().map(PostProcessor.init(json:)))
        default:
            throw json.unsupported(type)
        }
    }

    private static func pair(_ node: JSONNode) throws -> Int {
        let items = try node.array()
        guard items.count == 2 else { throw node.invalid("expected [token, id]") }
        return try items[1].int()
    }

    func process(_ ids: [Int]) -> [Int] {
        switch self {
        case let .wrap(prefix, suffix): return prefix + ids + suffix
        case let .sequence(list): return list.reduce(ids) { $1.process($0) }
        case .none: return ids
        }
    }

    /// (prefix, suffix) ids this processor adds.
    var added: (prefix: [Int], suffix: [Int]) {
        switch self {
        case let .wrap(p, s): return (p, s)
        case let .sequence(list):
            return list.reduce(([], [])) { acc, p in let a = p.added; return (a.prefix + acc.0, acc.1 + a.suffix) }
        case .none: return ([], [])
        }
    }
}
