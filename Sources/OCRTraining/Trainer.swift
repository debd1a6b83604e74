// The training loop: one screenful per stage — get batch → loss → backward → clip → step → log.

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import OCRSupport

/// What a finished (or stopped) run produced.
public struct TrainingSummary: Sendable {
    public enum Ending: String, Sendable { case completed, stoppedOnRequest = "stopped", earlyStopped = "early_stopped" }
    public let ending: Ending
    public let steps: Int
    public let finalLoss: Float
    public let bestMetric: Double?
    public let bestStep: Int?
    public let lastCheckpoint: String?
    /// `RUN/adapter` (LoRA, QLoRA) or `RUN/model` (full), when the run completed.
    public let output: String?
}

public final class Trainer<Model: TrainableModel, Source: BatchSource> where Model.Batch == Source.Batch {
    public let model: Model
    public let data: Source
    public let configuration: TrainingConfiguration
    public let runDirectory: String
    /// Validation on a bounded probe set; its first metric is minimized.
    public var validate: (() throws -> ValidationResult)?
    /// Name of the base model written into adapter_config.json.
    public var baseModelName = ""
    /// Data-parallel training: the ranks of the run (see Trainer+DataParallel.swift). Rank 0
    /// alone writes the run folder; every rank computes the same weights.
    public var group: DistributedGroup?
    public private(set) var optimizer: AdamW
    private var baseTrainable: [String] = []
    private var prepared = false

    public init(model: Model, data: Source, configuration: TrainingConfiguration, runDirectory: String) throws {
        try configuration.validate()
        self.model = model
        self.data = data
        self.configuration = configuration
        self.runDirectory = runDirectory
        optimizer = AdamW(
            learningRate: configuration.learningRate, betas: (configuration.adamBeta1, configuration.adamBeta2),
            eps: configuration.adamEpsilon, weightDecay: configuration.weightDecay)
    }

    var checkpointDirectory: String { (runDirectory as NSString).appendingPathComponent("checkpoints") }

    // MARK: Setup

    /// Applies the method (LoRA / QLoRA / full), the frozen groups and the compute dtype.
    /// Returns the trainable parameter keys.
    @discardableResult
    public func prepare() throws -> [String] {
        guard !prepared else { return baseTrainable }
        let module = model.module
        let c = configuration
        Memory.useTrainingCache()
        try FineTuning.apply(c, to: model)
        try Self.checkFreezeNames(c.freeze, of: model)
        let frozen = model.keyPatterns(for: c.freeze)
        if !frozen.isEmpty { module.freeze(matching: frozen) }
        if c.gradientCheckpointing {
            if c.method != .full && c.lora.loraDropout > 0 {
                throw TrainingError("gradient_checkpointing: not with lora_dropout > 0 (the recomputed forward pass would draw other dropout masks)")
            }
            guard model.setGradientCheckpointing(true) else {
                throw TrainingError("gradient_checkpointing: this model family does not support it")
            }
        }
        if c.dtype != .float32 {
            let dtype = c.dtype.dtype
            for (_, p) in module.parameters() where p.dtype.isFloatingPoint { p.update(p.asType(dtype)) }
        }
        baseTrainable = module.trainableParameters().map(\.key)
        guard !baseTrainable.isEmpty else { throw TrainingError("nothing to train: every parameter is frozen") }
        try eval(module.parameters().map(\.array))
        prepared = true
        return baseTrainable
    }

    /// What a checkpoint holds: every weight some stage trains (not only the current stage's)
    /// and the buffers (BatchNorm running statistics), so resuming restores all of them.
    var checkpointKeys: Set<String> { Set(baseTrainable).union(model.module.bufferParameterKeys()) }

    /// Optimizer steps of the whole run.
    public var totalSteps: Int {
        if !configuration.stages.isEmpty { return configuration.stages.reduce(0) { $0 + $1.steps } }
        if let m = configuration.maxSteps { return m }
        let perStep = configuration.batchSize * configuration.gradientAccumulation
        let epochs = configuration.epochs * max(1, (data.samplesPerEpoch + perStep - 1) / perStep)
        return max(epochs, configuration.minimumSteps ?? 0)
    }

    // MARK: Schedule and stages

