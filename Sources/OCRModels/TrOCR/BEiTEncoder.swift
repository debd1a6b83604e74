// BEiT image encoder as used by vision encoder–decoders (reference: transformers' BeitModel).
// Parameter names are the checkpoints' (`embeddings.cls_token`, `encoder.layer.N.attention.
// attention.query`, `…relative_position_bias.relative_position_bias_table`, `encoder.
// relative_position_bias…` when shared, `lambda_1`/`lambda_2`, `layernorm`, `pooler.layernorm`).
// Differences from ViT: key has no bias, layer scale, relative position bias added to the
// attention scores, stochastic depth, and no final layernorm under mean pooling.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Relative position bias

/// A learned bias per head for every (query, key) offset on the patch grid, plus three entries
/// for CLS→patch, patch→CLS and CLS→CLS.
///
/// The gather index is a function of the grid alone, computed once with integer math. For a
/// non-square grid transformers resamples the table (bilinearly, as a `(2w−1) × (2h−1)` image
/// to `(2h−1) × (2w−1)`, a reshape of the opposite orientation) before gathering, even at the
/// configured resolution; checkpoints trained with transformers learned that, so it is kept
/// here as two small interpolation matrices.
final class BEiTRelativePositionBias: Module {
    @ParameterInfo(key: "relative_position_bias_table") var table: MLXArray
    /// [(grid+1)², ] int32 rows of the (resampled) table for every token pair.
    let _index: MLXArray
    /// Row and column interpolation matrices of the non-square resampling, nil for a square grid.
    let _resample: (rows: MLXArray, columns: MLXArray)?
    let tokens: Int
    let distances: Int

    init(grid: (rows: Int, columns: Int), heads: Int) {
        let (h, w) = grid
        distances = (2 * h - 1) * (2 * w - 1)
        tokens = h * w + 1
        _table.wrappedValue = zeros([distances + 3, heads])
        _index = MLXArray(Self.index(grid: grid).map(Int32.init), [tokens * tokens])
        _resample = h == w ? nil : (
            MLXArray(Self.bilinear(from: 2 * w - 1, to: 2 * h - 1), [2 * h - 1, 2 * w - 1]),
            MLXArray(Self.bilinear(from: 2 * h - 1, to: 2 * w - 1), [2 * w - 1, 2 * h - 1]))
        super.init()
    }

    /// transformers' `generate_relative_position_index`, row-major over [tokens, tokens].
    static func index(grid: (rows: Int, columns: Int)) -> [Int] {
        let (h, w) = grid
        let tokens = h * w + 1
        let distances = (2 * h - 1) * (2 * w - 1)
        var index = [Int](repeating: 0, count: tokens * tokens)
        for i in 0 ..< h * w {
            for j in 0 ..< h * w {
                let dy = i / w - j / w + h - 1
                let dx = i % w - j % w + w - 1
                index[(i + 1) * tokens + j + 1] = dy * (2 * w - 1) + dx
            }
        }
        for t in 0 ..< tokens {
            index[t] = distances        // CLS → token
            index[t * tokens] = distances + 1  // token → CLS
        }
        index[0] = distances + 2  // CLS → CLS
        return index
    }

    /// PyTorch's bilinear resize weights along one axis (`align_corners=False`, no antialias),
    /// row-major [output, input], computed in float32 as PyTorch does.
    static func bilinear(from input: Int, to output: Int) -> [Float] {
        var weights = [Float](repeating: 0, count: output * input)
        let scale = Float(input) / Float(output)
        for o in 0 ..< output {
            let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let i0 = Int(source)
            let i1 = min(i0 + 1, input - 1)
            let lambda = source - Float(i0)
            weights[o * input + i0] += 1 - lambda
            weights[o * input + i1] += lambda
        }
        return weights
    }

    /// The bias [1, heads, tokens, tokens] to add to the attention scores.
    func callAsFunction() -> MLXArray {
        var table = self.table
        if let (rows, columns) = _resample {
            // The table's first `distances` rows as a [2w−1, 2h−1] image per head, resized to
            // [2h−1, 2w−1]: rows first, then columns.
            let heads = table.dim(1)
            let (inRows, inColumns) = (rows.dim(1), columns.dim(1))
            let grid = table.sliced(axis: 0, from: 0, to: distances).reshaped(inRows, inColumns * heads)
            let byRows = matmul(rows, grid).reshaped(rows.dim(0), inColumns, heads)  // [oR, iC, H]
            let byColumns = matmul(columns, byRows.transposed(1, 0, 2).reshaped(inColumns, -1))  // [oC, oR·H]
            let resized = byColumns.reshaped(columns.dim(0), rows.dim(0), heads).transposed(1, 0, 2).reshaped(distances, heads)
            table = concatenated([resized, table.sliced(axis: 0, from: distances)], axis: 0)
        }
        return table.take(_index, axis: 0).reshaped(1, tokens, tokens, -1).transposed(0, 3, 1, 2)
    }
}

// MARK: - Embeddings

