// FastPatterns.swift — hand-written matchers for the split regexes that real
// tokenizers use (GPT-2 byte-level, Qwen2 / cl100k, `\w+|[^\w\s]+`). They give
// the same matches as the backtracking regex (checked against
// NSRegularExpression and `tokenizers` by the tests) at a fraction of the cost.

import Foundation

// MARK: - Character classes

/// The classes the patterns distinguish.
private enum ScalarClass: UInt8 {
    case letter, number, whitespace, other
}

private func classify(_ s: Unicode.Scalar) -> ScalarClass {
    let v = s.value
    if v < 0x80 {
        switch v {
        case 0x41...0x5A, 0x61...0x7A: return .letter
        case 0x30...0x39: return .number
        case 0x09...0x0D, 0x20: return .whitespace
        default: return .other
        }
    }
    if s.properties.isWhitespace { return .whitespace }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
}

/// `\w` of Oniguruma / ICU: Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control.
private func isWordScalar(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 {
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
    }
    if s.properties.isAlphabetic || s.properties.isJoinControl { return true }
    switch s.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
}

// MARK: - Built-in splitters

/// A split regex recognized by its source text and matched by hand.
enum BuiltinPattern {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Qwen2 (`maxDigits` 1) and cl100k / Llama 3 (`maxDigits` 3).
    case qwen(maxDigits: Int)
    /// `\w+|[^\w\s]+` (the Whitespace pre-tokenizer).
    case wordsAndSymbols

    static let qwen2Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let cl100kSource = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init?(source: String) {
        switch source {
        case ByteLevel.gpt2Pattern: self = .gpt2
        case Self.qwen2Source: self = .qwen(maxDigits: 1)
        case Self.cl100kSource: self = .qwen(maxDigits: 3)
        case #"\w+|[^\w\s]+"#: self = .wordsAndSymbols
        default: return nil
        }
    }

    /// Match ranges in `text`, leftmost first, as the regex would find them.
    func matches(in text: String) -> [Range<String.Index>] {
        let scalars = text.unicodeScalars
        var chars: [Unicode.Scalar] = []
        var indices: [String.Index] = []
        chars.reserveCapacity(text.utf8.count)
        indices.reserveCapacity(text.utf8.count + 1)
        var i = scalars.startIndex
        while i < scalars.endIndex {
            chars.append(scalars[i])
            indices.append(i)
            i = scalars.index(after: i)
        }
        indices.append(scalars.endIndex)
        let classes = chars.map(classify)
        var result: [Range<String.Index>] = []
        var pos = 0
        while pos < chars.count {
            let end: Int?
            switch self {
            case .gpt2: end = gpt2Match(chars, classes, pos)
            case let .qwen(maxDigits): end = qwenMatch(chars, classes, pos, maxDigits)
            case .wordsAndSymbols: end = wordMatch(chars, classes, pos)
            }
            if let end, end > pos {
                result.append(indices[pos]..<indices[end])
                pos = end
            } else {
                pos += 1
            }
        }
        return result
    }

    // MARK: Matchers (return the end of the match starting at `p`, or nil)

    private func run(_ classes: [ScalarClass], from p: Int, _ c: ScalarClass) -> Int {
        var k = p
        while k < classes.count, classes[k] == c { k += 1 }
        return k
    }

    /// `\s+(?!\S)|\s+` at `p` (which holds whitespace).
    private func whitespaceMatch(_ classes: [ScalarClass], _ p: Int) -> Int {
        let k = run(classes, from: p, .whitespace)
        if k == classes.count || k - p == 1 { return k }
        return k - 1
    }

    private func contraction(_ chars: [Unicode.Scalar], _ p: Int, ignoreCase: Bool) -> Int? {
        guard chars[p] == "'", p + 1 < chars.count else { return nil }
        func lower(_ s: Unicode.Scalar) -> Unicode.Scalar {
            guard ignoreCase else { return s }
            if s.value == 0x17F { return "s" }  // ſ case-folds to s
            if (0x41...0x5A).contains(s.value) { return Unicode.Scalar(s.value + 32)! }
            return s
        }
        let a = lower(chars[p + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return p + 2 }
        if p + 2 < chars.count {
            let b = lower(chars[p + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return p + 3 }
        }
        return nil
    }

    private func gpt2Match(_ chars: [Unicode.Scalar], _ classes: [ScalarClass], _ p: Int) -> Int? {
        if let end = contraction(chars, p, ignoreCase: false) { return end }
        let q = chars[p] == " " && p + 1 < chars.count ? p + 1 : p
        for start in q == p ? [p] : [q, p] {
            let c = classes[start]
            if c == .whitespace { continue }
            return run(classes, from: start, c)
        }
        return whitespaceMatch(classes, p)
    }

    private func qwenMatch(_ chars: [Unicode.Scalar], _ classes: [ScalarClass], _ p: Int, _ maxDigits: Int) -> Int? {
        if let end = contraction(chars, p, ignoreCase: true) { return end }
        let c = classes[p]
        let isNewline = chars[p] == "\r" || chars[p] == "\n"
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c == .letter { return run(classes, from: p, .letter) }
        if c != .number && !isNewline && p + 1 < chars.count && classes[p + 1] == .letter {
            return run(classes, from: p + 1, .letter)
        }
        // \p{N}{1,maxDigits}
        if c == .number { return min(run(classes, from: p, .number), p + maxDigits) }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        let q = chars[p] == " " && p + 1 < chars.count && classes[p + 1] == .other ? p + 1 : p
        if classes[q] == .other {
            var k = run(classes, from: q, .other)
            while k < chars.count, chars[k] == "\r" || chars[k] == "\n" { k += 1 }
            return k
        }
        // \s*[\r\n]+  then  \s+(?!\S)|\s+
        let k = run(classes, from: p, .whitespace)
        var lastNewline = -1
        for j in p..<k where chars[j] == "\r" || chars[j] == "\n" { lastNewline = j }
        if lastNewline >= 0 { return lastNewline + 1 }
        return whitespaceMatch(classes, p)
    }

    private func wordMatch(_ chars: [Unicode.Scalar], _ classes: [ScalarClass], _ p: Int) -> Int? {
        if isWordScalar(chars[p]) {
            var k = p
            while k < chars.count, isWordScalar(chars[k]) { k += 1 }
            return k
        }
        if classes[p] == .whitespace { return nil }
        var k = p
        while k < chars.count, !isWordScalar(chars[k]), classes[k] != .whitespace { k += 1 }
        return k
    }
}
