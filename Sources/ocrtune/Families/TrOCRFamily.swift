// Vision encoder–decoders (TrOCR and alike) in `ocrtune train` and `ocrtune export`.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

enum TrOCRFamily: TrainingFamily {
    static func handles(modelType: String) -> Bool { modelType == VisionEncoderDecoderConfig.modelType }

    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession {
        try TrOCRTrainingSession(model: model, data: data, run: run, configuration: configuration, options: options)
    }

    static func session(exporting run: String, model: String) throws -> TrainingSession {
        throw CLIError("\(run): encoder–decoder runs write the merged model to \(run)/model when training completes; use that folder")
    }
}

final class TrOCRTrainingSession: TrainingSession {
    let trainable: VisionEncoderDecoderTrainable
    let baseFolder: URL
    private(set) var setupNotes: [String] = []
    private var trainer: Trainer<VisionEncoderDecoderTrainable, MemoryBatchSource<EncodedSample, Seq2SeqBatch>>?

    /// Files of the base folder that travel with the trained weights.
    static let companionFiles = [
        "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    ]

    init(model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions) throws {
        baseFolder = URL(fileURLWithPath: model)
        let recognizer = try VisionEncoderDecoderRecognizer(folder: baseFolder, batchSize: configuration.batchSize)
        trainable = VisionEncoderDecoderTrainable(recognizer: recognizer)
        if !options.addCharacters.isEmpty {
            setupNotes.append("note: --add-chars is for CTC models; this tokenizer encodes any text (byte-level or with <unk>)")
        }
        let samples = try RunSamples<EncodedSample>(data: data, options: options, evalSamples: configuration.evalSamples)
        let (train, mix, validation) = (samples.train, samples.mix, samples.validation)
        let unknown = train.filter { trainable.labels(of: $0.text).contains(recognizer.tokenizer.specialTokenIDs.unk ?? -1) }.count
        if unknown > 0 {
            setupNotes.append("warning: \(unknown) training texts contain characters the tokenizer maps to its unknown token")
        }
        let longest = train.map { trainable.labels(of: $0.text).count }.max() ?? 0
        if longest >= trainable.maxTargetTokens {
            setupNotes.append("warning: labels are truncated to \(trainable.maxTargetTokens) tokens (EOS included)")
        }

        let network = trainable
        let source = MemoryBatchSource<EncodedSample, Seq2SeqBatch>(items: train, mix: mix, seed: configuration.seed) { items in
            try network.collate(try items.map { (try ImageCodec.decode($0.bytes), $0.text) })
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
            name: recognizer.name, method: configuration.method, trainableTensors: trainableKeys.count,
            module: trainable.module, unit: "lines", train: train.count, mix: mix.map { ($0.items.count, $0.ratio) },
            validation: validation.count, steps: trainer.totalSteps))
        self.trainer = trainer
    }

    var totalSteps: Int { trainer?.totalSteps ?? 0 }

    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        try trainer!.run(resume: resume, progress: progress)
    }

    /// The base folder's config, processor and tokenizer files with the merged weights (the
    /// checkpoint's own key names), loadable by transformers' `from_pretrained` and ocrtune.
    func exportMerged(to directory: String) throws {
        let model = trainable.model
        try model.mergeLoRALayers()
        try AtomicDirectory.write(to: directory) { temporary in
            for name in Self.companionFiles {
                let source = baseFolder.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: source.path) else { continue }
                try FileManager.default.copyItem(atPath: source.path, toPath: (temporary as NSString).appendingPathComponent(name))
            }
            try model.saveParameters(to: (temporary as NSString).appendingPathComponent(ModelFolder.weightsFile), metadata: ["format": "pt"])
        }
    }
}
