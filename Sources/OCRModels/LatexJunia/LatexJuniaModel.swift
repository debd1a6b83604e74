// latex-ocr-junia: a pre-norm ViT-style encoder over 8×8 patches of a grayscale formula image and
// a pre-norm transformer decoder over characters. Parameter keys are the package's PyTorch module
// names (`encoder_blocks.0.attn.out_proj.weight`, `decoder_blocks.1.ffn.3.bias`, …), so a converted
// state dict loads by name; torch.nn.MultiheadAttention's fused input projection stays one
// [3D, D] matrix (a Linear `in_proj`, split into query / key / value after the matmul), its two
// keys `in_proj_weight` / `in_proj_bias` renamed at load and back at save.
//
// Reference: latex_ocr_junia/model.py (PatchEmbedding, TransformerEncoderBlock,
// TransformerDecoderBlock, TokenPositionEmbedding, LatexOCRModel) and torch.nn.MultiheadAttention.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Attention

/// torch.nn.MultiheadAttention (batch first, bias, no bias_kv / zero_attn). Its fused input
/// projection (`in_proj_weight` [3D, D], `in_proj_bias` [3D]: query, key and value stacked) is the
/// Linear `in_proj` here, so LoRA can adapt it (one adapter over the three); the checkpoint keys
/// are mapped in ``LatexJuniaModel/sanitize(_:)`` and back in ``LatexJuniaModel/checkpointWeights()``.
/// Dropout on the attention probabilities in training mode.
public final class FusedMultiheadAttention: Module {
    @ModuleInfo(key: "in_proj") public var inProj: Linear
    @ModuleInfo(key: "out_proj") public var outProj: Linear
    public let heads: Int
    public let dropout: Dropout

    public init(dimensions: Int, heads: Int, dropout p: Float) {
        self.heads = heads
        let bound = Float((6.0 / Double(4 * dimensions)).squareRoot())  // xavier_uniform on [3D, D]
        _inProj.wrappedValue = Linear(
            weight: MLXRandom.uniform([3 * dimensions, dimensions], low: -bound, high: bound, key: MLXRandom.key(UInt64.random(in: 0 ... .max))),
            bias: zeros([3 * dimensions]))
        _outProj.wrappedValue = Linear(dimensions, dimensions)
        dropout = Dropout(p: p)
        super.init()
    }

    /// Query, key and value projections of `x` [B, L, D], each [B, L, D].
    public func projections(_ x: MLXArray) -> [MLXArray] {
        inProj(x).split(parts: 3, axis: -1)
    }

    /// [B, L, D] → [B, H, L, D/H].
    func splitHeads(_ x: MLXArray) -> MLXArray {
        x.reshaped(x.dim(0), x.dim(1), heads, -1).transposed(0, 2, 1, 3)
    }

    /// Keys and values of `source` [B, S, D] in head layout (computed once per image for
    /// cross-attention).
    public func keysAndValues(_ source: MLXArray) -> (MLXArray, MLXArray) {
        let p = projections(source)
        return (splitHeads(p[1]), splitHeads(p[2]))
    }

    /// Self-attention over `x` [B, L, D].
    public func selfAttention(_ x: MLXArray, mask: MLXArray?, cache: KVCache? = nil) -> MLXArray {
        let p = projections(x)
        var (k, v) = (splitHeads(p[1]), splitHeads(p[2]))
        if let cache { (k, v) = cache.update(keys: k, values: v) }
        return attend(splitHeads(p[0]), k, v, mask: mask)
    }

    /// Attention of `x` [B, L, D] over precomputed keys and values [B, H, S, D/H].
    public func crossAttention(_ x: MLXArray, keys: MLXArray, values: MLXArray) -> MLXArray {
        attend(splitHeads(projections(x)[0]), keys, values, mask: nil)
    }

    /// `mask`: additive, broadcastable to [B, H, L, S].
    func attend(_ q: MLXArray, _ k: MLXArray, _ v: MLXArray, mask: MLXArray?) -> MLXArray {
        let (b, l) = (q.dim(0), q.dim(2))
        let scale = Float(1 / Double(q.dim(3)).squareRoot())
        let out = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: scale, mask: mask.map { .array($0) } ?? .none,
            dropout: training ? dropout.p : 0)
        return outProj(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }
}

