// Multi-head attention with an optional key/value cache.

import Foundation
import MLXEngine

// MARK: - KV cache

/// Keys and values of past positions for incremental decoding, [B, H, L, D] each.
public final class KVCache {
    public private(set) var keys: MLXArray?
    public private(set) var values: MLXArray?

    public init() {}

    /// Number of cached positions.
    public var offset: Int { keys?.dim(2) ?? 0 }

    /// Appends new keys/values and returns the full ones.
    public func update(keys k: MLXArray, values v: MLXArray) -> (MLXArray, MLXArray) {
        if let keys, let values {
            self.keys = concatenated([keys, k], axis: 2)
            self.values = concatenated([values, v], axis: 2)
        } else {
            keys = k
            values = v
        }
        return (keys!, values!)
    }

    public func reset() {
        keys = nil
        values = nil
    }

    /// Keeps the batch rows `indices` (int32) in that order (beam expansion and reordering).
    public func selectRows(_ indices: MLXArray) {
        keys = keys?.take(indices, axis: 0)
        values = values?.take(indices, axis: 0)
    }
}

// MARK: - MultiHeadAttention

/// Attention with `q_proj`, `k_proj`, `v_proj`, `out_proj` (the BART / TrOCR / ViT-style
/// key names). Supports cross-attention (separate key/value input), grouped key/value
/// heads and a ``KVCache``.
public final class MultiHeadAttention: Module {
    @ModuleInfo(key: "q_proj") public var queryProjection: Linear
    @ModuleInfo(key: "k_proj") public var keyProjection: Linear
    @ModuleInfo(key: "v_proj") public var valueProjection: Linear
    @ModuleInfo(key: "out_proj") public var outputProjection: Linear
    public let heads: Int
    public let kvHeads: Int
    public let scale: Float

    public init(dimensions: Int, heads: Int, kvHeads: Int? = nil, keyDimensions: Int? = nil, bias: Bool = true) {
        precondition(dimensions % heads == 0, "dimensions must divide into heads")
        let headDim = dimensions / heads
        let kv = kvHeads ?? heads
        self.heads = heads
        self.kvHeads = kv
        self.scale = Float(1 / Double(headDim).squareRoot())
        _queryProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        _keyProjection.wrappedValue = Linear(keyDimensions ?? dimensions, kv * headDim, bias: bias)
        _valueProjection.wrappedValue = Linear(keyDimensions ?? dimensions, kv * headDim, bias: bias)
        _outputProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        super.init()
    }

    /// `x` [B, L, D]; `keyValue` [B, S, D'] for cross-attention (defaults to `x`).
    public func callAsFunction(
        _ x: MLXArray, keyValue: MLXArray? = nil, mask: AttentionMask = .none, cache: KVCache? = nil
    ) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        let source = keyValue ?? x
        let s = source.dim(1)
        func split(_ t: MLXArray, _ n: Int, _ len: Int) -> MLXArray {
            t.reshaped(b, len, n, -1).transposed(0, 2, 1, 3)
        }
        let q = split(queryProjection(x), heads, l)
        var k = split(keyProjection(source), kvHeads, s)
        var v = split(valueProjection(source), kvHeads, s)
        if let cache { (k, v) = cache.update(keys: k, values: v) }
        let out = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, mask: mask)
        return outputProjection(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }
}
