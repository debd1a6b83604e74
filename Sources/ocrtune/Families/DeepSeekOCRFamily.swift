// DeepSeek-OCR (v1) and DeepSeek-OCR 2 in `ocrtune train` and `ocrtune export`: (image, prompt,
// answer) samples as Qwen-VL's (the prompt is a sample's `prompt` metadata, else "Free OCR."),
// answer-only loss, validation by CER on a probe of the validation split; `export --merge` puts a
// run's adapter, model or checkpoint back on the base and writes the merged folder.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRMetrics
import OCRModels
import OCRSupport
import OCRTraining

enum DeepSeekOCRFamily: TrainingFamily {
    static func handles(modelType: String) -> Bool { DeepSeekOCRVersion(rawValue: modelType) != nil }

    static func session(
        model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions
    ) throws -> TrainingSession {
        try DeepSeekOCRTrainingSession(model: model, data: data, run: run, configuration: configuration, options: options)
    }

    static func session(exporting run: String, model: String) throws -> TrainingSession {
        try DeepSeekOCRTrainingSession(exporting: run, model: model, from: nil)
    }

    static func session(exporting run: String, model: String, from source: String?) throws -> TrainingSession {
        try DeepSeekOCRTrainingSession(exporting: run, model: model, from: source)
    }
}

final class DeepSeekOCRTrainingSession: TrainingSession {
    let trainable: DeepSeekOCRTrainable
    let baseFolder: URL
    private(set) var setupNotes: [String] = []
    private var trainer: Trainer<DeepSeekOCRTrainable, MemoryBatchSource<PromptedSample, DeepSeekOCRBatch>>?

    init(model: String, data: String, run: String, configuration: TrainingConfiguration, options: FamilyTrainingOptions) throws {
        baseFolder = URL(fileURLWithPath: model)
        let recognizer = try DeepSeekOCRTextRecognizer(folder: baseFolder)
        trainable = DeepSeekOCRTrainable(recognizer: recognizer)
        let samples = try RunSamples<PromptedSample>(data: data, options: options, evalSamples: configuration.evalSamples) { sample, _ in
            (sample.imageBytes, sample.metadata["prompt"], sample.text)
        }
        let (train, mix, validation) = (samples.train, samples.mix, samples.validation)
        let network = trainable
        let source = MemoryBatchSource<PromptedSample, DeepSeekOCRBatch>(items: train, mix: mix, seed: configuration.seed) { items in
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

    /// A finished (or checkpointed) run back on its base, for `export --merge`.
    init(exporting run: String, model: String, from source: String?) throws {
        let configuration = try TrainedRun.configuration(of: run)
        baseFolder = URL(fileURLWithPath: model)
        trainable = DeepSeekOCRTrainable(recognizer: try DeepSeekOCRTextRecognizer(folder: baseFolder))
        let read = try TrainedRun.restore(trainable, run: run, configuration: configuration, from: source)
        setupNotes.append("\(configuration.method.rawValue) weights from \(read)")
    }

    var totalSteps: Int { trainer?.totalSteps ?? 0 }

    func run(resume: Bool, progress: (TrainingProgress) -> TrainingControl) throws -> TrainingSummary {
        try trainer!.run(resume: resume, progress: progress)
    }

    /// Every file of the base folder but its weights (config, tokenizer, processor, the Hub's code
    /// files), with the merged weights under DeepSeek's original key names — the layout the
    /// published checkpoints have and transformers' `from_pretrained` reads.
    func exportMerged(to directory: String) throws {
        let module = trainable.module
        try module.mergeForExport()
        let files = try FileManager.default.contentsOfDirectory(atPath: baseFolder.path).filter { name in
            !name.hasSuffix(".safetensors") && name != "model.safetensors.index.json" && !name.hasPrefix(".")
        }
        try AtomicDirectory.write(to: directory) { temporary in
            for name in files {
                let source = baseFolder.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                try FileManager.default.copyItem(atPath: source.path, toPath: (temporary as NSString).appendingPathComponent(name))
            }
            try module.saveParameters(to: (temporary as NSString).appendingPathComponent(ModelFolder.weightsFile), metadata: ["format": "pt"])
        }
    }
}
