// A loaded Qwen-VL folder as OCRImaging's TextRecognizer: model, tokenizer, image processor and
// the chat prompt; registered for `qwen2_5_vl` and `qwen3_vl` in OCRModelRegistry.

import Foundation
import MLXEngine
import OCRImaging
import OCRText

// MARK: - Recognizer

public final class QwenVLTextRecognizer: TextRecognizer {
    public let model: QwenVLModel
    public let tokenizer: Tokenizer
    public let processor: QwenVLImageProcessor
    public var generation: QwenVLGenerationOptions
    /// The user text when `recognize` gets no prompt.
    public var defaultPrompt = "Read all the text in the image."
    /// The system turn (Qwen2.5-VL's template default; none for Qwen3-VL).
    public var system: String?

    public var name: String { model.config.modelType == .qwen3 ? "Qwen3-VL" : "Qwen2.5-VL" }
    public var preferredBatchSize: Int { 1 }

    public init(model: QwenVLModel, tokenizer: Tokenizer, processor: QwenVLImageProcessor) {
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        system = model.config.modelType == .qwen2_5 ? QwenVLPrompt.defaultSystem : nil
        var stops = Set(model.config.textConfig.eosTokenId)
        for token in ["<|im_end|>", "<|endoftext|>"] { if let id = tokenizer.tokenToID(token) { stops.insert(id) } }
        generation = QwenVLGenerationOptions(stopTokenIds: stops)
    }

    /// Loads model (options: dtype, quantization), tokenizer.json and preprocessor_config.json.
    /// `maxImageTokens` bounds the visual tokens of one image (max_pixels lowered to
    /// factor² · maxImageTokens when the folder allows more; nil keeps the folder's bound), so an
    /// oversized scan is shrunk instead of blowing up the sequence.
    public convenience init(folder: URL, options: QwenVLLoadOptions = .init(), maxImageTokens: Int? = 1280) throws {
        let model = try QwenVLModel.load(from: folder, options: options)
        let tokenizer = try Tokenizer(directory: folder)
        let url = folder.appendingPathComponent("preprocessor_config.json")
        let config: QwenVLImageProcessorConfig
        if let data = try? Data(contentsOf: url) {
            do {
                config = try JSONDecoder().decode(QwenVLImageProcessorConfig.self, from: data)
            } catch {
                throw ModelFolderError("cannot read \(url.path): \(error)")
            }
        } else {
            let v = model.config.visionConfig
            let qwen3 = model.config.modelType == .qwen3
            config = QwenVLImageProcessorConfig(
                patchSize: v.patchSize, temporalPatchSize: v.temporalPatchSize, mergeSize: v.spatialMergeSize,
                imageMean: qwen3 ? [0.5, 0.5, 0.5] : [0.48145466, 0.4578275, 0.40821073],
                imageStd: qwen3 ? [0.5, 0.5, 0.5] : [0.26862954, 0.26130258, 0.27577711])
        }
        var bounded = config
        if let maxImageTokens {
            let factor = config.patchSize * config.mergeSize
            bounded.maxPixels = Swift.min(config.maxPixels, Swift.max(factor * factor * maxImageTokens, config.minPixels))
        }
        self.init(model: model, tokenizer: tokenizer, processor: QwenVLImageProcessor(config: bounded))
    }

    // MARK: Inputs

    /// Token ids of the chat prompt for `images` with the placeholders expanded, the patches and grids.
    public func inputs(images: [RGBImage], prompt: String?) throws -> (ids: [Int], pixels: MLXArray?, grids: [[Int]]) {
        let text = QwenVLPrompt.chat(user: prompt ?? defaultPrompt, images: images.count, system: system)
        guard !images.isEmpty else { return (tokenizer.encode(text, addSpecialTokens: false), nil, []) }
        let (pixels, grids) = try processor(images)
        let expanded = try QwenVLPrompt.expandPlaceholders(text, counts: grids.map(processor.placeholderCount))
        return (tokenizer.encode(expanded, addSpecialTokens: false), pixels, grids)
    }

    /// Generated token ids for one image.
    public func generate(_ image: RGBImage, prompt: String?) throws -> [Int] {
        let (ids, pixels, grids) = try inputs(images: [image], prompt: prompt)
        return try withEngineErrors {
            try model.greedyGenerate(inputIds: ids, pixels: pixels, grids: grids, options: generation)
        }
    }

    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try images.map { tokenizer.decode(try generate($0, prompt: prompt), skipSpecialTokens: true) }
    }

    /// Registry entries: `model_type` → loader.
    public static let registryEntries: [String: OCRModelRegistry.Loader] = [
        QwenVLVersion.qwen2_5.rawValue: { try QwenVLTextRecognizer(folder: $0) },
        QwenVLVersion.qwen3.rawValue: { try QwenVLTextRecognizer(folder: $0) },
    ]
}
