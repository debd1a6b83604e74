// TextSplitting.swift — the pattern matching and split behaviours shared by
// normalizers, pre-tokenizers and added-token matching, modelled on the
// `tokenizers` library's NormalizedString::split.

import Foundation

// MARK: - Character classes (Rust `char` semantics)

extension Unicode.Scalar {
    /// Rust `char::is_whitespace`: the White_Space property.
    var isRustWhitespace: Bool { properties.isWhitespace }

    /// Rust `char::is_numeric`: general category Nd, Nl or No.
    var isRustNumeric: Bool {
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// General category M* (what `tokenizers`' StripAccents removes).
    var isMark: Bool {
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Rust `char::is_alphanumeric`: Alphabetic or numeric.
    var isRustAlphanumeric: Bool { properties.isAlphabetic || isRustNumeric }

    /// The `tokenizers` punctuation test: ASCII punctuation or a Unicode P* category.
    var isTokenizersPunctuation: Bool {
        if isASCII {
            let v = value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v)
                || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
        }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

// MARK: - Regex

/// A regular expression with Oniguruma-compatible `\s` (the White_Space property).
///
/// ICU's `\s` omits U+000B and U+0085, which Oniguruma (used by `tokenizers`)
/// includes, so `\s` / `\S` are rewritten to the property before compiling.
///
/// The split patterns of GPT-2, Qwen2 / cl100k and `\w+|[^\w\s]+` are
/// recognized by their exact source and matched by `BuiltinPattern` instead.
final class TokenRegex: @unchecked Sendable {
    let pattern: String
    private let regex: NSRegularExpression
    private let builtin: BuiltinPattern?

    init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try NSRegularExpression(pattern: TokenRegex.translate(pattern), options: [])
        builtin = BuiltinPattern(source: pattern)
    }

    /// Rewrites `\s` and `\S` (outside and inside classes) to White_Space properties.
    static func translate(_ pattern: String) -> String {
        var out = ""
        var escaped = false
        for ch in pattern {
            if escaped {
                switch ch {
                case "s": out += "\\p{White_Space}"
                case "S": out += "\\P{White_Space}"
                default: out += "\\"; out.append(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        if escaped { out += "\\" }
        return out
    }

    /// Byte ranges... of matches, as String index ranges in `text`.
    ///
    /// UTF-16 offsets are converted by walking the UTF-16 view: Foundation's
    /// `Range(_:in:)` rejects ranges inside a grapheme cluster (e.g. "\r" of "\r\n").
    func matches(in text: String) -> [Range<String.Index>] {
        if let builtin { return builtin.matches(in: text) }
        let utf16 = text.utf16
        let found = regex.matches(in: text, options: [], range: NSRange(location: 0, length: utf16.count))
        var result: [Range<String.Index>] = []
        result.reserveCapacity(found.count)
        var index = utf16.startIndex
        var offset = 0
        for match in found {
            let r = match.range
            guard r.location != NSNotFound, r.location >= offset else { continue }
            index = utf16.index(index, offsetBy: r.location - offset)
            let end = utf16.index(index, offsetBy: r.length)
            result.append(index..<end)
            index = end
            offset = r.location + r.length
        }
        return result
    }
}

// MARK: - Patterns and split behaviour

/// What a pre-tokenizer or normalizer looks for.
enum TextPattern {
    case string(String)
    case regex(TokenRegex)
    case predicate((Unicode.Scalar) -> Bool)

    /// `(range, isMatch)` pieces covering `text`, like `Pattern::find_matches`.
    func findMatches(in text: String) -> [(Range<String.Index>, Bool)] {
        if text.isEmpty { return [(text.startIndex..<text.endIndex, false)] }
        var result: [(Range<String.Index>, Bool)] = []
        switch self {
        case .predicate(let test):
            var last = text.startIndex
            var i = text.unicodeScalars.startIndex
            while i < text.unicodeScalars.endIndex {
                let next = text.unicodeScalars.index(after: i)
                if test(text.unicodeScalars[i]) {
                    if last < i { result.append((last..<i, false)) }
                    result.append((i..<next, true))
                    last = next
                }
                i = next
            }
            if last < text.endIndex { result.append((last..<text.endIndex, false)) }
            return result
        case .string(let needle):
            guard !needle.isEmpty else { return [(text.startIndex..<text.endIndex, false)] }
            return Self.assemble(Self.occurrences(of: needle, in: text), in: text)
        case .regex(let regex):
            return Self.assemble(regex.matches(in: text), in: text)
        }
    }

    private static func assemble(_ found: [Range<String.Index>], in text: String) -> [(Range<String.Index>, Bool)] {
        var result: [(Range<String.Index>, Bool)] = []
        var prev = text.startIndex
        for r in found {
            if prev != r.lowerBound { result.append((prev..<r.lowerBound, false)) }
            result.append((r, true))
            prev = r.upperBound
        }
        if prev != text.endIndex { result.append((prev..<text.endIndex, false)) }
        return result
    }

    /// Non-overlapping occurrences of `needle`, scanning by Unicode scalars.
    static func occurrences(of needle: String, in text: String) -> [Range<String.Index>] {
        let n = Array(needle.utf8)
        let hay = Array(text.utf8)
        guard n.count <= hay.count else { return [] }
        var found: [Range<String.Index>] = []
        var i = 0
        let utf8 = text.utf8
        while i + n.count <= hay.count {
            if hay[i] == n[0] && Array(hay[i..<(i + n.count)]) == n {
                let lo = utf8.index(utf8.startIndex, offsetBy: i)
                let hi = utf8.index(lo, offsetBy: n.count)
                found.append(lo..<hi)
                i += n.count
            } else {
                i += 1
            }
        }
        return found
    }
}

/// How matched delimiters are kept (`SplitDelimiterBehavior`).
enum SplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    init(json: JSONNode) throws {
        let name = try json.string()
        guard let b = SplitBehavior(rawValue: name) else {
            throw json.invalid("unknown split behavior '\(name)'")
        }
        self = b
    }
}

/// Splits `text` on `pattern` with `behavior`; empty pieces are dropped.
func splitText(_ text: String, on pattern: TextPattern, behavior: SplitBehavior, invert: Bool = false) -> [String] {
    splitTextMarkingStart(text, on: pattern, behavior: behavior, invert: invert).map(\.0)
}

/// `splitText`, with whether each piece starts at the beginning of `text`.
func splitTextMarkingStart(_ text: String, on pattern: TextPattern, behavior: SplitBehavior,
                           invert: Bool = false) -> [(String, Bool)] {
    var matches = pattern.findMatches(in: text)
    if invert { matches = matches.map { ($0.0, !$0.1) } }
    typealias Piece = (lo: String.Index, hi: String.Index, remove: Bool)
    var pieces: [Piece] = []
    switch behavior {
    case .isolated:
        pieces = matches.map { ($0.0.lowerBound, $0.0.upperBound, false) }
    case .removed:
        pieces = matches.map { ($0.0.lowerBound, $0.0.upperBound, $0.1) }
    case .contiguous:
        var previous = false
        for (r, isMatch) in matches {
            if isMatch == previous, !pieces.isEmpty {
                pieces[pieces.count - 1].hi = r.upperBound
            } else {
                pieces.append((r.lowerBound, r.upperBound, false))
            }
            previous = isMatch
        }
    case .mergedWithPrevious:
        var previous = false
        for (r, isMatch) in matches {
            if isMatch && !previous, !pieces.isEmpty {
                pieces[pieces.count - 1].hi = r.upperBound
            } else {
                pieces.append((r.lowerBound, r.upperBound, false))
            }
            previous = isMatch
        }
    case .mergedWithNext:
        var previous = false
        for (r, isMatch) in matches.reversed() {
            if isMatch && !previous, !pieces.isEmpty {
                pieces[pieces.count - 1].lo = r.lowerBound
            } else {
                pieces.append((r.lowerBound, r.upperBound, false))
            }
            previous = isMatch
        }
        pieces.reverse()
    }
    return pieces.compactMap { p in
        p.remove || p.lo == p.hi ? nil : (text.scalarSlice(p.lo..<p.hi), p.lo == text.startIndex)
    }
}

// MARK: - Pattern from JSON

/// Parses `{"String": "..."}` or `{"Regex": "..."}`.
func parsePattern(_ node: JSONNode) throws -> TextPattern {
    if let s = try node.optional("String") { return .string(try s.string()) }
    if let r = try node.optional("Regex") {
        let source = try r.string()
        do {
            return .regex(try TokenRegex(source))
        } catch {
            throw r.invalid("invalid regular expression: \(error)")
        }
    }
    throw node.invalid("expected {\"String\": …} or {\"Regex\": …}")
}

// MARK: - Scalar-level string helpers

// Swift's `String` API works on grapheme clusters (" " + U+0301 is one
// Character), whereas `tokenizers` works on scalars; these helpers never
// round to Character boundaries.
extension String {
    func hasScalarPrefix(_ prefix: String) -> Bool { unicodeScalars.starts(with: prefix.unicodeScalars) }

    func droppingScalarPrefix(_ count: Int) -> String { String(unicodeScalars.dropFirst(count)) }

    /// Splits on `separator` scalars, keeping empty pieces.
    func scalarSplit(_ separator: Unicode.Scalar) -> [String] {
        unicodeScalars.split(separator: separator, omittingEmptySubsequences: false).map { String($0) }
    }

    /// The scalars in `range` (no rounding to Character boundaries).
    func scalarSlice(_ range: Range<String.Index>) -> String { String(unicodeScalars[range]) }
}