// MARK: - Feed-forward

/// `nn.Sequential(Linear, GELU, Dropout, Linear, Dropout)`: keys `0` and `3`.
public final class JuniaFeedForward: Module, UnaryLayer {
    @ModuleInfo(key: "0") public var fc1: Linear
    @ModuleInfo(key: "3") public var fc2: Linear
    public let dropout: Dropout

    public init(dimensions: Int, hidden: Int, dropout p: Float) {
        _fc1.wrappedValue = Linear(dimensions, hidden)
        _fc2.wrappedValue = Linear(hidden, dimensions)
        dropout = Dropout(p: p)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        dropout(fc2(dropout(gelu(fc1(x)))))
    }
}

// MARK: - Encoder

/// Conv2d(1, D, p, stride p) → flatten → + learned positions → LayerNorm → dropout.
public final class JuniaPatchEmbedding: Module {
    /// Weight in MLX layout [D, p, p, 1] (the checkpoint's [D, 1, p, p] is transposed at load).
    @ModuleInfo(key: "proj") public var proj: Conv2d
    @ParameterInfo(key: "pos_emb") public var positions: MLXArray
    @ModuleInfo(key: "norm") public var norm: LayerNorm
    public let dropout: Dropout
    public let patchSize: Int

    public init(config: LatexJuniaConfig) {
        patchSize = config.patchSize
        let p = config.patchSize
        _proj.wrappedValue = Conv2d(inputChannels: 1, outputChannels: config.dModel, kernelSize: (p, p), stride: (p, p))
        let grid = config.patchGrid
        _positions.wrappedValue = MLXRandom.normal([1, grid.rows * grid.columns, config.dModel], key: MLXRandom.key(UInt64.random(in: 0 ... .max))) * 0.05
        _norm.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        dropout = Dropout(p: Float(config.dropout))
        super.init()
    }

    /// Pixels [B, H, W] (or [B, H, W, 1]) → patch embeddings [B, N, D]. A stride-p convolution with
    /// a p×p kernel is a matmul over the non-overlapping patches (row-major, as `flatten(2)`).
    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let p = patchSize
        let (b, h, w) = (pixels.dim(0), pixels.dim(1), pixels.dim(2))
        let patches = pixels.reshaped(b, h / p, p, w / p, p).transposed(0, 1, 3, 2, 4).reshaped(b, (h / p) * (w / p), p * p)
        let weight = proj.weight.reshaped(proj.weight.dim(0), p * p)
        var x = matmul(patches, weight.T)
        if let bias = proj.bias { x = x + bias }
        return dropout(norm(x + positions))
    }
}

public final class JuniaEncoderBlock: Module {
    @ModuleInfo(key: "norm1") public var norm1: LayerNorm
    @ModuleInfo(key: "attn") public var attention: FusedMultiheadAttention
    @ModuleInfo(key: "norm2") public var norm2: LayerNorm
    @ModuleInfo(key: "mlp") public var mlp: JuniaFeedForward
    public let dropout: Dropout

    public init(config: LatexJuniaConfig) {
        let p = Float(config.dropout)
        _norm1.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        _attention.wrappedValue = FusedMultiheadAttention(dimensions: config.dModel, heads: config.numHeads, dropout: p)
        _norm2.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        _mlp.wrappedValue = JuniaFeedForward(dimensions: config.dModel, hidden: config.mlpDim, dropout: p)
        dropout = Dropout(p: p)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = x + dropout(attention.selfAttention(norm1(x), mask: nil))
        return h + mlp(norm2(h))
    }
}

// MARK: - Decoder

/// Token + learned position embeddings → LayerNorm → dropout.
public final class JuniaTokenEmbedding: Module {
    @ModuleInfo(key: "token_emb") public var tokens: Embedding
    @ModuleInfo(key: "pos_emb") public var positions: Embedding
    @ModuleInfo(key: "norm") public var norm: LayerNorm
    public let dropout: Dropout

