// PP-OCR recognizers in `ocrtune train` and `ocrtune export`.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

enum PPOCRFamily: TrainingFamily {
    static func handles(modelType: String) -> Bool { PPOCRTextRecognizer.modelTypes.contains(modelType) }

    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession {
        try PPOCRTrainingSession(model: model, data: data, run: run, configuration: configuration, options: options)
    }

    static func session(exporting run: String, model: String) throws -> TrainingSession {
        try PPOCRTrainingSession(exporting: run, model: model, from: nil)
    }

    static func session(exporting run: String, model: String, from source: String?) throws -> TrainingSession {
        try PPOCRTrainingSession(exporting: run, model: model, from: source)
    }
}

/// An encoded training sample: the original image bytes and the text.

final class PPOCRTrainingSession: TrainingSession {
    let trainable: PPOCRTrainable
    let configuration: TrainingConfiguration
    let run: String
    private(set) var setupNotes: [String] = []
    private var trainer: Trainer<PPOCRTrainable, MemoryBatchSource<EncodedSample, CTCBatch>>?

    init(model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions) throws {
        self.configuration = configuration
        self.run = run
        let base = try PPOCRTextRecognizer(folder: URL(fileURLWithPath: model))
        trainable = PPOCRTrainable(recognizer: base)

        // Data: the train split (and the mix set) in memory; a probe of the validation split.
        let samples = try RunSamples<EncodedSample>(data: data, options: options, evalSamples: configuration.evalSamples)
        var train = samples.train
        var mix = samples.mix
        let validation = samples.validation

        // Vocabulary: characters the model cannot emit are added, or it is an error naming them.
        let texts = train.map(\.text) + (mix?.items.map(\.text) ?? [])
        let dictionary = base.dictionary
        var missing: [String] = []
        var seen = Set<String>()
        for text in texts {
            for c in PPOCRTrainable.labels(of: text) where dictionary.classIndex(of: c) == nil && seen.insert(c).inserted { missing.append(c) }
        }
        var toAdd = options.addCharacters.map(String.init).filter { dictionary.classIndex(of: $0) == nil }
        let notCovered = missing.filter { !toAdd.contains($0) }
        if !notCovered.isEmpty {
            guard options.extendVocabularyFromData else {
                throw CLIError("the training texts use \(notCovered.count) characters the model cannot emit: \(notCovered.joined(separator: " ")) — add them with --add-chars FILE, or drop --no-extend-vocab")
            }
            toAdd += notCovered
            setupNotes.append("warning: adding \(notCovered.count) characters from the training set to the vocabulary: \(notCovered.joined(separator: " "))")
        }
        if mix != nil, options.distillation > 0 || options.featureDistillation > 0 {
            // The base model (before the vocabulary grows) is the teacher on replay lines.
            try trainable.useCurrentNetworkAsTeacher()
            trainable.distillationWeight = Float(options.distillation)
            trainable.featureDistillationWeight = Float(options.featureDistillation)
            setupNotes.append(
                "distillation: replay lines keep the base model's outputs (KL weight \(options.distillation))"
                    + (options.featureDistillation > 0 ? " and neck features (weight \(options.featureDistillation))" : ""))
        }
        if !toAdd.isEmpty {
            let added = try trainable.extendVocabulary(with: toAdd, seed: configuration.seed)
            setupNotes.append("vocabulary: \(dictionary.classCount) → \(trainable.recognizer.dictionary.classCount) classes (+\(added.count)); blank index unchanged")
        }

        // Lines longer than a training line's CTC steps cannot be learned (PaddleOCR drops labels
        // over its max_text_length the same way); say how many.
        let steps = trainable.trainingSteps
        let fits = { (sample: EncodedSample) in
            ((try? self.trainable.classes(of: sample.text)).map { PPOCRTrainable.requiredSteps($0) <= steps }) ?? false
        }
        let before = train.count
        train = train.filter(fits)
        if train.count < before {
            setupNotes.append("skipped \(before - train.count) of \(before) training lines needing more than the \(steps) CTC steps of a \(trainable.maxTrainingWidth)-px line")
        }
        if let m = mix {
            let kept = m.items.filter(fits)
            mix = kept.isEmpty ? nil : (kept, m.ratio)
        }
        guard !train.isEmpty else { throw CLIError("\(data): no training line fits the model's \(steps) CTC steps") }

        let network = trainable
        let source = MemoryBatchSource<EncodedSample, CTCBatch>(items: train, mix: mix, seed: configuration.seed) { items in
            try network.collate(
                items.map { (try ImageCodec.decode($0.bytes), $0.text) }, replay: items.map(\.replay),
                keys: items.map { AnyHashable($0.bytes) })
        }
        let trainer = try Trainer(model: trainable, data: source, configuration: configuration, runDirectory: run)
        trainer.baseModelName = model
        if !validation.isEmpty {
            let probe = validation
            trainer.validate = {
                let images = try probe.map { try ImageCodec.decode($0.bytes) }
                let predictions = try network.recognizer.recognize(images, prompt: nil)
                return .textScores(references: probe.map(\.text), predictions: predictions)
            }
        }
        let trainableKeys = try trainer.prepare()
        setupNotes.append(trainingSummary(
            name: trainable.recognizer.name, method: configuration.method, trainableTensors: trainableKeys.count,
            module: trainable.module, unit: "lines", train: train.count, mix: mix.map { ($0.items.count, $0.ratio) },
            validation: validation.count, steps: trainer.totalSteps))
        self.trainer = trainer
        // The (possibly extended) dictionary and config travel with the run.
        try writeModelFiles(to: run)
    }

