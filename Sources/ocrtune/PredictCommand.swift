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

            Encoder–decoders (model_type vision-encoder-decoder: TrOCR and alike) generate with
            --max-new-tokens, --min-new-tokens, --num-beams, --length-penalty and
            --no-repeat-ngram-size (defaults from generation_config.json, 256 new tokens);
            --chunk reads wide images in overlapping windows of the model's aspect and merges
            the texts. --output-ids prints one JSON line per image, {"text", "token_ids"}: the
            generated tokens after the decoder start token (EOS included when generated); for
            CTC models the token ids are the dictionary class ids of the emitted characters.

            Vision–language models (qwen2_5_vl, qwen3_vl) read each image with a prompt: --prompt
            TEXT, or --task ocr|latex|fields (fields: --fields a,b,c; the answer's JSON object is
            parsed and printed, with missing/extra keys under --json). They generate greedily, with
            --num-beams, or by sampling (--sample with --temperature, --top-k, --top-p, --seed),
            stopping on EOS / <|im_end|> or a repetition loop; --output-ids prints the newly
            generated token ids (the stop token included when generated). They generate
            --batch-size images at a time (prompts left-padded; greedy and beam outputs equal
            one-at-a-time generation, sampled ones depend on the batch).

            Examples:
              ocrtune predict --model models/ppocrv5 line1.png line2.png
              ocrtune predict --model models/ppocrv5 --beam-width 10 --whitelist "0123456789.-" amount.png
              ocrtune predict --model runs/demo-persian/model --json scans/*.png
              ocrtune predict --model models/trocr-base-handwritten --num-beams 4 --max-new-tokens 128 --output-ids formula.png
              ocrtune predict --model models/Qwen3-VL-4B-Instruct --task latex formula.png
              ocrtune predict --model models/Qwen2.5-VL-3B-Instruct --task fields --fields date,total receipt.png
            """)

    @Option(help: "Model folder (config.json, model.safetensors, dictionary.txt).")
    var model: String

    @Argument(help: "Images, each holding one line of text.")
    var images: [String]

    @Option(help: "Lines per forward pass (vision–language models: images generated together).")
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

    @Flag(help: "Trace the network with compile, fusing the engine's element-wise ops. PP-OCR's own fused kernels already cover most of them, so it gains little there (within the noise of bench/ppocr.py); the first run on a machine builds MLX's CPU kernels (~40 s, cached in $TMPDIR/mlx).")
    var compile = false

    @Flag(help: "Print JSON lines {\"text\", \"token_ids\"} (generated token ids; CTC: class ids).")
    var outputIds = false

    @Option(help: "Encoder–decoders: most tokens generated per image.")
    var maxNewTokens = 256

    @Option(help: "Encoder–decoders: fewest tokens generated before EOS is allowed.")
    var minNewTokens = 0

    @Option(help: "Encoder–decoders: beam search with this many beams (default: generation_config.json, else greedy).")
    var numBeams: Int?

    @Option(help: "Encoder–decoders: beam scores are divided by length^penalty.")
    var lengthPenalty: Double?

    @Option(help: "Encoder–decoders: no n-gram of this size is generated twice (0: off).")
    var noRepeatNgramSize: Int?

    @Flag(help: "Encoder–decoders: read wide images in overlapping windows of the model's aspect and merge the texts.")
    var chunk = false

    @Option(help: "With --chunk: window aspect W:H (default: the model input's; TrOCR reads best near 3:2).")
    var chunkAspect: String?

    @Option(help: "Vision–language models: the user prompt (default: the task's).")
    var prompt: String?

    @Option(help: "Vision–language models: ocr, latex or fields (the prompt of that task).")
    var task: String?

    @Option(help: "With --task fields: the field names, comma-separated.")
    var fields: String?

    @Flag(help: "Vision–language models: sample instead of greedy decoding.")
    var sample = false

    @Option(help: "With --sample: logits are divided by this.")
    var temperature: Double = 1

    @Option(help: "With --sample: keep the k most likely tokens (0: all).")
    var topK = 0

    @Option(help: "With --sample: keep the most likely tokens up to this probability mass.")
    var topP: Double = 1

    @Option(help: "With --sample: seed of the sampling.")
    var seed: UInt64 = 0

    @Option(help: "Whole pages: a text detector folder (ocrtune import ppocr of a DB detector); prints each page's lines in reading order with their boxes.")
    var detector: String?

    @Flag(help: "With --detector: also read each line turned 180° and keep the more confident reading.")
    var rotate = false

    @Option(help: "With --detector: write each page with its lines' boxes drawn as PNG into this folder.")
    var annotate: String?

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if let beamWidth, beamWidth < 1 { throw ValidationError("--beam-width must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1") }
        if minNewTokens < 0 || minNewTokens > maxNewTokens { throw ValidationError("--min-new-tokens must be in 0...--max-new-tokens") }
        if let numBeams, numBeams < 1 { throw ValidationError("--num-beams must be at least 1") }
        if let noRepeatNgramSize, noRepeatNgramSize < 0 { throw ValidationError("--no-repeat-ngram-size must be at least 0") }
        if chunkAspect != nil && !chunk { throw ValidationError("--chunk-aspect needs --chunk") }
        if let chunkAspect, Self.aspect(chunkAspect) == nil { throw ValidationError("--chunk-aspect \(chunkAspect): expected W:H, e.g. 3:2") }
        try validateVisionLanguage()
    }

    /// "3:2" → 1.5.
    static func aspect(_ text: String) -> Double? {
        let parts = text.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        return parts[0] / parts[1]
    }

    func run() throws {
        _ = try engine.apply(label: "predict")
        let folder = URL(fileURLWithPath: model)
        let type = try? ModelFolder.modelType(at: folder)
        if type == VisionEncoderDecoderConfig.modelType {
            return try runEncoderDecoder(folder)
        }
        if let type, QwenVLVersion(rawValue: type) != nil {
            return try runVisionLanguage(folder)
        }
        if usesVisionLanguageOptions { throw CLIError("predict: --prompt, --task, --fields and --sample are for vision–language models") }
        if chunk { throw CLIError("predict: --chunk is for encoder–decoder models (CTC models read lines of any width)") }
        if let type, !PPOCRTextRecognizer.modelTypes.contains(type) {
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
        if let detector { return try runPages(recognizer: recognizer, options: options, detector: detector, pages: loaded) }
        let results = try recognizer.recognize(loaded, options: options)
        for (path, result) in zip(images, results) {
            if outputIds {
                try printJSON(["text": result.text, "token_ids": result.classes])
            } else if json {
                try printJSON(["image": path, "text": result.text, "confidence": Double(result.confidence)])
            } else {
                Terminal.line("\(path)\t\(result.text)")
            }
        }
        if let dumpLogits { try dump(recognizer, loaded, to: dumpLogits) }
    }

    // MARK: Encoder–decoders

    private func runEncoderDecoder(_ folder: URL) throws {
        if beamWidth != nil || whitelist != nil || whitelistFile != nil || dumpLogits != nil {
            throw CLIError("predict: --beam-width, --whitelist, --whitelist-file and --dump-logits are for CTC models (use --num-beams)")
        }
        let recognizer: VisionEncoderDecoderRecognizer
        do {
            recognizer = try VisionEncoderDecoderRecognizer(folder: folder, batchSize: batchSize)
        } catch {
            throw CLIError("predict: cannot load \(model): \(error)")
        }
        recognizer.options.maxNewTokens = maxNewTokens
        recognizer.options.minNewTokens = minNewTokens
        if let numBeams { recognizer.options.numBeams = numBeams }
        if let lengthPenalty { recognizer.options.lengthPenalty = lengthPenalty }
        if let noRepeatNgramSize { recognizer.options.noRepeatNgramSize = noRepeatNgramSize }
        if chunk { recognizer.chunking = ChunkingOptions(aspect: chunkAspect.flatMap(Self.aspect)) }
        var loaded: [RGBImage] = []
        for path in images {
            do { loaded.append(try loadImage(path: path)) } catch { throw CLIError("predict: cannot read \(path): \(error)") }
        }
        let results = try recognizer.recognizeDetailed(loaded)
        for (path, result) in zip(images, results) {
            if outputIds {
                try printJSON(["text": result.text, "token_ids": result.tokenIDs])
            } else if json {
                try printJSON(["image": path, "text": result.text])
            } else {
                Terminal.line("\(path)\t\(result.text)")
            }
        }
    }

    // MARK: Other families

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
                try printJSON(["image": path, "text": text])
            } else {
                Terminal.line("\(path)\t\(text)")
            }
        }
    }

    func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        Terminal.line(String(decoding: data, as: UTF8.self))
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
