// MARK: - Levenshtein distance

/// Unit-cost Levenshtein distance on integer sequences: the minimum number of
/// single-unit substitutions, insertions and deletions turning one sequence
/// into the other. Symmetric; `distance(a, []) == a.count`.
///
/// The implementation is the bit-parallel algorithm of Myers (1999) in
/// Hyyrö's (2003) formulation: after stripping the common prefix and suffix,
/// the shorter sequence becomes the bit pattern; up to 64 units it runs in one
/// machine word per step (O(n)), longer patterns use the multi-word block
/// version (O(⌈m/64⌉·n)). Ids may be any `Int` values.
public enum Levenshtein {
    /// The edit distance between `a` and `b`.
    public static func distance(_ a: [Int], _ b: [Int]) -> Int {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in distance(pa, pb) }
        }
    }

    /// The edit distance between two buffers of ids.
    public static func distance(_ a: UnsafeBufferPointer<Int>, _ b: UnsafeBufferPointer<Int>) -> Int {
        var lo = 0
        var hiA = a.count
        var hiB = b.count
        while lo < hiA, lo < hiB, a[lo] == b[lo] { lo += 1 }
        while hiA > lo, hiB > lo, a[hiA - 1] == b[hiB - 1] {
            hiA -= 1
            hiB -= 1
        }
        let x = UnsafeBufferPointer(rebasing: a[lo..<hiA])
        let y = UnsafeBufferPointer(rebasing: b[lo..<hiB])
        let (pattern, text) = x.count <= y.count ? (x, y) : (y, x)
        if pattern.isEmpty { return text.count }
        if pattern.count <= 64 { return myersSingleWord(pattern: pattern, text: text) }
        return myersBlock(pattern: pattern, text: text)
    }

    /// Reference implementation: the textbook O(n·m) dynamic program with
    /// two rows. Used by tests and available for cross-checking.
    public static func distanceDP(_ a: [Int], _ b: [Int]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    // MARK: Single word (pattern length 1...64)

    /// Myers/Hyyrö with the pattern-match vectors in a small open-addressing
    /// table (128 slots, at most 64 keys) on the stack.
    static func myersSingleWord(pattern: UnsafeBufferPointer<Int>, text: UnsafeBufferPointer<Int>) -> Int {
        let m = pattern.count
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { keys in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 128) { masks in
                // A slot is occupied iff its mask is non-zero, so every Int is a valid key.
                keys.initialize(repeating: 0)
                masks.initialize(repeating: 0)
                var bit: UInt64 = 1
                for symbol in pattern {
                    var slot = slotIndex(symbol, mask: 127)
                    while masks[slot] != 0 && keys[slot] != symbol { slot = (slot + 1) & 127 }
                    keys[slot] = symbol
                    masks[slot] |= bit
                    bit <<= 1
                }
                var vp: UInt64 = m == 64 ? ~0 : (UInt64(1) << UInt64(m)) &- 1
                var vn: UInt64 = 0
                let last: UInt64 = UInt64(1) << UInt64(m - 1)
                var score = m
                for symbol in text {
                    var slot = slotIndex(symbol, mask: 127)
                    var eq: UInt64 = 0
                    while masks[slot] != 0 {
                        if keys[slot] == symbol {
                            eq = masks[slot]
                            break
                        }
                        slot = (slot + 1) & 127
                    }
                    let x = eq | vn
                    let d0 = (((x & vp) &+ vp) ^ vp) | x
                    var hp = vn | ~(d0 | vp)
                    var hn = vp & d0
                    if hp & last != 0 { score += 1 }
                    if hn & last != 0 { score -= 1 }
                    hp = (hp << 1) | 1
                    hn = hn << 1
                    vp = hn | ~(d0 | hp)
                    vn = hp & d0
                }
                return score
            }
        }
    }

    @inline(__always)
    static func slotIndex(_ symbol: Int, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(symbol)) &* 0x9E37_79B9_7F4A_7C15) >> 57) & mask
    }

    // MARK: Multiple words (pattern length > 64)

    /// Hyyrö's block-based extension: the pattern is cut into 64-unit blocks
    /// whose horizontal deltas are carried from block to block.
    static func myersBlock(pattern: UnsafeBufferPointer<Int>, text: UnsafeBufferPointer<Int>) -> Int {
        let m = pattern.count
        let words = (m + 63) / 64
        // Dense local ids for the pattern's symbols; 0 is "not in pattern".
        var local: [Int: Int] = [:]
        local.reserveCapacity(min(m, 1024))
        for symbol in pattern where local[symbol] == nil { local[symbol] = local.count + 1 }
        var peq = [UInt64](repeating: 0, count: (local.count + 1) * words)
        for (position, symbol) in pattern.enumerated() {
            peq[local[symbol]! * words + position / 64] |= UInt64(1) << UInt64(position % 64)
        }
        var vp = [UInt64](repeating: ~0, count: words)
        var vn = [UInt64](repeating: 0, count: words)
        let last: UInt64 = UInt64(1) << UInt64((m - 1) % 64)
        var score = m
        for symbol in text {
            let base = (local[symbol] ?? 0) * words
            var hpCarry: UInt64 = 1
            var hnCarry: UInt64 = 0
            for word in 0..<words {
                let pm = peq[base + word]
                let vnWord = vn[word]
                let vpWord = vp[word]
                let x = pm | hnCarry
                let d0 = (((x & vpWord) &+ vpWord) ^ vpWord) | x | vnWord
                var hp = vnWord | ~(d0 | vpWord)
                var hn = d0 & vpWord
                let hpIn = hpCarry
                let hnIn = hnCarry
                if word < words - 1 {
                    hpCarry = hp >> 63
                    hnCarry = hn >> 63
                } else {
                    hpCarry = hp & last != 0 ? 1 : 0
                    hnCarry = hn & last != 0 ? 1 : 0
                }
                hp = (hp << 1) | hpIn
                hn = (hn << 1) | hnIn
                vp[word] = hn | ~(d0 | hp)
                vn[word] = hp & d0
            }
            score += Int(hpCarry) - Int(hnCarry)
        }
        return score
    }
}
