// A vision encoder–decoder ONNX export read through onnxruntime as transformers.js reads it:
// the encoder once per batch, then greedy decoding with the merged decoder, its `present.*`
// fed back as `past_key_values.*` (`use_cache_branch` false on the first step, with empty
// pasts). Preprocessing, start/stop tokens and detokenization are the model folder's, as
// ocrtune's reader uses them.

import Foundation
import MLXEngine
import OCRImaging
import OCRModels

final class VisionEncoderDecoderONNXReader: ExportRuntimeReader {
    let session: EncoderDecoderONNXSession
    let recognizer: VisionEncoderDecoderRecognizer
    let runtime = EncoderDecoderONNXSession.runtime
    var name: String { session.name }
    var preferredBatchSize: Int { recognizer.batchSize }

    init(encoder: String, decoder: String, model: URL, threads: Int = 0) throws {
        recognizer = try VisionEncoderDecoderRecognizer(folder: model)
        let d = recognizer.model.config.decoder
        session = try EncoderDecoderONNXSession(
            encoder: encoder, decoder: decoder, layers: d.decoderLayers, heads: d.decoderAttentionHeads,
            headDim: d.dModel / d.decoderAttentionHeads, threads: threads)
    }

    /// Greedy token ids per image (EOS included when generated).
    func generate(_ images: [RGBImage]) throws -> [[Int]] {
        let options = recognizer.options
        return try session.greedy(
            pixels: try recognizer.preprocessor.pixelValues(images), start: recognizer.decoderStartTokenID, eos: Set(options.eosTokenIDs),
            pad: options.padTokenID ?? options.eosTokenIDs.first ?? 0,
            maxNewTokens: min(options.maxNewTokens, recognizer.maxNewTokensLimit ?? Int.max))
    }

    func read(_ images: [RGBImage]) throws -> [Reading] {
        guard !images.isEmpty else { return [] }
        return try generate(images).map { Reading(text: recognizer.decode($0), tokenIDs: $0) }
    }

    func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] { try read(images).map(\.text) }

    /// Teacher-forced logits of ocrtune's own greedy tokens, image by image.
    func largestDifference(on images: [RGBImage], reference: any ModelReader) throws -> (value: Double, of: String) {
        var largest = 0.0
        for image in images {
            let ids = try recognizer.generateTokenIDs([image], options: recognizer.options)[0]
            let sequence = [recognizer.decoderStartTokenID] + ids.dropLast()
            let pixels = try recognizer.preprocessor.pixelValues([image])
            let ours = try withEngineErrors { recognizer.model(pixels, decoderInputs: MLXArray(sequence.map(Int32.init), [1, sequence.count])) }
            let theirs = try session.logits(pixels: pixels, sequence: sequence)
            largest = max(largest, Double(abs(ours - theirs).max().item(Float.self)))
        }
        return (largest, "logits")
    }
}