    public init(config: LatexJuniaConfig) {
        _tokens.wrappedValue = Embedding(count: config.vocabSize, dimensions: config.dModel)
        _positions.wrappedValue = Embedding(count: config.maxLength, dimensions: config.dModel)
        _norm.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        dropout = Dropout(p: Float(config.dropout))
        super.init()
    }

    /// `ids` [B, L] at positions `offset ..< offset + L`.
    public func callAsFunction(_ ids: MLXArray, offset: Int = 0) -> MLXArray {
        let l = ids.dim(1)
        precondition(offset + l <= positions.weight.dim(0), "latex-ocr-junia: decoder input length \(offset + l) exceeds max_length \(positions.weight.dim(0))")
        let pos = positions(arange(offset + l).sliced(axis: 0, from: offset))
        return dropout(norm(tokens(ids) + pos))
    }
}

public final class JuniaDecoderBlock: Module {
    @ModuleInfo(key: "self_norm") public var selfNorm: LayerNorm
    @ModuleInfo(key: "self_attn") public var selfAttention: FusedMultiheadAttention
    @ModuleInfo(key: "cross_norm") public var crossNorm: LayerNorm
    @ModuleInfo(key: "cross_attn") public var crossAttention: FusedMultiheadAttention
    @ModuleInfo(key: "ffn_norm") public var ffnNorm: LayerNorm
    @ModuleInfo(key: "ffn") public var ffn: JuniaFeedForward
    public let dropout: Dropout

    public init(config: LatexJuniaConfig) {
        let (d, p) = (config.dModel, Float(config.dropout))
        _selfNorm.wrappedValue = LayerNorm(dimensions: d, eps: 1e-6)
        _selfAttention.wrappedValue = FusedMultiheadAttention(dimensions: d, heads: config.numHeads, dropout: p)
        _crossNorm.wrappedValue = LayerNorm(dimensions: d, eps: 1e-6)
        _crossAttention.wrappedValue = FusedMultiheadAttention(dimensions: d, heads: config.numHeads, dropout: p)
        _ffnNorm.wrappedValue = LayerNorm(dimensions: d, eps: 1e-6)
        _ffn.wrappedValue = JuniaFeedForward(dimensions: d, hidden: config.mlpDim, dropout: p)
        dropout = Dropout(p: p)
        super.init()
    }

    /// `memory`: the cross-attention keys and values of the encoder states.
    public func callAsFunction(_ x: MLXArray, memory: (keys: MLXArray, values: MLXArray), mask: MLXArray?, cache: KVCache?) -> MLXArray {
        var h = x + dropout(selfAttention.selfAttention(selfNorm(x), mask: mask, cache: cache))
        h = h + dropout(crossAttention.crossAttention(crossNorm(h), keys: memory.keys, values: memory.values))
        return h + ffn(ffnNorm(h))
    }
}

// MARK: - Model

/// `LatexOCRModel`: encode(images) → decode(ids, encoder states) → logits over the characters.
public final class LatexJuniaModel: Module {
    public let config: LatexJuniaConfig
    @ModuleInfo(key: "patch_embed") public var patchEmbed: JuniaPatchEmbedding
    public let encoder_blocks: [JuniaEncoderBlock]
    @ModuleInfo(key: "encoder_norm") public var encoderNorm: LayerNorm
    @ModuleInfo(key: "decoder_embed") public var decoderEmbed: JuniaTokenEmbedding
    public let decoder_blocks: [JuniaDecoderBlock]
    @ModuleInfo(key: "decoder_norm") public var decoderNorm: LayerNorm
    @ModuleInfo(key: "lm_head") public var lmHead: Linear

    public init(config: LatexJuniaConfig) {
        self.config = config
        _patchEmbed.wrappedValue = JuniaPatchEmbedding(config: config)
        encoder_blocks = (0 ..< config.numEncoderLayers).map { _ in JuniaEncoderBlock(config: config) }
        _encoderNorm.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        _decoderEmbed.wrappedValue = JuniaTokenEmbedding(config: config)
        decoder_blocks = (0 ..< config.numDecoderLayers).map { _ in JuniaDecoderBlock(config: config) }
        _decoderNorm.wrappedValue = LayerNorm(dimensions: config.dModel, eps: 1e-6)
        _lmHead.wrappedValue = Linear(config.dModel, config.vocabSize)
        super.init()
    }

