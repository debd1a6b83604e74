// Fine-tuning vision encoder–decoders: teacher-forced batches (labels = text tokens + EOS,
// decoder inputs = the labels shifted right behind the decoder start token, padding ignored
// in the loss as transformers' -100), and the trainer's model surface.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRText
import OCRModels
import OCRTraining

// MARK: - Batches

/// A teacher-forced batch: pixels [N, 3, H, W], decoder inputs and labels [N, L] (int32;
/// label ``Seq2SeqBatch/ignoreIndex`` marks padding).
public struct Seq2SeqBatch {
    public static let ignoreIndex = -100
    public let pixels: MLXArray
    public let decoderInputs: MLXArray
    public let labels: MLXArray
    /// Label tokens that count in the loss.
    public let targetTokens: Int
}

// MARK: - Trainable model

/// The trainer's view of a ``VisionEncoderDecoderRecognizer``. Groups: `encoder`, `decoder`,
/// `projection` (`enc_to_dec_proj` when present). LoRA targets the decoder's self- and
/// cross-attention projections by default (name encoder ones, e.g. `encoder.*.query`, to add them).
public final class VisionEncoderDecoderTrainable: TrainableModel {
    public let recognizer: VisionEncoderDecoderRecognizer
    /// Longest label sequence (EOS included); longer texts are truncated before the EOS.
    public var maxTargetTokens: Int

    public init(recognizer: VisionEncoderDecoderRecognizer, maxTargetTokens: Int = 256) {
        self.recognizer = recognizer
        let decoder = recognizer.model.config.decoder
        self.maxTargetTokens = decoder.useLearnedPositionEmbeddings
            ? min(maxTargetTokens, decoder.maxPositionEmbeddings) : maxTargetTokens
    }

    public var module: Module { recognizer.model }
    public var model: VisionEncoderDecoder { recognizer.model }

    public var parameterGroups: [String: [String]] {
        ["encoder": ["encoder"], "decoder": ["decoder"], "projection": ["enc_to_dec_proj"]]
    }

    public var defaultLoRATargets: [String] {
        ["q_proj", "k_proj", "v_proj", "out_proj"].map { "decoder.*_attn.\($0)" }
    }

    /// The label tokens the loss is a mean over (data-parallel ranks weight by it).
    public func lossWeight(_ batch: Seq2SeqBatch) -> Int? { batch.targetTokens }

    /// Mean cross-entropy over the label tokens of the batch.
    public func loss(_ batch: Seq2SeqBatch) -> MLXArray {
        let logits = model(batch.pixels, decoderInputs: batch.decoderInputs)
        return crossEntropy(logits: logits, targets: batch.labels, ignoreIndex: Seq2SeqBatch.ignoreIndex)
    }

    /// Label ids of a text: its tokens (no special tokens added) and the EOS.
    public func labels(of text: String) -> [Int] {
        let eos = recognizer.options.eosTokenIDs.first ?? recognizer.tokenizer.specialTokenIDs.eos ?? 2
        return Array(recognizer.tokenizer.encode(text, addSpecialTokens: false).prefix(max(0, maxTargetTokens - 1))) + [eos]
    }

    /// Preprocesses images and encodes texts into a batch (padded to the longest labels).
    public func collate(_ samples: [(image: RGBImage, text: String)]) throws -> Seq2SeqBatch {
        let pixels = try recognizer.preprocessor.pixelValues(samples.map(\.image))
        let labels = samples.map { self.labels(of: $0.text) }
        let length = labels.map(\.count).max() ?? 1
        let pad = Int32(recognizer.options.padTokenID ?? 1)
        let start = Int32(recognizer.decoderStartTokenID)
        var inputs = [Int32](repeating: pad, count: samples.count * length)
        var targets = [Int32](repeating: Int32(Seq2SeqBatch.ignoreIndex), count: samples.count * length)
        for (i, row) in labels.enumerated() {
            for (j, token) in row.enumerated() {
                targets[i * length + j] = Int32(token)
                inputs[i * length + j] = j == 0 ? start : Int32(row[j - 1])
            }
        }
        return Seq2SeqBatch(
            pixels: pixels, decoderInputs: MLXArray(inputs, [samples.count, length]),
            labels: MLXArray(targets, [samples.count, length]), targetTokens: labels.reduce(0) { $0 + $1.count })
    }
}
