// latex-ocr-junia (image → LaTeX encoder–decoder) in `ocrtune train` and `ocrtune export`.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

enum LatexJuniaFamily: TrainingFamily {
    static func handles(modelType: String) -> Bool { LatexJuniaTextRecognizer.modelTypes.contains(modelType) }

    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession {
        try LatexJuniaTrainingSession(model: model, data: data, run: run, configuration: configuration, options: options)
    }

    static func session(exporting run: String, model: String) throws -> TrainingSession {
        throw CLIError("\(run): latex-ocr-junia runs write the merged model to \(run)/model when training completes; use that folder (export --merge of a run's checkpoints is not available for this family yet)")
    }
}

final class LatexJuniaTrainingSession: TrainingSession {
    let trainable: LatexJuniaTrainable
    let run: String
    private(set) var setupNotes: [String] = []
    private var trainer: Trainer<LatexJuniaTrainable, MemoryBatchSource<EncodedSample, LatexJuniaBatch>>?

    init(model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions) throws {
        self.run = run
        let base = try LatexJuniaTextRecognizer(folder: URL(fileURLWithPath: model))
        trainable = LatexJuniaTrainable(recognizer: base)
        if !options.addCharacters.isEmpty {
            throw CLIError("--add-chars: latex-ocr-junia's character vocabulary cannot be extended in this build")
        }

        let samples = try RunSamples<EncodedSample>(data: data, options: options, evalSamples: configuration.evalSamples)
        let (train, mix, validation) = (samples.train, samples.mix, samples.validation)

        // Characters outside the vocabulary train as <unk>: say which.
        let tokenizer = base.tokenizer
        var unknown: [String] = []
        var seen = Set<Unicode.Scalar>()
        for text in train.map(\.text) + (mix?.items.map(\.text) ?? []) {
            for s in text.unicodeScalars where !tokenizer.covers(String(s)) && seen.insert(s).inserted { unknown.append(String(s)) }
        }
        if !unknown.isEmpty {
            setupNotes.append("warning: \(unknown.count) characters of the training texts are not in the model's vocabulary and train as <unk>: \(unknown.joined(separator: " "))")
        }
        let maxLength = base.model.config.maxLength
        let long = train.filter { $0.text.unicodeScalars.count + 2 > maxLength }.count
        if long > 0 { setupNotes.append("\(long) training texts are longer than max_length \(maxLength) and are truncated (EOS kept)") }

        let network = trainable
        let source = MemoryBatchSource<EncodedSample, LatexJuniaBatch>(items: train, mix: mix, seed: configuration.seed) { items in
            network.collate(try items.map { (try ImageCodec.decode($0.bytes), $0.text) })
        }
        let trainer = try Trainer(model: trainable, data: source, configuration: configuration, runDirectory: run)
        trainer.baseModelName = model
        if !validation.isEmpty {
            let probe = validation
            trainer.validate = {
                let images = try probe.map { try ImageCodec.decode($0.bytes) }
                // Greedy during training (fast); the saved model keeps its own decoding settings.
                let ids = try network.recognizer.generate(images, options: LatexJuniaDecodingOptions(numBeams: 1))
                let predictions = ids.map(network.recognizer.tokenizer.decode)
                return .textScores(references: probe.map(\.text), predictions: predictions, exactMatch: true)
            }
        }
        let trainableKeys = try trainer.prepare()
        setupNotes.append(trainingSummary(
            name: "latex-ocr-junia", method: configuration.method, trainableTensors: trainableKeys.count,
            module: trainable.module, unit: "formulas", train: train.count, mix: mix.map { ($0.items.count, $0.ratio) },
            validation: validation.count, steps: trainer.totalSteps))
        self.trainer = trainer
    }

    var totalSteps: Int { trainer?.totalSteps ?? 0 }

    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        try trainer!.run(resume: resume, progress: progress)
    }

    /// The complete model folder (LoRA merged; weights under the package's names and layout).
    func exportMerged(to directory: String) throws {
        try trainable.model.mergeLoRALayers()
        try AtomicDirectory.write(to: directory) { temporary in
            try trainable.recognizer.write(to: URL(fileURLWithPath: temporary))
        }
    }
}
