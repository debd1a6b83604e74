// Fine-tuning Qwen2.5-VL and Qwen3-VL: (image, prompt, answer) samples — the prompt is a sample's
// `prompt` metadata, else the recognizer's default —, answer-only loss, validation by CER; the
// trained model is the base folder's config, tokenizer and processor files with merged weights.

import Foundation
import OCRData
import OCRImaging
import OCRModels
import OCRTraining

extension QwenVLFamily: FineTunableFamily {
    public typealias Recipe = QwenVLRecipe
}

/// An encoded sample: image bytes, prompt (nil: the default) and answer.
public struct PromptedSample: Sendable {
    public var bytes: Data
    public var prompt: String?
    public var answer: String
}

public final class QwenVLRecipe: FineTuneRecipe {
    public let trainable: QwenVLTrainable
    private let baseFolder: URL

    static let companionFiles = [
        "config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "chat_template.jinja",
        "chat_template.json", "generation_config.json", "processor_config.json",
    ]

    public init(base: URL, configuration: TrainingConfiguration) throws {
        baseFolder = base
        trainable = QwenVLTrainable(recognizer: try QwenVLTextRecognizer(folder: base))
    }

    /// LoRA and QLoRA as Unsloth's Qwen2.5-VL notebooks set them: r 16, alpha 16, learning rate 2e-4.
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

    public func collate(_ items: [PromptedSample]) throws -> QwenVLBatch {
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
        try TrainedModelFolder.write(trainable.module, to: folder, base: baseFolder, companions: Self.companionFiles)
    }
}
