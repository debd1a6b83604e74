// Normalizers.swift — the `normalizer` section of tokenizer.json.

import Foundation

// MARK: - Normalizer

/// A text normalizer, applied to each piece of text between added tokens.
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case replace(pattern: TextPattern, content: String)
    case prepend(String)
    case nmt
    case byteLevel
    case precompiled(PrecompiledCharsMap?)
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    case sequence([Normalizer])

    init(json: JSONNode) throws {
        let type = try json.typeName()
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Nmt": self = .nmt
        case "ByteLevel": self = .byteLevel
        case "Strip":
            self = .strip(left: try json.bool("strip_left", default: true),
                          right: try json.bool("strip_right", default: true))
        case "Replace":
            self = .replace(pattern: try parsePattern(try json.required("pattern")),
                            content: try json.string("content"))
        case "Prepend":
            self = .prepend(try json.string("prepend"))
        case "Precompiled":
            let node = try json.required("precompiled_charsmap")
            let encoded = try node.string()
            if encoded.isEmpty { self = .precompiled(nil); return }
            guard let data = Data(base64Encoded: encoded) else { throw node.invalid("not base64") }
            guard let map = PrecompiledCharsMap(data: data) else { throw node.invalid("malformed charsmap") }
            self = .precompiled(map)
        case "BertNormalizer":
            self = .bert(cleanText: try json.bool("clean_text", default: true),
                         handleChineseChars: try json.bool("handle_chinese_chars", default: true),
                         stripAccents: try json.optional("strip_accents")?.bool(),
                         lowercase: try json.bool("lowercase", default: true))
        case "Sequence":
            self = .sequence(try json.required("normalizers").array().map(Normalizer.init(json:)))
        default:
            throw json.unsupported(type)
        }
    }

    // MARK: Application

    /// Normalizes `text` and tells whether its first character survived at the
    /// start (what `tokenizers` sees as "original offset 0", used by Metaspace's
    /// `prepend_scheme: first`): stripping or filtering leading characters loses it.
    func normalizeTrackingStart(_ text: String) -> (String, Bool) {
        switch self {
        case let .sequence(list):
            var keeps = true
            var t = text
            for n in list {
                let (next, k) = n.normalizeTrackingStart(t)
                t = next
                keeps = keeps && k
            }
            return (t, keeps)
        default:
            let out = normalize(text)
            guard let first = text.unicodeScalars.first else { return (out, true) }
            switch self {
            case .strip(let left, _):
                return (out, !(left && first.isRustWhitespace))
            case .stripAccents:
                return (out, !first.isMark)
            case .nmt:
                return (out, !Self.nmtDrops(first))
            case .bert(let clean, _, let strip, let lower):
                let dropsControl = clean && Self.bert(String(first), cleanText: true, handleChinese: false,
                                                      stripAccents: false, lowercase: false).isEmpty
                return (out, !dropsControl && !((strip ?? lower) && first.isMark))
            case let .replace(pattern, _):
                // The replacement inherits the alignment of the last replaced character.
                if let m = pattern.findMatches(in: text).first, m.1 {
                    return (out, text.unicodeScalars[m.0].count == 1 && !normalize(String(first)).isEmpty)
                }
                return (out, true)
            case .precompiled:
                return (out, !(text.first.map { normalize(String($0)).isEmpty } ?? false))
            default:
                return (out, true)
            }
        }
    }

    static func nmtDrops(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0001...0x0008, 0x000B, 0x000E...0x001F, 0x007F, 0x008F, 0x009F: return true
        default: return false
        }
    }

    func normalize(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return Self.lowercased(text)
        case let .strip(left, right): return Self.strip(text, left: left, right: right)
        case .stripAccents: return Self.removeMarks(text)
        case let .replace(pattern, content): return Self.replace(text, pattern: pattern, with: content)
        case let .prepend(prefix): return text.isEmpty ? text : prefix + text
        case .nmt: return Self.nmt(text)
        case .byteLevel: return ByteLevel.encode(text)
        case let .precompiled(map): return map?.normalize(text) ?? text
        case let .bert(clean, chinese, strip, lower):
            return Self.bert(text, cleanText: clean, handleChinese: chinese, stripAccents: strip, lowercase: lower)
        case let .sequence(list): return list.reduce(text) { $1.normalize($0) }
        }
    }

    /// Per-scalar full lowercase mapping (Rust `char::to_lowercase`, no final-sigma rule).
    static func lowercased(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.isASCII {
                out.append(s.properties.isUppercase ? Unicode.Scalar(s.value + 32)! : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    static func strip(_ text: String, left: Bool, right: Bool) -> String {
        let scalars = text.unicodeScalars
        var lo = scalars.startIndex
        var hi = scalars.endIndex
        if left { while lo < hi, scalars[lo].isRustWhitespace { lo = scalars.index(after: lo) } }
        if right {
            while hi > lo, scalars[scalars.index(before: hi)].isRustWhitespace { hi = scalars.index(before: hi) }
        }
        return String(scalars[lo..<hi])
    }

    static func removeMarks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where !s.isMark { out.append(s) }
        return String(out)
    }

    static func replace(_ text: String, pattern: TextPattern, with content: String) -> String {
        var out = ""
        for (range, isMatch) in pattern.findMatches(in: text) {
            if isMatch { out += content } else { out += text.scalarSlice(range) }
        }
        return out
    }

    /// SentencePiece's NMT clean-up: drop control characters, map odd spaces to " ".
    static func nmt(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            switch s.value {
            case 0x0001...0x0008, 0x000B, 0x000E...0x001F, 0x007F, 0x008F, 0x009F:
                continue
            case 0x0009, 0x000A, 0x000C, 0x000D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
                out.append(" ")
            default:
                out.append(s)
            }
        }
        return String(out)
    }

    static func bert(_ text: String, cleanText: Bool, handleChinese: Bool, stripAccents: Bool?, lowercase: Bool) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if cleanText {
                let cat = s.properties.generalCategory
                let isControl = s.value != 0x09 && s.value != 0x0A && s.value != 0x0D
                    && (cat == .control || cat == .format || cat == .privateUse || cat == .surrogate || cat == .unassigned)
                if s.value == 0 || s.value == 0xFFFD || isControl { continue }
                if s.value == 0x09 || s.value == 0x0A || s.value == 0x0D || s.isRustWhitespace {
                    out.append(" ")
                    continue
                }
            }
            if handleChinese, isChineseChar(s) {
                out.append(" "); out.append(s); out.append(" ")
                continue
            }
            out.append(s)
        }
        var result = String(out)
        if stripAccents ?? lowercase {
            result = removeMarks(result.decomposedStringWithCanonicalMapping)
        }
        if lowercase { result = lowercased(result) }
        return result
    }

    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

