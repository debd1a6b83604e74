// ViT / DeiT image encoders as used by vision encoder–decoders (reference: transformers'
// ViTModel and DeiTModel). Parameter names are the checkpoints' (`embeddings.…`,
// `encoder.layer.N.attention.attention.query`, …, `layernorm`, `pooler.dense`).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Embeddings

/// Patches (a stride-`p` convolution done as a matmul on flattened patches), CLS (and DeiT's
/// distillation) token, learned positions.
final class ViTPatchEmbeddings: Module {
    /// The convolution's parameters in PyTorch layout: `weight` [hidden, channels, p, p], `bias`.
    final class Projection: Module {
        let weight: MLXArray
        let bias: MLXArray
        init(hidden: Int, channels: Int, patch: Int) {
            weight = zeros([hidden, channels, patch, patch])
            bias = zeros([hidden])
            super.init()
        }
    }

    @ModuleInfo(key: "projection") var projection: Projection
    let patchSize: Int

    init(_ config: VisionEncoderConfig) {
        patchSize = config.patchSize
        _projection.wrappedValue = Projection(hidden: config.hiddenSize, channels: config.numChannels, patch: patchSize)
        super.init()
    }

    /// `pixels` [B, C, H, W] → [B, (H/p)·(W/p), hidden], patches in row-major order.
    func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let (b, c, h, w) = (pixels.dim(0), pixels.dim(1), pixels.dim(2), pixels.dim(3))
        let p = patchSize
        let patches = pixels.reshaped(b, c, h / p, p, w / p, p).transposed(0, 2, 4, 1, 3, 5)
            .reshaped(b, (h / p) * (w / p), c * p * p)
        let weight = projection.weight.reshaped(projection.weight.dim(0), -1)
        return addMM(projection.bias, patches, weight.T)
    }
}

final class ViTEmbeddings: Module {
    @ParameterInfo(key: "cls_token") var clsToken: MLXArray
    @ParameterInfo(key: "distillation_token") var distillationToken: MLXArray?
    @ParameterInfo(key: "position_embeddings") var positionEmbeddings: MLXArray
    @ModuleInfo(key: "patch_embeddings") var patchEmbeddings: ViTPatchEmbeddings

    init(_ config: VisionEncoderConfig) {
        let d = config.hiddenSize
        let grid = config.patchGrid
        _clsToken.wrappedValue = zeros([1, 1, d])
        _distillationToken.wrappedValue = config.prefixTokens == 2 ? zeros([1, 1, d]) : nil
        _positionEmbeddings.wrappedValue = zeros([1, grid.rows * grid.columns + config.prefixTokens, d])
        _patchEmbeddings.wrappedValue = ViTPatchEmbeddings(config)
        super.init()
    }

    func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let patches = patchEmbeddings(pixels)
        let b = patches.dim(0)
        var parts = [clsToken.broadcast(to: [b, 1, clsToken.dim(2)])]
        if let distillationToken { parts.append(distillationToken.broadcast(to: [b, 1, distillationToken.dim(2)])) }
        parts.append(patches)
        return concatenated(parts, axis: 1) + positionEmbeddings
    }
}

// MARK: - Layers

final class ViTSelfAttention: Module {
    @ModuleInfo(key: "query") var query: Linear
    @ModuleInfo(key: "key") var key: Linear
    @ModuleInfo(key: "value") var value: Linear
    let heads: Int

    init(_ config: VisionEncoderConfig) {
        let d = config.hiddenSize
        heads = config.numAttentionHeads
        _query.wrappedValue = Linear(d, d, bias: config.qkvBias)
        _key.wrappedValue = Linear(d, d, bias: config.qkvBias)
        _value.wrappedValue = Linear(d, d, bias: config.qkvBias)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        func split(_ t: MLXArray) -> MLXArray { t.reshaped(b, l, heads, -1).transposed(0, 2, 1, 3) }
        let q = split(query(x)), k = split(key(x)), v = split(value(x))
        let scale = Float(1 / Double(q.dim(3)).squareRoot())
        return scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale)
            .transposed(0, 2, 1, 3).reshaped(b, l, -1)
    }
}

