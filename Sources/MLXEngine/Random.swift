// Random numbers with explicit keys (splittable PRNG, as MLX / JAX).

import CMLXShim

/// Random sampling. Pass a `key` for reproducible streams independent of the global seed.
public enum MLXRandom {
    /// Seeds the global generator used when no key is given.
    public static func seed(_ seed: UInt64) {
        if cmlx_random_seed(seed) != 0 { reportFailure("random.seed") }
    }

    public static func key(_ seed: UInt64) -> MLXArray {
        call("random.key") { cmlx_random_key($0, seed) }
    }

    /// `count` new keys derived from `key` (rows of the result).
    public static func split(_ key: MLXArray, count: Int = 2) -> [MLXArray] {
        let keys = call("random.split") { cmlx_random_split($0, key.handle, Int32(count)) }
        return (0 ..< count).map { keys.sliced(axis: 0, $0 ..< $0 + 1).squeezed(axis: 0) }
    }

    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, dtype: DType = .float32, key: MLXArray? = nil
    ) -> MLXArray {
        call("random.uniform") { out in
            withInts(shape) { cmlx_random_uniform(out, $0, $1, low, high, dtype.cValue, key?.handle) }
        }
    }

    public static func normal(
        _ shape: [Int], mean: Float = 0, std: Float = 1, dtype: DType = .float32, key: MLXArray? = nil
    ) -> MLXArray {
        call("random.normal") { out in
            withInts(shape) { cmlx_random_normal(out, $0, $1, mean, std, dtype.cValue, key?.handle) }
        }
    }

    public static func truncatedNormal(
        _ shape: [Int], lower: Float = -2, upper: Float = 2, dtype: DType = .float32, key: MLXArray? = nil
    ) -> MLXArray {
        call("random.truncated_normal") { out in
            withInts(shape) { cmlx_random_truncated_normal(out, $0, $1, lower, upper, dtype.cValue, key?.handle) }
        }
    }

    /// Booleans that are true with probability `p`.
    public static func bernoulli(_ p: Float, _ shape: [Int], key: MLXArray? = nil) -> MLXArray {
        call("random.bernoulli") { out in withInts(shape) { cmlx_random_bernoulli(out, p, $0, $1, key?.handle) } }
    }

    public static func randInt(
        _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int32, key: MLXArray? = nil
    ) -> MLXArray {
        call("random.randint") { out in
            withInts(shape) { cmlx_random_randint(out, Int32(low), Int32(high), $0, $1, dtype.cValue, key?.handle) }
        }
    }

    /// Samples class indices from unnormalized log-probabilities along `axis`.
    public static func categorical(_ logits: MLXArray, axis: Int = -1, key: MLXArray? = nil) -> MLXArray {
        call("random.categorical") { cmlx_random_categorical($0, logits.handle, Int32(axis), key?.handle) }
    }

    public static func permutation(_ n: Int, key: MLXArray? = nil) -> MLXArray {
        call("random.permutation") { cmlx_random_permutation($0, Int32(n), key?.handle) }
    }
}
