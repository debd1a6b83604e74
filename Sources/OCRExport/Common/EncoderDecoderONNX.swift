// What the encoder–decoder ONNX exports share (TrOCR, latex-ocr-junia), in optimum's merged-decoder
// layout: the decoder's inputs and outputs, the cross-attention cache behind an `If` on
// `use_cache_branch`, positions from the past length and the causal mask; and, for `--check`,
// greedy decoding through onnxruntime with `present.*` fed back as `past_key_values.*`.
//
// Reference: optimum exporters/onnx (input/output names, merged decoder); transformers.js's
// seq2seq generation (empty pasts on the first step).

import Foundation
import MLXEngine
import OCRModels
import ONNXProto

// MARK: - Graph

enum EncoderDecoderONNX {
    /// A variant's two graph files, relative to the export folder.
    static func files(variant: String) -> (encoder: String, decoder: String) {
        let suffix = ONNXVariants.suffix(variant)
        return ("onnx/encoder_model\(suffix).onnx", "onnx/decoder_model_merged\(suffix).onnx")
    }

    /// Writes each variant's encoder and merged decoder (`graphs` builds them for its numerics)
    /// under onnx/, then copies the `companions` the model folder has: the export's manifest.
    static func write(
        variants: [String], family: String, companions: [String], of model: URL, to folder: URL,
        graphs: (ONNXWeightStorage, ONNXLinearQuantization) throws -> (encoder: Onnx_ModelProto, decoder: Onnx_ModelProto)
    ) throws -> ExportManifest {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("onnx"), withIntermediateDirectories: true)
        var written: [ExportVariant] = []
        for variant in variants {
            let (storage, quantization) = try ONNXVariants.numerics(of: variant, family: family)
            let (encoder, decoder) = files(variant: variant)
            let built = try graphs(storage, quantization)
            try built.encoder.write(to: folder.appendingPathComponent(encoder))
            try built.decoder.write(to: folder.appendingPathComponent(decoder))
            written.append(ExportVariant(name: variant, files: [encoder, decoder]))
        }
        var shared: [String] = []
        for name in companions where FileManager.default.fileExists(atPath: model.appendingPathComponent(name).path) {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            shared.append(name)
        }
        return ExportManifest(format: .onnx, family: family, variants: written, shared: shared)
    }

    /// `input_ids`, `encoder_hidden_states` [batch, encoder length, hidden], the pasts and `use_cache_branch`.
    static func declareDecoderInputs(_ g: ONNXGraphBuilder, layers: Int, heads: Int, headDim: Int, hidden: Int) {
        g.input("input_ids", .int64, [.named("batch_size"), .named("decoder_sequence_length")])
        g.input("encoder_hidden_states", .float, [.named("batch_size"), .named("encoder_sequence_length"), .fixed(hidden)])
        for i in 0 ..< layers {
            for kind in ["decoder", "encoder"] {
                let length = kind == "decoder" ? "past_decoder_sequence_length" : "encoder_sequence_length_out"
                for part in ["key", "value"] {
                    g.input("past_key_values.\(i).\(kind).\(part)", .float, [.named("batch_size"), .fixed(heads), .named(length), .fixed(headDim)])
                }
            }
        }
        g.input("use_cache_branch", .bool, [.fixed(1)])
    }

    /// Each layer's cross-attention keys and values (2 per layer): the past ones, or `project(i)`
    /// of the encoder states on the first step.
    static func crossAttentionCache(_ g: ONNXGraphBuilder, layers: Int, project: (Int) throws -> [String]) throws -> [String] {
        let cached = g.branch("use_cache") {
            (0 ..< layers).flatMap { i in ["past_key_values.\(i).encoder.key", "past_key_values.\(i).encoder.value"] }
        }
        var projectionError: Error?
        let fresh = g.branch("first_step") {
            do { return try (0 ..< layers).flatMap(project) } catch {
                projectionError = error
                return []
            }
        }
        if let projectionError { throw projectionError }
        return g.nodes(
            "If", ["use_cache_branch"], name: "cross_attention_cache",
            attributes: [.graph("then_branch", cached), .graph("else_branch", fresh)], outputs: 2 * layers)
    }

    /// The new tokens' positions past … past + L − 1 and the additive causal mask [L, past + L].
    static func positionsAndCausalMask(_ g: ONNXGraphBuilder) -> (positions: String, mask: String) {
        let past = g.node("Gather", [g.node("Shape", ["past_key_values.0.decoder.key"], name: "decoder/PastShape"), g.int64s([2], scalar: true)], name: "decoder/PastLength", attributes: [.int("axis", 0)])
        let length = g.node("Gather", [g.node("Shape", ["input_ids"], name: "decoder/InputShape"), g.int64s([1], scalar: true)], name: "decoder/Length", attributes: [.int("axis", 0)])
        let end = g.node("Add", [past, length], name: "decoder/End")
        let queryPositions = g.node("Range", [past, end, g.int64s([1], scalar: true)], name: "decoder/QueryPositions")
        let keyPositions = g.node("Range", [g.int64s([0], scalar: true), end, g.int64s([1], scalar: true)], name: "decoder/KeyPositions")
        let future = g.node(
            "Less", [g.node("Unsqueeze", [queryPositions, g.int64s([1])], name: "decoder/QueryColumn"), g.node("Unsqueeze", [keyPositions, g.int64s([0])], name: "decoder/KeyRow")],
            name: "decoder/Future")
        return (queryPositions, g.node("Where", [future, g.scalar(-1e9), g.scalar(0)], name: "decoder/CausalMask"))
    }

    /// `logits` [batch, length, vocab] and the `present.*` tensors (tensor, output name).
    static func declareDecoderOutputs(_ g: ONNXGraphBuilder, logits: String, vocab: Int, presents: [(String, String)], heads: Int, headDim: Int) {
        g.output(logits, as: "logits", .float, [.named("batch_size"), .named("decoder_sequence_length"), .fixed(vocab)])
        for (tensor, name) in presents {
            let length = name.contains(".decoder.") ? "past_decoder_sequence_length + 1" : "encoder_sequence_length_out"
            g.output(tensor, as: name, .float, [.named("batch_size"), .fixed(heads), .named(length), .fixed(headDim)])
        }
    }
}

