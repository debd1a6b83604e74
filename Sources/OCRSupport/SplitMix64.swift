// A small seedable random number generator shared by everything that must be reproducible
// from a seed (splits, shuffles, synthesis, bootstrap resampling, tests).

/// SplitMix64 (Steele, Lea & Flood, 2014): 64-bit state, passes BigCrush, trivially seedable.
/// Streams for independent purposes come from ``derived(_:)`` rather than from reseeding.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [0, 1) (53 random bits).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Fisher–Yates with this generator, so a seed means the same order on every platform and
    /// Swift version (the standard library's shuffle algorithm is not specified).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, Int(next() % UInt64(i + 1)))
        }
    }

    /// An independent generator for `stream` (e.g. a sample index), derived from this seed.
    public func derived(_ stream: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: state ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mixer.next())
    }
}
