// Learning-rate schedules (plain step → rate functions) and gradient clipping.

import Foundation
import MLXEngine

// MARK: - Schedules

/// A learning rate as a function of the step (0-based).
public typealias LearningRateSchedule = (Int) -> Float

public enum Schedules {
    /// Linear warm-up from 0 over `warmup` steps, then constant `rate`.
    public static func constant(_ rate: Float, warmup: Int = 0) -> LearningRateSchedule {
        { step in step < warmup ? rate * Float(step + 1) / Float(warmup) : rate }
    }

    /// Warm-up, then linear decay to `end` at `totalSteps`.
    public static func linear(_ rate: Float, warmup: Int = 0, totalSteps: Int, end: Float = 0) -> LearningRateSchedule {
        { step in
            if step < warmup { return rate * Float(step + 1) / Float(warmup) }
            let progress = Float(step - warmup) / Float(Swift.max(1, totalSteps - warmup))
            return rate + (end - rate) * Swift.min(1, progress)
        }
    }

    /// Warm-up, then cosine decay to `minimum` at `totalSteps`.
    public static func cosine(_ rate: Float, warmup: Int = 0, totalSteps: Int, minimum: Float = 0) -> LearningRateSchedule {
        { step in
            if step < warmup { return rate * Float(step + 1) / Float(warmup) }
            let progress = Swift.min(1, Float(step - warmup) / Float(Swift.max(1, totalSteps - warmup)))
            return minimum + (rate - minimum) * 0.5 * (1 + Foundation.cos(Float.pi * progress))
        }
    }
}

// MARK: - Gradient clipping

/// Scales all gradients so that their global L2 norm is at most `maxNorm`.
/// Returns the clipped gradients and the norm before clipping.
public func clipGradientNorm(
    _ gradients: [String: MLXArray], maxNorm: Float
) throws -> (gradients: [String: MLXArray], norm: Float) {
    guard !gradients.isEmpty else { return (gradients, 0) }
    // Sorted keys: dictionary order varies between instances, and so would the rounding of the sum.
    let squares = gradients.keys.sorted().map { gradients[$0]!.asType(.float32).square().sum() }
    let total = sqrt(stacked(squares).sum())
    let norm = total.item(Float.self)
    guard norm.isFinite, norm > maxNorm else { return (gradients, norm) }
    let factor = Double(maxNorm / (norm + 1e-6))
    return (gradients.mapValues { $0 * factor }, norm)
}
