// LayerNorm, RMSNorm and BatchNorm.

import Foundation
import MLXEngine

// MARK: - LayerNorm

/// Normalizes the last axis to zero mean and unit variance, then scales and shifts.
open class LayerNorm: Module, UnaryLayer {
    public let weight: MLXArray?
    public let bias: MLXArray?
    public let eps: Float

    public init(dimensions: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) {
        weight = affine ? ones([dimensions]) : nil
        self.bias = affine && bias ? zeros([dimensions]) : nil
        self.eps = eps
        super.init()
    }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}

// MARK: - RMSNorm

/// `x / rms(x) * weight` over the last axis.
open class RMSNorm: Module, UnaryLayer {
    public let weight: MLXArray
    public let eps: Float

    public init(dimensions: Int, eps: Float = 1e-6) {
        weight = ones([dimensions])
        self.eps = eps
        super.init()
    }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        rmsNorm(x, weight: weight, eps: eps)
    }
}

// MARK: - BatchNorm

/// Batch normalization over the last (channel) axis. In training mode it normalizes with
/// the batch statistics and updates the running ones (`momentum` as PyTorch: new =
/// (1 − m)·old + m·batch, unbiased variance), unless ``keepsRunningStatistics``; in evaluation
/// mode it uses the running ones.
/// `running_mean` and `running_var` are buffers: loaded and saved, never trained.
open class BatchNorm: Module, UnaryLayer {
    public let weight: MLXArray?
    public let bias: MLXArray?
    @ParameterInfo(key: "running_mean") public var runningMean: MLXArray
    @ParameterInfo(key: "running_var") public var runningVar: MLXArray
    public let eps: Float
    public let momentum: Float
    /// Normalize with the running statistics in training mode too, and leave them as they are
    /// (the scale and shift still train): for a layer whose statistics were folded into the
    /// convolution before it (an inference graph), which has none to train with.
    public var keepsRunningStatistics = false

    public init(features: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) {
        weight = affine ? ones([features]) : nil
        bias = affine ? zeros([features]) : nil
        _runningMean.wrappedValue = zeros([features])
        _runningVar.wrappedValue = ones([features])
        self.eps = eps
        self.momentum = momentum
        super.init()
        declareBuffers("running_mean", "running_var")
    }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        if training && !keepsRunningStatistics {
            // Batch statistics, normalization and their gradient: the engine's kernel.
            let (y, mean, variance) = batchNormTraining(x, weight: weight, bias: bias, eps: eps)
            let n = Double(x.size / x.dim(-1))
            let unbiased = stopGradient(variance) * (n / Swift.max(n - 1, 1))
            let m = Double(momentum)
            runningMean.update(runningMean * (1 - m) + stopGradient(mean) * m)
            runningVar.update(runningVar * (1 - m) + unbiased * m)
            return y
        }
        if training {
            // Kept statistics while training: one pass (and two for the gradient) over the cores.
            let (scale, shift) = inferenceScaleAndShift()
            return channelAffine(x, scale: scale, shift: shift)
        }
        var y = (x - runningMean) * rsqrt(runningVar + Double(eps))
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }

    /// Whether the running statistics are the identity an importer writes for a normalization the
    /// graph had folded into its convolution: mean 0 and variance 1 − ε exactly (a freshly
    /// initialized layer has variance 1).
    public var hasFoldedStatistics: Bool {
        let mean = runningMean.asArray(Float.self), variance = runningVar.asArray(Float.self)
        return mean.allSatisfy { $0 == 0 } && variance.allSatisfy { $0 == 1 - eps }
    }

    /// The inference-mode normalization as a per-channel scale and shift (γ / √(var + ε) and
    /// β − mean · scale), for folding into the convolution before it.
    public func inferenceScaleAndShift() -> (scale: MLXArray, shift: MLXArray) {
        var scale = rsqrt(runningVar + MLXArray(eps))
        if let weight { scale = scale * weight }
        var shift = -(runningMean * scale)
        if let bias { shift = shift + bias }
        return (scale, shift)
    }
}
