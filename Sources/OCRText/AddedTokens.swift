// AddedTokens.swift — added and special tokens, matched in the text before the
// model runs (as `tokenizers`' AddedVocabulary).

import Foundation

// MARK: - AddedToken

/// A token added on top of the model's vocabulary.
public struct AddedToken: Equatable, Sendable {
    public var id: Int
    public var content: String
    /// Only matches a whole word (no word character on either side).
    public var singleWord: Bool
    /// Swallows whitespace on its left.
    public var lstrip: Bool
    /// Swallows whitespace on its right.
    public var rstrip: Bool
    /// Matched in normalized text rather than in the raw input.
    public var normalized: Bool
    /// Skipped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool

    public init(id: Int, content: String, singleWord: Bool = false, lstrip: Bool = false,
                rstrip: Bool = false, normalized: Bool = false, special: Bool = true) {
        self.id = id
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }

    init(json: JSONNode) throws {
        let special = try json.bool("special", default: false)
        self.init(id: try json.int("id"), content: try json.string("content"),
                  singleWord: try json.bool("single_word", default: false),
                  lstrip: try json.bool("lstrip", default: false),
                  rstrip: try json.bool("rstrip", default: false),
                  normalized: try json.bool("normalized", default: !special),
                  special: special)
    }
}

// MARK: - Matcher

/// Finds added tokens in text: leftmost-longest, non-overlapping, then the
/// single-word / lstrip / rstrip rules.
struct AddedTokenMatcher {
    private struct Node {
        var next: [UInt8: Int] = [:]
        var token: Int = -1  // index into `tokens`
    }
    private var nodes = [Node()]
    private let tokens: [AddedToken]

    /// `patterns` pairs each token with the string to look for.
    init(_ patterns: [(AddedToken, String)]) {
        tokens = patterns.map(\.0)
        for (index, (_, text)) in patterns.enumerated() where !text.isEmpty {
            var node = 0
            for b in text.utf8 {
                if let n = nodes[node].next[b] {
                    node = n
                } else {
                    nodes.append(Node())
                    nodes[node].next[b] = nodes.count - 1
                    node = nodes.count - 1
                }
            }
            if nodes[node].token < 0 { nodes[node].token = index }
        }
    }

    var isEmpty: Bool { nodes.count == 1 }

    /// Longest pattern starting at `start`: (end, token index).
    private func longest(_ bytes: [UInt8], at start: Int) -> (Int, Int)? {
        var node = 0
        var best: (Int, Int)?
        var i = start
        while i < bytes.count, let n = nodes[node].next[bytes[i]] {
            node = n
            i += 1
            if nodes[node].token >= 0 { best = (i, nodes[node].token) }
        }
        return best
    }

    /// Splits `text` into `(piece, added token?)` segments (UTF-8 byte ranges).
    func split(_ text: String) -> [(String, AddedToken?)] {
        if isEmpty || text.isEmpty { return [(text, nil)] }
        let bytes = Array(text.utf8)
        var segments: [(String, AddedToken?)] = []
        var startOffset = 0
        var i = 0
        func piece(_ lo: Int, _ hi: Int) -> String { String(decoding: bytes[lo..<hi], as: UTF8.self) }
        while i < bytes.count {
            guard let (matchEnd, index) = longest(bytes, at: i) else { i += 1; continue }
            var start = i
            var stop = matchEnd
            let token = tokens[index]
            i = matchEnd
            if token.singleWord {
                let startSpace = start == 0 || !Self.endsWithWord(bytes, before: start)
                let stopSpace = stop == bytes.count || !Self.startsWithWord(bytes, at: stop)
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                start = max(Self.leftmostSpaceAtEnd(bytes, before: start), startOffset)
            }
            if token.rstrip {
                stop = Self.rightmostSpaceAtStart(bytes, from: stop)
            }
            if startOffset < start { segments.append((piece(startOffset, start), nil)) }
            segments.append((piece(start, stop), token))
            startOffset = stop
            i = max(i, stop)
        }
        if startOffset < bytes.count { segments.append((piece(startOffset, bytes.count), nil)) }
        return segments
    }

    // MARK: Character tests on UTF-8

    private static func scalar(_ bytes: [UInt8], endingBefore end: Int) -> Unicode.Scalar? {
        var lo = end - 1
        while lo > 0, bytes[lo] & 0xC0 == 0x80 { lo -= 1 }
        guard lo >= 0 else { return nil }
        return String(decoding: bytes[lo..<end], as: UTF8.self).unicodeScalars.first
    }

    private static func scalar(_ bytes: [UInt8], startingAt start: Int) -> (Unicode.Scalar, Int)? {
        guard start < bytes.count else { return nil }
        var hi = start + 1
        while hi < bytes.count, bytes[hi] & 0xC0 == 0x80 { hi += 1 }
        guard let s = String(decoding: bytes[start..<hi], as: UTF8.self).unicodeScalars.first else { return nil }
        return (s, hi)
    }

    private static func isWordCharacter(_ s: Unicode.Scalar) -> Bool { s.isRustAlphanumeric || s == "_" }

    private static func endsWithWord(_ bytes: [UInt8], before end: Int) -> Bool {
        scalar(bytes, endingBefore: end).map(isWordCharacter) ?? false
    }

    private static func startsWithWord(_ bytes: [UInt8], at start: Int) -> Bool {
        scalar(bytes, startingAt: start).map { isWordCharacter($0.0) } ?? false
    }

    /// Start of the whitespace run that ends at `end`.
    private static func leftmostSpaceAtEnd(_ bytes: [UInt8], before end: Int) -> Int {
        var pos = end
        while pos > 0 {
            var lo = pos - 1
            while lo > 0, bytes[lo] & 0xC0 == 0x80 { lo -= 1 }
            guard let s = scalar(bytes, endingBefore: pos), s.isRustWhitespace else { return pos }
            pos = lo
        }
        return 0
    }

    /// End of the whitespace run that starts at `start`.
    private static func rightmostSpaceAtStart(_ bytes: [UInt8], from start: Int) -> Int {
        var pos = start
        while let (s, next) = scalar(bytes, startingAt: pos), s.isRustWhitespace { pos = next }
        return pos
    }
}
