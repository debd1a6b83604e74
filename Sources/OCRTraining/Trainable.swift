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
}

extension TrainableModel {
    public func setGradientCheckpointing(_ on: Bool) -> Bool { false }
    public func runStep<T>(_ step: () throws -> T) throws -> T { try step() }
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