/// CLS token, patches (ViT's patch projection), optional absolute positions; `mask_token`
/// (masked image modeling) is loaded but unused.
final class BEiTEmbeddings: Module {
    @ParameterInfo(key: "cls_token") var clsToken: MLXArray
    @ParameterInfo(key: "mask_token") var maskToken: MLXArray?
    @ParameterInfo(key: "position_embeddings") var positionEmbeddings: MLXArray?
    @ModuleInfo(key: "patch_embeddings") var patchEmbeddings: ViTPatchEmbeddings
    let dropout: Dropout

    init(_ config: VisionEncoderConfig) {
        let d = config.hiddenSize
        let grid = config.patchGrid
        _clsToken.wrappedValue = zeros([1, 1, d])
        _maskToken.wrappedValue = config.useMaskToken ? zeros([1, 1, d]) : nil
        _positionEmbeddings.wrappedValue = config.useAbsolutePositionEmbeddings ? zeros([1, grid.rows * grid.columns + 1, d]) : nil
        _patchEmbeddings.wrappedValue = ViTPatchEmbeddings(config)
        dropout = Dropout(p: Float(config.hiddenDropoutProb))
        super.init()
    }

    func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let patches = patchEmbeddings(pixels)
        let cls = clsToken.broadcast(to: [patches.dim(0), 1, clsToken.dim(2)])
        var h = concatenated([cls, patches], axis: 1)
        if let positionEmbeddings { h = h + positionEmbeddings }
        return dropout(h)
    }
}

// MARK: - Layers

final class BEiTSelfAttention: Module {
    @ModuleInfo(key: "query") var query: Linear
    @ModuleInfo(key: "key") var key: Linear
    @ModuleInfo(key: "value") var value: Linear
    @ModuleInfo(key: "relative_position_bias") var relativePositionBias: BEiTRelativePositionBias?
    let heads: Int

    init(_ config: VisionEncoderConfig) {
        let d = config.hiddenSize
        heads = config.numAttentionHeads
        _query.wrappedValue = Linear(d, d, bias: true)
        _key.wrappedValue = Linear(d, d, bias: false)
        _value.wrappedValue = Linear(d, d, bias: true)
        _relativePositionBias.wrappedValue = config.useRelativePositionBias
            ? BEiTRelativePositionBias(grid: config.patchGrid, heads: heads) : nil
        super.init()
    }

    /// `bias`: the shared relative position bias [1, heads, L, L] when the model has one.
    func callAsFunction(_ x: MLXArray, bias shared: MLXArray?) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        func split(_ t: MLXArray) -> MLXArray { t.reshaped(b, l, heads, -1).transposed(0, 2, 1, 3) }
        let q = split(query(x)), k = split(key(x)), v = split(value(x))
        let scale = Float(1 / Double(q.dim(3)).squareRoot())
        var bias = shared
        if let relativePositionBias {
            let own = relativePositionBias()
            bias = bias.map { $0 + own } ?? own
        }
        return scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, mask: bias.map { .array($0) } ?? .none)
            .transposed(0, 2, 1, 3).reshaped(b, l, -1)
    }
}

final class BEiTAttention: Module {
    @ModuleInfo(key: "attention") var attention: BEiTSelfAttention
    @ModuleInfo(key: "output") var output: ViTDense

    init(_ config: VisionEncoderConfig) {
        _attention.wrappedValue = BEiTSelfAttention(config)
        _output.wrappedValue = ViTDense(config.hiddenSize, config.hiddenSize)
        super.init()
    }

    func callAsFunction(_ x: MLXArray, bias: MLXArray?) -> MLXArray { output.dense(attention(x, bias: bias)) }
}

/// Pre-norm block with layer scale and stochastic depth:
/// x + drop_path(λ₁ · attention(LN(x))), then x + drop_path(λ₂ · MLP(LN(x))).
final class BEiTLayer: Module {
    @ModuleInfo(key: "attention") var attention: BEiTAttention
    @ModuleInfo(key: "intermediate") var intermediate: ViTDense
    @ModuleInfo(key: "output") var output: ViTDense
    @ModuleInfo(key: "layernorm_before") var layernormBefore: LayerNorm
    @ModuleInfo(key: "layernorm_after") var layernormAfter: LayerNorm
    @ParameterInfo(key: "lambda_1") var lambda1: MLXArray?
    @ParameterInfo(key: "lambda_2") var lambda2: MLXArray?
    let activation: Activation
    let dropout: Dropout
    let dropPath: Float

    init(_ config: VisionEncoderConfig, dropPath: Double) throws {
        let d = config.hiddenSize
        let eps = Float(config.layerNormEps)
        activation = config.hiddenAct
        dropout = Dropout(p: Float(config.hiddenDropoutProb))
        self.dropPath = Float(dropPath)
        _attention.wrappedValue = BEiTAttention(config)
        _intermediate.wrappedValue = ViTDense(d, config.intermediateSize)
        _output.wrappedValue = ViTDense(config.intermediateSize, d)
        _layernormBefore.wrappedValue = LayerNorm(dimensions: d, eps: eps)
        _layernormAfter.wrappedValue = LayerNorm(dimensions: d, eps: eps)
        let scale = config.layerScaleInitValue
        _lambda1.wrappedValue = scale > 0 ? full([d], value: scale) : nil
        _lambda2.wrappedValue = scale > 0 ? full([d], value: scale) : nil
        super.init()
    }

