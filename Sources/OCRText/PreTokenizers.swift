// PreTokenizers.swift — the `pre_tokenizer` section of tokenizer.json and the
// GPT-2 byte-to-unicode mapping.

import Foundation

// MARK: - Byte level

/// GPT-2's reversible byte ↔ printable-character mapping.
enum ByteLevel {
    /// GPT-2's pre-tokenization regex (what `ByteLevel(use_regex: true)` splits with).
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// `byteToScalar[b]` is the character standing for byte `b`.
    static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var mapped = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            mapped.append(256 + extra)
            extra += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(printable, mapped) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    /// Inverse of `byteToScalar`.
    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    static let regex: TokenRegex = try! TokenRegex(gpt2Pattern)

    /// Maps every UTF-8 byte of `text` to its printable stand-in.
    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for b in text.utf8 { out.append(byteToScalar[Int(b)]) }
        return String(out)
    }

    /// Reverses `encode` for a token; nil when a character is not a byte stand-in.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}

// MARK: - PreTokenizer

/// Splits normalized text into words before the model runs.
indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    case split(pattern: TextPattern, behavior: SplitBehavior, invert: Bool)
    case whitespace
    case whitespaceSplit
    case charDelimiter(Unicode.Scalar)
    case bert
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    /// Metaspace's `prepend_scheme`.
    enum PrependScheme: String {
        case always, first, never
    }

    init(json: JSONNode) throws {
        let type = try json.typeName()
        switch type {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json.bool("add_prefix_space", default: true),
                              useRegex: try json.bool("use_regex", default: true))
        case "Metaspace":
            self = .metaspace(replacement: try Self.replacement(json),
                              prependScheme: try Self.prependScheme(json),
                              split: try json.bool("split", default: true))
        case "Split":
            self = .split(pattern: try parsePattern(try json.required("pattern")),
                          behavior: try SplitBehavior(json: try json.required("behavior")),
                          invert: try json.bool("invert", default: false))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "CharDelimiterSplit":
            let node = try json.required("delimiter")
            let d = try node.string().unicodeScalars
            guard d.count == 1 else { throw node.invalid("expected one character") }
            self = .charDelimiter(d.first!)
        case "BertPreTokenizer": self = .bert
        case "Digits": self = .digits(individual: try json.bool("individual_digits", default: false))
        case "Punctuation":
            self = .punctuation(try json.optional("behavior").map(SplitBehavior.init(json:)) ?? .isolated)
        case "Sequence":
            self = .sequence(try json.required("pretokenizers").array().map(PreTokenizer.init(json:)))
        default:
            throw json.unsupported(type)
        }
    }

    /// Metaspace's replacement character (also read by the Metaspace decoder).
    static func replacement(_ json: JSONNode) throws -> String {
        let r = try json.optionalString("replacement") ?? "\u{2581}"
        guard r.unicodeScalars.count == 1 else { throw try json.required("replacement").invalid("expected one character") }
        return r
    }

    /// Reads `prepend_scheme`, or the legacy `add_prefix_space` flag.
    static func prependScheme(_ json: JSONNode) throws -> PrependScheme {
        if let node = try json.optional("prepend_scheme") {
            guard let scheme = PrependScheme(rawValue: try node.string()) else {
                throw node.invalid("expected always, first or never")
            }
            return scheme
        }
        return try json.bool("add_prefix_space", default: true) ? .always : .never
    }

    private static let whitespaceRegex = try! TokenRegex(#"\w+|[^\w\s]+"#)

    // MARK: Application

    /// Splits one piece; `isFirst` says whether it starts the original text.
    func preTokenize(_ pieces: [(String, Bool)]) -> [(String, Bool)] {
        switch self {
        case let .sequence(list):
            return list.reduce(pieces) { $1.preTokenize($0) }
        case let .byteLevel(addPrefixSpace, useRegex):
            return pieces.flatMap { (text, first) -> [(String, Bool)] in
                var t = text
                if addPrefixSpace && !t.hasScalarPrefix(" ") { t = " " + t }
                let parts = useRegex ? splitTextMarkingStart(t, on: .regex(ByteLevel.regex), behavior: .isolated)
                    : (t.isEmpty ? [] : [(t, true)])
                return parts.map { (ByteLevel.encode($0.0), first && $0.1) }
            }
        default:
            return pieces.flatMap { (text, first) -> [(String, Bool)] in
                splitOne(text, isFirst: first).map { ($0.0, first && $0.1) }
            }
        }
    }

    /// Pieces of `text`, each with whether it starts at the beginning of `text`.
    private func splitOne(_ text: String, isFirst: Bool) -> [(String, Bool)] {
        switch self {
        case let .metaspace(replacement, scheme, doSplit):
            var t = Normalizer.replace(text, pattern: .string(" "), with: replacement)
            switch scheme {
            case .always: if !t.hasScalarPrefix(replacement) { t = replacement + t }
            case .first: if !t.hasScalarPrefix(replacement) && isFirst { t = replacement + t }
            case .never: break
            }
            if doSplit { return splitTextMarkingStart(t, on: .string(replacement), behavior: .mergedWithNext) }
            return t.isEmpty ? [] : [(t, true)]
        case let .split(pattern, behavior, invert):
            return splitTextMarkingStart(text, on: pattern, behavior: behavior, invert: invert)
        case .whitespace:
            return splitTextMarkingStart(text, on: .regex(Self.whitespaceRegex), behavior: .removed, invert: true)
        case .whitespaceSplit:
            return splitTextMarkingStart(text, on: .predicate { $0.isRustWhitespace }, behavior: .removed)
        case let .charDelimiter(d):
            return splitTextMarkingStart(text, on: .predicate { $0 == d }, behavior: .removed)
        case .bert:
            return splitTextMarkingStart(text, on: .predicate { $0.isRustWhitespace }, behavior: .removed)
                .flatMap { word in
                    splitTextMarkingStart(word.0, on: .predicate { $0.isTokenizersPunctuation }, behavior: .isolated)
                        .map { ($0.0, word.1 && $0.1) }
                }
        case let .digits(individual):
            return splitTextMarkingStart(text, on: .predicate { $0.isRustNumeric }, behavior: individual ? .isolated : .contiguous)
        case let .punctuation(behavior):
            return splitTextMarkingStart(text, on: .predicate { $0.isTokenizersPunctuation }, behavior: behavior)
        case .byteLevel, .sequence:
            return [(text, true)]
        }
    }
}
