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
        let onnx = folder.appendingPathComponent("onnx")
        try FileManager.default.createDirectory(at: onnx, withIntermediateDirectories: true)
        var written: [ExportVariant] = []
        for variant in variants {
            let (storage, quantization) = try ONNXVariants.numerics(of: variant, family: "vision encoder–decoders")
            let encoder = "onnx/encoder_model\(ONNXVariants.suffix(variant)).onnx"
            let decoder = "onnx/decoder_model_merged\(ONNXVariants.suffix(variant)).onnx"
            let biases = (loaded.encoder as? BEiTEncoder)?.attentionBiases() ?? []
            try VisionEncoderDecoderONNXGraph.encoder(parameters, config: loaded.config, storage: storage, quantization: quantization, biases: biases)
                .write(to: folder.appendingPathComponent(encoder))
            try VisionEncoderDecoderONNXGraph.decoder(parameters, config: loaded.config, storage: storage, quantization: quantization)
                .write(to: folder.appendingPathComponent(decoder))
            written.append(ExportVariant(name: variant, files: [encoder, decoder]))
        }
        var shared: [String] = []
        for name in companions where FileManager.default.fileExists(atPath: model.appendingPathComponent(name).path) {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            shared.append(name)
        }
        return ExportManifest(format: format, family: self.name, variants: written, shared: shared)
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        try VisionEncoderDecoderONNXReader(
            encoder: folder.appendingPathComponent("onnx/encoder_model\(ONNXVariants.suffix(variant)).onnx").path,
            decoder: folder.appendingPathComponent("onnx/decoder_model_merged\(ONNXVariants.suffix(variant)).onnx").path, model: model)
    }
}
