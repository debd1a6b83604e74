// Data-parallel steps: every rank holds the same model, takes its contiguous part of each global
// batch (the one-process run's seeded order, so the data order does not depend on the number of
// ranks) and the ranks sum their weighted gradients with two collectives per step.
// Reference: the DistributedDataParallel recipe (PyTorch), mlx.nn.average_gradients (packed
// all_sum), and nanochat's loss normalization by the global count of target tokens.

import Foundation
import MLXEngine
import MLXNN

/// One data-parallel step's result, the same on every rank.
struct DataParallelStep {
    let gradients: [String: MLXArray]
    let loss: Float
    /// Samples of the global batches (all ranks together).
    let samples: Int
    /// Some rank was asked to stop after the previous step: no step was taken.
    let stop: Bool
}

extension Trainer {
    /// The group when it has more than one rank.
    var dataParallel: DistributedGroup? { group.flatMap { $0.size > 1 ? $0 : nil } }

    /// Whether this process writes the run folder (rank 0, or the only process).
    public var isWriter: Bool { (group?.rank ?? 0) == 0 }

    /// The step's gradients on `group`, equal (up to summation order) to a one-process step over
    /// the same global batches: each micro-batch's gradient is Σ_r (w_r / W) ∇L_r, with w_r the
    /// target units (``TrainableModel/lossWeight(_:)``, else samples) of rank r's part and W their
    /// sum over the ranks, and the step's gradient the mean over micro-batches as in one process.
    ///
    /// Collectives, the same on every rank even when its part of a short last batch is empty:
    /// (1) the micro-batches' weights with the stop flag (a few floats), (2) the weighted
    /// gradients and loss packed into float32 buffers (one all_sum per 16M elements).
    func dataParallelGradients(_ group: DistributedGroup, stopRequested: Bool) throws -> DataParallelStep {
        let accumulation = configuration.gradientAccumulation
        let shard = BatchShard(rank: group.rank, count: group.size)
        var parts: [(batch: Model.Batch?, weight: Double)] = []
        var samples = 0
        for _ in 0 ..< accumulation {
            let (part, count) = try nextInThisOrNextEpoch { try data.nextBatch(size: configuration.batchSize, shard: shard) }
            let weight = try part.batch.map { try model.lossWeight($0).map(Double.init) ?? Double(part.samples ?? 1) } ?? 0
            parts.append((part.batch, weight))
            samples += count
        }

        // (1) Global weight of each micro-batch, and whether any rank wants to stop.
        let local = MLXArray(parts.map { Float($0.weight) } + [stopRequested ? 1 : 0])
        let totals = try group.allSum(packed: [local])[0].asArray(Float.self)
        if totals[accumulation] > 0 { return DataParallelStep(gradients: [:], loss: .nan, samples: 0, stop: true) }

        // Weighted local sums.
        var sums: [String: MLXArray] = [:]
        var lossSum = MLXArray(Float(0))
        for (m, part) in parts.enumerated() {
            guard let batch = part.batch, part.weight > 0, totals[m] > 0 else { continue }
            let scale = part.weight / Double(totals[m]) / Double(accumulation)
            let (loss, grads) = try microBatchGradients(batch)
            for (k, g) in grads {
                let weighted = g * scale
                sums[k] = sums[k].map { $0 + weighted } ?? weighted
            }
            lossSum = lossSum + loss.asType(.float32) * scale
        }

        // (2) One packed sum of every trainable gradient (zeros where this rank had no data) and the loss.
        let trainable = model.module.trainableParameters()
        let packed = trainable.map { sums[$0.key] ?? zeros(like: $0.array) } + [lossSum]
        let summed = try group.allSum(packed: packed)
        var gradients: [String: MLXArray] = [:]
        for (i, p) in trainable.enumerated() { gradients[p.key] = summed[i] }
        return DataParallelStep(gradients: gradients, loss: summed[trainable.count].item(Float.self), samples: samples, stop: false)
    }
}

// MARK: - Loss weights

/// The number of scored labels (≠ `ignoreIndex`): the weight of a token-mean cross-entropy
/// (``TrainableModel/lossWeight(_:)``). `shifted`: position 0 is never scored (labels [B, L]
/// whose logits at t predict t + 1).
public func scoredLabelCount(_ labels: MLXArray, ignoreIndex: Int, shifted: Bool = false) -> Int {
    let values = labels.asType(.int32).asArray(Int32.self)
    let columns = labels.ndim > 1 ? labels.dim(-1) : values.count
    return values.enumerated().filter { (!shifted || $0.offset % columns != 0) && $0.element != Int32(ignoreIndex) }.count
}