    /// (learning rate, stage index) at `step`.
    func schedule(at step: Int) -> (Float, Int) {
        let c = configuration
        var start = 0
        var stageIndex = 0
        var rate = c.learningRate
        var length = totalSteps
        for (i, stage) in c.stages.enumerated() {
            if step < start + stage.steps || i == c.stages.count - 1 {
                stageIndex = i
                rate = stage.learningRate
                length = stage.steps
                break
            }
            start += stage.steps
        }
        let local = step - start
        let warmup = stageIndex == 0 ? c.warmupSteps : 0
        let f: LearningRateSchedule
        switch c.schedule {
        case .constant: f = Schedules.constant(rate, warmup: warmup)
        case .linear: f = Schedules.linear(rate, warmup: warmup, totalSteps: length, end: c.minLearningRate)
        case .cosine: f = Schedules.cosine(rate, warmup: warmup, totalSteps: length, minimum: c.minLearningRate)
        }
        return (f(local), stageIndex)
    }

    private func enterStage(_ index: Int) {
        guard index < configuration.stages.count else { return }
        let groups = configuration.stages[index].trainGroups
        let module = model.module
        module.freeze()
        if groups.isEmpty {
            module.unfreeze(matching: baseTrainable)
        } else {
            let patterns = model.keyPatterns(for: groups).map(KeyPattern.init)
            module.unfreeze(matching: baseTrainable.filter { key in patterns.contains { $0.matches(key) } })
        }
    }

    // MARK: Loop

