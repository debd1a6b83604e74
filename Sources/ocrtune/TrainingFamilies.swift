// How `ocrtune train` and `ocrtune export` reach model families.

import Foundation
import MLXNN
import OCRData
import OCRMetrics
import OCRTraining

/// Options of `ocrtune train` that families interpret (beyond the trainer's configuration).
struct FamilyTrainingOptions {
    /// Characters to add to the model's vocabulary (CTC families).
    var addCharacters: [Character] = []
    /// Add every training-set character the model cannot emit (with a warning listing them).
    var extendVocabularyFromData = true
    /// A general dataset mixed into each batch against forgetting: (folder, fraction of each batch).
    var mix: (dataset: String, ratio: Double)?
    /// Weight of distillation from the base model on mix lines (0: off).
    var distillation = 1.0
    /// Weight of distillation of the base model's neck features on mix lines (0: off).
    var featureDistillation = 0.0
    /// Split used for validation during training.
    var validationSplit = "val"
}

/// A prepared training run of one family.
protocol TrainingSession: AnyObject {
    var totalSteps: Int { get }
    /// What was set up, for the terminal (trainable parameters, vocabulary changes, …).
    var setupNotes: [String] { get }
    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary
    /// Writes base + trained weights in the base model's own layout (LoRA merged).
    func exportMerged(to directory: String) throws
}

/// A model family as the CLI sees it.
protocol TrainingFamily {
    /// Whether this family loads a model folder whose config.json has this `model_type`.
    static func handles(modelType: String) -> Bool
    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession
    /// A session over an existing run's folder (for `export --merge`).
    static func session(exporting run: String, model: String) throws -> TrainingSession
    /// The same, with the trained weights read from `source`: a checkpoint, adapter or model
    /// folder of the run (nil: the run's output, else its newest checkpoint).
    static func session(exporting run: String, model: String, from source: String?) throws -> TrainingSession
}

extension TrainingFamily {
    static func session(exporting run: String, model: String, from source: String?) throws -> TrainingSession {
        guard source == nil else { throw CLIError("--from: this model family exports only the run's own output") }
        return try session(exporting: run, model: model)
    }
}

enum TrainingFamilies {
    /// Families in the order they are tried.
    static let all: [TrainingFamily.Type] = [
        PPOCRFamily.self, TrOCRFamily.self, QwenVLFamily.self, LatexJuniaFamily.self, DeepSeekOCRFamily.self,
    ]

    static func family(forModel path: String) throws -> TrainingFamily.Type {
        let type = try modelType(of: path)
        guard let family = all.first(where: { $0.handles(modelType: type) }) else {
            throw CLIError("\(path)/config.json: no trainable model family for model_type \"\(type)\" in this build")
        }
        return family
    }

    static func modelType(of path: String) throws -> String {
        let config = (path as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: config),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw CLIError("\(config): not found or not JSON (is \(path) a model folder?)") }
        guard let type = object["model_type"] as? String else { throw CLIError("\(config): no \"model_type\"") }
        return type
    }
}

/// `RUN/run.json`: what a run was started from, so `export` and `--resume` find it again.
struct RunOrigin: Codable {
    var model: String
    var data: String
    var command: [String]

    static func path(_ run: String) -> String { (run as NSString).appendingPathComponent("run.json") }

    func write(to run: String) throws {
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.path(run)), options: .atomic)
    }

    static func read(from run: String) throws -> RunOrigin {
        guard let data = FileManager.default.contents(atPath: path(run)) else {
            throw CLIError("\(path(run)): not found (is \(run) a training run folder?)")
        }
        return try JSONDecoder().decode(RunOrigin.self, from: data)
    }
}

// MARK: - A run's samples

/// An encoded training line; `replay` marks lines of the --mix set.
typealias EncodedSample = (bytes: Data, text: String, replay: Bool)

/// The lines of a training run: the dataset's train split, the --mix set's train split (with
/// its share of each batch), and a probe of the validation split, each encoded by the family.
struct RunSamples<Item> {
    var train: [Item]
    var mix: (items: [Item], ratio: Double)?
    var validation: [Item]

    /// `encode(sample, replay)`: replay is true for the --mix set's lines.
    init(data: String, options: FamilyTrainingOptions, evalSamples: Int, encode: (DatasetSample, Bool) throws -> Item) throws {
        let reader = try DatasetReader(folder: URL(fileURLWithPath: data))
        train = try reader.samples(in: .train).map { try encode($0, false) }
        guard !train.isEmpty else { throw CLIError("\(data): the train split is empty") }
        if let (folder, ratio) = options.mix {
            let items = try DatasetReader(folder: URL(fileURLWithPath: folder)).samples(in: .train).map { try encode($0, true) }
            guard !items.isEmpty else { throw CLIError("--mix \(folder): its train split is empty") }
            mix = (items, ratio)
        }
        validation = try (Split(rawValue: options.validationSplit).map { try reader.samples(in: $0) } ?? [])
            .prefix(evalSamples).map { try encode($0, false) }
    }
}

extension RunSamples where Item == EncodedSample {
    /// Lines as image bytes and text.
    init(data: String, options: FamilyTrainingOptions, evalSamples: Int) throws {
        try self.init(data: data, options: options, evalSamples: evalSamples) { ($0.imageBytes, $0.text, $1) }
    }
}

// MARK: - Shared set-up pieces

extension OCRTraining.ValidationResult {
    /// CER (and, when asked, exact match) of `predictions`, with the first 8 pairs as samples.
    static func textScores(references: [String], predictions: [String], exactMatch: Bool = false) -> OCRTraining.ValidationResult {
        var metrics = [(name: "cer", value: TextMetrics.cer(references: references, predictions: predictions))]
        if exactMatch {
            let exact = zip(references, predictions).filter { $0 == $1 }.count
            metrics.append((name: "exact_match", value: Double(exact) / Double(Swift.max(1, references.count))))
        }
        let samples = zip(references, predictions).prefix(8).map { (reference: $0.0, prediction: $0.1) }
        return ValidationResult(metrics: metrics, samples: samples)
    }
}

/// The set-up line of a training session: what trains and on what.
/// `unit` names the samples ("lines", "formulas", "samples").
func trainingSummary(
    name: String, method: FineTuningMethod, trainableTensors: Int, module: Module, unit: String, train: Int,
    mix: (count: Int, ratio: Double)?, validation: Int, steps: Int
) -> String {
    let trainable = module.trainableParameters().reduce(0) { $0 + $1.array.size }
    let total = module.parameters().reduce(0) { $0 + $1.array.size }
    let mixing = mix.map { ", mixing \($0.count) \(unit) at \(Int($0.ratio * 100))% of each batch" } ?? ""
    return "\(name): \(method.rawValue), \(trainableTensors) tensors / \(trainable) of \(total) parameters trainable; "
        + "\(train) training \(unit)\(mixing), \(validation) validation \(unit); \(steps) steps"
}