    /// For `export --merge`: the base model again, with the classes the run appended (RUN/dictionary.txt;
    /// their head rows re-created from the run's seed, as training did), the run's method, and
    /// the trained weights of `source` (default: RUN/adapter or RUN/model, else the newest checkpoint).
    init(exporting run: String, model: String, from source: String?) throws {
        configuration = try TrainedRun.configuration(of: run)
        self.run = run
        let base = try PPOCRTextRecognizer(folder: URL(fileURLWithPath: model))
        trainable = PPOCRTrainable(recognizer: base)
        let dictionaryFile = URL(fileURLWithPath: run).appendingPathComponent(ModelFolder.dictionaryFile)
        if FileManager.default.fileExists(atPath: dictionaryFile.path) {
            let trained = try CharacterDictionary(contentsOf: dictionaryFile)
            let old = base.dictionary.labels
            guard trained.labels.count >= old.count, Array(trained.labels.prefix(old.count)) == old else {
                throw CLIError("\(dictionaryFile.path): does not extend the dictionary of \(model) (was the run trained from another model?)")
            }
            let added = Array(trained.labels.dropFirst(old.count))
            if !added.isEmpty {
                try trainable.extendVocabulary(with: added, seed: configuration.seed)
                setupNotes.append("vocabulary: \(base.dictionary.classCount) → \(trainable.recognizer.dictionary.classCount) classes, as the run")
            }
        }
        let read = try TrainedRun.restore(trainable, run: run, configuration: configuration, from: source)
        setupNotes.append("\(configuration.method.rawValue) weights from \(read)")
    }

    var totalSteps: Int { trainer?.totalSteps ?? 0 }

    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        try trainer!.run(resume: resume, progress: progress)
    }

    /// config.json (with the head's class count) and dictionary.txt.
    private func writeModelFiles(to directory: String) throws {
        let folder = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try trainable.network.encodedConfig().write(to: folder.appendingPathComponent(ModelFolder.configFile))
        try trainable.recognizer.dictionary.write(to: folder.appendingPathComponent(ModelFolder.dictionaryFile))
    }

    func exportMerged(to directory: String) throws {
        let network = trainable.network
        try network.mergeForExport()
        try AtomicDirectory.write(to: directory) { temporary in
            try writeModelFiles(to: temporary)
            try network.saveParameters(to: (temporary as NSString).appendingPathComponent(ModelFolder.weightsFile), metadata: ["format": "pt"])
        }
    }
}