    /// Per sample: the branch dropped with probability `dropPath`, kept ones scaled by 1/keep.
    func stochasticDepth(_ x: MLXArray) -> MLXArray {
        guard training, dropPath > 0 else { return x }
        let keep = MLXRandom.bernoulli(1 - dropPath, [x.dim(0), 1, 1])
        return which(keep, x * (1 / Double(1 - dropPath)), x.scalar(0))
    }

    func callAsFunction(_ x: MLXArray, bias: MLXArray?) -> MLXArray {
        var a = dropout(attention(layernormBefore(x), bias: bias))
        if let lambda1 { a = lambda1 * a }
        let h = x + stochasticDepth(a)
        var m = dropout(output.dense(activation(intermediate.dense(layernormAfter(h)))))
        if let lambda2 { m = lambda2 * m }
        return h + stochasticDepth(m)
    }
}

final class BEiTLayerStack: Module {
    @ModuleInfo(key: "relative_position_bias") var relativePositionBias: BEiTRelativePositionBias?
    /// `layer.N` (a plain property: list children are reached by reflection, also by LoRA).
    let layer: [BEiTLayer]

    init(_ config: VisionEncoderConfig) throws {
        let n = config.numHiddenLayers
        _relativePositionBias.wrappedValue = config.useSharedRelativePositionBias
            ? BEiTRelativePositionBias(grid: config.patchGrid, heads: config.numAttentionHeads) : nil
        layer = try (0 ..< n).map { try BEiTLayer(config, dropPath: config.dropPathRate * Double($0) / Double(max(n - 1, 1))) }
        super.init()
    }
}

/// transformers' BeitPooler under mean pooling (the only variant with parameters): loaded when
/// the checkpoint has it, unused by an encoder–decoder.
final class BEiTPooler: Module {
    @ModuleInfo(key: "layernorm") var layernorm: LayerNorm
    init(_ config: VisionEncoderConfig) {
        _layernorm.wrappedValue = LayerNorm(dimensions: config.hiddenSize, eps: Float(config.layerNormEps))
        super.init()
    }
}

// MARK: - Encoder

/// BeitModel: embeddings, pre-norm layers with (shared and/or per-layer) relative position
/// bias, and the final `layernorm` unless `use_mean_pooling`. Inputs must have the configured
/// image size (the position tables are not interpolated).
public final class BEiTEncoder: Module, VisionEncoder {
    @ModuleInfo(key: "embeddings") var embeddings: BEiTEmbeddings
    @ModuleInfo(key: "encoder") var encoder: BEiTLayerStack
    @ModuleInfo(key: "layernorm") var layernorm: LayerNorm?
    @ModuleInfo(key: "pooler") var pooler: BEiTPooler?
    public let config: VisionEncoderConfig

    public init(_ config: VisionEncoderConfig, pooler: Bool) throws {
        let grid = config.patchGrid
        guard grid.rows * config.patchSize == config.imageSize[0], grid.columns * config.patchSize == config.imageSize[1] else {
            throw ModelFolderError("beit encoder: image_size \(config.imageSize) is not a multiple of patch_size \(config.patchSize)")
        }
        if config.useAbsolutePositionEmbeddings && grid.rows != grid.columns {
            throw ModelFolderError("""
                beit encoder: use_absolute_position_embeddings with a non-square image_size \(config.imageSize) is not \
                supported (transformers interpolates them from a square grid for such inputs)
                """)
        }
        self.config = config
        _embeddings.wrappedValue = BEiTEmbeddings(config)
        _encoder.wrappedValue = try BEiTLayerStack(config)
        _layernorm.wrappedValue = config.useMeanPooling ? nil : LayerNorm(dimensions: config.hiddenSize, eps: Float(config.layerNormEps))
        _pooler.wrappedValue = pooler && config.useMeanPooling ? BEiTPooler(config) : nil
        super.init()
    }

    /// The relative position bias [1, heads, L, L] each layer adds to its attention scores (the
    /// shared one plus its own; nil where it has none), for exports that store it as a constant.
    public func attentionBiases() -> [MLXArray?] {
        let shared = encoder.relativePositionBias?()
        return encoder.layer.map { layer in
            let own = layer.attention.attention.relativePositionBias?()
            guard let own else { return shared }
            return shared.map { $0 + own } ?? own
        }
    }

    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        var h = embeddings(pixels)
        let shared = encoder.relativePositionBias?()
        for layer in encoder.layer { h = layer(h, bias: shared) }
        return layernorm.map { $0(h) } ?? h
    }
}
