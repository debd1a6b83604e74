// Fine-tuning DeepSeek-OCR / DeepSeek-OCR 2: batches of (image, prompt, answer) in the plain format
// the models read with (BOS, the image's tokens, "\n" + the task text, then the answer and the
// end-of-sentence token), answer-only labels (BOS, image, prompt and padding masked), and the
// trainer's model surface: groups vision (SAM and the second stage), projector (with the newline
// and separator embeddings) and language; default LoRA as Unsloth's DeepSeek-OCR notebook (r 16,
// alpha 16 are the trainer's settings) on q/k/v/o and gate/up/down of the decoder — dense MLP,
// shared and routed experts — and nothing in the vision stages. While the vision stages and the
// projector are frozen an image's features are a function of the image: they are computed once
// and kept, so a step costs the language model only.
//
// Reference: the Hub's modeling_deepseekocr.py (format_messages "plain": prompt and answer joined
// with no separator); Unsloth's DeepSeek-OCR fine-tuning notebook (target modules).

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRImaging
import OCRModels
import OCRText
import OCRTraining

// MARK: - Batches

/// Rows right-padded to one length; `labels` [B, L] hold the input id at each answer position
/// (and the EOS), −100 elsewhere (shifted inside the loss).
public struct DeepSeekOCRBatch {
    public let inputIds: [[Int]]
    public let labels: MLXArray
    public let images: [DeepSeekOCRImageInput]
    /// The images' features when the vision stages and projector are frozen (computed once per
    /// image and kept): the step then runs the language model only.
    public let features: MLXArray?
}

// MARK: - Trainable model

public final class DeepSeekOCRTrainable: TrainableModel {
    public let recognizer: DeepSeekOCRTextRecognizer

    /// Keep the features of frozen vision stages per image (up to `featureCacheBytes`).
    public var cachesFrozenImageFeatures = true
    public var featureCacheBytes = 1 << 30
    private var featureCache: [Digest256: MLXArray] = [:]
    private var featureCacheUsed = 0

    public init(recognizer: DeepSeekOCRTextRecognizer) {
        self.recognizer = recognizer
    }

    public var model: DeepSeekOCRModel { recognizer.model }
    public var module: Module { recognizer.model }

    public var parameterGroups: [String: [String]] {
        [
            "vision": ["model.sam_model", "model.vision_model", "model.qwen2_model"],
            "projector": ["model.projector", "model.image_newline", "model.view_seperator"],
            "language": ["model.embed_tokens", "model.layers", "model.norm", "lm_head"],
        ]
    }

    /// The decoder's attention and MLP projections (dense MLP, shared and routed experts). Full
    /// paths, so DeepSeek-OCR 2's encoder (which has q_proj … down_proj too) stays untouched.
    public var defaultLoRATargets: [String] {
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].map { "model.layers.*.\($0)" }
    }

    /// The answer tokens the loss is a mean over (data-parallel ranks weight by it).
    public func lossWeight(_ batch: DeepSeekOCRBatch) -> Int? {
        scoredLabelCount(batch.labels, ignoreIndex: deepSeekIgnoreIndex, shifted: true)
    }

    /// Mean cross-entropy over the answer tokens.
    public func loss(_ batch: DeepSeekOCRBatch) throws -> MLXArray {
        try model.loss(inputIds: batch.inputIds, images: batch.images, features: batch.features, labels: batch.labels)
    }

    // MARK: Collation

    /// The end-of-sentence id the answer ends with.
    var endOfSentence: Int? {
        recognizer.tokenizer.tokenToID("<｜end▁of▁sentence｜>") ?? recognizer.tokenizer.specialTokenIDs.eos
            ?? model.config.text.eosTokenID.first
    }

    /// Prompt ids (placeholders expanded), answer ids + EOS, and the processed image.
    public func encode(image: RGBImage, prompt: String?, answer: String) throws -> (prompt: [Int], answer: [Int], image: DeepSeekOCRImageInput) {
        guard let end = endOfSentence else { throw DeepSeekOCRError("the tokenizer has no end-of-sentence token") }
        let (ids, processed) = try recognizer.inputs(image, prompt: prompt)
        return (ids, recognizer.tokenizer.encode(answer, addSpecialTokens: false) + [end], processed)
    }

    /// A right-padded batch: the label of every prompt, image and padding position is ignored.
    public func collate(_ samples: [(image: RGBImage, prompt: String?, answer: String)]) throws -> DeepSeekOCRBatch {
        let pad = recognizer.generation.padTokenID ?? endOfSentence ?? 0
        let encoded = try samples.map { try encode(image: $0.image, prompt: $0.prompt, answer: $0.answer) }
        let length = encoded.map { $0.prompt.count + $0.answer.count }.max() ?? 0
        var rows: [[Int]] = []
        var labels: [Int32] = []
        for e in encoded {
            let ids = e.prompt + e.answer
            rows.append(ids + [Int](repeating: pad, count: length - ids.count))
            labels += [Int32](repeating: Int32(deepSeekIgnoreIndex), count: e.prompt.count) + e.answer.map(Int32.init)
            labels += [Int32](repeating: Int32(deepSeekIgnoreIndex), count: length - ids.count)
        }
        var features: MLXArray?
        if cachesFrozenImageFeatures && visionIsFrozen {
            features = concatenated(try zip(samples, encoded).map { try cachedFeatures($0.0.image, $0.1.image) }, axis: 0)
        }
        return DeepSeekOCRBatch(
            inputIds: rows, labels: MLXArray(labels, [samples.count, length]), images: encoded.map(\.image), features: features)
    }

    // MARK: Frozen features

    /// Whether no parameter of the vision stages, the projector and the special embeddings trains.
    var visionIsFrozen: Bool {
        let prefixes = parameterGroups["vision"]! + parameterGroups["projector"]!
        return !module.trainableParameters().contains { p in prefixes.contains { p.key.hasPrefix($0) } }
    }

    /// The image's features, from the cache or computed alone (a function of the image, whatever
    /// its batch) and kept while the cache has room. Keyed by the SHA-256 of the pixels and the mode.
    private func cachedFeatures(_ image: RGBImage, _ input: DeepSeekOCRImageInput) throws -> MLXArray {
        var digest = SHA256Digest()
        digest.update(Data("\(image.width)x\(image.height):\(recognizer.processor.config.mode)".utf8))
        image.pixels.withUnsafeBytes { digest.update($0) }
        let words = digest.finish()
        let key = Digest256(
            UInt64(words[0]) << 32 | UInt64(words[1]), UInt64(words[2]) << 32 | UInt64(words[3]),
            UInt64(words[4]) << 32 | UInt64(words[5]), UInt64(words[6]) << 32 | UInt64(words[7]))
        if let hit = featureCache[key] { return hit }
        let features = stopGradient(model.imageFeatures([input]))
        try eval([features])
        let bytes = features.size * features.dtype.size
        if featureCacheUsed + bytes <= featureCacheBytes {
            featureCache[key] = features
            featureCacheUsed += bytes
        }
        return features
    }
}
