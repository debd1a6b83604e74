// The PP-OCRv6 small text recognizer: PP-LCNetV4 → avg-pool (3, 2) → SVTR neck with residual
// fusion → CTC head, channels-last. Input and output are those of v5 (48-px BGR lines,
// (x/255 − 0.5)/0.5, logits [N, W/8, classes]).
//
// Reference: transformers/models/pp_ocrv6_small_rec/{configuration,modeling}_pp_ocrv6_small_rec.py
// (PPOCRV6SmallRecConfig fields; `model.backbone`, `head.encoder.conv_block.{0,1,2}`,
// `head.encoder.svtr_block.*`, `head.encoder.norm`, `head.head`); PaddleOCR's PP-OCRv6 export
// (rapidocr 3.10's PP-OCRv6_rec_small.onnx: the same graph with BatchNorms folded).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Neck

/// `head.encoder`: conv_block.0 (1×1, the residual), conv_block.1 (1×1 reduce) + conv_block.2
/// (depthwise local conv, added), SVTR blocks, norm, then the residual added.
/// Input [N, 1, W, C_in] → output [N, W, hidden].
public final class SVTRV6Encoder: Module {
    // snake_case names: lists are keyed by their property name (and stay reachable by LoRA).
    public let conv_block: [PPOCRConvLayer]
    public let svtr_block: [SVTRBlock]
    @ModuleInfo(key: "norm") public var norm: LayerNorm
    public var gradientCheckpointing = false

    public init(config: PPOCRV6RecognizerConfig) {
        let input = config.backboneConfig.outputChannels
        let hidden = config.hiddenSize
        let act = config.hiddenAct
        conv_block = [
            PPOCRConvLayer(inChannels: input, outChannels: hidden, kernelSize: (1, 1), activation: act, batchNormEps: 1e-5),
            PPOCRConvLayer(inChannels: input, outChannels: hidden, kernelSize: (1, 1), activation: act, batchNormEps: 1e-5),
            PPOCRConvLayer(
                inChannels: hidden, outChannels: hidden, kernelSize: (config.convKernelSize[0], config.convKernelSize[1]),
                groups: hidden, activation: act, batchNormEps: 1e-5),
        ]
        svtr_block = (0 ..< config.depth).map { _ in
            SVTRBlock(
                dimensions: hidden, heads: config.numAttentionHeads, qkvBias: config.qkvBias, mlpRatio: config.mlpRatio,
                activation: act, eps: config.layerNormEps)
        }
        _norm.wrappedValue = LayerNorm(dimensions: hidden, eps: Float(config.layerNormEps))
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let residual = conv_block[0](x)
        var h = conv_block[1](x)
        h = h + conv_block[2](h)
        let (n, height, width, c) = (h.dim(0), h.dim(1), h.dim(2), h.dim(3))
        let tokens = runSVTRBlocks(svtr_block, h.reshaped(n, height * width, c), checkpointed: gradientCheckpointing && training)
        h = norm(tokens).reshaped(n, height, width, c) + residual
        precondition(h.dim(1) == 1, "SVTR: the feature map must be 1 high after pooling (got \(h.dim(1)))")
        return h.squeezed(axis: 1)
    }
}

/// `head`: the neck and the CTC classifier (`head.head`).
public final class PPOCRV6RecHead: Module, KernelSelecting {
    @ModuleInfo(key: "encoder") public var encoder: SVTRV6Encoder
    @ModuleInfo(key: "head") public var classifier: Linear
    public var kernels = KernelChoice.fused

    public init(config: PPOCRV6RecognizerConfig) {
        _encoder.wrappedValue = SVTRV6Encoder(config: config)
        _classifier.wrappedValue = Linear(config.hiddenSize, config.headOutChannels)
        super.init()
    }

    /// Features [N, 1, W, C] → logits [N, W, classes].
    public func callAsFunction(_ x: MLXArray) -> MLXArray { ppocrClassify(encoder(x), classifier, kernels: kernels) }
}

// MARK: - Model

/// `model`: the backbone.
public final class PPOCRV6RecModel: Module, UnaryLayer {
    @ModuleInfo(key: "backbone") public var backbone: PPLCNetV4Backbone

    public init(config: PPOCRV6RecognizerConfig) {
        _backbone.wrappedValue = PPLCNetV4Backbone(config: config.backboneConfig)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { backbone(x) }
}

/// The PP-OCRv6 recognizer network: input [N, 48, W, 3], logits [N, T, classes].
public final class PPOCRV6Network: Module, UnaryLayer, PPOCRNetwork {
    public let config: PPOCRV6RecognizerConfig
    @ModuleInfo(key: "model") public var model: PPOCRV6RecModel
    @ModuleInfo(key: "head") public var head: PPOCRV6RecHead

    public init(config: PPOCRV6RecognizerConfig) {
        self.config = config
        _model.wrappedValue = PPOCRV6RecModel(config: config)
        _head.wrappedValue = PPOCRV6RecHead(config: config)
        super.init()
    }

    public func callAsFunction(_ pixels: MLXArray) -> MLXArray { head(pooledFeatures(pixels)) }

    // MARK: PPOCRNetwork

    public var modelType: String { config.modelType }
    public var classCount: Int { config.headOutChannels }
    public var inputHeight: Int { PPOCRV6RecognizerConfig.imageHeight }
    public var inputMinWidth: Int { PPOCRV6RecognizerConfig.imageWidth }
    public var inputBGR: Bool { true }
    public var backboneModule: Module { model }
    public var classifier: Linear { head.classifier }
    public var gradientCheckpointing: Bool {
        get { head.encoder.gradientCheckpointing }
        set { head.encoder.gradientCheckpointing = newValue }
    }

    public func pooledFeatures(_ pixels: MLXArray) -> MLXArray {
        ppocrAveragePool(model(pixels), kernel: PPOCRV6RecognizerConfig.poolKernelSize)
    }

    public func neck(_ features: MLXArray) -> MLXArray { head.encoder(features) }

    public func steps(forWidth width: Int) -> Int {
        model.backbone.outputWidth(forWidth: width) / PPOCRV6RecognizerConfig.poolKernelSize[1]
    }

    public func makeEmpty(classCount: Int) -> any PPOCRNetwork {
        var c = config
        c.headOutChannels = classCount
        return PPOCRV6Network(config: c)
    }

    public func encodedConfig() throws -> Data { try ModelFolder.encodeConfig(config) }
}
