// Qwen2.5-VL and Qwen3-VL in `ocrtune train` and `ocrtune export`: (image, prompt, answer)
// samples from a dataset (the prompt is a sample's `prompt` metadata, else the recognizer's
// default), answer-only loss, validation by CER on a probe of the validation split.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

enum QwenVLFamily: TrainingFamily {
    static func handles(modelType: String) -> Bool { QwenVLVersion(rawValue: modelType) != nil }

    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession {
        try QwenVLTrainingSession(model: model, data: data, run: run, configuration: configuration, options: options)
    }

    static func session(exporting run: String, model: String) throws -> TrainingSession {
        throw CLIError("\(run): Qwen-VL runs write the merged model to \(run)/model when training completes; use that folder")
    }
}

/// An encoded Qwen-VL sample: image bytes, prompt (nil: the default) and answer.
typealias PromptedSample = (bytes: Data, prompt: String?, text: String)

final class QwenVLTrainingSession: TrainingSession {
    let trainable: QwenVLTrainable
    let configuration: TrainingConfiguration
    let model: String
    private(set) var setupNotes: [String] = []
    private var trainer: Trainer<QwenVLTrainable, MemoryBatchSource<PromptedSample, QwenVLBatch>>?

    init(model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions) throws {
        self.configuration = configuration
        self.model = model
        let recognizer = try QwenVLTextRecognizer(folder: URL(fileURLWithPath: model))
        trainable = QwenVLTrainable(recognizer: recognizer)

        let samples = try RunSamples<PromptedSample>(data: data, options: options, evalSamples: configuration.evalSamples) { sample, _ in
            (sample.imageBytes, sample.metadata["prompt"], sample.text)
        }
        let (train, mix, validation) = (samples.train, samples.mix, samples.validation)

        let network = trainable
        let source = MemoryBatchSource<PromptedSample, QwenVLBatch>(items: train, mix: mix, seed: configuration.seed) { items in
            try network.collate(items.map { (try ImageCodec.decode($0.bytes), $0.prompt, $0.text) })
        }
        let trainer = try Trainer(model: trainable, data: source, configuration: configuration, runDirectory: run)
        trainer.baseModelName = model
        if !validation.isEmpty {
            let probe = validation
            trainer.validate = {
                let predictions = try probe.map {
                    try network.recognizer.recognize([try ImageCodec.decode($0.bytes)], prompt: $0.prompt)[0]
                }
                return .textScores(references: probe.map(\.text), predictions: predictions)
            }
        }
        let trainableKeys = try trainer.prepare()
        setupNotes.append(trainingSummary(
            name: recognizer.name, method: configuration.method, trainableTensors: trainableKeys.count,
            module: trainable.module, unit: "samples", train: train.count, mix: mix.map { ($0.items.count, $0.ratio) },
            validation: validation.count, steps: trainer.totalSteps))
        self.trainer = trainer
    }

    var totalSteps: Int { trainer?.totalSteps ?? 0 }

    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        try trainer!.run(resume: resume, progress: progress)
    }

    /// The base folder's config, tokenizer and processor files with the merged weights.
    func exportMerged(to directory: String) throws {
        let module = trainable.module
        try module.mergeLoRALayers()
        let base = URL(fileURLWithPath: model)
        try AtomicDirectory.write(to: directory) { temporary in
            let out = URL(fileURLWithPath: temporary)
            for file in ["config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
                         "chat_template.jinja", "generation_config.json", "processor_config.json"] {
                let source = base.appendingPathComponent(file)
                if FileManager.default.fileExists(atPath: source.path) {
                    try FileManager.default.copyItem(at: source, to: out.appendingPathComponent(file))
                }
            }
            try module.saveParameters(to: out.appendingPathComponent(ModelFolder.weightsFile).path, metadata: ["format": "pt"])
        }
    }
}
