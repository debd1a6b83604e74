// JinjaLexer.swift — splits a chat template into text and tags, with the
// whitespace rules transformers compiles templates with: trim_blocks,
// lstrip_blocks, `{%-`/`-%}` stripping, newlines normalized to "\n" and one
// trailing newline dropped (keep_trailing_newline=False).

import Foundation

// MARK: - Tokens

/// A 1-based line and column in the template source (columns count Unicode scalars).
public struct TemplateLocation: Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public var description: String { "line \(line), column \(column)" }

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

enum JinjaTokenKind: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
}

struct JinjaToken {
    let kind: JinjaTokenKind
    let location: TemplateLocation
}

/// A piece of the template: literal text, an `{{ expression }}` or a `{% statement %}`.
enum JinjaSegment {
    case text(String)
    case output([JinjaToken], TemplateLocation)
    case statement([JinjaToken], TemplateLocation)
}

// MARK: - Lexer

struct JinjaLexer {
    private let src: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]

    init(source: String) {
        // Newlines (\r\n, \r, \n) become \n; one trailing newline is dropped.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for s in source.unicodeScalars {
            if s == "\r" {
                scalars.append("\n")
                previousCR = true
                continue
            }
            if s == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            scalars.append(s)
        }
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
        for (i, s) in src.enumerated() where s == "\n" { lineStarts.append(i + 1) }
    }

    func location(_ index: Int) -> TemplateLocation {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= index { lo = mid } else { hi = mid - 1 }
        }
        return TemplateLocation(line: lo + 1, column: index - lineStarts[lo] + 1)
    }

    private func syntax(_ message: String, at index: Int) -> ChatTemplateError {
        .syntax(message: message, location: location(index))
    }

    private static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s == "\u{0B}" || s == "\u{0C}"
    }

    /// The scalars `from..<to` as a String, written as UTF-8 into one allocation (appending them to
    /// a `String.UnicodeScalarView` one by one was the lexer's largest cost).
    private func string(_ from: Int, _ to: Int) -> String {
        guard from < to else { return "" }
        var bytes = 0
        for s in src[from..<to] { bytes += UTF8.width(s) }
        return String(unsafeUninitializedCapacity: bytes) { buffer in
            var k = 0
            for s in src[from..<to] {
                UTF8.encode(s) { byte in
                    buffer[k] = byte
                    k += 1
                }
            }
            return k
        }
    }

    // MARK: Segments

    func segments() throws -> [JinjaSegment] {
        var out: [JinjaSegment] = []
        var pos = 0
        var trimNewline = false  // trim_blocks: the newline after `%}` / `#}`
        var stripLeading = false  // after `-%}` / `-}}` / `-#}`
        let n = src.count
        while pos <= n {
            var open = pos
            while open + 1 < n, !(src[open] == "{" && (src[open + 1] == "{" || src[open + 1] == "%" || src[open + 1] == "#")) {
                open += 1
            }
            let found = open + 1 < n
            var start = pos, end = found ? open : n
            if trimNewline, start < end, src[start] == "\n" { start += 1 }
            if stripLeading { while start < end, Self.isSpace(src[start]) { start += 1 } }
            guard found else {
                if start < end { out.append(.text(string(start, end))) }
                break
            }
            let kind = src[open + 1]
            var j = open + 2
            var minus = false, plus = false
            if j < n, src[j] == "-" { minus = true; j += 1 } else if j < n, src[j] == "+" { plus = true; j += 1 }
            if minus {
                while end > start, Self.isSpace(src[end - 1]) { end -= 1 }
            } else if kind != "{", !plus {
                // lstrip_blocks: spaces and tabs from the line start up to the tag.
                var k = end
                while k > start, src[k - 1] == " " || src[k - 1] == "\t" { k -= 1 }
                if k == 0 || src[k - 1] == "\n" { end = k }
            }
            if start < end { out.append(.text(string(start, end))) }
            let tagLocation = location(open)
            if kind == "#" {
                guard let close = findCommentEnd(from: j) else { throw syntax("unterminated comment", at: open) }
                stripLeading = src[close - 1] == "-" && close - 1 >= j
                pos = close + 2
                trimNewline = true
                continue
            }
            let (tokens, next, rightMinus) = try tokenize(from: j, closing: kind == "{" ? "}" : "%", open: open)
            out.append(kind == "{" ? .output(tokens, tagLocation) : .statement(tokens, tagLocation))
            pos = next
            stripLeading = rightMinus
            trimNewline = kind == "%"
        }
        return out
    }

    private func findCommentEnd(from: Int) -> Int? {
        var i = from
        while i + 1 < src.count {
            if src[i] == "#", src[i + 1] == "}" { return i }
            i += 1
        }
        return nil
    }

    // MARK: Tag contents

    /// `//`, `**`, `==`, `!=`, `<=`, `>=` (compared as scalars: no String made per character).
    private static func isTwoCharOp(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        switch (a, b) {
        case ("/", "/"), ("*", "*"), ("=", "="), ("!", "="), ("<", "="), (">", "="): return true
        default: return false
        }
    }
    private static let oneCharOps: Set<Unicode.Scalar> = [
        "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "<", ">", "=",
    ]

    /// Tokens up to the closing delimiter (`}}` or `%}`, optionally `-` first);
    /// returns the index after it and whether it had the `-`.
    private func tokenize(from: Int, closing: Unicode.Scalar, open: Int) throws -> ([JinjaToken], Int, Bool) {
        var tokens: [JinjaToken] = []
        var i = from
        var depth = 0
        let n = src.count
        func isClose(_ k: Int) -> Bool { k + 1 < n && src[k] == closing && src[k + 1] == "}" && depth == 0 }
        while true {
            while i < n, Self.isSpace(src[i]) { i += 1 }
            guard i < n else { throw syntax(closing == "}" ? "unterminated '{{'" : "unterminated '{%'", at: open) }
            if src[i] == "-", isClose(i + 1) { return (tokens, i + 3, true) }
            if isClose(i) { return (tokens, i + 2, false) }
            let loc = location(i)
            let c = src[i]
            if c == "'" || c == "\"" {
                let (text, next) = try stringLiteral(at: i)
                tokens.append(JinjaToken(kind: .string(text), location: loc))
                i = next
            } else if c.properties.numericType != nil, ("0"..."9").contains(c) {
                var j = i
                var isFloat = false
                while j < n, ("0"..."9").contains(src[j]) || src[j] == "_" { j += 1 }
                if j + 1 < n, src[j] == ".", ("0"..."9").contains(src[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < n, ("0"..."9").contains(src[j]) || src[j] == "_" { j += 1 }
                }
                if j < n, src[j] == "e" || src[j] == "E" {
                    var k = j + 1
                    if k < n, src[k] == "+" || src[k] == "-" { k += 1 }
                    if k < n, ("0"..."9").contains(src[k]) {
                        isFloat = true
                        j = k
                        while j < n, ("0"..."9").contains(src[j]) { j += 1 }
                    }
                }
                let text = string(i, j).replacingOccurrences(of: "_", with: "")
                if isFloat {
                    guard let d = Double(text) else { throw syntax("invalid number '\(text)'", at: i) }
                    tokens.append(JinjaToken(kind: .double(d), location: loc))
                } else {
                    guard let v = Int(text) else { throw syntax("invalid number '\(text)'", at: i) }
                    tokens.append(JinjaToken(kind: .int(v), location: loc))
                }
                i = j
            } else if c == "_" || c.properties.isAlphabetic && c.isASCII {
                var j = i
                while j < n, src[j] == "_" || (src[j].isASCII && (src[j].properties.isAlphabetic || ("0"..."9").contains(src[j]))) {
                    j += 1
                }
                tokens.append(JinjaToken(kind: .name(string(i, j)), location: loc))
                i = j
            } else if i + 1 < n, Self.isTwoCharOp(c, src[i + 1]) {
                tokens.append(JinjaToken(kind: .op(string(i, i + 2)), location: loc))
                i += 2
            } else if Self.oneCharOps.contains(c) {
                if c == "(" || c == "[" || c == "{" { depth += 1 }
                if c == ")" || c == "]" || c == "}" { depth = max(0, depth - 1) }
                tokens.append(JinjaToken(kind: .op(String(c)), location: loc))
                i += 1
            } else {
                throw syntax("unexpected character '\(c)'", at: i)
            }
        }
    }

    /// A quoted literal with Python escapes; returns the text and the index after the closing quote.
    private func stringLiteral(at start: Int) throws -> (String, Int) {
        let quote = src[start]
        var out = String.UnicodeScalarView()
        var i = start + 1
        let n = src.count
        while i < n, src[i] != quote {
            if src[i] == "\\", i + 1 < n {
                let e = src[i + 1]
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "a": out.append("\u{07}")
                case "\\", "'", "\"": out.append(e)
                case "\n": break
                case "x", "u", "U":
                    let count = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    guard i + count <= n, let v = UInt32(string(i, i + count), radix: 16), let s = Unicode.Scalar(v) else {
                        throw syntax("invalid escape in string literal", at: i - 2)
                    }
                    out.append(s)
                    i += count
                default:
                    out.append("\\")
                    out.append(e)
                }
            } else {
                out.append(src[i])
                i += 1
            }
        }
        guard i < n else { throw syntax("unterminated string literal", at: start) }
        return (String(out), i + 1)
    }
}
