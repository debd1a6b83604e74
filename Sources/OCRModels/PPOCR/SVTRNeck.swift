// The SVTR neck (`EncoderWithSVTR`) and CTC head of the PP-OCR recognizers, channels-last.
//
// Reference: transformers/models/pp_ocrv5_server_rec/modeling_pp_ocrv5_server_rec.py
// (PPOCRV5*RecEncoderWithSVTR, *Block, *Attention, *MLP, *Head; parameter names) and PaddleOCR
// ppocr/modeling/necks/rnn.py (EncoderWithSVTR: block LayerNorms use eps 1e-5, the final one 1e-6).
// The Linear layers (`self_attn.qkv`, `self_attn.projection`, `mlp.fc1`, `mlp.fc2`, `head.head`)
// are declared with @ModuleInfo so LoRA can wrap them.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Attention

/// Multi-head self-attention with a fused `qkv` projection and `projection` output.
public final class SVTRAttention: Module {
    @ModuleInfo(key: "qkv") public var qkv: Linear
    @ModuleInfo(key: "projection") public var projection: Linear
    public let heads: Int
    public let scale: Float

    public init(dimensions: Int, heads: Int, qkvBias: Bool) {
        precondition(dimensions % heads == 0, "SVTR: hidden size must divide into heads")
        self.heads = heads
        scale = Float(1 / Double(dimensions / heads).squareRoot())
        _qkv.wrappedValue = Linear(dimensions, 3 * dimensions, bias: qkvBias)
        _projection.wrappedValue = Linear(dimensions, dimensions)
        super.init()
    }

    /// `x` [B, L, D] → [B, L, D].
    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        let mixed = qkv(x).reshaped(b, l, 3, heads, -1).transposed(2, 0, 3, 1, 4)
        let parts = mixed.split(parts: 3, axis: 0).map { $0.squeezed(axis: 0) }
        let out = scaledDotProductAttention(queries: parts[0], keys: parts[1], values: parts[2], scale: scale)
        return projection(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }
}

/// fc1 → activation → fc2.
public final class SVTRMLP: Module, UnaryLayer {
    @ModuleInfo(key: "fc1") public var fc1: Linear
    @ModuleInfo(key: "fc2") public var fc2: Linear
    public let activation: Activation

    public init(dimensions: Int, hidden: Int, activation: Activation) {
        _fc1.wrappedValue = Linear(dimensions, hidden)
        _fc2.wrappedValue = Linear(hidden, dimensions)
        self.activation = activation
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { fc2(activation(fc1(x))) }
}

/// Pre-norm transformer block.
public final class SVTRBlock: Module, UnaryLayer {
    @ModuleInfo(key: "self_attn") public var attention: SVTRAttention
    @ModuleInfo(key: "layer_norm1") public var norm1: LayerNorm
    @ModuleInfo(key: "mlp") public var mlp: SVTRMLP
    @ModuleInfo(key: "layer_norm2") public var norm2: LayerNorm

    public convenience init(config: PPOCRRecognizerConfig) {
        self.init(
            dimensions: config.hiddenSize, heads: config.numAttentionHeads, qkvBias: config.qkvBias,
            mlpRatio: config.mlpRatio, activation: config.hiddenAct, eps: config.blockLayerNormEps)
    }

    public init(dimensions d: Int, heads: Int, qkvBias: Bool, mlpRatio: Double, activation: Activation, eps: Double) {
        _attention.wrappedValue = SVTRAttention(dimensions: d, heads: heads, qkvBias: qkvBias)
        _norm1.wrappedValue = LayerNorm(dimensions: d, eps: Float(eps))
        _mlp.wrappedValue = SVTRMLP(dimensions: d, hidden: Int(Double(d) * mlpRatio), activation: activation)
        _norm2.wrappedValue = LayerNorm(dimensions: d, eps: Float(eps))
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = x + attention(norm1(x))
        return h + mlp(norm2(h))
    }
}

// MARK: - Encoder with SVTR

/// `head.encoder`: conv_block 0–1 → SVTR blocks → norm → conv_block 2 → concat with the input
/// → conv_block 3–4. Input [N, 1, W, C_in] → output [N, W, hidden].
public final class SVTREncoder: Module {
    // snake_case names: lists are keyed by their property name (and stay reachable by LoRA).
    public let conv_block: [PPOCRConvLayer]
    public let svtr_block: [SVTRBlock]
    @ModuleInfo(key: "norm") public var norm: LayerNorm
    /// Training mode recomputes each SVTR block's activations in the backward pass instead of
    /// keeping them (transformers' `gradient_checkpointing` over the same blocks).
    public var gradientCheckpointing = false

