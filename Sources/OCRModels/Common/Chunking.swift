// Reading long lines in pieces: encoder–decoders trained on one aspect ratio (TrOCR: 384×384
// crops of lines, best near 3:2) degrade on long lines, so a wide image is cut into
// overlapping windows of the model's aspect and the windows' texts are merged on the text
// both read in the overlap.

import Foundation

// MARK: - Options

public struct ChunkingOptions: Sendable, Equatable {
    /// Fraction of a window shared with the next one.
    public var overlap: Double
    /// An image is cut only when wider than this many windows.
    public var minWindows: Double
    /// Shortest overlap (in characters) accepted as the same text read twice; shorter ones
    /// are not trusted and the texts are joined with a space.
    public var minMergeOverlap: Int
    /// Window width ÷ height; nil: the model input's aspect.
    public var aspect: Double?

    public init(overlap: Double = 0.25, minWindows: Double = 1.25, minMergeOverlap: Int = 2, aspect: Double? = nil) {
        self.overlap = overlap
        self.aspect = aspect
        self.minWindows = minWindows
        self.minMergeOverlap = minMergeOverlap
    }
}

// MARK: - Windows

/// Column ranges of the windows of a `width`×`height` image for a model input of aspect
/// `aspect` (width ÷ height): full height, width `height · aspect`, consecutive windows
/// overlapping by at least `overlap` (evenly spread, the last one flush with the right edge). One window (the whole
/// image) when the image is not wider than `minWindows` windows.
public func chunkWindows(width: Int, height: Int, aspect: Double, options: ChunkingOptions = .init()) -> [Range<Int>] {
    let window = max(1, Int((Double(height) * aspect).rounded()))
    guard width > 0, Double(width) > Double(window) * options.minWindows else { return [0 ..< max(width, 0)] }
    let step = max(1, Int((Double(window) * (1 - min(max(options.overlap, 0), 0.9))).rounded()))
    // As few windows as keep every overlap at least `overlap`, spread evenly.
    let count = (width - window + step - 1) / step + 1
    let starts = (0 ..< count).map { Int((Double($0 * (width - window)) / Double(count - 1)).rounded()) }
    return starts.map { $0 ..< $0 + window }
}

// MARK: - Merging

/// Merges the texts of consecutive windows. Two texts are joined on the longest run of
/// characters that ends `a`'s second half and starts `b`'s first half — exactly the longest
/// common suffix/prefix when both windows read the overlap alike, and still found when a
/// window edge cut a character in two (a stray fragment after the run in `a` or before it in
/// `b` is dropped). Runs shorter than `minOverlap` are not trusted: the texts are joined with
/// a space.
public func mergeChunkTexts(_ texts: [String], minOverlap: Int = 2) -> String {
    guard var merged = texts.first.map(Array.init) else { return "" }
    for next in texts.dropFirst() {
        merged = mergePair(merged, Array(next), minOverlap: minOverlap)
    }
    return String(merged)
}

/// `a` and `b` joined on their longest common run within `a`'s second half and `b`'s first
/// half (ties: the run closest to `a`'s end).
func mergePair(_ a: [Character], _ b: [Character], minOverlap: Int) -> [Character] {
    if a.isEmpty { return b }
    if b.isEmpty { return a }
    let aStart = a.count / 2
    let bEnd = (b.count + 1) / 2
    let tail = Array(a[aStart...])
    let head = Array(b[..<bEnd])
    // Longest common substring by dynamic programming over (tail, head).
    var best = (length: 0, aEnd: 0, bEnd: 0)
    var previous = [Int](repeating: 0, count: head.count + 1)
    for i in 1 ... max(tail.count, 1) where i <= tail.count {
        var current = [Int](repeating: 0, count: head.count + 1)
        for j in 1 ... max(head.count, 1) where j <= head.count && tail[i - 1] == head[j - 1] {
            current[j] = previous[j - 1] + 1
            let candidate = current[j]
            // Prefer longer runs; among equal ones the run ending later in `a`, then earlier in `b`.
            if candidate > best.length || (candidate == best.length && (i > best.aEnd || (i == best.aEnd && j < best.bEnd))) {
                best = (candidate, i, j)
            }
        }
        previous = current
    }
    guard best.length >= minOverlap else {
        let spaced = a.last == " " || b.first == " "
        return a + (spaced ? [] : [" "]) + b
    }
    return Array(a[..<(aStart + best.aEnd)]) + Array(b[best.bEnd...])
}
