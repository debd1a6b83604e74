// PP-LCNetV4, the backbone of the PP-OCRv6 recognizers, channels-last: a large stem (3×3 and 2×2
// convolutions beside a 2×2 max pool) and stages of token/channel-mixing blocks (depthwise
// convolution, optional squeeze-and-excitation, a GELU channel MLP with a residual).
//
// Reference: transformers/models/pp_lcnet_v4/{configuration,modeling}_pp_lcnet_v4.py (config
// fields, module tree, parameter names: `model.backbone.encoder.convolution.stem1.…`,
// `model.backbone.encoder.blocks.2.blocks.1.channel_conv1.…`). transformers 5.23's
// `pp_ocrv6_small_rec` names an `hgnet_v2` sub-config default, but its `__post_init__` builds a
// `pp_lcnet_v4` backbone, and that is what PaddleOCR's exported PP-OCRv6 graphs hold.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Layers

/// Conv (no bias) → BatchNorm → optional activation (transformers' `PPLCNetV4ConvLayer`, keys
/// `convolution`, `normalization`), with PyTorch's padding `(k − 1) / 2`.
public final class PPLCNetV4ConvLayer: Module, UnaryLayer {
    @ModuleInfo(key: "convolution") public var convolution: Conv2d
    @ModuleInfo(key: "normalization") public var normalization: BatchNorm
    public let activation: Activation

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: [Int] = [1, 1], groups: Int = 1, activation: Activation) {
        let pad = (kernelSize - 1) / 2
        _convolution.wrappedValue = Conv2d(
            inputChannels: inChannels, outputChannels: outChannels, kernelSize: (kernelSize, kernelSize),
            stride: (stride[0], stride[1]), padding: (pad, pad), groups: groups, bias: false)
        _normalization.wrappedValue = BatchNorm(features: outChannels, eps: 1e-5)
        self.activation = activation
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        if !normalization.training, convolution.kernels == .fused, let fused = fusedActivation {
            // Inference: the BatchNorm folded into the product (per output channel), then the
            // product, bias and activation in ocrtune's kernels (MLX's CPU erf is scalar).
            let (scale, shift) = normalization.inferenceScaleAndShift()
            let c = convolution
            if c.isPointwise {
                let (o, i) = (c.weight.dim(0), c.weight.dim(3))
                let y = matmulAffineActivation(
                    x.reshaped(-1, i), c.weight.reshaped(o, i) * scale.reshaped(o, 1), bias: shift, preScale: nil,
                    preBias: nil, activation: fused)
                return y.reshaped(Array(x.shape.dropLast()) + [o])
            }
            if c.isDepthwise, fused != .gelu {
                return depthwiseAffineActivation(
                    x, c.weight * scale.reshaped(-1, 1, 1, 1), stride: c.stride, padding: c.padding,
                    bias: shift, preScale: nil, preBias: nil, activation: fused, postScale: nil, postBias: nil)
            }
            if c.groups == 1 && c.dilation == (1, 1) {
                // The stem: output positions split over the cores, unfolded a tile at a time.
                return conv2dAffineActivation(
                    x, c.weight * scale.reshaped(-1, 1, 1, 1), stride: c.stride, padding: c.padding, bias: shift,
                    activation: fused)
            }
            let z = conv2d(x, c.weight * scale.reshaped(-1, 1, 1, 1), stride: c.stride, padding: c.padding, groups: c.groups)
            return affineActivation(z, bias: shift, preScale: nil, preBias: nil, activation: fused)
        }
        return activation(normalization(convolution(x)))
    }

    private var fusedActivation: FusedActivation? {
        switch activation {
        case .identity: .identity
        case .gelu: .gelu
        case .relu: .relu
        default: nil
        }
    }
}

/// stem1 (3×3) → pad → stem2a (2×2) → pad → stem2b (2×2), beside a 2×2 max pool of the padded
/// stem1 output; the two concatenated → stem3 (3×3) → stem4 (1×1). Keys `stem1` … `stem4`.
public final class PPLCNetV4LargeStem: Module, UnaryLayer {
    public let stem1, stem2a, stem2b, stem3, stem4: PPLCNetV4ConvLayer

    public init(config: PPLCNetV4Config) {
        let (c0, c1, c2) = (config.stemChannels[0], config.stemChannels[1], config.stemChannels[2])
        let s = config.stemStrides
        let act = config.hiddenAct
        stem1 = PPLCNetV4ConvLayer(inChannels: c0, outChannels: c1, kernelSize: 3, stride: [s[0], s[0]], activation: act)
        stem2a = PPLCNetV4ConvLayer(inChannels: c1, outChannels: c1 / 2, kernelSize: 2, stride: [s[1], s[1]], activation: act)
        stem2b = PPLCNetV4ConvLayer(inChannels: c1 / 2, outChannels: c1, kernelSize: 2, stride: [s[2], s[2]], activation: act)
        stem3 = PPLCNetV4ConvLayer(inChannels: 2 * c1, outChannels: c1, kernelSize: 3, stride: [s[3], s[3]], activation: act)
        stem4 = PPLCNetV4ConvLayer(inChannels: c1, outChannels: c2, kernelSize: 1, stride: [s[4], s[4]], activation: act)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        // F.pad(x, (0, 1, 0, 1)): one zero row at the bottom and column at the right.
        let embedding = stem1(x).padded(low: [0, 0, 0, 0], high: [0, 1, 1, 0])
        let branch = stem2b(stem2a(embedding).padded(low: [0, 0, 0, 0], high: [0, 1, 1, 0]))
        let pooled = maxPool2x2(embedding)
        return stem4(stem3(concatenated([pooled, branch], axis: -1)))
    }

