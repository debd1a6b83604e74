// The PP-OCRv4 / PP-OCRv5 mobile recognizer network: PPLCNetV3 → avg-pool (3, 2) → SVTR neck →
// CTC head (the loaded recognizer with dictionary, preprocessing and batching is PPOCRTextRecognizer).
//
// Reference: transformers/models/pp_ocrv5_mobile_rec/modeling_pp_ocrv5_mobile_rec.py
// (PPOCRV5MobileRecForTextRecognition: `model.backbone`, `head.encoder`, `head.head`) and
// PaddleOCR tools/infer/predict_rec.py (batches sorted by aspect ratio).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging

// MARK: - Model

/// `model`: the PPLCNetV3 backbone (checkpoint keys `model.backbone.*`), the network's feature extractor.
public final class PPOCRFeatureExtractor: Module, UnaryLayer {
    @ModuleInfo(key: "backbone") public var backbone: PPLCNetV3Backbone

    public init(config: PPOCRRecognizerConfig) {
        _backbone.wrappedValue = PPLCNetV3Backbone(config: config.backboneConfig, batchNormEps: config.batchNormEps)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { backbone(x) }
}

/// The recognizer network. Input [N, 48, W, 3] (normalized, BGR), output logits [N, W/8, classes]
/// (the exported ONNX graphs end with a softmax over them).
public final class PPOCRNetwork: Module, UnaryLayer {
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

    /// Class probabilities [N, T, classes] (what PaddleOCR's exported graphs output).
    public func probabilities(_ pixels: MLXArray) -> MLXArray {
        softmax(self(pixels), axis: -1, precise: true)
    }

    /// Backbone features for the head after `avg_pool2d(kernel = stride = pool_kernel_size)`.
    public func averagePool(_ x: MLXArray) -> MLXArray {
        let (kh, kw) = (config.poolKernelSize[0], config.poolKernelSize[1])
        let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
        let (ho, wo) = (h / kh, w / kw)
        precondition(ho > 0 && wo > 0, "PP-OCR: the input is too small (feature map \(h)×\(w))")
        let cropped = ho * kh == h && wo * kw == w ? x : x.sliced(start: [0, 0, 0, 0], stop: [n, ho * kh, wo * kw, c])
        return cropped.reshaped(n, ho, kh, wo, kw, c).mean(axes: [2, 4])
    }

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
}
