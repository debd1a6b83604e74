// latex-ocr-junia exports to ONNX in the encoder–decoder layout optimum writes (the one TrOCR's
// export uses): onnx/encoder_model{suffix}.onnx and onnx/decoder_model_merged{suffix}.onnx, with
// the config, character tokenizer, preprocessor and generation files beside them; variants fp32,
// fp16, int8, uint8 and q4 as for TrOCR. `--check` reads a split through onnxruntime with the
// package's greedy decoding (pad and BOS suppressed, at most max_length tokens).

import Foundation
import MLXEngine
import OCRImaging
import OCRModels

extension LatexJuniaFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.onnx]

    static let companions = [
        ModelFolder.configFile, LatexJuniaTokenizer.fileName, LatexJuniaTextRecognizer.preprocessorFile,
        LatexJuniaTextRecognizer.generationFile,
    ]

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        guard format == .onnx else { throw ExportError("--format \(format.rawValue): not for \(name) (it exports --format onnx, and ocrtune)") }
        let loaded = try LatexJuniaTextRecognizer.loadModel(folder: model)
        let parameters = LatexJuniaONNXGraph.parameters(loaded)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("onnx"), withIntermediateDirectories: true)
        var written: [ExportVariant] = []
        for variant in variants {
            let (storage, quantization) = try ONNXVariants.numerics(of: variant, family: name)
            let suffix = ONNXVariants.suffix(variant)
            let encoder = "onnx/encoder_model\(suffix).onnx"
            let decoder = "onnx/decoder_model_merged\(suffix).onnx"
            try LatexJuniaONNXGraph.encoder(parameters, config: loaded.config, storage: storage, quantization: quantization)
                .write(to: folder.appendingPathComponent(encoder))
            try LatexJuniaONNXGraph.decoder(parameters, config: loaded.config, storage: storage, quantization: quantization)
                .write(to: folder.appendingPathComponent(decoder))
            written.append(ExportVariant(name: variant, files: [encoder, decoder]))
        }
        var shared: [String] = []
        for file in companions where FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path) {
            try FileManager.default.copyItem(at: model.appendingPathComponent(file), to: folder.appendingPathComponent(file))
            shared.append(file)
        }
        return ExportManifest(format: format, family: name, variants: written, shared: shared)
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        let suffix = ONNXVariants.suffix(variant)
        return try LatexJuniaONNXReader(
            encoder: folder.appendingPathComponent("onnx/encoder_model\(suffix).onnx").path,
            decoder: folder.appendingPathComponent("onnx/decoder_model_merged\(suffix).onnx").path, model: model)
    }
}

// MARK: - Reading through onnxruntime

/// The export read as the package reads: the encoder once per batch, then greedy decoding with
/// the merged decoder (`present.*` fed back), pad and BOS suppressed on the logits.
final class LatexJuniaONNXReader: ExportRuntimeReader {
    let encoder: ONNXRuntimeSession
    let decoder: ONNXRuntimeSession
    let recognizer: LatexJuniaTextRecognizer
    let runtime: String
    var name: String { "onnxruntime:\(URL(fileURLWithPath: decoder.path).lastPathComponent)" }
    var preferredBatchSize: Int { recognizer.batchSize }
    var config: LatexJuniaConfig { recognizer.model.config }

    init(encoder: String, decoder: String, model: URL, threads: Int = 0) throws {
        self.encoder = try ONNXRuntimeSession(path: encoder, threads: threads)
        self.decoder = try ONNXRuntimeSession(path: decoder, threads: threads)
        recognizer = try LatexJuniaTextRecognizer(folder: model)
        runtime = "onnxruntime \(ONNXRuntimeSession.version ?? "?")"
    }

    /// The preprocessed batch [B, H, W] as the graph's `pixel_values` [B, 1, H, W].
    func pixels(_ images: [RGBImage]) -> MLXArray {
        let batch = recognizer.preprocessor.batch(images)
        return batch.reshaped(batch.dim(0), 1, batch.dim(1), batch.dim(2))
    }

    func encode(_ images: [RGBImage]) throws -> ONNXTensor {
        try encoder.run(["pixel_values": ONNXTensor(pixels(images))])["last_hidden_state"]!
    }

    func emptyPasts(batch: Int) -> [String: ONNXTensor] {
        let (heads, headDim) = (config.numHeads, config.dModel / config.numHeads)
        var pasts: [String: ONNXTensor] = [:]
        for i in 0 ..< config.numDecoderLayers {
            for kind in ["decoder", "encoder"] {
                for part in ["key", "value"] {
                    pasts["past_key_values.\(i).\(kind).\(part)"] = ONNXTensor(floats: [], shape: [batch, heads, 0, headDim])
                }
            }
        }
        return pasts
    }

    func step(ids: [[Int]], encoded: ONNXTensor, pasts: [String: ONNXTensor], cached: Bool) throws -> [String: ONNXTensor] {
        var inputs = pasts
        inputs["input_ids"] = ONNXTensor(int64s: ids.flatMap { $0.map(Int64.init) }, shape: [ids.count, ids[0].count])
        inputs["encoder_hidden_states"] = encoded
        inputs["use_cache_branch"] = ONNXTensor(bool: cached)
        return try decoder.run(inputs)
    }

    /// Greedy ids per image after the BOS (the EOS included when generated).
    func generate(_ images: [RGBImage]) throws -> [[Int]] {
        let options = recognizer.decoding.generationOptions(config: config)
        let suppressed = Set(options.suppressTokenIDs)
        let eos = Set(options.eosTokenIDs)
        let encoded = try encode(images)
        var pasts = emptyPasts(batch: images.count)
        var current = images.map { _ in [config.bosTokenID] }
        var out = images.map { _ in [Int]() }
        var done = images.map { _ in false }
        for s in 0 ..< options.maxNewTokens {
            let result = try step(ids: current, encoded: encoded, pasts: pasts, cached: s > 0)
            let logits = result["logits"]!
            let vocab = logits.shape[2]
            let values = logits.floats
            for row in images.indices {
                if done[row] {
                    current[row] = [config.padTokenID]
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

    func read(_ images: [RGBImage]) throws -> [Reading] {
        guard !images.isEmpty else { return [] }
        return try generate(images).map { Reading(text: recognizer.tokenizer.decode($0), tokenIDs: $0) }
    }

    func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] { try read(images).map(\.text) }

    /// Teacher-forced logits of ocrtune's own greedy tokens, image by image.
    func largestDifference(on images: [RGBImage], reference: any ModelReader) throws -> (value: Double, of: String) {
        var largest = 0.0
        for image in images {
            let ids = try recognizer.generate([image])[0]
            let sequence = [config.bosTokenID] + ids.dropLast()
            let ours = try withEngineErrors {
                recognizer.model(recognizer.preprocessor.batch([image]), decoderInputIds: MLXArray(sequence.map(Int32.init), [1, sequence.count]))
            }
            let theirs = try step(ids: [sequence], encoded: try encode([image]), pasts: emptyPasts(batch: 1), cached: false)["logits"]!.array
            largest = max(largest, Double(abs(ours - theirs).max().item(Float.self)))
        }
        return (largest, "logits")
    }
}