    /// Pixels [B, H, W] in [0, 1] → encoder states [B, N, D].
    public func encode(_ pixels: MLXArray) -> MLXArray {
        var x = patchEmbed(pixels)
        for block in encoder_blocks { x = block(x) }
        return encoderNorm(x)
    }

    /// Per decoder layer, the cross-attention keys and values of `encoderStates`.
    public func crossMemory(_ encoderStates: MLXArray) -> [(keys: MLXArray, values: MLXArray)] {
        decoder_blocks.map { block in
            let (k, v) = block.crossAttention.keysAndValues(encoderStates)
            return (k, v)
        }
    }

    /// Logits [B, L, V] of `ids` [B, L] (all positions, teacher forcing): a causal mask, and the
    /// pad positions masked as keys, as the package's `decode`.
    public func decode(_ ids: MLXArray, encoderStates: MLXArray) -> MLXArray {
        let l = ids.dim(1)
        let causal = MLXArray((0 ..< l * l).map { Float($0 % l > $0 / l ? -1e9 : 0) }, [1, 1, l, l])
        let padding = which(ids .== Double(config.padTokenID), full([1], value: -1e9), zeros([1]))
        let mask = causal + padding.reshaped(ids.dim(0), 1, 1, l)
        return decodeSteps(ids, memory: crossMemory(encoderStates), mask: mask, caches: nil)
    }

    /// Logits [B, L, V] of `ids` continuing the sequences cached in `caches` (one per decoder
    /// layer; nil: no cache) under an additive `mask` [B or 1, 1, L, cached + L].
    public func decodeSteps(
        _ ids: MLXArray, memory: [(keys: MLXArray, values: MLXArray)], mask: MLXArray?, caches: [KVCache]?
    ) -> MLXArray {
        var x = decoderEmbed(ids, offset: caches?.first?.offset ?? 0)
        for (i, block) in decoder_blocks.enumerated() {
            x = block(x, memory: memory[i], mask: mask, cache: caches?[i])
        }
        return lmHead(decoderNorm(x))
    }

    /// The package's `forward`: logits [B, L, V] of images and decoder inputs.
    public func callAsFunction(_ pixels: MLXArray, decoderInputIds ids: MLXArray) -> MLXArray {
        decode(ids, encoderStates: encode(pixels))
    }

    // MARK: Checkpoint layout

    static let convKey = "patch_embed.proj.weight"

    /// Checkpoint arrays → this module's layout: the patch conv [D, 1, p, p] → [D, p, p, 1], and
    /// nn.MultiheadAttention's `in_proj_weight` / `in_proj_bias` → `in_proj.weight` / `in_proj.bias`.
    public func sanitize(_ weights: [String: MLXArray]) -> [String: MLXArray] {
        var out: [String: MLXArray] = [:]
        for (key, value) in weights {
            if key.hasSuffix(".in_proj_weight") {
                out[String(key.dropLast("_weight".count)) + ".weight"] = value
            } else if key.hasSuffix(".in_proj_bias") {
                out[String(key.dropLast("_bias".count)) + ".bias"] = value
            } else {
                out[key] = value
            }
        }
        if let w = out[Self.convKey], w.ndim == 4, w.dim(1) == 1, w.dim(3) != 1 || w.dim(2) == 1 {
            out[Self.convKey] = Conv2d.fromChannelsFirst(w)
        }
        return out
    }

    /// Parameters under the package's names and layout (the inverse of ``sanitize(_:)``), for
    /// model.safetensors. LoRA layers must be merged first.
    public func checkpointWeights() -> [String: MLXArray] {
        var out: [String: MLXArray] = [:]
        for (key, value) in parameterDictionary() {
            if key.hasSuffix(".in_proj.weight") {
                out[String(key.dropLast(".weight".count)) + "_weight"] = value
            } else if key.hasSuffix(".in_proj.bias") {
                out[String(key.dropLast(".bias".count)) + "_bias"] = value
            } else {
                out[key] = value
            }
        }
        if let w = out[Self.convKey] { out[Self.convKey] = w.transposed(0, 3, 1, 2) }
        return out
    }
}
