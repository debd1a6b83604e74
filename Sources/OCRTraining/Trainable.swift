// What a model family and a data source supply to the trainer.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Model

/// A model family's training surface: its module tree, named parameter groups, default
/// LoRA targets and the loss of a batch. Families implement this once; the trainer does
/// the rest (methods, freezing, stages, optimization, checkpoints).
public protocol TrainableModel: AnyObject {
    associatedtype Batch

    var module: Module { get }
    /// Group name → key patterns (e.g. "backbone": ["backbone"], "head": ["head"]).
    var parameterGroups: [String: [String]] { get }
    /// LoRA target patterns used when the configuration names none.
    var defaultLoRATargets: [String] { get }
    /// The scalar loss of a batch: a mean over the batch's target units, so that
    /// accumulating micro-batches equals one larger batch.
    func loss(_ batch: Batch) throws -> MLXArray
    /// Turns gradient checkpointing on or off (activations of the checkpointed layers are
    /// recomputed in the backward pass). Returns false when the family has none.
    func setGradientCheckpointing(_ on: Bool) -> Bool
    /// Runs one step's computation (forward, backward and their evaluation) in the environment
    /// the family's kernels want (e.g. a threading setting); the default runs it as it is.
    func runStep<T>(_ step: () throws -> T) throws -> T
    /// Work on a batch that the step's gradient does not reach (a frozen feature extractor's
    /// output), done and evaluated before the step, in the environment that work wants; the
    /// default returns the batch as it is.
    func prepareStep(_ batch: Batch) throws -> Batch
    /// The number of target units `loss(batch)` is a mean over (label tokens, characters), so
    /// that data-parallel ranks weight their losses and gradients by it; nil: the loss is a mean
    /// over samples and each sample weighs the same.
    func lossWeight(_ batch: Batch) throws -> Int?
}

extension TrainableModel {
    public func setGradientCheckpointing(_ on: Bool) -> Bool { false }
    public func runStep<T>(_ step: () throws -> T) throws -> T { try step() }
    public func prepareStep(_ batch: Batch) throws -> Batch { batch }
    public func lossWeight(_ batch: Batch) throws -> Int? { nil }

    /// The key patterns `names` stand for: each a parameter group's patterns, or itself a pattern.
    public func keyPatterns(for names: [String]) -> [String] {
        let groups = parameterGroups
        return names.flatMap { groups[$0] ?? [$0] }
    }
}

// MARK: - Data

/// An exact position in the training stream: the epoch and the index of the next sample
/// in that epoch's (seeded) order.
public struct DataPosition: Codable, Equatable, Sendable {
    public var epoch: Int
    public var index: Int
    public init(epoch: Int = 0, index: Int = 0) {
        self.epoch = epoch
        self.index = index
    }
}

/// Batches for training, resumable at an exact sample.
public protocol BatchSource: AnyObject {
    associatedtype Batch
    /// Samples in one epoch.
    var samplesPerEpoch: Int { get }
    /// Where the next batch starts.
    var position: DataPosition { get }
    /// Moves to `position` (the epoch's order is a function of the seed and the epoch).
    func seek(to position: DataPosition) throws
    /// The next batch of up to `size` samples in this epoch, or nil when the epoch is over
    /// (the caller then seeks to the next epoch).
    func nextBatch(size: Int) throws -> Batch?
    /// Data-parallel training: `shard`'s part of the next global batch of `size` samples (the
    /// same global batch `nextBatch(size:)` would return, cut into `shard.count` contiguous,
    /// disjoint parts), or nil when the epoch is over. Every rank moves past the whole batch.
    func nextBatch(size: Int, shard: BatchShard) throws -> ShardedBatch<Batch>?
}

extension BatchSource {
    public func nextBatch(size: Int, shard: BatchShard) throws -> ShardedBatch<Batch>? {
        guard shard.count == 1 else { throw TrainingError("this data source cannot be split between data-parallel ranks") }
        return try nextBatch(size: size).map { ShardedBatch(batch: $0, samples: nil) }
    }
}

/// One rank's place among `count` data-parallel ranks.
public struct BatchShard: Sendable, Equatable {
    public let rank: Int
    public let count: Int
    public init(rank: Int, count: Int) {
        self.rank = rank
        self.count = count
    }

    /// The bounds of this rank's contiguous part of `n` items (balanced: sizes differ by at most 1).
    public func bounds(of n: Int) -> Range<Int> { (n * rank / count) ..< (n * (rank + 1) / count) }
}

/// A rank's part of a global batch: nil when the part is empty (a short last batch split
/// among more ranks than it has samples), with the number of samples it holds.
public struct ShardedBatch<Batch> {
    public let batch: Batch?
    /// Samples in this part (nil: unknown, the whole batch).
    public let samples: Int?
    public init(batch: Batch?, samples: Int?) {
        self.batch = batch
        self.samples = samples
    }
}

// MARK: - Progress

public struct TrainingProgress: Sendable {
    public enum Event: Sendable { case step, evaluation, checkpoint }
    public let event: Event
    public let step: Int
    public let totalSteps: Int
    public let epoch: Int
    public let loss: Float
    public let learningRate: Float
    public let gradientNorm: Float
    public let samplesPerSecond: Double
    public let elapsed: TimeInterval
    /// Set for `.evaluation`: the validation metrics.
    public let metrics: [String: Double]
    /// Set for `.checkpoint`: its folder.
    public let checkpoint: String?
}

/// What the progress callback tells the trainer.
public enum TrainingControl: Sendable {
    case proceed
    /// Finish this step, write a checkpoint and return (resumable).
    case stop
}

/// Validation during training: metrics by name; the first one is minimized for
/// keep-best and early stopping (e.g. "cer").
public struct ValidationResult: Sendable {
    public let metrics: [(name: String, value: Double)]
    public let samples: [(reference: String, prediction: String)]
    public init(metrics: [(name: String, value: Double)], samples: [(reference: String, prediction: String)] = []) {
        self.metrics = metrics
        self.samples = samples
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
