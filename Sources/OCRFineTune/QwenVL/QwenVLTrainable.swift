// Fine-tuning Qwen-VL: batches of (image, prompt, answer) with answer-only labels (prompt, image
// and padding tokens masked; the answer ends with `<|im_end|>`, so stopping is learned), and the
// trainer's model surface (groups: vision, merger, language; LoRA on q/k/v/o by default).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRText
import OCRModels
import OCRTraining

// MARK: - Batches

/// Rows right-padded to one length; `labels` [B, L] hold the target id at each position whose
/// token is to be predicted, −100 elsewhere (transformers' convention, shifted inside the loss).
public struct QwenVLBatch {
    public let inputIds: [[Int]]
    public let labels: MLXArray
    public let pixels: MLXArray?
    public let grids: [[Int]]
}

// MARK: - Trainable model

public final class QwenVLTrainable: TrainableModel {
    public let recognizer: QwenVLTextRecognizer

    public init(recognizer: QwenVLTextRecognizer) {
        self.recognizer = recognizer
    }

    public var model: QwenVLModel { recognizer.model }
    public var module: Module { recognizer.model }

    public var parameterGroups: [String: [String]] {
        [
            "vision": ["model.visual.patch_embed", "model.visual.pos_embed", "model.visual.blocks"],
            "merger": ["model.visual.merger", "model.visual.deepstack_merger_list"],
            "language": ["model.language_model", "lm_head"],
        ]
    }

    /// q/k/v/o of the language model (the vision tower's attention is `qkv` / `proj`; add those,
    /// or `gate_proj` / `up_proj` / `down_proj` for the MLP, to widen it).
    public var defaultLoRATargets: [String] { ["q_proj", "k_proj", "v_proj", "o_proj"] }

    /// The answer tokens the loss is a mean over (data-parallel ranks weight by it).
    public func lossWeight(_ batch: QwenVLBatch) -> Int? { scoredLabelCount(batch.labels, ignoreIndex: qwenIgnoreIndex, shifted: true) }

    /// Mean cross-entropy over the answer tokens: logits at position t predict labels at t + 1.
    public func loss(_ batch: QwenVLBatch) throws -> MLXArray {
        try model.loss(inputIds: batch.inputIds, pixels: batch.pixels, grids: batch.grids, labels: batch.labels)
    }

    // MARK: Collation

    /// Prompt ids (chat prompt, image placeholders expanded) and the answer ids + `<|im_end|>`.
    public func encode(image: RGBImage, prompt: String?, answer: String) throws -> (prompt: [Int], answer: [Int], pixels: MLXArray, grid: [Int]) {
        let (ids, pixels, grids) = try recognizer.inputs(images: [image], prompt: prompt)
        guard let end = recognizer.tokenizer.tokenToID("<|im_end|>") else {
            throw QwenVLProcessorError("the tokenizer has no <|im_end|> token")
        }
        guard let pixels, let grid = grids.first else { throw QwenVLInputError("no image features for a training sample") }
        return (ids, recognizer.tokenizer.encode(answer, addSpecialTokens: false) + [end], pixels, grid)
    }

    /// A right-padded batch: the label of every prompt, image and padding position is ignored.
    public func collate(_ samples: [(image: RGBImage, prompt: String?, answer: String)]) throws -> QwenVLBatch {
        let pad = recognizer.tokenizer.tokenToID("<|endoftext|>") ?? 0
        let encoded = try samples.map { try encode(image: $0.image, prompt: $0.prompt, answer: $0.answer) }
        let length = encoded.map { $0.prompt.count + $0.answer.count }.max() ?? 0
        var rows: [[Int]] = []
        var labels: [Int32] = []
        for e in encoded {
            let ids = e.prompt + e.answer
            rows.append(ids + [Int](repeating: pad, count: length - ids.count))
            labels += [Int32](repeating: Int32(qwenIgnoreIndex), count: e.prompt.count) + e.answer.map(Int32.init)
            labels += [Int32](repeating: Int32(qwenIgnoreIndex), count: length - ids.count)
        }
        return QwenVLBatch(
            inputIds: rows, labels: MLXArray(labels, [samples.count, length]),
            pixels: concatenated(encoded.map(\.pixels), axis: 0), grids: encoded.map(\.grid))
    }
}
