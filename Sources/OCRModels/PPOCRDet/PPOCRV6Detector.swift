// The PP-OCRv6 small DB text detector, channels-last: PP-LCNetV4 (all four stages) → RSE FPN neck
// (1×1 + SE per stage, top-down nearest-upsampling sums, 7×7 depthwise + 1×1 + SE, all upsampled
// to 1/4 and concatenated) → DB head (3×3 conv, two 2×2 stride-2 transposed convs, sigmoid):
// a text probability map at the input's resolution.
//
// Reference: transformers/models/pp_ocrv6_small_det/{configuration,modeling}_pp_ocrv6_small_det.py
// (PPOCRV6SmallDetConfig fields; `model.backbone`, `model.neck.insert_conv.i`,
// `model.neck.input_conv.i`, `head.conv_down`, `head.conv_up`, `head.conv_final`); PaddleOCR's
// export in rapidocr 3.10 (PP-OCRv6_det_small.onnx, BatchNorms folded).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Layers

/// Avg-pool → conv1 → ReLU → conv2 → clamp(0.2·x + 0.5, 0, 1) → rescale (keys `conv1`, `conv2`).
public final class DBSqueezeExcitation: Module, UnaryLayer {
    @ModuleInfo(key: "conv1") public var conv1: Conv2d
    @ModuleInfo(key: "conv2") public var conv2: Conv2d

    public init(channels: Int, reduction: Int) {
        _conv1.wrappedValue = Conv2d(inputChannels: channels, outputChannels: channels / reduction, kernelSize: (1, 1), bias: true)
        _conv2.wrappedValue = Conv2d(inputChannels: channels / reduction, outputChannels: channels, kernelSize: (1, 1), bias: true)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let s = conv2(relu(conv1(x.mean(axes: [1, 2], keepDims: true))))
        return x * clip(s * 0.2 + 0.5, min: MLXArray(Float(0)), max: MLXArray(Float(1)))
    }
}

/// `insert_conv.i`: 1×1 conv (no bias), then x + SE(x).
public final class DBResidualSqueezeExcitation: Module, UnaryLayer {
    @ModuleInfo(key: "in_conv") public var inConv: Conv2d
    @ModuleInfo(key: "squeeze_excitation_block") public var squeezeExcitation: DBSqueezeExcitation

    public init(inChannels: Int, outChannels: Int, reduction: Int) {
        _inConv.wrappedValue = Conv2d(inputChannels: inChannels, outputChannels: outChannels, kernelSize: (1, 1), bias: false)
        _squeezeExcitation.wrappedValue = DBSqueezeExcitation(channels: outChannels, reduction: reduction)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = inConv(x)
        return h + squeezeExcitation(h)
    }
}

/// `input_conv.i`: k×k depthwise (bias) → 1×1 to a quarter of the channels (no bias) → h + SE(h).
public final class DBDepthwiseSeparable: Module, UnaryLayer {
    @ModuleInfo(key: "depthwise_convolution") public var depthwise: Conv2d
    @ModuleInfo(key: "pointwise_convolution") public var pointwise: Conv2d
    @ModuleInfo(key: "squeeze_excitation_module") public var squeezeExcitation: DBSqueezeExcitation

    public init(channels: Int, kernelSize: Int, reduction: Int) {
        _depthwise.wrappedValue = Conv2d(
            inputChannels: channels, outputChannels: channels, kernelSize: (kernelSize, kernelSize),
            padding: (kernelSize / 2, kernelSize / 2), groups: channels)
        _pointwise.wrappedValue = Conv2d(inputChannels: channels, outputChannels: channels / 4, kernelSize: (1, 1), bias: false)
        _squeezeExcitation.wrappedValue = DBSqueezeExcitation(channels: channels / 4, reduction: reduction)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = pointwise(depthwise(x))
        return h + squeezeExcitation(h)
    }
}

/// Nearest-neighbour upsampling by an integer factor, channels-last.
public func upsampleNearest(_ x: MLXArray, factor: Int) -> MLXArray {
    guard factor > 1 else { return x }
    let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
    return x.reshaped(n, h, 1, w, 1, c).broadcast(to: [n, h, factor, w, factor, c]).reshaped(n, h * factor, w * factor, c)
}

/// A transposed convolution whose stride equals its kernel (no overlap, no padding): one product
/// per input pixel. `weight` [out, kh, kw, in] (MLX's layout), `bias` [out].
public final class PatchTransposedConv2d: Module, UnaryLayer {
    public var weight: MLXArray
    public var bias: MLXArray?

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, bias: Bool = true) {
        let bound = Float(1 / Double(outputChannels * kernelSize * kernelSize).squareRoot())
        weight = MLXRandom.uniform([outputChannels, kernelSize, kernelSize, inputChannels], low: -bound, high: bound)
        self.bias = bias ? MLXRandom.uniform([outputChannels], low: -bound, high: bound) : nil
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (n, h, w, cin) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
        let (cout, kh, kw) = (weight.dim(0), weight.dim(1), weight.dim(2))
        let wm = weight.transposed(3, 1, 2, 0).reshaped(cin, kh * kw * cout)
        var y = matmul(x.reshaped(n * h * w, cin), wm).reshaped(n, h, w, kh, kw, cout)
        y = y.transposed(0, 1, 3, 2, 4, 5).reshaped(n, h * kh, w * kw, cout)
        return bias.map { y + $0 } ?? y
    }
}

