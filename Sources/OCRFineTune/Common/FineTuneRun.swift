// One run driver for every family: a dataset's splits → the recipe's items → a seeded batch source
// → the Trainer, with validation on a probe of the validation split, the set-up summary, and the
// trained model folder at the end. Nothing is written to the run folder until `run` starts.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

// MARK: - Request and session

/// What `ocrtune train` asks for.
public struct TrainingRequest: Sendable {
    /// The base model folder.
    public var model: URL
    /// The dataset folder (`ocrtune data build`).
    public var data: URL
    /// The run folder.
    public var run: URL
    public var configuration: TrainingConfiguration
    public var options: FineTuneOptions
    /// Continue from the newest complete checkpoint of `run`.
    public var resume = false
    /// Replace a run already in `run` (otherwise that is an error).
    public var overwrite = false
    /// The command line, recorded in RUN/run.json.
    public var command: [String] = []
    /// Data-parallel training: the ranks of the run; rank 0 alone writes RUN.
    public var group: DistributedGroup?
    /// Whether this process writes RUN and talks to the user (rank 0, or the only process).
    public var isWriter: Bool { (group?.rank ?? 0) == 0 }

    public init(model: URL, data: URL, run: URL, configuration: TrainingConfiguration, options: FineTuneOptions = FineTuneOptions()) {
        self.model = model
        self.data = data
        self.run = run
        self.configuration = configuration
        self.options = options
    }
}

/// A prepared training run.
public protocol TrainingSession: AnyObject {
    var totalSteps: Int { get }
    /// What was set up (trainable parameters, vocabulary changes, warnings), for the terminal.
    var setupNotes: [String] { get }
    /// The checkpoint a resumed run continues from (nil: it starts at step 0).
    var resumePoint: (step: Int, path: String)? { get }
    func run(progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary
    /// Writes the trained model as a complete folder in the base model's layout.
    func writeModel(to folder: URL) throws
}

// MARK: - Driver

/// A recipe's training run.
final class FineTuneRun<Recipe: FineTuneRecipe>: TrainingSession {
    let request: TrainingRequest
    let recipe: Recipe
    let trainer: Trainer<Recipe.Model, MemoryBatchSource<Recipe.Item, Recipe.Model.Batch>>
    private(set) var setupNotes: [String] = []
    let resumePoint: (step: Int, path: String)?

    init(_ request: TrainingRequest) throws {
        self.request = request
        let c = request.configuration
        // Only rank 0 refuses a folder holding a run: the others may see the one rank 0 just started.
        resumePoint = try RunFolder.check(request.run, resume: request.resume, overwrite: request.overwrite || !request.isWriter)

        let recipe = try Recipe(base: request.model, configuration: c)
        self.recipe = recipe
        var samples = try RunSamples(data: request.data, options: request.options, probe: c.evalSamples) {
            try recipe.item($0, replay: $1)
        }
        setupNotes += try recipe.prepare(train: &samples.train, mix: &samples.mix, options: request.options, seed: c.seed)
        guard !samples.train.isEmpty else {
            throw FineTuneError("\(request.data.path): no training \(recipe.unit) left to learn from (see the notes above)")
        }
        let mix = try request.options.mix.flatMap { mix -> (items: [Recipe.Item], ratio: Double)? in
            guard let items = samples.mix else { return nil }
            guard !items.isEmpty else { throw FineTuneError("--mix \(mix.dataset): no line of its train split can be learned") }
            return (items, mix.ratio)
        }
        let source = MemoryBatchSource(items: samples.train, mix: mix, seed: c.seed) { try recipe.collate($0) }
        trainer = try Trainer(model: recipe.trainable, data: source, configuration: c, runDirectory: request.run.path)
        trainer.baseModelName = request.model.path
        trainer.group = request.group
        let probe = samples.validation
        if !probe.isEmpty {
            let exactMatch = recipe.validationReportsExactMatch
            trainer.validate = {
                .textScores(references: probe.map(recipe.reference), predictions: try recipe.predict(probe), exactMatch: exactMatch)
            }
        }
        let trainable = try trainer.prepare()
        setupNotes.append(Self.summary(
            name: recipe.name, configuration: c, trainableTensors: trainable.count, module: recipe.trainable.module,
            unit: recipe.unit, train: samples.train.count, mix: mix.map { ($0.items.count, $0.ratio) },
            validation: probe.count, steps: trainer.totalSteps))
    }

    var totalSteps: Int { trainer.totalSteps }

    func run(progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        let run = request.run
        guard trainer.isWriter else { return try trainer.run(resume: request.resume, progress: progress) }
        if request.overwrite && !request.resume { try RunFolder.clear(run) }
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try RunOrigin(model: request.model.path, data: request.data.path, command: request.command).write(to: run)
        try recipe.writeRunFiles(to: run)
        return try trainer.run(resume: request.resume, progress: progress)
    }

    func writeModel(to folder: URL) throws { try recipe.writeModel(to: folder) }

    /// The set-up line: what trains and on what.
    static func summary(
        name: String, configuration c: TrainingConfiguration, trainableTensors: Int, module: Module, unit: String, train: Int,
        mix: (count: Int, ratio: Double)?, validation: Int, steps: Int
    ) -> String {
        let trainable = module.trainableParameters().reduce(0) { $0 + $1.array.size }
        let total = module.parameters().reduce(0) { $0 + $1.array.size }
        let mixing = mix.map { ", mixing \($0.count) \(unit) at \(Int($0.ratio * 100))% of each batch" } ?? ""
        return "\(name): \(c.method.rawValue), \(trainableTensors) tensors / \(trainable) of \(total) parameters trainable; "
            + "\(train) training \(unit)\(mixing), \(validation) validation \(unit); \(steps) steps"
    }
}

// MARK: - Validation scores

extension OCRTraining.ValidationResult {
    /// CER (and, when asked, exact match) of `predictions`, with the first 8 pairs as samples.
    public static func textScores(references: [String], predictions: [String], exactMatch: Bool = false) -> OCRTraining.ValidationResult {
        var metrics = [(name: "cer", value: TextMetrics.cer(references: references, predictions: predictions))]
        if exactMatch {
            let exact = zip(references, predictions).filter { $0 == $1 }.count
            metrics.append((name: "exact_match", value: Double(exact) / Double(Swift.max(1, references.count))))
        }
        let samples = zip(references, predictions).prefix(8).map { (reference: $0.0, prediction: $0.1) }
        return OCRTraining.ValidationResult(metrics: metrics, samples: samples)
    }
}

// MARK: - Samples

/// The items of a run: the dataset's train split, the --mix set's train split, and a probe of the
/// validation split, each made by the recipe.
struct RunSamples<Item> {
    var train: [Item]
    var mix: [Item]?
    var validation: [Item]

    /// `item(sample, replay)`: replay is true for the --mix set's samples.
    init(data: URL, options: FineTuneOptions, probe: Int, item: (DatasetSample, Bool) throws -> Item) throws {
        let reader = try DatasetReader(folder: data)
        train = try reader.samples(in: .train).map { try item($0, false) }
        guard !train.isEmpty else { throw FineTuneError("\(data.path): the train split is empty") }
        if let (folder, _) = options.mix {
            let items = try DatasetReader(folder: URL(fileURLWithPath: folder)).samples(in: .train).map { try item($0, true) }
            guard !items.isEmpty else { throw FineTuneError("--mix \(folder): its train split is empty") }
            mix = items
        }
        validation = try reader.samples(in: options.validationSplit).prefix(probe).map { try item($0, false) }
    }
}
