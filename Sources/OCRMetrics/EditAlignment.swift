// MARK: - Edit operations

/// One step of an alignment between a reference and a prediction. Indices are
/// positions in the aligned sequences.
public enum EditOperation: Equatable, Sendable {
    /// `reference[ref] == prediction[pred]`.
    case match(ref: Int, pred: Int)
    /// `reference[ref]` was recognized as `prediction[pred]`.
    case substitution(ref: Int, pred: Int)
    /// `reference[ref]` is missing from the prediction.
    case deletion(ref: Int)
    /// `prediction[pred]` has no counterpart in the reference.
    case insertion(pred: Int)

    /// Whether this operation costs one edit.
    public var isEdit: Bool {
        if case .match = self { return false }
        return true
    }
}

// MARK: - Alignment

/// A minimum-cost (Levenshtein) alignment with backtrace, for error analysis
/// only; use ``Levenshtein`` when only the distance is needed.
///
/// Cost is O(n·m) time and one byte per cell. Among optimal alignments the
/// backtrace (from the end) prefers, in order: match/substitution, deletion,
/// insertion, so the result is deterministic. The number of edit operations
/// always equals the Levenshtein distance.
public enum EditAlignment {
    /// Aligns `reference` with `prediction`, returning operations in order.
    public static func align(_ reference: [Int], _ prediction: [Int]) -> [EditOperation] {
        // Common prefix and suffix are matches; align only the middle.
        var lo = 0
        var hiR = reference.count
        var hiP = prediction.count
        while lo < hiR, lo < hiP, reference[lo] == prediction[lo] { lo += 1 }
        while hiR > lo, hiP > lo, reference[hiR - 1] == prediction[hiP - 1] {
            hiR -= 1
            hiP -= 1
        }
        var operations: [EditOperation] = []
        operations.reserveCapacity(max(reference.count, prediction.count))
        for i in 0..<lo { operations.append(.match(ref: i, pred: i)) }
        alignCore(reference, lo..<hiR, prediction, lo..<hiP, into: &operations)
        for k in 0..<(reference.count - hiR) { operations.append(.match(ref: hiR + k, pred: hiP + k)) }
        return operations
    }

    private static let diagonal: UInt8 = 0
    private static let up: UInt8 = 1  // deletion: consume a reference unit
    private static let left: UInt8 = 2  // insertion: consume a prediction unit

    private static func alignCore(
        _ reference: [Int], _ rRange: Range<Int>,
        _ prediction: [Int], _ pRange: Range<Int>,
        into operations: inout [EditOperation]
    ) {
        let n = rRange.count
        let m = pRange.count
        if n == 0 {
            for j in pRange { operations.append(.insertion(pred: j)) }
            return
        }
        if m == 0 {
            for i in rRange { operations.append(.deletion(ref: i)) }
            return
        }
        let width = m + 1
        var direction = [UInt8](repeating: 0, count: (n + 1) * width)
        var previous = Array(0...m)
        var current = [Int](repeating: 0, count: m + 1)
        for j in 1...m { direction[j] = left }
        for i in 1...n {
            current[0] = i
            direction[i * width] = up
            let r = reference[rRange.lowerBound + i - 1]
            for j in 1...m {
                let diagonalCost = previous[j - 1] + (r == prediction[pRange.lowerBound + j - 1] ? 0 : 1)
                let upCost = previous[j] + 1
                let leftCost = current[j - 1] + 1
                var best = diagonalCost
                var move = diagonal
                if upCost < best {
                    best = upCost
                    move = up
                }
                if leftCost < best {
                    best = leftCost
                    move = left
                }
                current[j] = best
                direction[i * width + j] = move
            }
            swap(&previous, &current)
        }
        var reversed: [EditOperation] = []
        reversed.reserveCapacity(n + m)
        var i = n
        var j = m
        while i > 0 || j > 0 {
            let move = direction[i * width + j]
            let ri = rRange.lowerBound + i - 1
            let pj = pRange.lowerBound + j - 1
            if i > 0, j > 0, move == diagonal {
                reversed.append(reference[ri] == prediction[pj] ? .match(ref: ri, pred: pj) : .substitution(ref: ri, pred: pj))
                i -= 1
                j -= 1
            } else if i > 0, move == up || j == 0 {
                reversed.append(.deletion(ref: ri))
                i -= 1
            } else {
                reversed.append(.insertion(pred: pj))
                j -= 1
            }
        }
        operations.append(contentsOf: reversed.reversed())
    }
}
