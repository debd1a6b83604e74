// Convolutions in MLX's channels-last layout.
//
// Hugging Face / PyTorch checkpoints store conv weights channels-first ([out, in, k...]);
// families transpose them in their `sanitize` step (see ``Conv2d/fromChannelsFirst(_:)``).

import Foundation
import MLXEngine

// MARK: - Conv1d

/// Input [N, L, C_in] → [N, L', C_out]; `weight` [C_out, K, C_in / groups].
open class Conv1d: Module, UnaryLayer {
    public let weight: MLXArray
    public let bias: MLXArray?
    public let stride: Int
    public let padding: Int
    public let dilation: Int
    public let groups: Int

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, groups: Int = 1, bias: Bool = true, key: MLXArray? = nil
    ) {
        let bound = Float(1 / Double(inputChannels / groups * kernelSize).squareRoot())
        let keys = MLXRandom.split(key ?? MLXRandom.key(UInt64.random(in: 0 ... .max)), count: 2)
        weight = MLXRandom.uniform(
            [outputChannels, kernelSize, inputChannels / groups], low: -bound, high: bound, key: keys[0])
        self.bias = bias ? MLXRandom.uniform([outputChannels], low: -bound, high: bound, key: keys[1]) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = conv1d(x, weight, stride: stride, padding: padding, dilation: dilation, groups: groups)
        return bias.map { y + $0 } ?? y
    }
}

// MARK: - Kernel choice

/// Which kernels a layer runs. Set per module tree with ``Module/useKernels(_:)``; each layer
/// keeps its own choice, so two models in one process may differ.
public enum KernelChoice: String, CaseIterable, Sendable {
    /// ocrtune's kernels, fused with a layer's epilogue where the layer has one (the default).
    case fused
    /// ocrtune's kernels, each op on its own (the fusions' reference).
    case unfused
    /// The engine's own ops only: MLX's convolution for every Conv2d, no custom kernels.
    case engine
}

/// A layer whose kernels can be chosen.
public protocol KernelSelecting: AnyObject {
    var kernels: KernelChoice { get set }
}

extension Module {
    /// Sets the kernels of every layer of this tree that has a choice.
    public func useKernels(_ choice: KernelChoice) {
        for (_, module) in namedModules() { (module as? KernelSelecting)?.kernels = choice }
    }
}

// MARK: - Conv2d

/// Input [N, H, W, C_in] → [N, H', W', C_out]; `weight` [C_out, KH, KW, C_in / groups].
open class Conv2d: Module, UnaryLayer, KernelSelecting {
    public let weight: MLXArray
    public let bias: MLXArray?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    public var kernels = KernelChoice.fused

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
        padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
        key: MLXArray? = nil
    ) {
        let fanIn = inputChannels / groups * kernelSize.0 * kernelSize.1
        let bound = Float(1 / Double(fanIn).squareRoot())
        let keys = MLXRandom.split(key ?? MLXRandom.key(UInt64.random(in: 0 ... .max)), count: 2)
        weight = MLXRandom.uniform(
            [outputChannels, kernelSize.0, kernelSize.1, inputChannels / groups], low: -bound, high: bound,
            key: keys[0])
        self.bias = bias ? MLXRandom.uniform([outputChannels], low: -bound, high: bound, key: keys[1]) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// A 1×1, stride-1, ungrouped convolution: a matrix product over the channel axis.
    public var isPointwise: Bool {
        weight.dim(1) == 1 && weight.dim(2) == 1 && stride == (1, 1) && padding == (0, 0) && groups == 1
    }

    /// One filter per channel (groups = channels).
    public var isDepthwise: Bool {
        weight.dim(3) == 1 && groups == weight.dim(0) && groups > 1 && dilation == (1, 1)
    }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = withoutBias(x)
        return bias.map { y + $0 } ?? y
    }

    /// The convolution before its bias is added, routed to the fastest equivalent kernel unless
    /// ``kernels`` is `.engine`: a matmul for 1×1 convolutions, ocrtune's depthwise kernel when
    /// groups equal the channels, MLX's conv2d otherwise.
    public func withoutBias(_ x: MLXArray) -> MLXArray {
        let (out, inPerGroup) = (weight.dim(0), weight.dim(3))
        if kernels != .engine && isPointwise {
            let s = x.shape
            return matmul(x.reshaped(-1, s[3]), weight.reshaped(out, inPerGroup).T).reshaped(s[0], s[1], s[2], out)
        }
        if kernels != .engine && isDepthwise && groups == x.dim(3) {
            return depthwiseConv2d(x, weight, stride: stride, padding: padding)
        }
        if kernels != .engine && training && groups == 1 && dilation == (1, 1) && weight.dim(1) * weight.dim(2) <= 9
            && stride.0 <= 2 && stride.1 <= 2
        {
            return Self.unfoldedConv2d(x, weight, stride: stride, padding: padding)
        }
        return conv2d(x, weight, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// An ungrouped convolution as patches · weightᵀ, the patches (im2col, ``unfold2d``) in the
    /// weight's [kh, kw, C] order. Training uses it for kernels up to 3×3 with strides up to 2: its
    /// gradient is the product's (BLAS) and the unfolding's (the patches folded back, split over
    /// the cores; patch embeddings stay MLX's), where MLX's CPU gradient of a strided or
    /// even-sized convolution runs a direct loop (PP-OCRv6's stem: a quarter of a full fine-tuning
    /// step).
    public static func unfoldedConv2d(_ x: MLXArray, _ weight: MLXArray, stride: (Int, Int), padding: (Int, Int)) -> MLXArray {
        let (n, c) = (x.dim(0), x.dim(3))
        let (out, kh, kw) = (weight.dim(0), weight.dim(1), weight.dim(2))
        let (h, w) = (x.dim(1) + 2 * padding.0, x.dim(2) + 2 * padding.1)
        let (ho, wo) = ((h - kh) / stride.0 + 1, (w - kw) / stride.1 + 1)
        guard h >= kh, w >= kw, ho > 0, wo > 0 else {
            return conv2d(x, weight, stride: stride, padding: padding)
        }
        let patches = unfold2d(x, kernel: (kh, kw), stride: stride, padding: padding)
        return matmul(patches.reshaped(-1, kh * kw * c), weight.reshaped(out, kh * kw * c).T).reshaped(n, ho, wo, out)
    }

    /// A PyTorch conv weight [out, in, kh, kw] in MLX's layout [out, kh, kw, in].
    public static func fromChannelsFirst(_ w: MLXArray) -> MLXArray {
        w.transposed(0, 2, 3, 1)
    }
}
