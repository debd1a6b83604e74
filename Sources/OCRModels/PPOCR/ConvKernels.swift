// Faster formulations of the two convolutions PPLCNetV3 is made of, for MLX's CPU backend.
//
// MLX 0.32.4's grouped (depthwise) convolution on the CPU is slow. The default here is
// ocrtune's own depthwise kernel (an MLX custom primitive with its gradients, in the shim);
// k·k shifted multiply-adds of strided slices and MLX's grouped conv remain selectable for
// comparison.
// A 1×1 convolution is a matrix product over the channel axis. Both keep `Conv2d`'s
// parameters (`weight` [out, kh, kw, in / groups], `bias`), so checkpoints are unchanged.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Depthwise

/// A depthwise (groups = channels) 2-D convolution, channels-last.
public final class DepthwiseConv2d: Conv2d {
    /// Which kernel depthwise convolutions use: ocrtune's (fused with PP-LCNet's epilogue where a
    /// layer has one), ocrtune's without that fusion, the engine's grouped conv, or shifted multiply-adds.
    public enum Kernel: Sendable { case ocrtune, ocrtuneUnfused, engine, shiftedMultiplyAdd }

    nonisolated(unsafe) public static var kernel: Kernel = .ocrtune

    public init(channels: Int, kernelSize: (Int, Int), stride: (Int, Int), padding: (Int, Int), bias: Bool = true) {
        super.init(
            inputChannels: channels, outputChannels: channels, kernelSize: kernelSize, stride: stride,
            padding: padding, groups: channels, bias: bias)
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = withoutBias(x)
        return bias.map { y + $0 } ?? y
    }

    /// The convolution before its bias is added.
    public func withoutBias(_ x: MLXArray) -> MLXArray {
        switch Self.kernel {
        case .ocrtune, .ocrtuneUnfused:
            return depthwiseConv2d(x, weight, stride: stride, padding: padding)
        case .engine:
            return conv2d(x, weight, stride: stride, padding: padding, groups: groups)
        case .shiftedMultiplyAdd:
            break
        }
        let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
        let (kh, kw) = (weight.dim(1), weight.dim(2))
        let (sh, sw) = stride
        let (ph, pw) = padding
        let ho = (h + 2 * ph - kh) / sh + 1
        let wo = (w + 2 * pw - kw) / sw + 1
        let padded = ph > 0 || pw > 0 ? x.padded(low: [0, ph, pw, 0], high: [0, ph, pw, 0]) : x
        let taps = weight.reshaped(c, kh * kw).T  // [kh·kw, C]
        var acc: MLXArray?
        for i in 0 ..< kh {
            for j in 0 ..< kw {
                let window = padded.sliced(
                    start: [0, i, j, 0], stop: [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, c],
                    strides: [1, sh, sw, 1])
                let term = window * taps.sliced(axis: 0, i * kw + j ..< i * kw + j + 1)
                acc = acc.map { $0 + term } ?? term
            }
        }
        return acc!
    }
}

// MARK: - Pointwise

/// A 1×1, stride-1 convolution computed as a matrix product over the channel axis.
public final class PointwiseConv2d: Conv2d {
    public init(inputChannels: Int, outputChannels: Int, bias: Bool) {
        super.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: (1, 1), bias: bias)
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (o, i) = (weight.dim(0), weight.dim(3))
        let shape = x.shape
        let flat = x.reshaped(-1, i)
        let w = weight.reshaped(o, i).T
        let y = bias.map { addMM($0, flat, w) } ?? matmul(flat, w)
        return y.reshaped(Array(shape.dropLast()) + [o])
    }

    /// The product before its bias is added.
    public func withoutBias(_ x: MLXArray) -> MLXArray {
        let (o, i) = (weight.dim(0), weight.dim(3))
        let shape = x.shape
        return matmul(x.reshaped(-1, i), weight.reshaped(o, i).T).reshaped(Array(shape.dropLast()) + [o])
    }
}
