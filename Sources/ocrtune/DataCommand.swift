// `ocrtune data`: build, inspect, preview and export image–text datasets (and synthesize them).

import ArgumentParser
import Foundation
import OCRData
import OCRImaging
import OCRModels

struct DataCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Build, inspect, preview and export OCR datasets.",
        discussion: """
            A dataset is a folder of Parquet shards (train-/val-/test-NNNNN-of-NNNNN
            .parquet; columns image{bytes,path}, text, metadata) with dataset.json,
            stats.json, charset.txt, rejected.jsonl and a README.md card that
            Hugging Face `datasets.load_dataset(DIR)` reads.

            Examples:
              ocrtune data build lines.txt --out ds
              ocrtune data build labels.tsv pages.jsonl --out ds --split 90,5,5 --seed 7
              ocrtune data build gt-folder/ hf.parquet lmdb-dir/ --out ds --strict
              ocrtune data build docs.jsonl --crop-lines --group-by page --out ds
              ocrtune data stats ds
              ocrtune data preview ds --out page.html --count 48
              ocrtune data export ds --format listing --out plain
            """,
        subcommands: [DataBuildCommand.self, DataStatsCommand.self, DataPreviewCommand.self, DataExportCommand.self, DataSynthCommand.self]
    )
}

// MARK: - build

struct DataBuildCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Import, validate, deduplicate and split inputs into one Parquet dataset.",
        discussion: """
            INPUT kinds (detected):
              listing     IMAGE_PATH<whitespace>TEXT or path<TAB>label per line
                          (# comments and blank lines skipped)
              .json/.jsonl  image + text fields, or the document form
                          {"image_path", "annotations": [{"bbox", "text", "category"}]}
              folder      images with NAME.gt.txt / NAME.txt sidecars
              .parquet    Hugging Face Parquet (a file or a folder of them)
              LMDB folder num-samples, image-%09d, label-%09d

            Rejected records go to OUT/rejected.jsonl with their source and a
            reason: missing_file, unreadable, decode_error, too_small, too_large,
            empty_text, invalid_utf8, duplicate, conflict. A listing's path ends at
            the first TAB when there is one (paths with spaces: separate the text
            with a TAB), else at the first space.

            --split takes percentages that add up to 100 (80,10,10) or sample
            counts for val and test, train taking the rest (val=50,test=50;
            "validation" works for val). An empty split is reported.
            """
    )

    @Argument(help: "Inputs: listing, .tsv, .json/.jsonl, image folder, .parquet, LMDB folder.")
    var inputs: [String]
    @Option(help: "Output dataset folder.")
    var out: String
    @Option(help: "Split seed.")
    var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Percentages train,val,test adding up to 100, or counts val=N,test=N.")
    var split = "80,10,10"
    @Option(help: "Metadata key whose equal values stay in one split (also: source_file, image).")
    var groupBy: String?
    @Flag(help: "Fail on any rejected record.")
    var strict = false
    @Flag(help: "Replace OUT if it exists.")
    var overwrite = false
    @Option(help: "Text normalization: nfc, nfkc, none.")
    var normalize: String = "nfc"
    @Option(help: "Smallest allowed image side in pixels.")
    var minSide = 8
    @Option(help: "Largest allowed pixel count (read from the header before decoding).")
    var maxPixels = 89_478_485
    @Option(help: "JSON/Parquet field holding the image.")
    var imageField = "image"
    @Option(help: "JSON/Parquet field holding the text.")
    var textField = "text"
    @Flag(help: "Document form: one line sample per annotation box.")
    var cropLines = false
    @Option(help: "Rows per Parquet row group.")
    var rowGroupRows = 256
    @Option(help: "Leakage check: dHash bit distance counted as the same image.")
    var leakageDistance = 0
    @Option(help: "Validation threads (0 = one per core).")
    var threads = 0
    @Option(help: "Pages: a text detector folder; INPUT images (or folders of them) are read whole and each detected line becomes a sample with the --model's reading as its draft label (page, box and confidences kept as metadata).")
    var detect: String?
    @Option(help: "With --detect: the recognizer folder that drafts the labels.")
    var model: String?

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one INPUT") }
        if (detect == nil) != (model == nil) { throw ValidationError("--detect and --model go together") }
    }

    func run() throws {
        var options = BuildOptions()
        options.seed = seed
        do {
            options.split = try SplitSpec(parsing: split)
        } catch {
            throw ValidationError("\(error)")
        }
        options.groupBy = groupBy
        options.strict = strict
        options.overwrite = overwrite
        guard let norm = TextNormalization(rawValue: normalize.lowercased()) else {
            throw ValidationError("--normalize must be nfc, nfkc or none")
        }
        options.validation = ValidationOptions(minSide: minSide, maxPixels: maxPixels, normalization: norm)
        options.importOptions = ImportOptions(imageField: imageField, textField: textField, cropLines: cropLines)
        var inputs = self.inputs
        if let detect, let model {
            let listing = try draftLines(detector: detect, recognizer: model)
            defer { try? FileManager.default.removeItem(at: listing) }
            inputs = [listing.appendingPathComponent("metadata.jsonl").path]
            options.importOptions = ImportOptions(imageField: "path", textField: "text")
            return try build(inputs: inputs, options: options)
        }
        try build(inputs: inputs, options: options)
    }

    private func build(inputs: [String], options: BuildOptions) throws {
        var options = options
        options.rowGroupRows = rowGroupRows
        options.leakageHashDistance = leakageDistance
        options.threads = threads
        let start = Date()
        var lastPrint = Date.distantPast
        let builder = DatasetBuilder(inputs: inputs.map { URL(fileURLWithPath: $0) }, output: URL(fileURLWithPath: out), options: options) { p in
            guard Date().timeIntervalSince(lastPrint) > 1 || p.phase == .finishing else { return }
            lastPrint = Date()
            let total = p.total.map { "/\($0)" } ?? ""
            Terminal.line("[\(p.phase.rawValue)] \(p.done)\(total)  accepted \(p.accepted)  rejected \(p.rejected)")
        }
        builder.createdBy = "ocrtune \(OCRTune.version)"
        let summary = try builder.run()
        let m = summary.manifest
        let elapsed = Date().timeIntervalSince(start)
        let total = m.counts.values.reduce(0, +)
        Terminal.line(String(format: "built %@: %d samples (train %d, val %d, test %d) in %.1f s (%.0f records/s)",
                             out, total, m.counts["train"] ?? 0, m.counts["val"] ?? 0, m.counts["test"] ?? 0,
                             elapsed, Double(total + m.rejected) / max(elapsed, 1e-9)))
        Terminal.line("charset: \(m.charsetSize) characters; normalized (\(m.normalization.rawValue)): \(m.normalizedCount) texts")
        for split in Split.allCases where (m.counts[split.rawValue] ?? 0) == 0 && total > 0 {
            Terminal.warning("the \(split.rawValue) split is empty (--split \(options.split))")
        }
        if m.rejected > 0 {
            Terminal.line("rejected \(m.rejected) (see \(out)/rejected.jsonl):")
            for (reason, n) in summary.rejectedByReason.sorted(by: { $0.value > $1.value }) {
                Terminal.line(String(format: "  %-14@ %d", reason.rawValue, n))
            }
        } else {
            Terminal.line("rejected 0")
        }
        if let leak = m.leakage, leak.sameText + leak.similarImage > 0 {
            Terminal.line("leakage: \(leak.sameText) test texts and \(leak.similarImage) test images also occur in train")
        }
        if total == 0 {
            var message = "\(out): no record was accepted (\(m.rejected) rejected, see \(out)/rejected.jsonl)"
            if summary.rejectedByReason[.missingFile] == m.rejected, m.rejected > 0 {
                message += "; every image is missing: relative paths resolve against the listing's own folder"
            }
            throw CLIError(message)
        }
    }
}

