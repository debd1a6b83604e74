// A loaded Qwen-VL folder as OCRImaging's TextRecognizer: model, tokenizer, image processor and
// the chat template (the family descriptor is QwenVLFamily).

import Foundation
import MLXEngine
import OCRImaging
import OCRText

// MARK: - Recognizer

public final class QwenVLTextRecognizer: TextRecognizer {
    public let model: QwenVLModel
    public let tokenizer: Tokenizer
    public let processor: QwenVLImageProcessor
    /// Generation settings (greedy by default, the repetition guard on, EOS / `<|im_end|>` stops).
    public var generation: GenerationOptions
    /// The user text when `recognize` gets no prompt and no ``task`` is set.
    public var defaultPrompt = "Read all the text in the image."
    /// The task whose prompt ``read(_:)`` sends (nil: ``defaultPrompt``).
    public var task: OCRTask?
    /// A system turn; nil leaves it to the template (Qwen2.5-VL's adds its default one).
    public var system: String?
    /// The folder's chat template; nil uses the hard-coded Qwen structure.
    public var chatTemplate: ChatTemplate?

    /// Images generated together (left-padded prompts); 1 generates one image at a time.
    public var batchSize = 4

    public var name: String { model.config.modelType == .qwen3 ? "Qwen3-VL" : "Qwen2.5-VL" }
    public var preferredBatchSize: Int { batchSize }

    public init(model: QwenVLModel, tokenizer: Tokenizer, processor: QwenVLImageProcessor, chatTemplate: ChatTemplate? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        self.chatTemplate = chatTemplate
        var stops = Set(model.config.textConfig.eosTokenID)
        for token in ["<|im_end|>", "<|endoftext|>"] { if let id = tokenizer.tokenToID(token) { stops.insert(id) } }
        // Batches are left-padded with the tokenizer's pad token (Qwen's <|endoftext|>).
        let pad = tokenizer.tokenToID("<|endoftext|>")
        generation = GenerationOptions(
            maxNewTokens: 512, eosTokenIDs: stops.sorted(), padTokenID: pad, repetitionGuard: RepetitionGuard())
    }

    /// Loads model (options: dtype, quantization), tokenizer.json, preprocessor_config.json and
    /// the chat template (chat_template.jinja / .json, processor_config.json or tokenizer_config.json;
    /// none found falls back to the hard-coded Qwen prompt, a broken one is an error).
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
        let template: ChatTemplate?
        do {
            template = try ChatTemplate.load(directory: folder)
        } catch ChatTemplateError.notFound {
            template = nil
        }
        self.init(model: model, tokenizer: tokenizer, processor: QwenVLImageProcessor(config: bounded), chatTemplate: template)
    }

    // MARK: Inputs

    /// The chat prompt text for `images` image parts and the user text (placeholders not expanded).
    public func promptText(images: Int, prompt: String?) throws -> String {
        try QwenVLPrompt.render(
            template: chatTemplate, user: prompt ?? task?.prompt ?? defaultPrompt, images: images, system: system,
            fallbackSystem: model.config.modelType == .qwen2_5 ? QwenVLPrompt.defaultSystem : nil)
    }

    /// Token ids of the chat prompt for `images` with the placeholders expanded, the patches and grids.
    public func inputs(images: [RGBImage], prompt: String?) throws -> (ids: [Int], pixels: MLXArray?, grids: [[Int]]) {
        let text = try promptText(images: images.count, prompt: prompt)
        guard !images.isEmpty else { return (tokenizer.encode(text, addSpecialTokens: false), nil, []) }
        let (pixels, grids) = try processor(images)
        let expanded = try QwenVLPrompt.expandPlaceholders(text, counts: grids.map(processor.placeholderCount))
        return (tokenizer.encode(expanded, addSpecialTokens: false), pixels, grids)
    }

    /// Generated token ids for one image, without the stop token that ended them.
    public func generate(_ image: RGBImage, prompt: String?) throws -> [Int] {
        var tokens = try generateWithStop(image, prompt: prompt)
        if let last = tokens.last, generation.eosTokenIDs.contains(last) { tokens.removeLast() }
        return tokens
    }

    /// Generated token ids for one image as transformers returns them (a final stop token kept).
    public func generateWithStop(_ image: RGBImage, prompt: String?) throws -> [Int] {
        try generateWithStop([image], prompt: prompt)[0]
    }

    /// Generated token ids of each image (same prompt), as transformers returns them, in image
    /// order: images with similar visual-token counts are batched together (`batchSize` at a
    /// time, prompts left-padded) so that little padding is computed. Greedy and beam outputs
    /// equal one-at-a-time generation; sampled ones depend on the batch (one key per step).
    public func generateWithStop(_ images: [RGBImage], prompt: String?) throws -> [[Int]] {
        let tokens = try images.map { try processor.visualTokens(width: $0.width, height: $0.height) }
        let order = images.indices.sorted { tokens[$0] != tokens[$1] ? tokens[$0] < tokens[$1] : $0 < $1 }
        var out = [[Int]](repeating: [], count: images.count)
        let size = Swift.max(1, batchSize)
        for first in stride(from: 0, to: order.count, by: size) {
            let batch = Array(order[first ..< Swift.min(first + size, order.count)])
            let generated = try generateBatch(batch.map { images[$0] }, prompt: prompt)
            for (i, ids) in zip(batch, generated) { out[i] = ids }
        }
        return out
    }

    /// One left-padded batch: each image with its own prompt.
    func generateBatch(_ images: [RGBImage], prompt: String?) throws -> [[Int]] {
        var prompts: [[Int]] = []
        var pixels: [MLXArray] = []
        var grids: [[Int]] = []
        for image in images {
            let (ids, p, g) = try inputs(images: [image], prompt: prompt)
            prompts.append(ids)
            if let p { pixels.append(p) }
            grids += g
        }
        let all = pixels.isEmpty ? nil : (pixels.count == 1 ? pixels[0] : concatenated(pixels, axis: 0))
        return try withEngineErrors {
            try model.generate(prompts: prompts, pixels: all, grids: grids, options: generation)
        }
    }

    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try generateWithStop(images, prompt: prompt).map { ids in
            var tokens = ids
            if let last = tokens.last, generation.eosTokenIDs.contains(last) { tokens.removeLast() }
            return tokenizer.decode(tokens, skipSpecialTokens: true)
        }
    }
}