    public func run(resume: Bool = false, progress: (TrainingProgress) -> TrainingControl = { _ in .proceed }) throws -> TrainingSummary {
        try prepare()
        let c = configuration
        let module = model.module
        if isWriter {
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try Data(try c.tomlString().utf8).write(to: URL(fileURLWithPath: (runDirectory as NSString).appendingPathComponent("config.toml")))
            // A run killed inside a checkpoint write left its temporary folder (as big as a checkpoint).
            Checkpoints.removeTemporaries(directory: checkpointDirectory)
        }
        var state = TrainerState(step: 0, data: DataPosition(), bestMetric: nil, bestStep: nil, evaluationsWithoutImprovement: 0, samplesSeen: 0)
        var lastCheckpoint: String?
        if resume, let latest = Checkpoints.list(directory: checkpointDirectory).last {
            enterStage(schedule(at: latest.step).1)
            state = try Checkpoints.load(path: latest.path, module: module, keys: checkpointKeys, optimizer: optimizer)
            lastCheckpoint = latest.path
        }
        try data.seek(to: state.data)
        // Steps logged after the checkpoint are run (and logged) again.
        let metricsPath = (runDirectory as NSString).appendingPathComponent("metrics.jsonl")
        if resume, isWriter { try MetricsLog.dropEntries(after: state.step, path: metricsPath) }
        let log = isWriter ? try MetricsLog(path: metricsPath) : nil
        let board = isWriter ? try TensorBoardWriter(directory: runDirectory) : nil

        let total = totalSteps
        var stage = -1
        var ending = TrainingSummary.Ending.completed
        var lossValue: Float = .nan
        let start = Date()
        let startSamples = state.samplesSeen
        module.trainWithFrozenLayersInEvalMode()

        // The base model's score before the first step, so that progress can be judged (logged,
        // not counted for keep-best or early stopping).
        if state.step == 0, validate != nil, c.evalEvery > 0 {
            var baseline = state
            let (metrics, _) = try evaluate(&baseline, log: log, board: board)
            _ = progress(TrainingProgress(
                event: .evaluation, step: 0, totalSteps: total, epoch: 0, loss: .nan, learningRate: 0, gradientNorm: 0,
                samplesPerSecond: 0, elapsed: 0, metrics: metrics, checkpoint: nil))
        }

        var stopRequested = false
        while state.step < total {
            // Stage and learning rate.
            let (rate, stageIndex) = schedule(at: state.step)
            if stageIndex != stage, !c.stages.isEmpty {
                enterStage(stageIndex)
                stage = stageIndex
                module.trainWithFrozenLayersInEvalMode()
            }
            optimizer.learningRate = rate
            MLXRandom.seed(c.seed &+ UInt64(state.step))  // dropout: a function of the step, so resume is exact

            // Gradients averaged over the step's micro-batches (and, data-parallel, over the ranks).
            let gradients: [String: MLXArray]
            let samples: Int
            if let parallel = dataParallel {
                let step = try dataParallelGradients(parallel, stopRequested: stopRequested)
                if step.stop {
                    // A rank was asked to stop after the previous step: end where every rank is.
                    ending = .stoppedOnRequest
                    if isWriter, state.step > 0, Checkpoints.list(directory: checkpointDirectory).last?.step != state.step {
                        lastCheckpoint = try saveCheckpoint(state, progress: progress, rate: rate)
                    }
                    break
                }
                (gradients, lossValue, samples) = (step.gradients, step.loss, step.samples)
            } else {
                (gradients, lossValue, samples) = try localGradients()
            }

            // Non-finite loss: skip the update or stop, naming the step and the last good checkpoint.
            if !lossValue.isFinite {
                let where_ = lastCheckpoint.map { "last good checkpoint: \($0)" } ?? "no checkpoint written yet"
                if c.onNaN == .skip {
                    try log?.append(["step": state.step + 1, "event": "skipped_non_finite_loss", "loss": "\(lossValue)"])
                    state.step += 1
                    state.data = data.position
                    continue
                }
                throw TrainingError("loss is \(lossValue) at step \(state.step + 1); \(where_)")
            }

            let (clipped, norm) = try clipGradientNorm(gradients, maxNorm: c.maxGradNorm)
            try optimizer.update(model: module, gradients: clipped)
            state.step += 1
            state.samplesSeen += samples
            state.data = data.position

            let elapsed = Date().timeIntervalSince(start)
            let rateSamples = Double(state.samplesSeen - startSamples) / max(elapsed, 1e-9)
            if state.step % max(c.logEvery, 1) == 0 || state.step == total {
                try log?.append([
                    "step": state.step, "epoch": state.data.epoch, "loss": Double(lossValue), "learning_rate": Double(rate),
                    "grad_norm": Double(norm), "samples_per_second": rateSamples,
                ])
                try board?.scalar("train/loss", Double(lossValue), step: state.step)
                try board?.scalar("train/learning_rate", Double(rate), step: state.step)
                try board?.scalar("train/grad_norm", Double(norm), step: state.step)
            }
            var control = progress(TrainingProgress(
                event: .step, step: state.step, totalSteps: total, epoch: state.data.epoch, loss: lossValue,
                learningRate: rate, gradientNorm: norm, samplesPerSecond: rateSamples, elapsed: elapsed, metrics: [:], checkpoint: nil))

            // Validation, keep-best, early stopping.
            if validate != nil, c.evalEvery > 0, state.step % c.evalEvery == 0 || state.step == total {
                let (metrics, improved) = try evaluate(&state, log: log, board: board)
                if improved, c.keepBest, isWriter { try saveOutput(to: (runDirectory as NSString).appendingPathComponent("best")) }
                if progress(TrainingProgress(
                    event: .evaluation, step: state.step, totalSteps: total, epoch: state.data.epoch, loss: lossValue,
                    learningRate: rate, gradientNorm: norm, samplesPerSecond: rateSamples, elapsed: elapsed, metrics: metrics,
                    checkpoint: nil)) == .stop { control = .stop }
                if let patience = c.patience, state.evaluationsWithoutImprovement >= patience {
                    ending = .earlyStopped
                }
            }

            // Checkpoints. Data-parallel, a stop asked of one rank is agreed on at the next step's
            // first exchange (every rank ends at the same step; rank 0 writes the checkpoint then).
            if control == .stop, dataParallel != nil {
                stopRequested = true
                control = .proceed
            }
            let stopping = control == .stop || ending == .earlyStopped
            if (c.saveEvery > 0 && state.step % c.saveEvery == 0) || stopping, isWriter {
                lastCheckpoint = try saveCheckpoint(state, progress: progress, rate: rate, loss: lossValue, norm: norm, samplesPerSecond: rateSamples)
            }
            if control == .stop {
                ending = .stoppedOnRequest
                break
            }
            if ending == .earlyStopped { break }
        }
        board?.flush()

        var output: String?
        if ending != .stoppedOnRequest {
            output = (runDirectory as NSString).appendingPathComponent(c.method == .full ? "model" : "adapter")
            if isWriter { try saveOutput(to: output!) }
        }
        return TrainingSummary(
            ending: ending, steps: state.step, finalLoss: lossValue, bestMetric: state.bestMetric, bestStep: state.bestStep,
            lastCheckpoint: lastCheckpoint, output: output)
    }

    /// Writes a checkpoint of `state` (and prunes old ones), reported through `progress`.
    private func saveCheckpoint(
        _ state: TrainerState, progress: (TrainingProgress) -> TrainingControl, rate: Float, loss: Float = .nan, norm: Float = 0,
        samplesPerSecond: Double = 0
    ) throws -> String {
        let path = try Checkpoints.save(
            directory: checkpointDirectory, step: state.step, module: model.module, keys: checkpointKeys, optimizer: optimizer, state: state)
        Checkpoints.prune(directory: checkpointDirectory, keep: configuration.keepLast)
        _ = progress(TrainingProgress(
            event: .checkpoint, step: state.step, totalSteps: totalSteps, epoch: state.data.epoch, loss: loss,
            learningRate: rate, gradientNorm: norm, samplesPerSecond: samplesPerSecond, elapsed: 0, metrics: [:], checkpoint: path))
        return path
    }

