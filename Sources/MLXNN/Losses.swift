// Loss functions.

import Foundation
import MLXEngine

public enum LossReduction { case none, mean, sum }

func reduced(_ x: MLXArray, _ reduction: LossReduction) -> MLXArray {
    switch reduction {
    case .none: x
    case .mean: x.mean()
    case .sum: x.sum()
    }
}

/// Cross-entropy of `logits` [..., C] against integer `targets` [...]; positions equal to
/// `ignoreIndex` contribute nothing (and do not count in the mean).
public func crossEntropy(
    logits: MLXArray, targets: MLXArray, ignoreIndex: Int? = nil, labelSmoothing: Float = 0,
    reduction: LossReduction = .mean
) -> MLXArray {
    let logProbs = logSoftmax(logits.asType(.float32), axis: -1)
    let safeTargets = ignoreIndex.map { which(targets .== Double($0), zeros(like: targets), targets) } ?? targets
    var nll = -logProbs.takeAlong(safeTargets.expandedDimensions(axis: -1), axis: -1).squeezed(axis: -1)
    if labelSmoothing > 0 {
        let smooth = -logProbs.mean(axis: -1)
        nll = nll * Double(1 - labelSmoothing) + smooth * Double(labelSmoothing)
    }
    guard let ignoreIndex else { return reduced(nll, reduction) }
    let valid = (targets .!= Double(ignoreIndex)).asType(.float32)
    nll = nll * valid
    switch reduction {
    case .none: return nll
    case .sum: return nll.sum()
    case .mean: return nll.sum() / maximum(valid.sum(), MLXArray(Float(1)))
    }
}

/// Mean squared error.
public func mseLoss(_ predictions: MLXArray, _ targets: MLXArray, reduction: LossReduction = .mean) -> MLXArray {
    reduced((predictions - targets).square(), reduction)
}
