// Vision encoder–decoders (TrOCR) export to ONNX in the layout transformers.js and optimum read:
// onnx/encoder_model{suffix}.onnx and onnx/decoder_model_merged{suffix}.onnx, with the config,
// generation config, tokenizer and preprocessor files beside them, in the variants of
// ONNXVariants. `hf`: the merged VisionEncoderDecoderModel folder; `peft`: a run's adapter.

import Foundation
import OCRModels

extension VisionEncoderDecoderFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.onnx, .hf, .peft]

    /// The files of the model folder that travel with the graphs.
    static let companions = [
        "config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    ]

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        let loaded = try VisionEncoderDecoder.load(from: model)
        if format == .hf {
            // Our keys are VisionEncoderDecoderModel's own.
            return try HuggingFaceExport.write(weights: loaded.parameterDictionary(), companionsOf: model, to: folder, format: format, family: name)
        }
        let parameters = loaded.parameterDictionary()
        let biases = (loaded.encoder as? BEiTEncoder)?.attentionBiases() ?? []
        return try EncoderDecoderONNX.write(variants: variants, family: name, companions: companions, of: model, to: folder) {
            (try VisionEncoderDecoderONNXGraph.encoder(parameters, config: loaded.config, storage: $0, quantization: $1, biases: biases),
             try VisionEncoderDecoderONNXGraph.decoder(parameters, config: loaded.config, storage: $0, quantization: $1))
        }
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        let files = EncoderDecoderONNX.files(variant: variant)
        return try VisionEncoderDecoderONNXReader(
            encoder: folder.appendingPathComponent(files.encoder).path, decoder: folder.appendingPathComponent(files.decoder).path, model: model)
    }
}
