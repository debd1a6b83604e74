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
        return try EncoderDecoderONNX.write(variants: variants, family: name, companions: companions, of: model, to: folder) {
            (try LatexJuniaONNXGraph.encoder(parameters, config: loaded.config, storage: $0, quantization: $1),
             try LatexJuniaONNXGraph.decoder(parameters, config: loaded.config, storage: $0, quantization: $1))
        }
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        let files = EncoderDecoderONNX.files(variant: variant)
        return try LatexJuniaONNXReader(
            encoder: folder.appendingPathComponent(files.encoder).path, decoder: folder.appendingPathComponent(files.decoder).path, model: model)
    }
}

// MARK: - Reading through onnxruntime

/// The export read as the package reads: the encoder once per batch, then greedy decoding with
/// the merged decoder, pad and BOS suppressed on the logits.
final class LatexJuniaONNXReader: ExportRuntimeReader {
    let session: EncoderDecoderONNXSession
    let recognizer: LatexJuniaTextRecognizer
    let runtime = EncoderDecoderONNXSession.runtime
    var name: String { session.name }
    var preferredBatchSize: Int { recognizer.batchSize }
    var config: LatexJuniaConfig { recognizer.model.config }

    init(encoder: String, decoder: String, model: URL, threads: Int = 0) throws {
        recognizer = try LatexJuniaTextRecognizer(folder: model)
        let c = recognizer.model.config
        session = try EncoderDecoderONNXSession(
            encoder: encoder, decoder: decoder, layers: c.numDecoderLayers, heads: c.numHeads, headDim: c.dModel / c.numHeads, threads: threads)
    }

    /// The preprocessed batch [B, H, W] as the graph's `pixel_values` [B, 1, H, W].
    func pixels(_ images: [RGBImage]) -> MLXArray {
        let batch = recognizer.preprocessor.batch(images)
        return batch.reshaped(batch.dim(0), 1, batch.dim(1), batch.dim(2))
    }

    /// Greedy ids per image after the BOS (the EOS included when generated).
    func generate(_ images: [RGBImage]) throws -> [[Int]] {
        let options = recognizer.decoding.generationOptions(config: config)
        return try session.greedy(
            pixels: pixels(images), start: config.bosTokenID, eos: Set(options.eosTokenIDs), pad: config.padTokenID,
            maxNewTokens: options.maxNewTokens, suppressed: Set(options.suppressTokenIDs))
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
            let theirs = try session.logits(pixels: pixels([image]), sequence: sequence)
            largest = max(largest, Double(abs(ours - theirs).max().item(Float.self)))
        }
        return (largest, "logits")
    }
}
