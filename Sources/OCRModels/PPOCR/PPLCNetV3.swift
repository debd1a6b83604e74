// PPLCNetV3, the backbone of the PP-OCRv4 / PP-OCRv5 mobile recognizers, channels-last.
//
// Reference: transformers/models/pp_lcnet_v3/modeling_pp_lcnet_v3.py (module tree and
// parameter names) and PaddleOCR ppocr/modeling/backbones/rec_lcnetv3.py (the deployed form of
// LearnableRepLayer after `rep()`: one `reparam_conv` with bias, which is what the inference
// exports hold). Keys read `model.backbone.encoder.blocks.3.layers.1.depthwise_convolution.…`.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Shared layers

/// Conv (no bias) → BatchNorm → optional activation: transformers' `PPLCNetV3ConvLayer` and
/// the SVTR neck's `PPOCRV5MobileRecConvLayer` (keys `convolution`, `normalization`).
public final class PPOCRConvLayer: Module, UnaryLayer {
    @ModuleInfo(key: "convolution") public var convolution: Conv2d
    @ModuleInfo(key: "normalization") public var normalization: BatchNorm
    public let activation: Activation

    public init(
        inChannels: Int, outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1), groups: Int = 1,
        activation: Activation, batchNormEps: Double
    ) {
        precondition(groups == 1 || (groups == inChannels && groups == outChannels), "PPOCRConvLayer: only depthwise grouping")
        let padding = (kernelSize.0 / 2, kernelSize.1 / 2)
        _convolution.wrappedValue = Conv2d(
            inputChannels: inChannels, outputChannels: outChannels, kernelSize: kernelSize, stride: stride,
            padding: padding, groups: groups, bias: false)
        _normalization.wrappedValue = BatchNorm(features: outChannels, eps: Float(batchNormEps))
        self.activation = activation
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        activation(normalization(convolution(x)))
    }
}

/// `scale · x + bias` with scalar parameters (transformers' `PPLCNetV3LearnableAffineBlock`).
public final class LearnableAffineBlock: Module, UnaryLayer {
    public let scale: MLXArray
    public let bias: MLXArray

    public init(scale: Float = 1, bias: Float = 0) {
        self.scale = MLXArray([scale])
        self.bias = MLXArray([bias])
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { x * scale + bias }
}

/// Activation followed by a learnable affine (`act.lab`).
public final class ActLearnableAffineBlock: Module, UnaryLayer {
    public let lab = LearnableAffineBlock()
    public let activation: Activation

    public init(activation: Activation) {
        self.activation = activation
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { lab(activation(x)) }
}

// MARK: - LearnableRepLayer (deployed form)

/// A reparameterized LearnableRepLayer: `reparam_conv` (the fused k×k + 1×1 + identity
/// branches, with bias) → `lab` → activation → `act.lab`.
public final class PPLCNetV3RepLayer: Module, UnaryLayer {
    @ModuleInfo(key: "reparam_conv") public var conv: Conv2d
    public let lab = LearnableAffineBlock()
    public let act: ActLearnableAffineBlock
    public let appliesActivation: Bool

    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: [Int], groups: Int, activation: Activation,
        appliesActivation: Bool
    ) {
        _conv.wrappedValue = Conv2d(
            inputChannels: inChannels, outputChannels: outChannels, kernelSize: (kernelSize, kernelSize),
            stride: (stride[0], stride[1]), padding: ((kernelSize - 1) / 2, (kernelSize - 1) / 2),
            groups: groups, bias: true)
        act = ActLearnableAffineBlock(activation: activation)
        self.appliesActivation = appliesActivation
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        // Bias, affine, activation and affine in one pass (the engine's fused kernel).
        if let bias = conv.bias, let fused = fusedActivation {
            let postScale = appliesActivation ? act.lab.scale : nil
            let postBias = appliesActivation ? act.lab.bias : nil
            if conv.kernels == .fused && conv.isDepthwise {
                // Convolution and epilogue in one register-blocked pass.
                return depthwiseAffineActivation(
                    x, conv.weight, stride: conv.stride, padding: conv.padding, bias: bias,
                    preScale: lab.scale, preBias: lab.bias, activation: fused, postScale: postScale, postBias: postBias)
            }
            if conv.kernels == .fused && conv.isPointwise {
                // Each thread's rows: their product, then the epilogue while they are in cache.
                let (o, i) = (conv.weight.dim(0), conv.weight.dim(3))
                let y = matmulAffineActivation(
                    x.reshaped(-1, i), conv.weight.reshaped(o, i), bias: bias, preScale: lab.scale,
                    preBias: lab.bias, activation: fused, postScale: postScale, postBias: postBias)
                return y.reshaped(Array(x.shape.dropLast()) + [o])
            }
            if conv.kernels == .unfused && (conv.isDepthwise || conv.isPointwise) {
                // The convolution, then the epilogue in one pass.
                let z = conv.withoutBias(x)
                return appliesActivation
                    ? affineActivation(
                        z, bias: bias, preScale: lab.scale, preBias: lab.bias, activation: fused,
                        postScale: act.lab.scale, postBias: act.lab.bias)
                    : affineActivation(z, bias: bias, preScale: lab.scale, preBias: lab.bias, activation: .identity)
            }
        }
        let y = lab(conv(x))
        return appliesActivation ? act(y) : y
    }

