// Fine-tuning PP-OCR recognizers: vocabulary extension from the training texts (or --add-chars),
// the base model as distillation teacher on --mix lines, lines too long for CTC dropped, and the
// grown dictionary kept with the run so that export rebuilds the head's new rows.

import Foundation
import MLXEngine
import OCRData
import OCRImaging
import OCRModels
import OCRSupport
import OCRTraining

extension PPOCRFamily: FineTunableFamily {
    public typealias Recipe = PPOCRRecipe
}

/// A training line: the encoded image, the text, and whether it comes from the --mix set.
public struct EncodedLine: Sendable {
    public var bytes: Data
    public var text: String
    public var replay: Bool
}

public final class PPOCRRecipe: FineTuneRecipe {
    public let trainable: PPOCRTrainable
    private let baseFolder: URL

    public init(base: URL, configuration: TrainingConfiguration) throws {
        baseFolder = base
        trainable = PPOCRTrainable(recognizer: try PPOCRTextRecognizer(folder: base))
    }

    /// LoRA and QLoRA: learning rate 5e-4 and at least 200 steps when a run names neither epochs
    /// nor steps — on 80 lines, the trainer's 1e-4 for one epoch moved test CER 5.2% → 4.9%, these
    /// settings to 2.0% (bench/small_data.py, bench/results/small_data.json). Full fine-tuning keeps
    /// the trainer's defaults.
    public static func trainingDefaults(for method: FineTuningMethod) -> TrainingDefaults {
        method == .full ? TrainingDefaults() : TrainingDefaults(learningRate: 5e-4, minimumSteps: 200)
    }

    public var name: String { trainable.recognizer.name }
    public var unit: String { "lines" }

    public func item(_ sample: DatasetSample, replay: Bool) throws -> EncodedLine {
        EncodedLine(bytes: sample.imageBytes, text: sample.text, replay: replay)
    }

    public func reference(_ item: EncodedLine) -> String { item.text }

    public func prepare(train: inout [EncodedLine], mix: inout [EncodedLine]?, options: FineTuneOptions, seed: UInt64) throws -> [String] {
        var notes: [String] = []
        let base = trainable.recognizer.dictionary
        // Vocabulary: characters the model cannot emit are added, or it is an error naming them.
        var missing: [String] = []
        var seen = Set<String>()
        for text in train.map(\.text) + (mix?.map(\.text) ?? []) {
            for c in PPOCRTrainable.labels(of: text) where base.classIndex(of: c) == nil && seen.insert(c).inserted { missing.append(c) }
        }
        var toAdd = options.addCharacters.map(String.init).filter { base.classIndex(of: $0) == nil }
        let notCovered = missing.filter { !toAdd.contains($0) }
        if !notCovered.isEmpty {
            guard options.extendVocabularyFromData else {
                throw FineTuneError(
                    "the training texts use \(notCovered.count) characters the model cannot emit: \(notCovered.joined(separator: " ")) — add them with --add-chars FILE, or drop --no-extend-vocab")
            }
            toAdd += notCovered
            notes.append("warning: adding \(notCovered.count) characters from the training set to the vocabulary: \(notCovered.joined(separator: " "))")
        }
        if mix != nil, options.distillation > 0 || options.featureDistillation > 0 {
            // The base model (before the vocabulary grows) is the teacher on replay lines.
            try trainable.useCurrentNetworkAsTeacher()
            trainable.distillationWeight = Float(options.distillation)
            trainable.featureDistillationWeight = Float(options.featureDistillation)
            notes.append(
                "distillation: replay lines keep the base model's outputs (KL weight \(options.distillation))"
                    + (options.featureDistillation > 0 ? " and neck features (weight \(options.featureDistillation))" : ""))
        }
        if !toAdd.isEmpty {
            let added = try trainable.extendVocabulary(with: toAdd, seed: seed)
            notes.append("vocabulary: \(base.classCount) → \(trainable.recognizer.dictionary.classCount) classes (+\(added.count)); blank index unchanged")
        }

        // Lines longer than a training line's CTC steps cannot be learned (PaddleOCR drops labels
        // over its max_text_length the same way); say how many.
        let steps = trainable.trainingSteps
        let fits = { (line: EncodedLine) in
            ((try? self.trainable.classes(of: line.text)).map { PPOCRTrainable.requiredSteps($0) <= steps }) ?? false
        }
        let before = train.count
        train = train.filter(fits)
        if train.count < before {
            notes.append("skipped \(before - train.count) of \(before) training lines needing more than the \(steps) CTC steps of a \(trainable.maxTrainingWidth)-px line")
        }
        mix = mix?.filter(fits)
        return notes
    }

    public func collate(_ items: [EncodedLine]) throws -> CTCBatch {
        try trainable.collate(
            items.map { (try ImageCodec.decode($0.bytes), $0.text) }, replay: items.map(\.replay),
            keys: items.map { AnyHashable($0.bytes) })
    }

    public func predict(_ items: [EncodedLine]) throws -> [String] {
        try trainable.recognizer.recognize(items.map { try ImageCodec.decode($0.bytes) }, prompt: nil)
    }

    // MARK: Run files and export

    /// config.json (with the head's class count) and dictionary.txt.
    public func writeRunFiles(to run: URL) throws {
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try trainable.network.encodedConfig().write(to: run.appendingPathComponent(ModelFolder.configFile))
        try trainable.recognizer.dictionary.write(to: run.appendingPathComponent(ModelFolder.dictionaryFile))
    }

    /// The classes the run appended (RUN/dictionary.txt), their head rows re-created from the
    /// run's seed as training created them, before the trained weights are loaded over them.
    public func reapplyRunChanges(run: URL, configuration: TrainingConfiguration) throws -> [String] {
        let file = run.appendingPathComponent(ModelFolder.dictionaryFile)
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let trained = try CharacterDictionary(contentsOf: file)
        let base = trainable.recognizer.dictionary
        guard trained.labels.count >= base.labels.count, Array(trained.labels.prefix(base.labels.count)) == base.labels else {
            throw FineTuneError("\(file.path): does not extend the dictionary of \(baseFolder.path) (was the run trained from another model?)")
        }
        let added = Array(trained.labels.dropFirst(base.labels.count))
        guard !added.isEmpty else { return [] }
        try trainable.extendVocabulary(with: added, seed: configuration.seed)
        return ["vocabulary: \(base.classCount) → \(trainable.recognizer.dictionary.classCount) classes, as the run"]
    }

    public func writeModel(to folder: URL) throws {
        let network = trainable.network
        try network.mergeForExport()
        try AtomicDirectory.write(to: folder.path) { temporary in
            let out = URL(fileURLWithPath: temporary)
            try writeRunFiles(to: out)
            try network.saveParameters(to: out.appendingPathComponent(ModelFolder.weightsFile).path, metadata: ["format": "pt"])
        }
    }
}
