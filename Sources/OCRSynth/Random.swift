// Seeded random numbers: one generator per sample, derived from (seed, sample index), so output
// does not depend on the number of threads or the order samples are made in.

import Foundation

/// xoshiro256** seeded through splitmix64. Value type: copies continue independently.
public struct SynthRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var st = seed
        s0 = SynthRandom.splitmix(&st)
        s1 = SynthRandom.splitmix(&st)
        s2 = SynthRandom.splitmix(&st)
        s3 = SynthRandom.splitmix(&st)
    }

    /// The generator of sample `index` in a run seeded with `seed`; `stream` separates independent
    /// uses within one sample (text choice, font choice, each degradation).
    public init(seed: UInt64, index: Int, stream: UInt64 = 0) {
        self.init(seed: SynthRandom.derive(seed, UInt64(bitPattern: Int64(index)), stream))
    }

    /// Mixes several words into one seed (splitmix64 finalizer over each).
    public static func derive(_ words: UInt64...) -> UInt64 {
        var h: UInt64 = 0x6A09_E667_F3BC_C909
        for w in words {
            var st = h ^ w
            h = splitmix(&st)
        }
        return h
    }

    static func splitmix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) <<< 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 <<< 45
        return result
    }

    /// Uniform in [0, 1) with 53 bits (platform-independent, unlike `Double.random(in:)`).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lo, hi].
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform integer in lo...hi.
    public mutating func int(_ lo: Int, _ hi: Int) -> Int {
        precondition(hi >= lo)
        let span = UInt64(hi - lo) + 1
        return lo + Int(next() % span)
    }

    /// True with probability p.
    public mutating func chance(_ p: Double) -> Bool { p >= 1 || (p > 0 && unit() < p) }

    /// A 64-bit seed for a C-side noise field.
    public mutating func seed() -> UInt64 { next() }
}

infix operator <<< : BitwiseShiftPrecedence

@inline(__always)
private func <<< (x: UInt64, k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