// MARK: - Precompiled (SentencePiece charsmap)

/// SentencePiece's precompiled normalization map: a Darts-clone double-array
/// trie over UTF-8 keys whose values index a blob of NUL-terminated replacements.
///
/// Applied like `tokenizers`' `Precompiled` normalizer: per extended grapheme
/// cluster (whole cluster first when shorter than 6 bytes, else per scalar),
/// taking the shortest prefix match of the trie.
struct PrecompiledCharsMap {
    private let units: [UInt32]
    private let normalized: [UInt8]

    init?(data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { return nil }
        let trieSize = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieSize % 4 == 0, 4 + trieSize <= bytes.count else { return nil }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for k in 0..<units.count {
            let o = 4 + 4 * k
            units[k] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        self.units = units
        normalized = Array(bytes[(4 + trieSize)...])
    }

    /// Value of the shortest key that prefixes `key`, as the replacement bytes.
    func transform<C: Collection>(_ key: C) -> [UInt8]? where C.Element == UInt8 {
        guard !units.isEmpty else { return nil }
        func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
        func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
        func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
        var pos = offset(units[0])
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < units.count else { return nil }
            let unit = units[pos]
            if label(unit) != UInt32(c) { return nil }
            pos ^= offset(unit)
            guard pos < units.count else { return nil }
            if hasLeaf(unit) {
                let start = value(units[pos])
                guard start <= normalized.count else { return nil }
                var end = start
                while end < normalized.count, normalized[end] != 0 { end += 1 }
                return Array(normalized[start..<end])
            }
        }
        return nil
    }

    func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let g = Array(String(grapheme).utf8)
            if g.count < 6, let norm = transform(g) {
                out += norm
                continue
            }
            for s in grapheme.unicodeScalars {
                let part = Array(String(s).utf8)
                if let norm = transform(part) { out += norm } else { out += part }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
