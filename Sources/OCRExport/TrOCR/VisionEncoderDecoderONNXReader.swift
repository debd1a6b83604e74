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
    let encoder: ONNXRuntimeSession
    let decoder: ONNXRuntimeSession
    let recognizer: VisionEncoderDecoderRecognizer
    let runtime: String
    var name: String { "onnxruntime:\(URL(fileURLWithPath: decoder.path).lastPathComponent)" }
    var preferredBatchSize: Int { recognizer.batchSize }

    init(encoder: String, decoder: String, model: URL, threads: Int = 0) throws {
        self.encoder = try ONNXRuntimeSession(path: encoder, threads: threads)
        self.decoder = try ONNXRuntimeSession(path: decoder, threads: threads)
        recognizer = try VisionEncoderDecoderRecognizer(folder: model)
        runtime = "onnxruntime \(ONNXRuntimeSession.version ?? "?")"
    }

    var layers: Int { recognizer.model.config.decoder.decoderLayers }
    var heads: Int { recognizer.model.config.decoder.decoderAttentionHeads }
    var headDim: Int { recognizer.model.config.decoder.dModel / heads }

    /// The encoder's output for a batch of images.
    func encode(_ images: [RGBImage]) throws -> ONNXTensor {
        let pixels = try recognizer.preprocessor.pixelValues(images)
        return try encoder.run(["pixel_values": ONNXTensor(pixels)])["last_hidden_state"]!
    }

    /// Empty pasts (length 0) for the first step.
    func emptyPasts(batch: Int) -> [String: ONNXTensor] {
        var pasts: [String: ONNXTensor] = [:]
        for i in 0 ..< layers {
            for kind in ["decoder", "encoder"] {
                for part in ["key", "value"] {
                    pasts["past_key_values.\(i).\(kind).\(part)"] = ONNXTensor(floats: [], shape: [batch, heads, 0, headDim])
                }
            }
        }
        return pasts
    }

    /// Logits of a decoder call: `ids` [B, L], the pasts, whether they hold the cross-attention cache.
    func step(ids: [[Int]], encoded: ONNXTensor, pasts: [String: ONNXTensor], cached: Bool) throws -> [String: ONNXTensor] {
        var inputs = pasts
        inputs["input_ids"] = ONNXTensor(int64s: ids.flatMap { $0.map(Int64.init) }, shape: [ids.count, ids[0].count])
        inputs["encoder_hidden_states"] = encoded
        inputs["use_cache_branch"] = ONNXTensor(bool: cached)
        return try decoder.run(inputs)
    }

    /// Greedy token ids per image (EOS included when generated).
    func generate(_ images: [RGBImage]) throws -> [[Int]] {
        let options = recognizer.options
        let maxNew = min(options.maxNewTokens, recognizer.maxNewTokensLimit ?? Int.max)
        let eos = Set(options.eosTokenIDs)
        let pad = options.padTokenID ?? options.eosTokenIDs.first ?? 0
        let encoded = try encode(images)
        var pasts = emptyPasts(batch: images.count)
        var current = images.map { _ in [recognizer.decoderStartTokenID] }
        var out = images.map { _ in [Int]() }
        var done = images.map { _ in false }
        for s in 0 ..< maxNew {
            let result = try step(ids: current, encoded: encoded, pasts: pasts, cached: s > 0)
            let logits = result["logits"]!
            let vocab = logits.shape[2]
            let values = logits.floats
            for row in images.indices {
                let slice = values[row * vocab ..< (row + 1) * vocab]
                let best = slice.indices.max { slice[$0] < slice[$1] }! - row * vocab
                if done[row] {
                    current[row] = [pad]
                    continue
                }
                out[row].append(best)
                if eos.contains(best) { done[row] = true }
                current[row] = [best]
            }
            if done.allSatisfy({ $0 }) { break }
            for (name, tensor) in result where name.hasPrefix("present.") {
                pasts["past_key_values." + name.dropFirst("present.".count)] = tensor
            }
        }
        return out
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
            let ours = try withEngineErrors {
                recognizer.model(try recognizer.preprocessor.pixelValues([image]), decoderInputs: MLXArray(sequence.map(Int32.init), [1, sequence.count]))
            }
            let theirs = try step(ids: [sequence], encoded: try encode([image]), pasts: emptyPasts(batch: 1), cached: false)["logits"]!.array
            largest = max(largest, Double(abs(ours - theirs).max().item(Float.self)))
        }
        return (largest, "logits")
    }
}
