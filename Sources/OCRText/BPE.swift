// BPE.swift — byte-pair encoding (GPT-2 / RoBERTa / Qwen byte-level BPE and
// SentencePiece-style BPE with byte fallback), as `tokenizers`' `models::bpe`.

import Foundation

// MARK: - Model protocol

/// A tokenization model: turns one pre-tokenized word into ids.
protocol TokenModel: AnyObject {
    var vocab: Vocabulary { get }
    /// Token string of each id.
    var tokensByID: [Int: String] { get }
    func tokenize(_ word: String) -> [Int]
}

extension TokenModel {
    /// Reverse of `vocab`; of several tokens sharing an id, the smallest (a deterministic choice).
    var tokensByID: [Int: String] {
        var reverse: [Int: String] = [:]
        reverse.reserveCapacity(vocab.count)
        for (key, id) in vocab {
            if let existing = reverse[id], !key.string.utf8.lexicographicallyPrecedes(existing.utf8) { continue }
            reverse[id] = key.string
        }
        return reverse
    }
}

// MARK: - BPE

/// Byte-pair encoding with merge ranks, optional byte fallback and unknown token.
/// Thread-safe: the word cache is guarded by a lock.
final class BPEModel: TokenModel, @unchecked Sendable {
    let vocab: Vocabulary
    /// `(left id << 32 | right id)` → (rank, merged id).
    private let merges: [UInt64: (rank: Int, id: Int)]
    let unkToken: String?
    let byteFallback: Bool
    let fuseUnk: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    /// Ids of `<0x00>`…`<0xFF>` (nil where absent).
    private let byteIDs: [Int?]
    private var cache: [TokenKey: [Int]] = [:]
    private let cacheLock = NSLock()
    private let cacheLimit = 10_000

    init(vocab: Vocabulary, merges: [(String, String)], unkToken: String? = nil,
         byteFallback: Bool = false, fuseUnk: Bool = false, ignoreMerges: Bool = false,
         continuingSubwordPrefix: String? = nil, endOfWordSuffix: String? = nil,
         mergeError: (Int, String) -> Error) throws {
        self.vocab = vocab
        self.unkToken = unkToken
        self.byteFallback = byteFallback
        self.fuseUnk = fuseUnk
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        let prefixLength = continuingSubwordPrefix?.unicodeScalars.count ?? 0
        var table: [UInt64: (rank: Int, id: Int)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a] else { throw mergeError(rank, "token '\(a)' is not in the vocabulary") }
            guard let ib = vocab[b] else { throw mergeError(rank, "token '\(b)' is not in the vocabulary") }
            let merged = a + (prefixLength > 0 ? b.droppingScalarPrefix(prefixLength) : b)
            guard let id = vocab[merged] else { throw mergeError(rank, "merged token '\(merged)' is not in the vocabulary") }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if table[key] == nil { table[key] = (rank, id) }
        }
        self.merges = table
        byteIDs = (0..<256).map { vocab[Self.byteToken(UInt8($0))] }
    }

    /// `<0x41>`-style byte token.
    static func byteToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    // MARK: Encoding

    func tokenize(_ word: String) -> [Int] {
        if word.isEmpty { return [] }
        if ignoreMerges, let id = vocab[word] { return [id] }
        let key = TokenKey(word)
        if let hit = cacheLock.withLock({ cache[key] }) { return hit }
        var symbols = initialSymbols(word)
        applyMerges(&symbols)
        cacheLock.withLock {
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = symbols
        }
        return symbols
    }

    /// One symbol per scalar; unknown scalars become bytes, `unk` or nothing.
    private func initialSymbols(_ word: String) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(word.unicodeScalars.count)
        var pendingUnk = false
        let unkID = unkToken.flatMap { vocab[$0] }
        let scalars = word.unicodeScalars
        var index = scalars.startIndex
        var isFirst = true
        while index < scalars.endIndex {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            var piece = String(scalar)
            if !isFirst, let p = continuingSubwordPrefix { piece = p + piece }
            if index == scalars.endIndex, let s = endOfWordSuffix { piece += s }
            isFirst = false
            if let id = vocab[piece] {
                if pendingUnk, let u = unkID { out.append(u); pendingUnk = false }
                out.append(id)
                continue
            }
            if byteFallback, piece.utf8.allSatisfy({ byteIDs[Int($0)] != nil }) {
                // As `tokenizers`: a pending unknown is not flushed before byte tokens.
                for b in piece.utf8 { out.append(byteIDs[Int(b)]!) }
                continue
            }
            if let u = unkID {
                if pendingUnk && !fuseUnk { out.append(u) }
                pendingUnk = true
            }
        }
        if pendingUnk, let u = unkID { out.append(u) }
        return out
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost first).
    private func applyMerges(_ symbols: inout [Int]) {
        guard symbols.count > 1 else { return }
        while true {
            var bestRank = Int.max
            var bestIndex = -1
            var bestID = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(symbols[i]) << 32 | UInt64(symbols[i + 1])
                if let m = merges[key], m.rank < bestRank {
                    bestRank = m.rank
                    bestIndex = i
                    bestID = m.id
                }
            }
            if bestIndex < 0 { return }
            // Merge every non-overlapping occurrence of the best pair, left to right.
            let left = symbols[bestIndex], right = symbols[bestIndex + 1]
            var merged: [Int] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i >= bestIndex, i + 1 < symbols.count, symbols[i] == left, symbols[i + 1] == right {
                    merged.append(bestID)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
            if symbols.count == 1 { return }
        }
    }
}
