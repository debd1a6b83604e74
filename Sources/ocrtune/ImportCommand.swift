// `ocrtune import`: turn a pretrained model from another format into a model folder.

import ArgumentParser
import Foundation
import MLXEngine
import OCRModels

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a pretrained model into a model folder (config.json, model.safetensors, dictionary).",
        subcommands: [ImportPPOCRCommand.self])
}

/// `ocrtune import ppocr --onnx FILE [--dict FILE] --out DIR`.
struct ImportPPOCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppocr",
        abstract: "Import a PaddleOCR PP-OCRv4 / v5 / v6 text recognizer, or the PP-OCRv6 DB text detector, from its ONNX export.",
        discussion: """
            Reads the graph's weights (Constant nodes), checks them against the PPLCNetV3 +
            SVTR + CTC layout, and writes a model folder with Hugging Face parameter names:
              config.json          model_type, backbone_config, hidden_size, ... (snake_case)
              model.safetensors    model.backbone.encoder.*, head.encoder.*, head.head.*
              dictionary.txt       the label of each class after the blank, one per line
            The folder is written atomically (a temporary folder, then a rename).

            Examples:
              ocrtune import ppocr --onnx rec.onnx --dict ppocrv5_dict.txt --out models/ppocrv5
              ocrtune import ppocr --onnx ch_PP-OCRv4_rec_infer.onnx --out models/ppocrv4
              ocrtune import ppocr --onnx PP-OCRv6_rec_small.onnx --out models/ppocrv6
              ocrtune import ppocr --onnx PP-OCRv6_det_small.onnx --out models/ppocrv6-det
                (those exports embed their dictionary in the model metadata)
            """)

    @Option(help: "The recognizer's ONNX file.")
    var onnx: String

    @Option(help: "PaddleOCR dictionary (one character per line); default: the one embedded in the ONNX metadata.")
    var dict: String?

    @Option(help: "Output model folder.")
    var out: String

    @Option(help: "model_type to record (default: from the class count; pp_ocrv5_mobile_rec or pp_ocrv4_mobile_rec).")
    var modelType: String?

    @Flag(help: "Replace an existing output folder.")
    var overwrite = false

    @OptionGroup var engine: EngineOptions

    func run() throws {
        let logger = try engine.apply(label: "import")
        let started = Date()
        if try PPOCRDetONNXImporter.isDetector(onnxPath: onnx) { return try importDetector(started: started) }
        let imported: any PPOCRImportedModel
        do {
            imported = try PPOCRONNXImporter.importModel(onnxPath: onnx, dictionaryPath: dict, modelType: modelType)
            try imported.write(
                to: URL(fileURLWithPath: out), overwrite: overwrite,
                metadata: ["source": URL(fileURLWithPath: onnx).lastPathComponent])
        } catch let error as ONNXImportError {
            throw CLIError("import ppocr: \(onnx): \(error)")
        } catch let error as ModelFolderError {
            throw CLIError("import ppocr: \(error)")
        }
        let parameters = imported.weights.values.reduce(0) { $0 + $1.size }
        logger.debug("imported in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        Terminal.line("wrote \(out)")
        for line in imported.summary { Terminal.line("  \(line)") }
        Terminal.line("  parameters   \(parameters) in \(imported.weights.count) tensors")
    }

    /// A DB text detector's ONNX: config.json and model.safetensors (no dictionary).
    private func importDetector(started: Date) throws {
        let imported: PPOCRV6DetImport
        do {
            imported = try PPOCRDetONNXImporter.load(onnxPath: onnx)
            try imported.write(
                to: URL(fileURLWithPath: out), overwrite: overwrite, metadata: ["source": URL(fileURLWithPath: onnx).lastPathComponent])
        } catch let error as ONNXImportError {
            throw CLIError("import ppocr: \(onnx): \(error)")
        } catch let error as ModelFolderError {
            throw CLIError("import ppocr: \(error)")
        }
        Terminal.line("wrote \(out)")
        for line in imported.summary { Terminal.line("  \(line)") }
        Terminal.line("  parameters   \(imported.weights.values.reduce(0) { $0 + $1.size }) in \(imported.weights.count) tensors")
    }
}