// MARK: - stats

struct DataStatsCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts, text-length and image-size histograms per split, rare characters.",
        discussion: """
            --against takes a model folder (its CTC dictionary, or its tokenizer) or a
            character dictionary file (one character per line, as PaddleOCR's
            ppocr_keys) and lists the dataset characters the model cannot emit.

            Examples:
              ocrtune data stats data/fa --against models/ppocrv5
              ocrtune data stats data/invoices --against models/qwen2.5-vl-3b   # + visual tokens
            """
    )

    @Argument(help: "Dataset folder.")
    var dataset: String
    @Option(help: "Model folder or character dictionary file to check coverage against.")
    var against: String?
    @Flag(help: "Print stats.json as is.")
    var json = false

    func run() throws {
        let folder = try ModelPath.datasetFolder(dataset, option: "dataset")
        // Arguments first: a wrong --against fails before anything is printed.
        let coverage = try against.map(ModelCoverage.coverage(of:))
        let visualTokens = try against.flatMap(Self.visualTokenCounter)
        let reader = try DatasetReader(folder: folder)
        let statsURL = folder.appendingPathComponent("stats.json")
        guard let data = try? Data(contentsOf: statsURL) else { throw CLIError("\(statsURL.path): cannot read (rebuild the dataset with `ocrtune data build`)") }
        if json { Terminal.line(String(decoding: data, as: UTF8.self)); return }
        let stats = try JSONDecoder().decode(DatasetStats.self, from: data)
        Terminal.line("\(dataset): \(reader.manifest.counts.values.reduce(0, +)) samples, \(stats.charsetSize) characters, \(reader.manifest.rejected) rejected")
        for split in Split.allCases {
            guard let s = stats.splits[split.rawValue], s.count > 0 else { continue }
            Terminal.line(String(format: "%@: %d samples; text length %d–%d (mean %.1f); width %d–%d; height %d–%d",
                                 split.rawValue, s.count, s.textLength.min, s.textLength.max, s.textLength.mean,
                                 s.width.min, s.width.max, s.height.min, s.height.max))
            Terminal.line("  text length " + histogramLine(s.textLength))
            Terminal.line("  height      " + histogramLine(s.height))
        }
        if !stats.rareCharacters.isEmpty {
            let rare = stats.rareCharacters.sorted { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }.prefix(40)
            Terminal.line("rare characters (< 5): " + rare.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        }
        if let against, let coverage {
            let charset = CharsetFile.parse(try String(contentsOf: folder.appendingPathComponent("charset.txt"), encoding: .utf8))
            let missing = uncoveredCharacters(charset: charset, coverage: coverage)
            let samples = missing.reduce(0) { $0 + $1.count }
            Terminal.line("\(missing.count) characters (\(samples) occurrences) cannot be emitted by \(against)")
            if !missing.isEmpty { Terminal.line("  " + missing.prefix(60).map { "\($0.character)×\($0.count)" }.joined(separator: " ")) }
            if let visualTokens { try printVisualTokens(reader, model: against, counter: visualTokens) }
        }
    }

    /// The visual-token counter of a vision–language model folder (nil for other models and for dictionary files).
    static func visualTokenCounter(_ path: String) throws -> VisualTokenCounter? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        let folder = URL(fileURLWithPath: path)
        do {
            return try ModelFamilies.family(ofModelAt: folder).visualTokens(at: folder)
        } catch {
            throw CLIError.from(error, doing: "--against \(path)")
        }
    }

    /// The histogram of visual tokens per image under a vision–language model's processor bounds
    /// (image sizes read from the headers, nothing decoded).
    func printVisualTokens(_ reader: DatasetReader, model: String, counter: VisualTokenCounter) throws {
        let edges = [0, 64, 128, 256, 512, 1024, 1280, 2048, 4096, 8192, 16384]
        var counts = [Int](repeating: 0, count: edges.count)
        var (total, maximum, overCap, unreadable) = (0, 0, 0, 0)
        for split in Split.allCases {
            try reader.forEachSample(in: split) { sample in
                guard let info = try? ImageCodec.probe(sample.imageBytes),
                    let tokens = try? counter.tokens(info.width, info.height)
                else { unreadable += 1; return }
                counts[edges.lastIndex { $0 <= tokens } ?? 0] += 1
                total += tokens
                maximum = Swift.max(maximum, tokens)
                if let cap = counter.cap, tokens > cap { overCap += 1 }
            }
        }
        let images = counts.reduce(0, +)
        guard images > 0 else { return }
        Terminal.line("visual tokens per image (\(model), \(counter.bounds)): mean \(total / images), max \(maximum)")
        Terminal.line("  " + zip(edges, counts).filter { $0.1 > 0 }.map { "≥\($0.0):\($0.1)" }.joined(separator: " "))
        if overCap > 0, let cap = counter.cap { Terminal.line("  \(overCap) images above \(cap) tokens: `predict`/`eval` resize them down to \(cap)") }
        if unreadable > 0 { Terminal.line("  \(unreadable) images could not be sized") }
    }

    func histogramLine(_ h: Histogram) -> String {
        zip(h.edges, h.counts).filter { $0.1 > 0 }.map { "≥\($0.0):\($0.1)" }.joined(separator: " ")
    }
}

