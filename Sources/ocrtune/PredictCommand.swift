// `ocrtune predict`: the text of each image with a model folder of any family.

import ArgumentParser
import Foundation
import MLXEngine
import OCRImaging
import OCRModels
import OCRText

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Print the text of each image (one text line per image) with a model folder.",
        discussion: """
            One line per image: "<image>\\t<text>" (or JSON lines with --json: image, text and,
            for CTC models, the confidence — PaddleOCR's mean probability of the emitted steps
            for greedy decoding, the sequence probability for beam search). Images are batched
            by aspect ratio as PaddleOCR does. An unreadable image is reported on standard error;
            the others are still read, and the exit status is 1 at the end.

            CTC recognizers (PP-OCR): --beam-width, --whitelist, --whitelist-file, --compile.
            Encoder–decoders (TrOCR and alike): --max-new-tokens, --min-new-tokens,
            --num-beams, --length-penalty, --no-repeat-ngram-size (defaults from
            generation_config.json, 256 new tokens); --chunk reads wide images in
            overlapping windows of the model's aspect. latex-ocr-junia: --num-beams.
            Vision–language models (Qwen2.5-VL, Qwen3-VL, DeepSeek-OCR and DeepSeek-OCR 2, the
            latter stopping repeated 30-grams within 90 tokens; DeepSeek-OCR v1 also takes --mode
            tiny|small|base|large|gundam): a prompt per image (--prompt TEXT,
            or --task ocr|latex|fields with --fields a,b,c: the answer's JSON object is parsed
            and printed), greedy, beam or sampled generation (--sample with --temperature,
            --top-k, --top-p, --seed), --batch-size images generated together. A model refuses
            options that are not for it, naming them.

            --output-ids prints one JSON line per image, {"text", "token_ids"}: the generated
            tokens (the stop token included when generated), or for CTC models the class ids
            of the emitted characters.

            Examples:
              ocrtune predict --model models/ppocrv5 line1.png line2.png
              ocrtune predict --model models/ppocrv5 --beam-width 10 \\
                              --whitelist "0123456789.-" amount.png
              ocrtune predict --model runs/demo-persian/model --json scans/*.png
              ocrtune predict --model models/trocr-base-handwritten --num-beams 4 \\
                              --max-new-tokens 128 --output-ids formula.png
              ocrtune predict --model models/Qwen3-VL-4B-Instruct --task latex formula.png
              ocrtune predict --model models/Qwen2.5-VL-3B-Instruct --task fields \\
                              --fields date,total receipt.png
            """)

    @Option(help: "Model folder (a training run's model/ folder works too).")
    var model: String

    @Argument(help: "Images, each holding one line of text (PNG, JPEG, WebP, TIFF, GIF, BMP).")
    var images: [String]

    @Option(help: "Images per forward pass (vision–language models: images generated together; default: the model's).")
    var batchSize: Int?

    @Option(help: "CTC models: beam search with this many beams (default: greedy decoding).")
    var beamWidth: Int?

    @Option(help: "CTC models: only these characters may be output (the string's characters).")
    var whitelist: String?

    @Option(help: "CTC models: only the characters of this UTF-8 file may be output (newlines ignored).")
    var whitelistFile: String?

    @Flag(help: "Print JSON lines {\"image\", \"text\", \"confidence\"}.")
    var json = false

    @Option(help: ArgumentHelp("Also write each image's class probabilities [T, classes] to this safetensors file.", visibility: .hidden))
    var dumpLogits: String?

    @Flag(help: "CTC models: trace the network with compile, fusing the engine's element-wise ops (the first run on a machine builds MLX's CPU kernels, cached in $TMPDIR/mlx).")
    var compile = false

    @Flag(help: "Print JSON lines {\"text\", \"token_ids\"} (generated token ids; CTC: class ids).")
    var outputIds = false

    @Option(help: "Generative models: most tokens generated per image (default 256; Qwen-VL 512).")
    var maxNewTokens: Int?

    @Option(help: "Generative models: fewest tokens generated before EOS is allowed.")
    var minNewTokens: Int?

    @Option(help: "Generative models: beam search with this many beams (default: generation_config.json, else greedy).")
    var numBeams: Int?

    @Option(help: "Generative models: beam scores are divided by length^penalty.")
    var lengthPenalty: Double?

    @Option(help: "Generative models: no n-gram of this size is generated twice (0: off).")
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

    @Option(help: "DeepSeek-OCR (v1): tiny, small, base, large or gundam (default: gundam, the model card's for documents).")
    var mode: String?

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
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxNewTokens, maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1") }
        if let minNewTokens, minNewTokens < 0 || minNewTokens > (maxNewTokens ?? Int.max) {
            throw ValidationError("--min-new-tokens must be in 0...--max-new-tokens")
        }
        if let numBeams, numBeams < 1 { throw ValidationError("--num-beams must be at least 1") }
        if let noRepeatNgramSize, noRepeatNgramSize < 0 { throw ValidationError("--no-repeat-ngram-size must be at least 0") }
        if chunkAspect != nil && !chunk { throw ValidationError("--chunk-aspect needs --chunk") }
        if let chunkAspect, Self.aspect(chunkAspect) == nil { throw ValidationError("--chunk-aspect \(chunkAspect): expected W:H, e.g. 3:2") }
        _ = try task(fields: fields)
        if temperature <= 0 { throw ValidationError("--temperature must be positive") }
        if topK < 0 { throw ValidationError("--top-k must be at least 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if sample, let numBeams, numBeams > 1 { throw ValidationError("--sample takes one beam (drop --num-beams)") }
    }

    /// "3:2" → 1.5.
    static func aspect(_ text: String) -> Double? {
        let parts = text.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        return parts[0] / parts[1]
    }

    /// The requested task: --prompt wins over --task's prompt; nil for the model's default.
    func task(fields: String?) throws -> OCRTask? {
        try OCRTask.parse(task: task, fields: fields, prompt: prompt)
    }

    /// The command line's reading options (only those given are set).
    func readingOptions() throws -> ReadingOptions {
        var o = ReadingOptions()
        o.batchSize = batchSize
        o.compile = compile
        o.beamWidth = beamWidth
        if whitelist != nil || whitelistFile != nil {
            var allowed = Set((whitelist ?? "").map(String.init))
            if let whitelistFile {
                guard let text = try? String(contentsOfFile: whitelistFile, encoding: .utf8) else {
                    throw CLIError("--whitelist-file \(whitelistFile): cannot read the file")
                }
                allowed.formUnion(text.filter { !$0.isNewline }.map(String.init))
            }
            o.allowedCharacters = allowed
        }
        o.maxNewTokens = maxNewTokens
        o.minNewTokens = minNewTokens
        o.numBeams = numBeams
        o.lengthPenalty = lengthPenalty
        o.noRepeatNgramSize = noRepeatNgramSize
        if chunk { o.chunking = ChunkingOptions(aspect: chunkAspect.flatMap(Self.aspect)) }
        o.task = try task(fields: fields)
        if sample { o.sampling = SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed) }
        o.mode = mode
        return o
    }

    func run() throws {
        _ = try engine.apply(label: "predict")
        let folder = try ModelPath.modelFolder(model, option: "--model")
        let options = try readingOptions()
        if let detector { return try runPages(folder: folder, options: options, detector: detector) }
        let reader: any ModelReader
        do {
            reader = try ModelFamilies.reader(at: folder, options: options)
        } catch {
            throw CLIError.from(error, doing: "predict")
        }
        if let allowed = options.allowedCharacters {
            let emits = try ModelFamilies.family(ofModelAt: folder).characterCoverage(at: folder)
            let unknown = allowed.filter { $0.count == 1 && !emits($0.first!) }.sorted()
            if !unknown.isEmpty { Terminal.warning("the model cannot output \(unknown.joined(separator: " "))") }
        }

        // Images are read in groups (each group batched by aspect ratio); lines come out in argument order.
        var failures = 0
        var dumped: [String: MLXArray] = [:]
        let group = max(256, 8 * (batchSize ?? reader.preferredBatchSize))
        for start in stride(from: 0, to: images.count, by: group) {
            let paths = Array(images[start ..< min(start + group, images.count)])
            var loaded: [(path: String, image: RGBImage)] = []
            for path in paths {
                do {
                    loaded.append((path, try ImagePath.load(path)))
                } catch {
                    Terminal.warning("\(error)")
                    failures += 1
                }
            }
            guard !loaded.isEmpty else { continue }
            let readings: [Reading]
            do {
                readings = try reader.read(loaded.map(\.image))
            } catch {
                throw CLIError.from(error, doing: "predict")
            }
            for ((path, _), reading) in zip(loaded, readings) { try printReading(reading, path: path, task: options.task) }
            if dumpLogits != nil { try dump(reader, loaded.map(\.image), into: &dumped) }
        }
        if let dumpLogits { try saveSafeTensors(dumped, to: dumpLogits) }
        if failures > 0 {
            Terminal.warning("\(failures) of \(images.count) images could not be read")
            throw ExitCode.failure
        }
    }

    // MARK: Output

    private func printReading(_ reading: Reading, path: String, task: OCRTask?) throws {
        if outputIds {
            try printJSON(["text": reading.text, "token_ids": reading.tokenIDs])
        } else if case let .fields(names)? = task {
            try printFields(path: path, text: reading.text, names: names)
        } else if json {
            var object: [String: Any] = ["image": path, "text": reading.text]
            if let confidence = reading.confidence { object["confidence"] = confidence }
            try printJSON(object)
        } else {
            Terminal.line("\(path)\t\(reading.text)")
        }
    }

    /// The parsed answer as one JSON object of the requested fields (null when missing); with
    /// --json, a line {"image", "text", "fields", "missing", "extra"} ("fields" null and "error"
    /// set when the answer holds no JSON object).
    private func printFields(path: String, text: String, names: [String]) throws {
        let answer: FieldAnswer
        do {
            answer = try FieldAnswerParser.parse(text, fields: names)
        } catch {
            if json {
                try printJSON(["image": path, "text": text, "fields": NSNull(), "error": "\(error)"])
            } else {
                Terminal.warning("\(path): \(error)")
                Terminal.line("\(path)\tnull")
            }
            return
        }
        var object: [String: Any] = [:]
        for name in names { object[name] = answer.values[name] ?? NSNull() }
        if json {
            try printJSON(["image": path, "text": text, "fields": object, "missing": answer.missing, "extra": answer.extra])
        } else {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            Terminal.line("\(path)\t\(String(decoding: data, as: UTF8.self))")
        }
    }

    func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        Terminal.line(String(decoding: data, as: UTF8.self))
    }

    /// Adds `probabilities.<i>` [T, classes] and `pixels.<i>` [48, W, 3] of each image, run alone
    /// (i counts the images read so far).
    private func dump(_ reader: any ModelReader, _ images: [RGBImage], into arrays: inout [String: MLXArray]) throws {
        guard let ctc = reader as? ClassProbabilityReader else {
            throw CLIError("--dump-logits: \(reader.name) does not output class probabilities (CTC models do)")
        }
        for image in images {
            let i = arrays.count / 2
            let (input, probabilities) = try ctc.inputAndProbabilities(image)
            arrays["pixels.\(i)"] = input
            arrays["probabilities.\(i)"] = probabilities
        }
    }
}
