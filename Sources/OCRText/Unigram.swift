// Unigram.swift — SentencePiece Unigram (Viterbi over piece log-probabilities,
// byte fallback) and WordPiece, as `tokenizers`' `models::unigram` / `wordpiece`.

import Foundation

// MARK: - Byte trie

/// A compact trie over UTF-8 bytes mapping each piece to its id, built once
/// from the sorted keys: each node's edges are one sorted block of a flat array.
struct ByteTrie {
    private var value: [Int32] = []
    private var edgeStart: [Int32] = []
    private var edgeCount: [UInt16] = []
    private var labels: [UInt8] = []
    private var targets: [Int32] = []

    /// Builds the trie; for duplicate keys the last id wins (as a hash map insert).
    init(_ entries: [(String, Int)]) {
        var keys = entries.enumerated().map { (bytes: Array($1.0.utf8), id: Int32($1.1), order: $0) }
        keys.sort { a, b in
            a.bytes.lexicographicallyPrecedes(b.bytes) || (a.bytes == b.bytes && a.order < b.order)
        }
        build(keys, keys.startIndex..<keys.endIndex, depth: 0)
    }

    /// Adds the node for `keys[range]` (all sharing their first `depth` bytes); returns its index.
    @discardableResult
    private mutating func build(_ keys: [(bytes: [UInt8], id: Int32, order: Int)], _ range: Range<Int>, depth: Int) -> Int32 {
        let node = Int32(value.count)
        var lo = range.lowerBound
        var nodeValue: Int32 = -1
        while lo < range.upperBound, keys[lo].bytes.count == depth {
            nodeValue = keys[lo].id  // sorted by order: the last duplicate wins
            lo += 1
        }
        // Group the remaining keys by their byte at `depth` (contiguous, as the keys are sorted).
        var groups: [(UInt8, Range<Int>)] = []
        var i = lo
        while i < range.upperBound {
            let label = keys[i].bytes[depth]
            var j = i + 1
            while j < range.upperBound, keys[j].bytes[depth] == label { j += 1 }
            groups.append((label, i..<j))
            i = j
        }
        value.append(nodeValue)
        edgeStart.append(Int32(labels.count))
        edgeCount.append(UInt16(groups.count))
        let first = labels.count
        for (label, _) in groups {
            labels.append(label)
            targets.append(-1)
        }
        for (k, (_, group)) in groups.enumerated() {
            targets[first + k] = build(keys, group, depth: depth + 1)
        }
        return node
    }

