// A loaded DeepSeek-OCR (v1) or DeepSeek-OCR 2 folder as OCRImaging's TextRecognizer: model,
// tokenizer and image processor, the plain prompt (`<image>\n` + the task text, no role tags),
// greedy generation with the windowed n-gram blocker of DeepSeek's vLLM recipe (30 within 90,
// <td> / </td> whitelisted); the family descriptor is DeepSeekOCRFamily.
//
// Reference: the Hub's modeling_deepseekocr.py (infer: format_messages "plain" strips the content,
// text_encode without special tokens, bos id 0 prepended); transformers/models/deepseek_ocr2/
// processing_deepseek_ocr2.py (the `<image>` expansion, tokenized with the tokenizer's BOS);
// DeepSeek-OCR's README (prompts, vLLM NGramPerReqLogitsProcessor settings).

import Foundation
import MLXEngine
import OCRImaging
import OCRText

// MARK: - Recognizer

public final class DeepSeekOCRTextRecognizer: TextRecognizer {
    public let model: DeepSeekOCRModel
    public let tokenizer: Tokenizer
    public var processor: DeepSeekOCRImageProcessor
    /// Greedy, EOS stops, the n-gram blocker on.
    public var generation: GenerationOptions
    /// The task text when `recognize` gets no prompt ("Free OCR.", the model card's plain OCR).
    public var defaultPrompt = OCRTask.plainText.prompt
    /// The task whose prompt ``read(_:)`` and a prompt-less ``recognize(_:prompt:)`` send (nil: ``defaultPrompt``).
    public var task: OCRTask?
    /// Images generated together (left-padded prompts); 1 generates one image at a time.
    public var batchSize = 4

    public var name: String { model.version == .v1 ? "DeepSeek-OCR" : "DeepSeek-OCR 2" }
    public var preferredBatchSize: Int { batchSize }

    public init(model: DeepSeekOCRModel, tokenizer: Tokenizer, processor: DeepSeekOCRImageProcessor) throws {
        guard let image = tokenizer.tokenToID("<image>") else {
            throw ModelFolderError("the tokenizer has no <image> token (DeepSeek-OCR's image placeholder)")
        }
        model.imageTokenID = image
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        var stops = Set(model.config.text.eosTokenID)
        if let eos = tokenizer.specialTokenIDs.eos { stops.insert(eos) }
        if let eos = tokenizer.tokenToID("<｜end▁of▁sentence｜>") { stops.insert(eos) }
        let whitelist = Set(["<td>", "</td>"].compactMap(tokenizer.tokenToID))
        generation = GenerationOptions(
            maxNewTokens: 8192, eosTokenIDs: stops.sorted(),
            padTokenID: tokenizer.specialTokenIDs.pad ?? tokenizer.tokenToID("<｜▁pad▁｜>"),
            ngramBlocker: NGramRepetitionBlocker(ngramSize: 30, window: 90, whitelist: whitelist))
    }

    /// Loads model (options: dtype, quantization), tokenizer and processor settings; `mode` picks
    /// v1's resolution mode (nil: Gundam, the model card's choice for documents; v2 has one).
    public convenience init(folder: URL, options: DeepSeekOCRLoadOptions = .init(), mode: DeepSeekOCRMode? = nil) throws {
        let model = try DeepSeekOCRModel.load(from: folder, options: options)
        var config = try DeepSeekOCRProcessorConfig.load(folder: folder, version: model.version)
        if let mode {
            guard model.version == .v1 else { throw ModelFolderError("--mode is for DeepSeek-OCR (v1); DeepSeek-OCR 2 has one layout") }
            config.mode = mode
        }
        try self.init(model: model, tokenizer: try Tokenizer(directory: folder), processor: DeepSeekOCRImageProcessor(config: config))
    }

    // MARK: Inputs

    /// The prompt text: the task text after `<image>\n` (a prompt that holds `<image>` is used as
    /// given), stripped as the reference's "plain" format does.
    public func promptText(_ prompt: String?) -> String {
        let text = prompt ?? task?.prompt ?? defaultPrompt
        let full = text.contains("<image>") ? text : "<image>\n" + text
        return full.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Token ids of the prompt with the `<image>` placeholder expanded to `count` tokens.
    public func promptIds(_ prompt: String?, imageTokens count: Int) throws -> [Int] {
        let parts = promptText(prompt).components(separatedBy: "<image>")
        guard parts.count == 2 else {
            throw DeepSeekOCRError("the prompt must hold one <image> (one image per prompt), got \(parts.count - 1)")
        }
        let image = [Int](repeating: model.imageTokenID, count: count)
        switch model.version {
        case .v1:
            // text_encode of each part, bos id 0 first (hard-coded in the reference).
            let bos = tokenizer.specialTokenIDs.bos ?? model.config.text.bosTokenID ?? 0
            return [bos] + tokenizer.encode(parts[0], addSpecialTokens: false) + image
                + tokenizer.encode(parts[1], addSpecialTokens: false)
        case .v2:
            let expanded = parts[0] + String(repeating: "<image>", count: count) + parts[1]
            return tokenizer.encode(expanded, addSpecialTokens: true)
        }
    }

    /// The prompt ids and the processed image.
    public func inputs(_ image: RGBImage, prompt: String?) throws -> (ids: [Int], image: DeepSeekOCRImageInput) {
        let processed = try processor(image)
        return (try promptIds(prompt, imageTokens: processed.tokenCount), processed)
    }

    // MARK: Generation

    /// Generated token ids of each image (same prompt) as transformers returns them (a final stop
    /// token kept), in image order: images with equal token counts are batched together.
    public func generateWithStop(_ images: [RGBImage], prompt: String?) throws -> [[Int]] {
        let counts = try images.map { try processor.layout(width: $0.width, height: $0.height).tokenCount }
        let order = images.indices.sorted { counts[$0] != counts[$1] ? counts[$0] < counts[$1] : $0 < $1 }
        var out = [[Int]](repeating: [], count: images.count)
        let size = Swift.max(1, batchSize)
        for first in stride(from: 0, to: order.count, by: size) {
            let batch = Array(order[first ..< Swift.min(first + size, order.count)])
            let prepared = try batch.map { try inputs(images[$0], prompt: prompt) }
            let generated = try withEngineErrors {
                try model.generate(prompts: prepared.map(\.ids), images: prepared.map(\.image), options: generation)
            }
            for (i, ids) in zip(batch, generated) { out[i] = ids }
        }
        return out
    }

    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try generateWithStop(images, prompt: prompt).map { ids in
            var tokens = ids
            if let last = tokens.last, generation.eosTokenIDs.contains(last) { tokens.removeLast() }
            return tokenizer.decode(tokens, skipSpecialTokens: true)
        }
    }
}