// MARK: - preview

struct DataPreviewCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "preview", abstract: "Write an HTML contact sheet of random samples (images inlined).")

    @Argument(help: "Dataset folder.")
    var dataset: String
    @Option(help: "Output HTML file.")
    var out: String
    @Option(help: "Number of samples.")
    var count = 48
    @Option(help: "Only this split (train, val, test).")
    var split: String?
    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    func run() throws {
        let reader = try DatasetReader(folder: URL(fileURLWithPath: dataset))
        var only: Split?
        if let split {
            only = try Split(argument: split, option: "--split")
        }
        let html = try previewHTML(reader, split: only, count: count, seed: seed)
        try html.write(to: URL(fileURLWithPath: out), atomically: true, encoding: .utf8)
        Terminal.line("wrote \(out)")
    }
}

// MARK: - export

struct DataExportCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a dataset back as a listing, JSONL or ground-truth folder.")

    @Argument(help: "Dataset folder.")
    var dataset: String
    @Option(help: "listing (listing.txt + images/), jsonl (data.jsonl + images/), folder (images + .gt.txt).")
    var format = "listing"
    @Option(help: "Output folder.")
    var out: String

    func run() throws {
        guard let f = ExportFormat(rawValue: format) else { throw ValidationError("--format must be listing, jsonl or folder") }
        let reader = try DatasetReader(folder: URL(fileURLWithPath: dataset))
        let n = try exportDataset(reader, format: f, to: URL(fileURLWithPath: out))
        Terminal.line("exported \(n) samples to \(out)")
    }
}
