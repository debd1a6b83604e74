// Fine-tuning latex-ocr-junia: teacher-forced batches as the package builds them
// (`[bos] + chars + [eos]`, decoder input = all but the last, labels = all but the first, pads
// masked as attention keys and ignored by the loss) and the trainer's model surface.
//
// Reference: latex_ocr_junia/data.py (build_arrays), model.py (masked_loss_and_accuracy).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRModels
import OCRTraining

// MARK: - Batches

/// Pixels [N, H, W], decoder inputs and labels [N, L] (pad-filled).
public struct LatexJuniaBatch {
    public let pixels: MLXArray
    public let decoderInputIDs: MLXArray
    public let labels: MLXArray
}

// MARK: - Trainable model

/// The trainer's view of latex-ocr-junia. Groups: `encoder` (patch embedding, blocks, norm),
/// `decoder` (embeddings, blocks, norm), `head` (lm_head). LoRA targets by default the decoder's
/// attention (the fused query/key/value projection and the output projection, self and cross)
/// and its feed-forward linears.
public final class LatexJuniaTrainable: TrainableModel {
    public let recognizer: LatexJuniaTextRecognizer
    /// Batches are padded to a multiple of this length (fewer distinct shapes).
    public var lengthMultiple = 8

    public init(recognizer: LatexJuniaTextRecognizer) {
        self.recognizer = recognizer
    }

    public var module: Module { recognizer.model }
    public var model: LatexJuniaModel { recognizer.model }

    public var parameterGroups: [String: [String]] {
        ["encoder": ["patch_embed", "encoder_blocks", "encoder_norm"],
         "decoder": ["decoder_embed", "decoder_blocks", "decoder_norm"],
         "head": ["lm_head"]]
    }

    public var defaultLoRATargets: [String] {
        ["decoder_blocks.*.self_attn.in_proj", "decoder_blocks.*.self_attn.out_proj",
         "decoder_blocks.*.cross_attn.in_proj", "decoder_blocks.*.cross_attn.out_proj",
         "decoder_blocks.*.ffn.0", "decoder_blocks.*.ffn.3"]
    }

    /// The non-pad label positions the loss is a mean over (data-parallel ranks weight by it).
    public func lossWeight(_ batch: LatexJuniaBatch) -> Int? { scoredLabelCount(batch.labels, ignoreIndex: model.config.padTokenID) }

    /// Mean cross-entropy over the non-pad label positions (the package's masked loss).
    public func loss(_ batch: LatexJuniaBatch) -> MLXArray {
        let logits = model(batch.pixels, decoderInputIds: batch.decoderInputIDs)
        return crossEntropy(logits: logits, targets: batch.labels, ignoreIndex: model.config.padTokenID, reduction: .mean)
    }

    /// Teacher-forcing ids of `text`: (decoder input, labels), each `encode(text).count − 1` long.
    public func sequences(of text: String) -> (input: [Int], labels: [Int]) {
        let ids = recognizer.tokenizer.encode(text, maxLength: model.config.maxLength)
        return (Array(ids.dropLast()), Array(ids.dropFirst()))
    }

    /// Preprocesses images and encodes texts into a batch.
    public func collate(_ samples: [(image: RGBImage, text: String)]) -> LatexJuniaBatch {
        let pad = Int32(model.config.padTokenID)
        let encoded = samples.map { sequences(of: $0.text) }
        var length = encoded.map(\.input.count).max() ?? 1
        length = Swift.min(model.config.maxLength - 1, (length + lengthMultiple - 1) / lengthMultiple * lengthMultiple)
        var inputs = [Int32](repeating: pad, count: samples.count * length)
        var labels = inputs
        for (i, e) in encoded.enumerated() {
            for (j, id) in e.input.enumerated() { inputs[i * length + j] = Int32(id) }
            for (j, id) in e.labels.enumerated() { labels[i * length + j] = Int32(id) }
        }
        return LatexJuniaBatch(
            pixels: recognizer.preprocessor.batch(samples.map(\.image)),
            decoderInputIDs: MLXArray(inputs, [samples.count, length]), labels: MLXArray(labels, [samples.count, length]))
    }
}
