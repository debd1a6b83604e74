// The TrOCR text decoder (reference: transformers' TrOCRForCausalLM): token embeddings
// (optionally scaled by √d), learned (offset 2) or sinusoidal positions, optional embedding
// layernorm, post-norm layers with self- and cross-attention, `output_projection`.
// Keys: `model.decoder.embed_tokens`, `model.decoder.layers.N.self_attn.q_proj`, …

import Foundation
import MLXEngine
import MLXNN

// MARK: - Caches

/// Per layer: the self-attention KV cache and the cross-attention keys/values (computed once
/// from the encoder output).
public final class TrOCRDecoderCache {
    public var selfAttention: [KVCache]
    public var crossKeys: [MLXArray?]
    public var crossValues: [MLXArray?]

    init(layers: Int) {
        selfAttention = (0 ..< layers).map { _ in KVCache() }
        crossKeys = Array(repeating: nil, count: layers)
        crossValues = Array(repeating: nil, count: layers)
    }

    /// Number of cached positions.
    public var offset: Int { selfAttention.first?.offset ?? 0 }

    /// Keeps rows `indices` of every cached tensor.
    func selectRows(_ indices: MLXArray) {
        for cache in selfAttention {
            if let k = cache.keys, let v = cache.values {
                cache.reset()
                _ = cache.update(keys: k.take(indices, axis: 0), values: v.take(indices, axis: 0))
            }
        }
        crossKeys = crossKeys.map { $0?.take(indices, axis: 0) }
        crossValues = crossValues.map { $0?.take(indices, axis: 0) }
    }
}

// MARK: - Layers

final class TrOCRDecoderLayer: Module {
    @ModuleInfo(key: "self_attn") var selfAttention: MultiHeadAttention
    @ModuleInfo(key: "self_attn_layer_norm") var selfAttentionNorm: LayerNorm
    @ModuleInfo(key: "encoder_attn") var crossAttention: MultiHeadAttention
    @ModuleInfo(key: "encoder_attn_layer_norm") var crossAttentionNorm: LayerNorm
    @ModuleInfo(key: "fc1") var fc1: Linear
    @ModuleInfo(key: "fc2") var fc2: Linear
    @ModuleInfo(key: "final_layer_norm") var finalNorm: LayerNorm
    let activation: Activation
    let dropout: Dropout
    let activationDropout: Dropout

    init(_ config: TrOCRDecoderConfig) throws {
        let d = config.dModel
        activation = config.activationFunction
        dropout = Dropout(p: Float(config.dropout))
        activationDropout = Dropout(p: Float(config.activationDropout))
        _selfAttention.wrappedValue = MultiHeadAttention(dimensions: d, heads: config.decoderAttentionHeads)
        _selfAttentionNorm.wrappedValue = LayerNorm(dimensions: d)
        _crossAttention.wrappedValue = MultiHeadAttention(
            dimensions: d, heads: config.decoderAttentionHeads, keyDimensions: config.crossAttentionHiddenSize)
        _crossAttentionNorm.wrappedValue = LayerNorm(dimensions: d)
        _fc1.wrappedValue = Linear(d, config.decoderFfnDim)
        _fc2.wrappedValue = Linear(config.decoderFfnDim, d)
        _finalNorm.wrappedValue = LayerNorm(dimensions: d)
        super.init()
    }

    /// Cross-attention whose keys/values are projected from `encoder` once per cache.
    private func crossAttend(_ x: MLXArray, encoder: MLXArray, cache: TrOCRDecoderCache?, index: Int) -> MLXArray {
        let attention = crossAttention
        let (b, l) = (x.dim(0), x.dim(1))
        func split(_ t: MLXArray) -> MLXArray { t.reshaped(b, t.dim(1), attention.heads, -1).transposed(0, 2, 1, 3) }
        let k: MLXArray
        let v: MLXArray
        if let cache, let ck = cache.crossKeys[index], let cv = cache.crossValues[index] {
            (k, v) = (ck, cv)
        } else {
            k = split(attention.keyProjection(encoder))
            v = split(attention.valueProjection(encoder))
            cache?.crossKeys[index] = k
            cache?.crossValues[index] = v
        }
        let q = split(attention.queryProjection(x))
        let out = scaledDotProductAttention(queries: q, keys: k, values: v, scale: attention.scale)
        return attention.outputProjection(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }

    func callAsFunction(
        _ x: MLXArray, encoder: MLXArray, mask: AttentionMask, cache: TrOCRDecoderCache?, index: Int
    ) -> MLXArray {
        var h = selfAttentionNorm(x + dropout(selfAttention(x, mask: mask, cache: cache?.selfAttention[index])))
        h = crossAttentionNorm(h + dropout(crossAttend(h, encoder: encoder, cache: cache, index: index)))
        return finalNorm(h + dropout(fc2(activationDropout(activation(fc1(h))))))
    }
}

final class TrOCRDecoderStack: Module {
    @ModuleInfo(key: "embed_tokens") var embedTokens: Embedding
    @ModuleInfo(key: "embed_positions") var embedPositions: Embedding?
    @ModuleInfo(key: "layernorm_embedding") var layernormEmbedding: LayerNorm?
    let dropout: Dropout
    /// `layers.N` (a plain property: list children are reached by reflection, also by LoRA).
    let layers: [TrOCRDecoderLayer]