    /// The engine's fused form of the activation, if it has one.
    private var fusedActivation: FusedActivation? {
        guard appliesActivation else { return .identity }
        switch act.activation {
        case .hardSwish: return .hardSwish
        case .relu: return .relu
        case .identity: return .identity
        default: return nil
        }
    }
}

// MARK: - Squeeze-and-excitation

/// Global average pool → 1×1 conv → ReLU → 1×1 conv → hard sigmoid → rescale. Keys
/// `convolutions.0` and `convolutions.2` (the activations sit at 1 and 3, as in transformers).
public final class PPLCNetV3SqueezeExcitation: Module, UnaryLayer {
    public let convolutions: [Module]

    public init(channels: Int, reduction: Int) {
        convolutions = [
            Conv2d(inputChannels: channels, outputChannels: channels / reduction, kernelSize: (1, 1)),
            ReLU(),
            Conv2d(inputChannels: channels / reduction, outputChannels: channels, kernelSize: (1, 1)),
            HardSigmoid(),
        ]
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        var s = x.mean(axes: [1, 2], keepDims: true)
        for layer in convolutions { s = (layer as! UnaryLayer)(s) }
        return x * s
    }
}

// MARK: - Blocks

/// Depthwise RepLayer → optional SE → pointwise RepLayer.
public final class PPLCNetV3DepthwiseSeparable: Module, UnaryLayer {
    @ModuleInfo(key: "depthwise_convolution") public var depthwise: PPLCNetV3RepLayer
    @ModuleInfo(key: "squeeze_excitation_module") public var squeezeExcitation: PPLCNetV3SqueezeExcitation?
    @ModuleInfo(key: "pointwise_convolution") public var pointwise: PPLCNetV3RepLayer

    public init(block: PPLCNetV3BlockConfig, config: PPLCNetV3Config) {
        let input = config.scaled(block.inChannels)
        let output = config.scaled(block.outChannels)
        _depthwise.wrappedValue = PPLCNetV3RepLayer(
            inChannels: input, outChannels: input, kernelSize: block.kernelSize, stride: block.stride, groups: input,
            activation: config.hiddenAct, appliesActivation: block.depthwiseActivation)
        _squeezeExcitation.wrappedValue =
            block.useSqueezeExcitation ? PPLCNetV3SqueezeExcitation(channels: input, reduction: config.reduction) : nil
        _pointwise.wrappedValue = PPLCNetV3RepLayer(
            inChannels: input, outChannels: output, kernelSize: 1, stride: [1, 1], groups: 1,
            activation: config.hiddenAct, appliesActivation: true)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        var h = depthwise(x)
        if let squeezeExcitation { h = squeezeExcitation(h) }
        return pointwise(h)
    }
}

/// One stage (`blocks.i`), its blocks under `layers`.
public final class PPLCNetV3Stage: Module, UnaryLayer {
    public let layers: [PPLCNetV3DepthwiseSeparable]

    public init(blocks: [PPLCNetV3BlockConfig], config: PPLCNetV3Config) {
        layers = blocks.map { PPLCNetV3DepthwiseSeparable(block: $0, config: config) }
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { layers.reduce(x) { $1($0) } }
}

/// Stem (`convolution`) and stages (`blocks`).
public final class PPLCNetV3Encoder: Module, UnaryLayer {
    @ModuleInfo(key: "convolution") public var stem: PPOCRConvLayer
    public let blocks: [PPLCNetV3Stage]

    public init(config: PPLCNetV3Config, batchNormEps: Double) {
        precondition(config.reparameterized, "PPLCNetV3: only the reparameterized (deployed) form is implemented")
        _stem.wrappedValue = PPOCRConvLayer(
            inChannels: 3, outChannels: config.scaled(config.stemChannels), kernelSize: (3, 3),
            stride: (config.stemStride, config.stemStride), activation: .identity, batchNormEps: batchNormEps)
        blocks = config.blockConfigs.map { PPLCNetV3Stage(blocks: $0, config: config) }
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { blocks.reduce(stem(x)) { $1($0) } }
}

/// `model.backbone`: the encoder's last feature map.
public final class PPLCNetV3Backbone: Module, UnaryLayer {
    public let encoder: PPLCNetV3Encoder

    public init(config: PPLCNetV3Config, batchNormEps: Double) {
        encoder = PPLCNetV3Encoder(config: config, batchNormEps: batchNormEps)
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray { encoder(x) }
}
