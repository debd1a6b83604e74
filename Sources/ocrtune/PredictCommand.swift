// `ocrtune predict`: the text of each image (one text line per image) with a model folder.

import ArgumentParser
import Foundation
import MLXEngine
import OCRImaging
import OCRModels

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Print the text of each image (a single text line per image) with a model folder.",
        discussion: """
            One line per image: "<image>\\t<text>" (or JSON lines with --json, including the
            confidence: PaddleOCR's mean probability of the emitted steps for greedy decoding,
            the sequence probability for beam search). Images are batched by aspect ratio as
            PaddleOCR does.

            Examples:
              ocrtune predict --model models/ppocrv5 line1.png line2.png
              ocrtune predict --model models/ppocrv5 --beam-width 10 --whitelist "0123456789.-" amount.png
              ocrtune predict --model runs/demo-persian/model --json scans/*.png
            """)

    @Option(help: "Model folder (config.json, model.safetensors, dictionary.txt).")
    var model: String

    @Argument(help: "Images, each holding one line of text.")
    var images: [String]

    @Option(help: "Lines per forward pass.")
    var batchSize = 8

    @Option(help: "Beam search with this many beams (default: greedy decoding).")
    var beamWidth: Int?

    @Option(help: "Only these characters may be output (the string's characters).")
    var whitelist: String?

    @Option(help: "Only the characters of this UTF-8 file may be output (newlines ignored).")
    var whitelistFile: String?

    @Flag(help: "Print JSON lines {\"image\", \"text\", \"confidence\"}.")
    var json = false

    @Option(help: ArgumentHelp("Also write each image's class probabilities [T, classes] to this safetensors file.", visibility: .hidden))
    var dumpLogits: String?

    @Flag(help: "Fuse kernels with compile: ~20% faster on many lines; the first run on a machine builds MLX's CPU kernels (~40 s, cached in $TMPDIR/mlx).")
    var compile = false

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if let beamWidth, beamWidth < 1 { throw ValidationError("--beam-width must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        _ = try engine.apply(label: "predict")
        let folder = URL(fileURLWithPath: model)
        if let type = try? ModelFolder.modelType(at: folder), !PPOCRTextRecognizer.modelTypes.contains(type) {
            return try runGeneric(folder)
        }
        let recognizer: PPOCRTextRecognizer
        do {
            recognizer = try PPOCRTextRecognizer(folder: folder, useCompile: compile)
        } catch {
            throw CLIError("predict: cannot load \(model): \(error)")
        }
        var allowed: Set<String>?
        if let whitelist { allowed = Set(whitelist.map(String.init)) }
        if let whitelistFile {
            guard let text = try? String(contentsOfFile: whitelistFile, encoding: .utf8) else {
                throw CLIError("predict: cannot read --whitelist-file \(whitelistFile)")
            }
            allowed = (allowed ?? []).union(text.filter { $0 != "\n" && $0 != "\r\n" }.map(String.init))
        }
        if let allowed {
            let unknown = allowed.filter { recognizer.dictionary.classIndex(of: $0) == nil }.sorted()
            if !unknown.isEmpty {
                FileHandle.standardError.write(Data("warning: the model cannot output \(unknown.joined(separator: " "))\n".utf8))
            }
        }
        let decoder = beamWidth.map { CTCDecoder.beamSearch(width: $0, whitelist: allowed) }
            ?? CTCDecoder(method: .greedy, whitelist: allowed)

        var loaded: [RGBImage] = []
        for path in images {
            do {
                loaded.append(try loadImage(path: path))
            } catch {
                throw CLIError("predict: cannot read \(path): \(error)")
            }
        }
        let options = RecognitionOptions(batchSize: batchSize, decoder: decoder)
        let results = try recognizer.recognize(loaded, options: options)
        for (path, result) in zip(images, results) {
            if json {
                let object: [String: Any] = ["image": path, "text": result.text, "confidence": Double(result.confidence)]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                Terminal.line(String(decoding: data, as: UTF8.self))
            } else {
                Terminal.line("\(path)\t\(result.text)")
            }
        }
        if let dumpLogits { try dump(recognizer, loaded, to: dumpLogits) }
    }

    /// Any other registered model (encoder–decoders): texts through ``TextRecognizer``;
    /// `--beam-width` sets the beams of latex-ocr-junia (default: its generation_config.json).
    private func runGeneric(_ folder: URL) throws {
        let recognizer = try ModelLoader.recognizer(at: folder.path)
        if whitelist != nil || whitelistFile != nil || dumpLogits != nil {
            throw CLIError("predict: --whitelist and --dump-logits are for CTC recognizers (\(recognizer.name) is not one)")
        }
        if let junia = recognizer as? LatexJuniaTextRecognizer {
            junia.batchSize = batchSize
            if let beamWidth { junia.decoding.numBeams = beamWidth }
        } else if beamWidth != nil {
            throw CLIError("predict: --beam-width is not supported by \(recognizer.name)")
        }
        var loaded: [RGBImage] = []
        for path in images {
            do { loaded.append(try loadImage(path: path)) } catch { throw CLIError("predict: cannot read \(path): \(error)") }
        }
        let texts = try recognizer.recognize(loaded, prompt: nil)
        for (path, text) in zip(images, texts) {
            if json {
                let data = try JSONSerialization.data(withJSONObject: ["image": path, "text": text], options: [.sortedKeys, .withoutEscapingSlashes])
                Terminal.line(String(decoding: data, as: UTF8.self))
            } else {
                Terminal.line("\(path)\t\(text)")
            }
        }
    }

    /// Writes `probabilities.<i>` [T, classes] and `pixels.<i>` [48, W, 3] of each image, run alone.
    private func dump(_ recognizer: PPOCRTextRecognizer, _ images: [RGBImage], to path: String) throws {
        var arrays: [String: MLXArray] = [:]
        for (i, image) in images.enumerated() {
            let pixels = recognizer.preprocessor.batch([image])
            arrays["pixels.\(i)"] = pixels.squeezed(axis: 0)
            arrays["probabilities.\(i)"] = try recognizer.probabilities(pixels).squeezed(axis: 0)
        }
        try saveSafeTensors(arrays, to: path)
    }
}