    public init(config: PPOCRRecognizerConfig) {
        let input = config.neckInputChannels
        let hidden = config.hiddenSize
        let k = (config.convKernelSize[0], config.convKernelSize[1])
        let eps = config.batchNormEps
        let act = config.hiddenAct
        conv_block = [
            PPOCRConvLayer(inChannels: input, outChannels: input / 8, kernelSize: k, activation: act, batchNormEps: eps),
            PPOCRConvLayer(inChannels: input / 8, outChannels: hidden, kernelSize: (1, 1), activation: act, batchNormEps: eps),
            PPOCRConvLayer(inChannels: hidden, outChannels: input, kernelSize: (1, 1), activation: act, batchNormEps: eps),
            PPOCRConvLayer(inChannels: 2 * input, outChannels: input / 8, kernelSize: k, activation: act, batchNormEps: eps),
            PPOCRConvLayer(inChannels: input / 8, outChannels: hidden, kernelSize: (1, 1), activation: act, batchNormEps: eps),
        ]
        svtr_block = (0 ..< config.depth).map { _ in SVTRBlock(config: config) }
        _norm.wrappedValue = LayerNorm(dimensions: hidden, eps: Float(config.layerNormEps))
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        var h = conv_block[1](conv_block[0](x))
        let (n, height, width, c) = (h.dim(0), h.dim(1), h.dim(2), h.dim(3))
        let tokens = runSVTRBlocks(svtr_block, h.reshaped(n, height * width, c), checkpointed: gradientCheckpointing && training)
        h = norm(tokens).reshaped(n, height, width, c)
        h = conv_block[2](h)
        h = conv_block[4](conv_block[3](concatenated([x, h], axis: -1)))
        precondition(h.dim(1) == 1, "SVTR: the feature map must be 1 high after pooling (got \(h.dim(1)))")
        return h.squeezed(axis: 1)
    }
}

/// Runs SVTR blocks over tokens [B, L, D]; `checkpointed` recomputes each block's activations in
/// the backward pass (`checkpointedCall` gets the block's live weights as explicit inputs).
func runSVTRBlocks(_ blocks: [SVTRBlock], _ x: MLXArray, checkpointed: Bool) -> MLXArray {
    var tokens = x
    for block in blocks {
        if checkpointed {
            let parameters = block.trainableParameters().map(\.array)
            tokens = checkpointedCall([tokens], parameters: parameters) { [block] in [block($0[0])] }[0]
        } else {
            tokens = block(tokens)
        }
    }
    return tokens
}

/// `head`: the SVTR encoder and the CTC classifier (`head.head`).
public final class PPOCRNeckAndHead: Module, KernelSelecting {
    @ModuleInfo(key: "encoder") public var encoder: SVTREncoder
    @ModuleInfo(key: "head") public var classifier: Linear
    public var kernels = KernelChoice.fused

    public init(config: PPOCRRecognizerConfig) {
        _encoder.wrappedValue = SVTREncoder(config: config)
        _classifier.wrappedValue = Linear(config.hiddenSize, config.headOutChannels)
        super.init()
    }

    /// Features [N, 1, W, C] → logits [N, W, classes] (before softmax).
    public func callAsFunction(_ x: MLXArray) -> MLXArray { ppocrClassify(encoder(x), classifier, kernels: kernels) }
}