// MARK: - Running

/// An exported encoder and merged decoder in onnxruntime.
final class EncoderDecoderONNXSession {
    let encoder: ONNXRuntimeSession
    let decoder: ONNXRuntimeSession
    let layers: Int, heads: Int, headDim: Int
    var name: String { "onnxruntime:\(URL(fileURLWithPath: decoder.path).lastPathComponent)" }
    static var runtime: String { "onnxruntime \(ONNXRuntimeSession.version ?? "?")" }

    init(encoder: String, decoder: String, layers: Int, heads: Int, headDim: Int, threads: Int = 0) throws {
        self.encoder = try ONNXRuntimeSession(path: encoder, threads: threads)
        self.decoder = try ONNXRuntimeSession(path: decoder, threads: threads)
        (self.layers, self.heads, self.headDim) = (layers, heads, headDim)
    }

    func encode(_ pixels: MLXArray) throws -> ONNXTensor {
        try encoder.run(["pixel_values": ONNXTensor(pixels)])["last_hidden_state"]!
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

    /// The outputs of a decoder call: `ids` [B, L], the pasts, whether they hold the cross-attention cache.
    func step(ids: [[Int]], encoded: ONNXTensor, pasts: [String: ONNXTensor], cached: Bool) throws -> [String: ONNXTensor] {
        var inputs = pasts
        inputs["input_ids"] = ONNXTensor(int64s: ids.flatMap { $0.map(Int64.init) }, shape: [ids.count, ids[0].count])
        inputs["encoder_hidden_states"] = encoded
        inputs["use_cache_branch"] = ONNXTensor(bool: cached)
        return try decoder.run(inputs)
    }

    /// Greedy token ids per row of `pixels` (EOS included when generated), `suppressed` ids never chosen.
    func greedy(pixels: MLXArray, start: Int, eos: Set<Int>, pad: Int, maxNewTokens: Int, suppressed: Set<Int> = []) throws -> [[Int]] {
        let batch = pixels.dim(0)
        let encoded = try encode(pixels)
        var pasts = emptyPasts(batch: batch)
        var current = (0 ..< batch).map { _ in [start] }
        var out = (0 ..< batch).map { _ in [Int]() }
        var done = [Bool](repeating: false, count: batch)
        for s in 0 ..< maxNewTokens {
            let result = try step(ids: current, encoded: encoded, pasts: pasts, cached: s > 0)
            let logits = result["logits"]!
            let vocab = logits.shape[2]
            let values = logits.floats
            for row in 0 ..< batch {
                if done[row] {
                    current[row] = [pad]
                    continue
                }
                let base = row * vocab
                var best = -1
                for j in 0 ..< vocab where !suppressed.contains(j) && (best < 0 || values[base + j] > values[base + best]) { best = j }
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

    /// Teacher-forced logits of `sequence` (one image) from the first step.
    func logits(pixels: MLXArray, sequence: [Int]) throws -> MLXArray {
        try step(ids: [sequence], encoded: try encode(pixels), pasts: emptyPasts(batch: 1), cached: false)["logits"]!.array
    }
}