    /// MaxPool2d(kernel 2, stride 1) of a channels-last map: [N, H, W, C] → [N, H − 1, W − 1, C].
    public func maxPool2x2(_ x: MLXArray) -> MLXArray {
        let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
        func shifted(_ dy: Int, _ dx: Int) -> MLXArray {
            x.sliced(start: [0, dy, dx, 0], stop: [n, h - 1 + dy, w - 1 + dx, c])
        }
        return maximum(maximum(shifted(0, 0), shifted(0, 1)), maximum(shifted(1, 0), shifted(1, 1)))
    }
}

/// Token mixing (depthwise conv: a plain biased conv where stride 1 keeps the channels, else a
/// conv layer with BatchNorm), optional SE, then channel mixing (1×1 → GELU → 1×1, BatchNorms)
/// with a residual where the block keeps its shape.
public final class PPLCNetV4DepthwiseSeparable: Module, UnaryLayer {
    @ModuleInfo(key: "token_conv") public var tokenConv: Module
    @ModuleInfo(key: "token_squeeze_excitation") public var squeezeExcitation: PPLCNetV3SqueezeExcitation?
    @ModuleInfo(key: "channel_conv1") public var channelConv1: PPLCNetV4ConvLayer
    @ModuleInfo(key: "channel_conv2") public var channelConv2: PPLCNetV4ConvLayer
    public let hasResidual: Bool

    public init(block: PPLCNetV3BlockConfig, config: PPLCNetV4Config) {
        let (input, output, k) = (block.inChannels, block.outChannels, block.kernelSize)
        // transformers: `stride == 1 and in_channels == out_channels` (a [1, 1] pair is not 1).
        let unitStride = block.strideIsScalar && block.stride == [1, 1]
        hasResidual = unitStride && input == output
        if hasResidual {
            _tokenConv.wrappedValue = Conv2d(
                inputChannels: input, outputChannels: input, kernelSize: (k, k), padding: (k / 2, k / 2), groups: input, bias: true)
        } else {
            _tokenConv.wrappedValue = PPLCNetV4ConvLayer(
                inChannels: input, outChannels: input, kernelSize: k, stride: block.stride, groups: input, activation: .identity)
        }
        _squeezeExcitation.wrappedValue =
            block.useSqueezeExcitation ? PPLCNetV3SqueezeExcitation(channels: input, reduction: config.reduction) : nil
        _channelConv1.wrappedValue = PPLCNetV4ConvLayer(inChannels: input, outChannels: 2 * input, kernelSize: 1, activation: .gelu)
        _channelConv2.wrappedValue = PPLCNetV4ConvLayer(inChannels: 2 * input, outChannels: output, kernelSize: 1, activation: .identity)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        var h = (tokenConv as! UnaryLayer)(x)
        if let squeezeExcitation { h = squeezeExcitation(h) }
        let y = channelConv2(channelConv1(h))
        return hasResidual ? h + y : y
    }
}

/// One stage (`blocks.i`), its blocks under `blocks`.
public final class PPLCNetV4Stage: Module, UnaryLayer {
    public let blocks: [PPLCNetV4DepthwiseSeparable]

    public init(blocks configs: [PPLCNetV3BlockConfig], config: PPLCNetV4Config) {
        blocks = configs.map { PPLCNetV4DepthwiseSeparable(block: $0, config: config) }
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { blocks.reduce(x) { $1($0) } }
}

/// `encoder`: stem (`convolution`) and stages (`blocks`).
public final class PPLCNetV4Encoder: Module, UnaryLayer {
    @ModuleInfo(key: "convolution") public var stem: PPLCNetV4LargeStem
    public let blocks: [PPLCNetV4Stage]

    public init(config: PPLCNetV4Config) {
        _stem.wrappedValue = PPLCNetV4LargeStem(config: config)
        blocks = config.blockConfigs.map { PPLCNetV4Stage(blocks: $0, config: config) }
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { blocks.reduce(stem(x)) { $1($0) } }
}

/// `model.backbone`: the last stage's feature map.
public final class PPLCNetV4Backbone: Module, UnaryLayer {
    public let encoder: PPLCNetV4Encoder
    public let config: PPLCNetV4Config

    public init(config: PPLCNetV4Config) {
        self.config = config
        encoder = PPLCNetV4Encoder(config: config)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { encoder(x) }

    /// Every stage's output (the detector's feature pyramid).
    public func stageOutputs(_ x: MLXArray) -> [MLXArray] {
        var h = encoder.stem(x)
        return encoder.blocks.map { stage in
            h = stage(h)
            return h
        }
    }

    /// Output width for an input of width `width`.
    public func outputWidth(forWidth width: Int) -> Int {
        let s = config.stemStrides
        var w = (width + 2 - 3) / s[0] + 1  // stem1 3×3, pad 1
        w = (w + 1 - 2) / s[1] + 1  // pad 1, stem2a 2×2
        w = (w + 1 - 2) / s[2] + 1  // pad 1, stem2b 2×2 (the pool keeps the padded width − 1)
        w = (w + 2 - 3) / s[3] + 1  // stem3 3×3, pad 1
        w = (w - 1) / s[4] + 1  // stem4 1×1
        for stage in config.blockConfigs {
            for block in stage {
                let pad = (block.kernelSize - 1) / 2
                w = (w + 2 * pad - block.kernelSize) / block.stride[1] + 1
            }
        }
        return w
    }
}