    init(_ config: TrOCRDecoderConfig) throws {
        let d = config.dModel
        _embedTokens.wrappedValue = Embedding(weight: zeros([config.vocabSize, d]))
        _embedPositions.wrappedValue = config.useLearnedPositionEmbeddings
            ? Embedding(weight: zeros([config.maxPositionEmbeddings + 2, d])) : nil
        _layernormEmbedding.wrappedValue = config.layernormEmbedding ? LayerNorm(dimensions: d) : nil
        dropout = Dropout(p: Float(config.dropout))
        layers = try (0 ..< config.decoderLayers).map { _ in try TrOCRDecoderLayer(config) }
        super.init()
    }
}

/// `model.decoder` (TrOCRDecoderWrapper).
final class TrOCRDecoderWrapper: Module {
    @ModuleInfo(key: "decoder") var decoder: TrOCRDecoderStack
    init(_ config: TrOCRDecoderConfig) throws {
        _decoder.wrappedValue = try TrOCRDecoderStack(config)
        super.init()
    }
}

// MARK: - Decoder

public final class TrOCRDecoder: Module {
    @ModuleInfo(key: "model") var model: TrOCRDecoderWrapper
    /// Absent from checkpoints whose output projection is tied to `embed_tokens`.
    @ModuleInfo(key: "output_projection") var outputProjection: Linear?
    public let config: TrOCRDecoderConfig

    public init(_ config: TrOCRDecoderConfig, tiedOutput: Bool) throws {
        self.config = config
        _model.wrappedValue = try TrOCRDecoderWrapper(config)
        _outputProjection.wrappedValue = tiedOutput
            ? nil : Linear(weight: zeros([config.vocabSize, config.dModel]))
        super.init()
    }

    public func makeCache() -> TrOCRDecoderCache { TrOCRDecoderCache(layers: config.decoderLayers) }

    /// Positions of `ids` [B, L] after `offset` cached ones: learned (row p + 2) or fairseq's
    /// sinusoids, where padding tokens get position `padding_idx` (a zero row).
    private func positions(_ ids: MLXArray, offset: Int) -> MLXArray {
        let (b, l) = (ids.dim(0), ids.dim(1))
        if let table = model.decoder.embedPositions {
            let index = arange(Double(offset + 2), Double(offset + 2 + l), dtype: .int32)
            return table(index).expandedDimensions(axis: 0)
        }
        let pad = config.padTokenID ?? 1
        let d = config.dModel
        let notPad = (ids .!= MLXArray(Int32(pad))).asType(.int32)
        let position = ((notPad.cumsum(axis: 1) + MLXArray(Int32(offset))) * notPad + MLXArray(Int32(pad)))
        let half = d / 2
        let step = log(10000.0) / Double(half - 1)
        let frequencies = exp(arange(0, Double(half), dtype: .float32) * MLXArray(Float(-step)))
        let angles = position.asType(.float32).reshaped(b, l, 1) * frequencies.reshaped(1, 1, half)
        var table = concatenated([sin(angles), cos(angles)], axis: -1)
        if d % 2 == 1 { table = concatenated([table, zeros([b, l, 1])], axis: -1) }
        let isPad = (position .== MLXArray(Int32(pad))).reshaped(b, l, 1)
        return which(isPad, zeros(like: table), table)
    }

    /// Logits [B, L, vocab] of `ids` [B, L] (int32) attending to `encoder` [B, S, D']; with a
    /// cache, `ids` continue the cached positions.
    public func callAsFunction(_ ids: MLXArray, encoder: MLXArray, cache: TrOCRDecoderCache? = nil) -> MLXArray {
        project(hiddenStates(ids, encoder: encoder, cache: cache))
    }

    /// Last-layer states [B, L, d].
    func hiddenStates(_ ids: MLXArray, encoder: MLXArray, cache: TrOCRDecoderCache?) -> MLXArray {
        let stack = model.decoder
        let offset = cache?.offset ?? 0
        var embeds = stack.embedTokens(ids)
        if config.scaleEmbedding { embeds = embeds * Double(config.dModel).squareRoot() }
        var h = embeds + positions(ids, offset: offset)
        if let norm = stack.layernormEmbedding { h = norm(h) }
        h = stack.dropout(h)
        let mask: AttentionMask = ids.dim(1) > 1 ? .causal : .none
        for (i, layer) in stack.layers.enumerated() {
            h = layer(h, encoder: encoder, mask: mask, cache: cache, index: i)
        }
        return h
    }

    func project(_ h: MLXArray) -> MLXArray {
        if let outputProjection { return outputProjection(h) }
        return model.decoder.embedTokens.asLinear(h)
    }
}
