// What a model family supplies to fine-tuning, and how a family declares it.
//
// A family's recipe loads its base model as a `TrainableModel`, turns dataset samples into the
// items it keeps in memory, adjusts model and data before training (vocabulary extension, a
// distillation teacher, lines too long to learn), collates batches, predicts for validation and
// writes the trained model folder. `FineTuneRun` drives every recipe the same way (data → batch
// source → Trainer → validation → summary), and `TrainedModelExport` puts any run's weights back
// on a fresh base through the same recipe. A family opts in by conforming its `ModelFamily`
// descriptor to `FineTunableFamily` (see each family's folder here).

import Foundation
import MLXNN
import OCRData
import OCRModels
import OCRTraining

// MARK: - Options

/// Options of a fine-tuning run that families interpret (beyond the trainer's configuration).
public struct FineTuneOptions: Sendable {
    /// Characters to add to the model's vocabulary (CTC families).
    public var addCharacters: [Character] = []
    /// Add every training-set character the model cannot emit (with a warning listing them).
    public var extendVocabularyFromData = true
    /// A general dataset mixed into each batch against forgetting: its folder and the fraction of each batch.
    public var mix: (dataset: String, ratio: Double)?
    /// Weight of distillation from the base model on mix lines (0: off).
    public var distillation = 1.0
    /// Weight of distillation of the base model's neck features on mix lines (0: off).
    public var featureDistillation = 0.0
    /// Split used for validation during training.
    public var validationSplit = Split.val

    public init() {}
}

// MARK: - Recipe

/// A family's fine-tuning: its trainable model, the in-memory form of its samples, and what it
/// does before, during (validation) and after training.
public protocol FineTuneRecipe: AnyObject {
    associatedtype Model: TrainableModel
    /// A sample as the run keeps it in memory (the encoded image and the texts it needs).
    associatedtype Item

    /// The base model folder, loaded for training.
    init(base: URL, configuration: TrainingConfiguration) throws

    var trainable: Model { get }
    /// The model's name in messages ("PP-OCRv5 mobile rec").
    var name: String { get }
    /// What the samples are called ("lines", "formulas", "samples").
    var unit: String { get }

    /// A dataset sample as an item; `replay` marks samples of the --mix set.
    func item(_ sample: DatasetSample, replay: Bool) throws -> Item
    /// The reference text of an item (validation).
    func reference(_ item: Item) -> String
    /// Adjusts model and data before training: vocabulary, teacher, items that cannot be learned.
    /// Returns the notes to show (warnings included).
    func prepare(train: inout [Item], mix: inout [Item]?, options: FineTuneOptions, seed: UInt64) throws -> [String]
    /// A batch of items.
    func collate(_ items: [Item]) throws -> Model.Batch
    /// Validation predictions (fast settings: greedy decoding).
    func predict(_ items: [Item]) throws -> [String]
    /// Whether validation also reports exact match (formulas).
    var validationReportsExactMatch: Bool { get }

    /// Files that travel with the run, from which ``reapplyRunChanges(run:configuration:)`` rebuilds
    /// the trained model's shape (PP-OCR: the grown dictionary and config). Default: none.
    func writeRunFiles(to run: URL) throws
    /// On a freshly loaded base, before a run's weights are restored: what the run changed in the
    /// model's shape (PP-OCR: classes appended). Returns notes. Default: nothing.
    func reapplyRunChanges(run: URL, configuration: TrainingConfiguration) throws -> [String]
    /// Writes the complete model folder (adapters merged, a quantized base dequantized), in the
    /// base model's own layout: loadable wherever the base loads.
    func writeModel(to folder: URL) throws
    /// Default settings for `method` (see ``TrainingDefaults``). Default: none.
    static func trainingDefaults(for method: FineTuningMethod) -> TrainingDefaults
}

extension FineTuneRecipe {
    public static func trainingDefaults(for method: FineTuningMethod) -> TrainingDefaults { TrainingDefaults() }
    public var validationReportsExactMatch: Bool { false }
    public func writeRunFiles(to run: URL) throws {}
    public func reapplyRunChanges(run: URL, configuration: TrainingConfiguration) throws -> [String] { [] }
}

// MARK: - Families

/// A model family that can be fine-tuned: its descriptor names its recipe.
public protocol FineTunableFamily: ModelFamily {
    associatedtype Recipe: FineTuneRecipe
}

extension FineTunableFamily {
    /// Sets up a training run (nothing is written until it starts).
    public static func prepareTraining(_ request: TrainingRequest) throws -> any TrainingSession {
        try FineTuneRun<Recipe>(request)
    }

    /// A run's trained weights on a fresh base, ready to be written as a model folder.
    public static func restore(run: URL, from source: URL?) throws -> any TrainedModelExport {
        try RecipeExport<Recipe>(run: run, from: source)
    }
}

/// The fine-tunable family of a model folder, or an error naming the family that is not.
public func fineTunableFamily(ofModelAt folder: URL) throws -> any FineTunableFamily.Type {
    let family = try ModelFamilies.family(ofModelAt: folder)
    guard let tunable = family as? any FineTunableFamily.Type else {
        throw FineTuneError("\(folder.path): \(family.name) cannot be fine-tuned in this build")
    }
    return tunable
}

public struct FineTuneError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Defaults

/// A family's default training settings, under the configuration file and the command line's
/// flags, chosen from measured small-data runs (bench/results/small_data.json for PP-OCR).
public struct TrainingDefaults: Sendable, Equatable {
    public var learningRate: Float?
    public var loraR: Int?
    public var loraAlpha: Double?
    /// Optimizer steps a run makes at least when it names neither epochs nor max_steps.
    public var minimumSteps: Int?

    public init(learningRate: Float? = nil, loraR: Int? = nil, loraAlpha: Double? = nil, minimumSteps: Int? = nil) {
        self.learningRate = learningRate
        self.loraR = loraR
        self.loraAlpha = loraAlpha
        self.minimumSteps = minimumSteps
    }

    /// `c` with these defaults.
    public func applied(to c: TrainingConfiguration) -> TrainingConfiguration {
        var c = c
        if let learningRate { c.learningRate = learningRate }
        if let loraR { c.lora.r = loraR }
        if let loraAlpha { c.lora.loraAlpha = loraAlpha }
        if let minimumSteps { c.minimumSteps = minimumSteps }
        return c
    }
}

extension FineTunableFamily {
    /// The family's default settings for `method`.
    public static func trainingDefaults(for method: FineTuningMethod) -> TrainingDefaults {
        Recipe.trainingDefaults(for: method)
    }
}