    /// One process: the gradients and loss of the step's micro-batches, averaged.
    private func localGradients() throws -> (gradients: [String: MLXArray], loss: Float, samples: Int) {
        let c = configuration
        var gradients: [String: MLXArray] = [:]
        var lossSum: Float = 0
        var samples = 0
        for _ in 0 ..< c.gradientAccumulation {
            let (batch, count) = try nextInThisOrNextEpoch { try data.nextBatch(size: c.batchSize) }
            let (loss, grads) = try microBatchGradients(batch)
            for (k, g) in grads { gradients[k] = gradients[k].map { $0 + g } ?? g }
            lossSum += loss.item(Float.self)
            samples += count
        }
        if c.gradientAccumulation > 1 {
            gradients = gradients.mapValues { $0 / Double(c.gradientAccumulation) }
        }
        return (gradients, lossSum / Float(c.gradientAccumulation), samples)
    }

    /// One micro-batch's loss and gradients, evaluated, in the family's step environment.
    func microBatchGradients(_ batch: Model.Batch) throws -> (loss: MLXArray, gradients: [String: MLXArray]) {
        let batch = try model.prepareStep(batch)
        return try model.runStep {
            let (loss, grads) = try valueAndGrad(model: model.module) { try self.model.loss(batch) }
            try eval([loss] + Array(grads.values))
            return (loss, grads)
        }
    }

    /// What `take` draws next from the data (a batch, or a rank's part of one), moving on to the
    /// next epoch when this one is over, with the number of samples the data moved past.
    func nextInThisOrNextEpoch<T>(_ take: () throws -> T?) throws -> (T, Int) {
        let before = data.position
        if let next = try take() { return (next, data.position.index - before.index) }
        try data.seek(to: DataPosition(epoch: before.epoch + 1, index: 0))
        guard let next = try take() else {
            throw TrainingError("the training data yields no batch (is the train split empty?)")
        }
        return (next, data.position.index)
    }

    private func evaluate(_ state: inout TrainerState, log: MetricsLog?, board: TensorBoardWriter?) throws -> ([String: Double], Bool) {
        guard let validate else { return ([:], false) }
        model.module.train(false)
        defer { model.module.trainWithFrozenLayersInEvalMode() }
        let result = try validate()
        var metrics: [String: Double] = [:]
        for (name, value) in result.metrics {
            metrics[name] = value
            try board?.scalar("eval/\(name)", value, step: state.step)
        }
        if !result.samples.isEmpty {
            let table = result.samples.prefix(8).map { "| \($0.reference) | \($0.prediction) |" }.joined(separator: "\n")
            try board?.text("eval/samples", "| reference | prediction |\n|---|---|\n" + table, step: state.step)
        }
        var entry: [String: Any] = ["step": state.step, "event": "evaluation"]
        for (k, v) in metrics { entry[k] = v }
        try log?.append(entry)
        guard let primary = result.metrics.first?.value else { return (metrics, false) }
        if state.bestMetric.map({ primary < $0 }) ?? true {
            state.bestMetric = primary
            state.bestStep = state.step
            state.evaluationsWithoutImprovement = 0
            return (metrics, true)
        }
        state.evaluationsWithoutImprovement += 1
        return (metrics, false)
    }

    /// Writes the adapter (LoRA, QLoRA: PEFT format) or the full weights (full fine-tuning).
    public func saveOutput(to directory: String) throws {
        let module = model.module
        if configuration.method == .full {
            try AtomicDirectory.write(to: directory) { temporary in
                try module.saveParameters(to: (temporary as NSString).appendingPathComponent("model.safetensors"), metadata: ["format": "pt"])
            }
        } else {
            var lora = configuration.lora
            if lora.targetModules.isEmpty { lora.targetModules = model.defaultLoRATargets }
            try PEFTAdapter.save(module: module, configuration: lora, baseModel: baseModelName, to: directory)
        }
    }
}

// MARK: - Freeze names

extension Trainer {
    /// Every `freeze` entry must name a parameter group of the model or match some of its parameter
    /// keys: a misspelt name would otherwise freeze nothing and train what the user meant to keep.
    static func checkFreezeNames(_ names: [String], of model: any TrainableModel) throws {
        guard !names.isEmpty else { return }
        let groups = model.parameterGroups
        let keys = Array(model.module.parameterDictionary().keys)
        for name in names where groups[name] == nil {
            let pattern = KeyPattern(name)
            guard keys.contains(where: pattern.matches) else {
                let known = groups.keys.sorted().joined(separator: ", ")
                throw TrainingError("freeze: '\(name)' is neither a parameter group of this model (\(known)) nor a key pattern matching any of its parameters")
            }
        }
    }
}