/// A `dense` Linear (the `attention.output`, `intermediate` and `output` blocks).
final class ViTDense: Module {
    @ModuleInfo(key: "dense") var dense: Linear
    init(_ input: Int, _ output: Int) {
        _dense.wrappedValue = Linear(input, output)
        super.init()
    }
}

final class ViTAttention: Module {
    @ModuleInfo(key: "attention") var attention: ViTSelfAttention
    @ModuleInfo(key: "output") var output: ViTDense

    init(_ config: VisionEncoderConfig) {
        _attention.wrappedValue = ViTSelfAttention(config)
        _output.wrappedValue = ViTDense(config.hiddenSize, config.hiddenSize)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { output.dense(attention(x)) }
}

/// Pre-norm block: x + attention(LN(x)), then x + MLP(LN(x)).
final class ViTLayer: Module {
    @ModuleInfo(key: "attention") var attention: ViTAttention
    @ModuleInfo(key: "intermediate") var intermediate: ViTDense
    @ModuleInfo(key: "output") var output: ViTDense
    @ModuleInfo(key: "layernorm_before") var layernormBefore: LayerNorm
    @ModuleInfo(key: "layernorm_after") var layernormAfter: LayerNorm
    let activation: Activation
    let dropout: Dropout

    init(_ config: VisionEncoderConfig) throws {
        let d = config.hiddenSize
        let eps = Float(config.layerNormEps)
        activation = config.hiddenAct
        dropout = Dropout(p: Float(config.hiddenDropoutProb))
        _attention.wrappedValue = ViTAttention(config)
        _intermediate.wrappedValue = ViTDense(d, config.intermediateSize)
        _output.wrappedValue = ViTDense(config.intermediateSize, d)
        _layernormBefore.wrappedValue = LayerNorm(dimensions: d, eps: eps)
        _layernormAfter.wrappedValue = LayerNorm(dimensions: d, eps: eps)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = x + dropout(attention(layernormBefore(x)))
        return h + dropout(output.dense(activation(intermediate.dense(layernormAfter(h)))))
    }
}

final class ViTLayerStack: Module {
    /// `layer.N` (a plain property: list children are reached by reflection, also by LoRA).
    let layer: [ViTLayer]
    init(_ config: VisionEncoderConfig) throws {
        layer = try (0 ..< config.numHiddenLayers).map { _ in try ViTLayer(config) }
        super.init()
    }
}

// MARK: - Encoder

/// ViTModel / DeiTModel: embeddings, pre-norm layers, final `layernorm`; the optional `pooler`
/// is loaded when the checkpoint has it (an encoder–decoder does not use it).
public final class ViTEncoder: Module, VisionEncoder {
    @ModuleInfo(key: "embeddings") var embeddings: ViTEmbeddings
    @ModuleInfo(key: "encoder") var encoder: ViTLayerStack
    @ModuleInfo(key: "layernorm") var layernorm: LayerNorm
    @ModuleInfo(key: "pooler") var pooler: ViTDense?
    public let config: VisionEncoderConfig

    public init(_ config: VisionEncoderConfig, pooler: Bool) throws {
        self.config = config
        _embeddings.wrappedValue = ViTEmbeddings(config)
        _encoder.wrappedValue = try ViTLayerStack(config)
        _layernorm.wrappedValue = LayerNorm(dimensions: config.hiddenSize, eps: Float(config.layerNormEps))
        _pooler.wrappedValue = pooler ? ViTDense(config.hiddenSize, config.hiddenSize) : nil
        super.init()
    }

    /// `pixels` [B, C, H, W] (the processor's size) → last hidden state [B, tokens, hidden].
    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        var h = embeddings(pixels)
        for layer in encoder.layer { h = layer(h) }
        return layernorm(h)
    }
}