    /// Child of `node` along `label`, by binary search in its edge block.
    @inline(__always)
    private func child(_ node: Int, _ label: UInt8) -> Int? {
        var lo = Int(edgeStart[node])
        var hi = lo + Int(edgeCount[node])
        while lo < hi {
            let mid = (lo + hi) >> 1
            let l = labels[mid]
            if l == label { return Int(targets[mid]) }
            if l < label { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// The longest piece that prefixes `bytes[start...]`: (length, id).
    func longestPrefix(of bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var best: (Int, Int)?
        prefixes(of: bytes, from: start) { best = ($0, $1) }
        return best
    }

    func prefixes(of bytes: [UInt8], from start: Int, _ found: (Int, Int) -> Void) {
        guard !value.isEmpty else { return }
        var node = 0
        var i = start
        while i < bytes.count {
            guard let next = child(node, bytes[i]) else { return }
            node = next
            i += 1
            if value[node] >= 0 { found(i - start, Int(value[node])) }
        }
    }
}

// MARK: - Unigram

/// SentencePiece's Unigram model.
final class UnigramModel: TokenModel {
    let vocab: Vocabulary
    let pieces: [(String, Double)]
    let unkID: Int?
    let byteFallback: Bool
    /// `tokenizers` always fuses consecutive unknown pieces.
    let fuseUnk = true
    private let trie: ByteTrie
    private let minScore: Double
    private static let unkPenalty = 10.0

    init(pieces: [(String, Double)], unkID: Int?, byteFallback: Bool) {
        self.pieces = pieces
        self.unkID = unkID
        self.byteFallback = byteFallback
        var vocab: Vocabulary = [:]
        vocab.reserveCapacity(pieces.count)
        for (i, (piece, _)) in pieces.enumerated() { vocab[piece] = i }  // last duplicate wins, as `tokenizers`
        self.vocab = vocab
        trie = ByteTrie(pieces.enumerated().map { ($1.0, $0) })
        minScore = pieces.map(\.1).min() ?? 0
    }

    /// Every piece has its own id, duplicates included (as `tokenizers`).
    var tokensByID: [Int: String] {
        var out: [Int: String] = [:]
        out.reserveCapacity(pieces.count)
        for (i, piece) in pieces.enumerated() { out[i] = piece.0 }
        return out
    }

    func tokenize(_ word: String) -> [Int] {
        let bytes = Array(word.utf8)
        if bytes.isEmpty { return [] }
        var ids: [Int] = []
        for (lo, hi, id) in viterbi(bytes) {
            if let id { ids.append(id); continue }
            let piece = String(decoding: bytes[lo..<hi], as: UTF8.self)
            if let known = vocab[piece] { ids.append(known); continue }
            if byteFallback {
                let byteIDs = bytes[lo..<hi].map { vocab[BPEModel.byteToken($0)] }
                if byteIDs.allSatisfy({ $0 != nil }) { ids += byteIDs.map { $0! }; continue }
            }
            if let u = unkID { ids.append(u) }
        }
        return ids
    }

    /// Best segmentation as byte ranges; `id` is nil for (fused) unknown spans.
    private func viterbi(_ bytes: [UInt8]) -> [(Int, Int, Int?)] {
        let n = bytes.count
        var score = [Double](repeating: 0, count: n + 1)
        var start = [Int](repeating: -1, count: n + 1)
        var nodeID = [Int](repeating: -1, count: n + 1)
        let unkScore = minScore - Self.unkPenalty
        var pos = 0
        while pos < n {
            let base = score[pos]
            let charLength = Self.utf8Length(bytes[pos])
            var hasSingle = false
            trie.prefixes(of: bytes, from: pos) { length, id in
                let end = pos + length
                let candidate = base + pieces[id].1
                if start[end] < 0 || candidate > score[end] {
                    score[end] = candidate
                    start[end] = pos
                    nodeID[end] = id
                }
                if length == charLength { hasSingle = true }
            }
            if !hasSingle {
                let end = min(pos + charLength, n)
                let candidate = base + unkScore
                if start[end] < 0 || candidate > score[end] {
                    score[end] = candidate
                    start[end] = pos
                    nodeID[end] = unkID ?? -2
                }
            }
            pos += charLength
        }
        // Walk back, fusing consecutive unknown nodes.
        var result: [(Int, Int, Int?)] = []
        var end = n
        var unkEnd = -1
        while end > 0 {
            let s = start[end]
            let id = nodeID[end]
            let isUnk = id == -2 || (unkID != nil && id == unkID!)
            if fuseUnk && isUnk {
                if unkEnd < 0 { unkEnd = end }
            } else {
                if unkEnd >= 0 { result.append((end, unkEnd, nil)); unkEnd = -1 }
                result.append((s, end, id))
            }
            end = s
        }
        if unkEnd >= 0 { result.append((0, unkEnd, nil)) }
        return result.reversed()
    }

    private static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: return 1
        case 0xC0..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        case 0xF0...: return 4
        default: return 1
        }
    }
}

// MARK: - WordPiece

/// BERT's greedy longest-match-first WordPiece (longest match found with byte tries).
final class WordPieceModel: TokenModel {
    let vocab: Vocabulary
    let unkToken: String
    let prefix: String
    let maxInputCharsPerWord: Int
    /// Pieces that may start a word, and continuation pieces with the prefix removed.
    private let starts: ByteTrie
    private let continuations: ByteTrie

    init(vocab: Vocabulary, unkToken: String, prefix: String, maxInputCharsPerWord: Int) {
        self.vocab = vocab
        self.unkToken = unkToken
        self.prefix = prefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        var starts: [(String, Int)] = [], continuations: [(String, Int)] = []
        for (key, id) in vocab {
            starts.append((key.string, id))
            if !prefix.isEmpty, key.string.hasScalarPrefix(prefix) {
                continuations.append((key.string.droppingScalarPrefix(prefix.unicodeScalars.count), id))
            }
        }
        self.starts = ByteTrie(starts)
        self.continuations = ByteTrie(continuations)
    }

    func tokenize(_ word: String) -> [Int] {
        let unk = vocab[unkToken].map { [$0] } ?? []
        if word.unicodeScalars.count > maxInputCharsPerWord { return unk }
        let bytes = Array(word.utf8)
        var ids: [Int] = []
        var start = 0
        while start < bytes.count {
            let trie = start == 0 || prefix.isEmpty ? starts : continuations
            guard let (length, id) = trie.longestPrefix(of: bytes, from: start), length > 0 else { return unk }
            ids.append(id)
            start += length
        }
        return ids
    }
}