/// Conv (or transposed conv) → BatchNorm (`norm`) → optional ReLU.
public final class DBConvBatchNorm: Module, UnaryLayer {
    @ModuleInfo(key: "convolution") public var convolution: Module
    @ModuleInfo(key: "norm") public var norm: BatchNorm
    public let appliesReLU: Bool

    public init(convolution: Module, channels: Int, relu: Bool = true) {
        _convolution.wrappedValue = convolution
        _norm.wrappedValue = BatchNorm(features: channels, eps: 1e-5)
        appliesReLU = relu
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        if !norm.training, let c = convolution as? Conv2d, c.kernels == .fused, c.groups == 1, c.dilation == (1, 1) {
            // Inference: the BatchNorm folded into the convolution, output positions split over the cores.
            let (scale, shift) = norm.inferenceScaleAndShift()
            let bias = c.bias.map { $0 * scale + shift } ?? shift
            return conv2dAffineActivation(
                x, c.weight * scale.reshaped(-1, 1, 1, 1), stride: c.stride, padding: c.padding, bias: bias,
                activation: appliesReLU ? .relu : .identity)
        }
        let y = norm((convolution as! UnaryLayer)(x))
        return appliesReLU ? relu(y) : y
    }
}

// MARK: - Neck and head

/// `model.neck`.
public final class DBNeck: Module {
    public let insert_conv: [DBResidualSqueezeExcitation]
    public let input_conv: [DBDepthwiseSeparable]

    public init(config: PPOCRV6DetConfig) {
        let out = config.neckOutChannels
        insert_conv = config.layerListOutChannels.map {
            DBResidualSqueezeExcitation(inChannels: $0, outChannels: out, reduction: config.reduction)
        }
        input_conv = config.layerListOutChannels.map { _ in
            DBDepthwiseSeparable(channels: out, kernelSize: config.dilatedKernelSize, reduction: config.reduction)
        }
        super.init()
    }

    /// Stage features [p2, p3, p4, p5] → fused [N, H/4, W/4, neck_out_channels].
    public func callAsFunction(_ features: [MLXArray]) -> MLXArray {
        var fused = zip(insert_conv, features).map { $0($1) }
        for i in stride(from: 2, through: 0, by: -1) {
            fused[i] = fused[i] + upsampleNearest(fused[i + 1], factor: 2)
        }
        let processed = zip(input_conv, fused).enumerated().map { i, pair in upsampleNearest(pair.0(pair.1), factor: 1 << i) }
        return concatenated(processed.reversed(), axis: -1)
    }
}

/// `head`: conv_down (k×k, BN, ReLU) → conv_up (2×2 stride 2 transposed, BN, ReLU) → conv_final
/// (2×2 stride 2 transposed) → sigmoid.
public final class DBHead: Module {
    @ModuleInfo(key: "conv_down") public var convDown: DBConvBatchNorm
    @ModuleInfo(key: "conv_up") public var convUp: DBConvBatchNorm
    @ModuleInfo(key: "conv_final") public var convFinal: PatchTransposedConv2d

    public init(config: PPOCRV6DetConfig) {
        let c = config.neckOutChannels
        let k = config.kernelList[0]
        _convDown.wrappedValue = DBConvBatchNorm(
            convolution: Conv2d(inputChannels: c, outputChannels: c / 4, kernelSize: (k, k), padding: (k / 2, k / 2), bias: false),
            channels: c / 4)
        _convUp.wrappedValue = DBConvBatchNorm(
            convolution: PatchTransposedConv2d(inputChannels: c / 4, outputChannels: c / 4, kernelSize: 2), channels: c / 4)
        _convFinal.wrappedValue = PatchTransposedConv2d(inputChannels: c / 4, outputChannels: 1, kernelSize: 2)
        super.init()
    }

    /// Fused features → probability map [N, 4·H, 4·W, 1].
    public func callAsFunction(_ x: MLXArray) -> MLXArray { sigmoid(convFinal(convUp(convDown(x)))) }
}

// MARK: - Network

/// `model`: backbone and neck.
public final class PPOCRV6DetModel: Module {
    @ModuleInfo(key: "backbone") public var backbone: PPLCNetV4Backbone
    @ModuleInfo(key: "neck") public var neck: DBNeck

    public init(config: PPOCRV6DetConfig) {
        _backbone.wrappedValue = PPLCNetV4Backbone(config: config.backboneConfig)
        _neck.wrappedValue = DBNeck(config: config)
        super.init()
    }
}

/// The detector network: input [N, H, W, 3] (H, W multiples of 32; normalized BGR), output the
/// text probability map [N, H, W, 1].
public final class PPOCRV6Detector: Module, UnaryLayer {
    public let config: PPOCRV6DetConfig
    @ModuleInfo(key: "model") public var model: PPOCRV6DetModel
    @ModuleInfo(key: "head") public var head: DBHead

    public init(config: PPOCRV6DetConfig) {
        self.config = config
        _model.wrappedValue = PPOCRV6DetModel(config: config)
        _head.wrappedValue = DBHead(config: config)
        super.init()
    }

    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        head(model.neck(model.backbone.stageOutputs(pixels)))
    }
}
