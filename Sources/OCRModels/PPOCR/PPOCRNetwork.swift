// The PP-OCR recognizer networks, and what every generation shares: PP-OCRv4/v5 mobile
// (`PPOCRV5Network`: PPLCNetV3 → avg-pool (3, 2) → SVTR neck → CTC head) and PP-OCRv6 small
// (`PPOCRV6Network`, PPOCRV6Network.swift: PP-LCNetV4 → SVTR neck with residual fusion). Both keep
// transformers' layout: `model.backbone` → avg-pool → `head.encoder` (the neck) → `head.head` (CTC
// classifier). The loaded recognizer (dictionary, preprocessing, batching) is PPOCRTextRecognizer.
//
// Reference: transformers/models/pp_ocrv5_mobile_rec/modeling_pp_ocrv5_mobile_rec.py
// (PPOCRV5MobileRecForTextRecognition: `model.backbone`, `head.encoder`, `head.head`).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging

// MARK: - The networks' common surface

/// What recognition, training and import need of a PP-OCR recognizer network, any generation.
public protocol PPOCRNetwork: Module {
    /// config.json's `model_type`.
    var modelType: String { get }
    /// Output classes, the CTC blank included.
    var classCount: Int { get }
    /// Input height, narrowest batch width, and whether channels are BGR (PaddleOCR's preprocessing).
    var inputHeight: Int { get }
    var inputMinWidth: Int { get }
    var inputBGR: Bool { get }
    /// `model`: the backbone's container (frozen as a group; its BatchNorms decide eval mode).
    var backboneModule: Module { get }
    /// The CTC classifier (`head.head`).
    var classifier: Linear { get }
    /// Whether the neck's transformer blocks recompute activations in the backward pass.
    var gradientCheckpointing: Bool { get set }

    /// Logits [N, T, classes] of a preprocessed batch [N, H, W, 3].
    func callAsFunction(_ pixels: MLXArray) -> MLXArray
    /// The backbone's pooled features [N, 1, T, C] (what the neck reads).
    func pooledFeatures(_ pixels: MLXArray) -> MLXArray
    /// The neck's output [N, T, hidden] (what the classifier reads).
    func neck(_ features: MLXArray) -> MLXArray
    /// CTC steps for an input of width `width`.
    func steps(forWidth width: Int) -> Int
    /// A new network of the same configuration with `classCount` classes (weights initialized fresh).
    func makeEmpty(classCount: Int) -> any PPOCRNetwork
    /// config.json of this network.
    func encodedConfig() throws -> Data
}

extension PPOCRNetwork {
    /// Class probabilities [N, T, classes] (what PaddleOCR's exported graphs output).
    public func probabilities(_ pixels: MLXArray) -> MLXArray {
        softmax(self(pixels), axis: -1, precise: true)
    }
}

/// `avg_pool2d(kernel = stride = [kh, kw])` of a channels-last map (the remainder cropped).
public func ppocrAveragePool(_ x: MLXArray, kernel: [Int]) -> MLXArray {
    let (kh, kw) = (kernel[0], kernel[1])
    let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
    let (ho, wo) = (h / kh, w / kw)
    precondition(ho > 0 && wo > 0, "PP-OCR: the input is too small (feature map \(h)×\(w))")
    let cropped = ho * kh == h && wo * kw == w ? x : x.sliced(start: [0, 0, 0, 0], stop: [n, ho * kh, wo * kw, c])
    return cropped.reshaped(n, ho, kh, wo, kw, c).mean(axes: [2, 4])
}

/// The CTC classifier over neck features [N, T, D] → logits [N, T, classes]. A plain Linear with
/// the fused kernels splits its rows over the cores (the product and bias are `Linear`'s, bit for bit).
public func ppocrClassify(_ features: MLXArray, _ classifier: Linear, kernels: KernelChoice) -> MLXArray {
    if kernels == .fused, type(of: classifier) == Linear.self, let bias = classifier.bias {
        let (n, w) = (features.dim(0), features.dim(1))
        let logits = matmulAffineActivation(
            features.reshaped(n * w, -1), classifier.weight, bias: bias, preScale: nil, preBias: nil, activation: .identity)
        return logits.reshaped(n, w, -1)
    }
    return classifier(features)
}

// MARK: - PP-OCRv4 / v5 mobile

/// `model`: the PPLCNetV3 backbone (checkpoint keys `model.backbone.*`), the network's feature extractor.
public final class PPOCRFeatureExtractor: Module, UnaryLayer {
    @ModuleInfo(key: "backbone") public var backbone: PPLCNetV3Backbone

    public init(config: PPOCRRecognizerConfig) {
        _backbone.wrappedValue = PPLCNetV3Backbone(config: config.backboneConfig, batchNormEps: config.batchNormEps)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { backbone(x) }
}

/// The PP-OCRv4 / v5 mobile network. Input [N, 48, W, 3] (normalized, BGR), output logits
/// [N, W/8, classes] (the exported ONNX graphs end with a softmax over them).
public final class PPOCRV5Network: Module, UnaryLayer, PPOCRNetwork {
    public let config: PPOCRRecognizerConfig
    @ModuleInfo(key: "model") public var model: PPOCRFeatureExtractor
    @ModuleInfo(key: "head") public var head: PPOCRNeckAndHead

    public init(config: PPOCRRecognizerConfig) {
        self.config = config
        _model.wrappedValue = PPOCRFeatureExtractor(config: config)
        _head.wrappedValue = PPOCRNeckAndHead(config: config)
        super.init()
    }

    /// Logits [N, T, classes].
    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        head(averagePool(model(pixels)))
    }

    /// Backbone features for the head after `avg_pool2d(kernel = stride = pool_kernel_size)`.
    public func averagePool(_ x: MLXArray) -> MLXArray { ppocrAveragePool(x, kernel: config.poolKernelSize) }

    /// Number of CTC steps for an input of width `width`.
    public func steps(forWidth width: Int) -> Int {
        var w = width
        w = (w + 2 - 3) / config.backboneConfig.stemStride + 1
        for stage in config.backboneConfig.blockConfigs {
            for block in stage {
                let pad = (block.kernelSize - 1) / 2
                w = (w + 2 * pad - block.kernelSize) / block.stride[1] + 1
            }
        }
        return w / config.poolKernelSize[1]
    }

    // MARK: PPOCRNetwork

    public var modelType: String { config.modelType }
    public var classCount: Int { config.headOutChannels }
    public var inputHeight: Int { config.imageHeight }
    public var inputMinWidth: Int { config.imageWidth }
    public var inputBGR: Bool { config.inputBGR }
    public var backboneModule: Module { model }
    public var classifier: Linear { head.classifier }
    public var gradientCheckpointing: Bool {
        get { head.encoder.gradientCheckpointing }
        set { head.encoder.gradientCheckpointing = newValue }
    }
    public func pooledFeatures(_ pixels: MLXArray) -> MLXArray { averagePool(model(pixels)) }
    public func neck(_ features: MLXArray) -> MLXArray { head.encoder(features) }
    public func makeEmpty(classCount: Int) -> any PPOCRNetwork {
        var c = config
        c.headOutChannels = classCount
        return PPOCRV5Network(config: c)
    }
    public func encodedConfig() throws -> Data { try ModelFolder.encodeConfig(config) }
}
