// Fine-tuning DeepSeek-OCR (v1) and DeepSeek-OCR 2: (image, prompt, answer) samples as Qwen-VL's
// (the prompt is a sample's `prompt` metadata, else "Free OCR."), answer-only loss, validation by
// CER; the trained model is every file of the base folder but its weights (config, tokenizer,
// processor, the Hub's code files) with the merged weights under DeepSeek's original key names —
// the layout the published checkpoints have.

import Foundation
import OCRData
import OCRImaging
import OCRModels
import OCRSupport
import OCRTraining

extension DeepSeekOCRFamily: FineTunableFamily {
    public typealias Recipe = DeepSeekOCRRecipe
}

public final class DeepSeekOCRRecipe: FineTuneRecipe {
    public let trainable: DeepSeekOCRTrainable
    private let baseFolder: URL

    public init(base: URL, configuration: TrainingConfiguration) throws {
        baseFolder = base
        trainable = DeepSeekOCRTrainable(recognizer: try DeepSeekOCRTextRecognizer(folder: base))
    }

    /// LoRA and QLoRA as Unsloth's DeepSeek-OCR notebook sets them: r 16, alpha 16, learning rate 2e-4.
    public static func trainingDefaults(for method: FineTuningMethod) -> TrainingDefaults {
        method == .full ? TrainingDefaults() : TrainingDefaults(learningRate: 2e-4, loraR: 16, loraAlpha: 16)
    }

    public var name: String { trainable.recognizer.name }
    public var unit: String { "samples" }

    public func item(_ sample: DatasetSample, replay: Bool) throws -> PromptedSample {
        PromptedSample(bytes: sample.imageBytes, prompt: sample.metadata["prompt"], answer: sample.text)
    }

    public func reference(_ item: PromptedSample) -> String { item.answer }

    public func prepare(train: inout [PromptedSample], mix: inout [PromptedSample]?, options: FineTuneOptions, seed: UInt64) throws -> [String] {
        options.addCharacters.isEmpty ? [] : ["note: --add-chars is for CTC models; this tokenizer encodes any text"]
    }

    public func collate(_ items: [PromptedSample]) throws -> DeepSeekOCRBatch {
        try trainable.collate(items.map { (try ImageCodec.decode($0.bytes), $0.prompt, $0.answer) })
    }

    /// The model's own decoding, generating at most a few tokens more than the longest reference.
    public func predict(_ items: [PromptedSample]) throws -> [String] {
        let recognizer = trainable.recognizer
        let saved = recognizer.generation
        defer { recognizer.generation = saved }
        let longest = items.map { recognizer.tokenizer.encode($0.answer, addSpecialTokens: false).count }.max() ?? 0
        recognizer.generation.maxNewTokens = Swift.min(saved.maxNewTokens, longest + 8)
        recognizer.generation.minNewTokens = Swift.min(saved.minNewTokens, recognizer.generation.maxNewTokens)
        return try items.map { try recognizer.recognize([try ImageCodec.decode($0.bytes)], prompt: $0.prompt)[0] }
    }

    public func writeModel(to folder: URL) throws {
        let companions = try FileManager.default.contentsOfDirectory(atPath: baseFolder.path).filter { name in
            !name.hasSuffix(".safetensors") && name != "model.safetensors.index.json" && !name.hasPrefix(".")
        }
        try TrainedModelFolder.write(trainable.module, to: folder, base: baseFolder, companions: companions)
    }
}
