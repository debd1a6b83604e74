// Connectionist Temporal Classification loss (Graves et al., 2006), in log space.
//
// Reference semantics: torch.nn.functional.ctc_loss (blank index, per-sample lengths,
// reduction "mean" divides each sample's loss by its target length, then averages).

import Foundation
import MLXEngine

/// A log-probability standing in for log(0): finite, so the gradients of logaddexp stay
/// defined (exp(−1e30 − x) underflows to 0 instead of producing NaN from −∞ − (−∞)).
let ctcLogZero: Double = -1e30

public enum CTCReduction { case none, sum, mean }

/// The CTC negative log-likelihood of `targets` under `logProbs`.
///
/// - Parameters:
///   - logProbs: [B, T, C] log-softmax outputs (time-major per sample).
///   - targets: [B, L] class indices, padded beyond each sample's length (values there are ignored).
///   - inputLengths: [B] valid time steps per sample (≤ T).
///   - targetLengths: [B] label lengths (≤ L, and feasible: T ≥ L + repeats).
///   - blank: the blank class index.
///   - reduction: `.mean` divides each loss by its target length and averages (PyTorch's default).
///
/// The forward recursion runs over the extended label sequence (blanks interleaved, length
/// 2L + 1) for all samples and positions at once; each time step is a handful of engine ops,
/// and the gradient comes from the engine's autodiff through the recursion. Infeasible
/// samples get a loss of about 1e30 (PyTorch: inf; `zero_infinity` would zero them).
public func ctcLoss(
    logProbs: MLXArray, targets: MLXArray, inputLengths: [Int], targetLengths: [Int], blank: Int = 0,
    reduction: CTCReduction = .mean
) -> MLXArray {
    let (b, t, _) = (logProbs.dim(0), logProbs.dim(1), logProbs.dim(2))
    let l = targets.dim(1)
    let s = 2 * l + 1
    let lp = logProbs.asType(.float32)

    // MARK: Extended labels and allowed skips (host side: small integer tables)
    let targetValues = targets.asType(.int32).asArray(Int32.self)
    var extended = [Int32](repeating: Int32(blank), count: b * s)
    var skip = [Float](repeating: 0, count: b * s)  // 1 where s−2 → s is allowed
    var finalIndex = [Int32](repeating: 0, count: b * 2)
    for i in 0 ..< b {
        let n = targetLengths[i]
        for j in 0 ..< n { extended[i * s + 2 * j + 1] = targetValues[i * l + j] }
        for k in 2 ..< max(2, s) where k % 2 == 1 && k < 2 * n + 1 {
            if extended[i * s + k] != extended[i * s + k - 2] { skip[i * s + k] = 1 }
        }
        finalIndex[i * 2] = Int32(2 * n)  // last blank
        finalIndex[i * 2 + 1] = Int32(max(2 * n - 1, 0))  // last label (same as blank when n = 0)
    }
    let labels = MLXArray(extended, [b, s])
    let skipMask = MLXArray(skip, [b, s]) .> 0
    let logZero = MLXArray(ctcLogZero, dtype: .float32)

    // Emission log-probabilities of the extended labels at every time step: [B, T, S].
    let emissions = lp.takeAlong(labels.reshaped(b, 1, s).broadcast(to: [b, t, s]), axis: 2)

    // MARK: Forward recursion
    // α₀: only the first blank and the first label may start.
    let startMask = MLXArray((0 ..< b).flatMap { i in (0 ..< s).map { $0 < 2 && ($0 == 0 || targetLengths[i] > 0) } }, [b, s])
    var alpha = which(startMask, emissions.sliced(axis: 1, 0 ..< 1).squeezed(axis: 1), logZero)
    let lengths = MLXArray(inputLengths.map(Int32.init), [b, 1])
    for step in 1 ..< max(t, 1) {
        let shifted1 = alpha.padded(low: [0, 1], high: [0, 0], value: ctcLogZero).sliced(axis: 1, 0 ..< s)
        let shifted2 = which(
            skipMask, alpha.padded(low: [0, 2], high: [0, 0], value: ctcLogZero).sliced(axis: 1, 0 ..< s), logZero)
        let next = logAddExp(logAddExp(alpha, shifted1), shifted2) + emissions.sliced(axis: 1, step ..< step + 1).squeezed(axis: 1)
        // Samples whose input has ended keep their α.
        alpha = which(lengths .> Double(step), next, alpha)
    }

    // MARK: Loss
    let ends = alpha.takeAlong(MLXArray(finalIndex, [b, 2]), axis: 1)
    let bothEnds = logAddExp(ends.sliced(axis: 1, 0 ..< 1), ends.sliced(axis: 1, 1 ..< 2)).squeezed(axis: 1)
    let single = which(MLXArray(targetLengths.map { $0 == 0 }, [b]), ends.sliced(axis: 1, 0 ..< 1).squeezed(axis: 1), bothEnds)
    let nll = -single
    switch reduction {
    case .none: return nll
    case .sum: return nll.sum()
    case .mean:
        let lengthsF = MLXArray(targetLengths.map { Float(max($0, 1)) }, [b])
        return (nll / lengthsF).mean()
    }
}
