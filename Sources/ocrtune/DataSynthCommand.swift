// `ocrtune data synth`: render image–text samples (text lines, formulas, documents) into a
// listing folder that `ocrtune data build` ingests.

import ArgumentParser
import Foundation
import OCRData
import OCRSynth

struct DataSynthCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Render synthetic OCR samples: text lines, LaTeX formulas, documents with fields.",
        discussion: """
            Lines come from --corpus (one sample a line; a hunspell .dic or a fortune file is recognized), --corpus with --words (random word sequences), or --generator. Each sample uses a font that has every glyph of its text; a sample no font covers is reported and skipped. Profiles: clean, scan, photo, fax, handwriting, augment, augment-bold (augment with bold faces and up to 2-px ink bleed on 70% of the lines, for heavy faces) (or a JSON file); --set overrides one degradation as NAME=PROBABILITY[:MIN[:MAX]].

            Output: DIR/images/NNNNNN.png, DIR/listing.tsv (path<TAB>text), DIR/metadata.jsonl (generator parameters per sample), DIR/skipped.jsonl.

            Examples:
              ocrtune data synth --corpus /usr/share/hunspell/fa.dic --words --font "Noto Naskh Arabic" --font Nazli --profile scan --count 1000 --seed 1 --out fa-lines
              ocrtune data synth --corpus /usr/share/hunspell/fa_IR.dic --words --font-family-of fa --exclude-font Titr --profile augment --count 6000 --out fa-train
              ocrtune data synth --corpus /usr/share/games/fortunes/tang300 --font "Noto Sans CJK SC" --profile scan --count 500 --out zh-replay
              ocrtune data synth --generator invoice --profile photo --count 200 --out fields
              ocrtune data synth --latex formulas.txt --dpi 120 --dpi 200 --out formulas
              ocrtune data synth --template receipt --count 50 --out receipts
            """
    )

    // MARK: Input
    @Option(help: "Text corpus: a file (one sample per line; .dic and fortune files recognized) or a dataset folder (the text column of its train split).")
    var corpus: String?
    @Flag(help: "Draw random word sequences from the corpus instead of whole lines.")
    var words = false
    @Option(help: "Words per sample with --words, as MIN-MAX.")
    var wordRange = "1-5"
    @Flag(help: "Pick corpus lines at random instead of in order.")
    var shuffle = false
    @Option(help: "Built-in text generator: date, amount, id, invoice, mixed.")
    var generator: String?
    @Option(help: "LaTeX formulas file (one formula per line): render with TeX + dvipng.")
    var latex: String?
    @Option(help: "DPI for formulas (repeatable; each formula gets one at random).")
    var dpi: [Int] = []
    @Option(help: "Document template: receipt, invoice, form.")
    var template: String?

    // MARK: Look
    @Option(help: "Font family or font file (repeatable).")
    var font: [String] = []
    @Option(help: "Every installed font for a language (fa, ar, zh-cn, ...; repeatable) that covers the corpus's characters (99% of them, counted with repetition).")
    var fontFamilyOf: [String] = []
    @Option(help: "A family --font-family-of leaves out (repeatable; e.g. held-out test fonts).")
    var excludeFont: [String] = []
    @Option(help: "Profile: clean, scan, photo, fax, handwriting, augment, augment-bold, or a JSON profile file.")
    var profile = "clean"
    @Option(name: .customLong("set"), help: "Override a degradation: NAME=PROBABILITY[:MIN[:MAX]] (repeatable).")
    var overrides: [String] = []
    @Option(help: "Line height in pixels (column width with --vertical).")
    var lineHeight = 48
    @Flag(help: "Vertical (top-to-bottom) CJK columns.")
    var vertical = false

    // MARK: Run
    @Option(help: "Number of samples (default: the corpus's line count).")
    var count: Int?
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Option(help: "Worker threads (0 = one per core).")
    var threads = 0
    @Option(help: "PNG compression: 1 = fast run-length (lines' default), 2-9 = zlib levels (3 for pages and formulas).")
    var pngLevel: Int?
    @Option(help: "Output folder.")
    var out: String?
    @Flag(help: "Replace a non-empty output folder.")
    var overwrite = false
    @Flag(help: "Print the effective profile as JSON and exit.")
    var printProfile = false
    @Option(help: "Train/val/test shares of the dataset written (as `data build --split`).")
    var split = "80,10,10"
    @Flag(help: "Write a listing folder (images/, listing.tsv, metadata.jsonl) instead of a dataset.")
    var listing = false

    static let defaultFonts = ["Noto Sans", "Noto Serif", "DejaVu Sans", "Noto Sans CJK SC", "Noto Serif CJK SC",
                               "Noto Sans Arabic", "Noto Naskh Arabic", "Vazirmatn", "Nazli"]

    func run() throws {
        var prof = try SynthProfile.named(profile)
        for o in overrides { try prof.override(o) }
        if printProfile {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(prof), as: UTF8.self))
            return
        }
        guard let out else { throw ValidationError("--out DIR is required") }
        let splitSpec = try SplitSpec(parsing: split)
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        if !listing, !overwrite, let contents = try? FileManager.default.contentsOfDirectory(atPath: outURL.path), !contents.isEmpty {
            throw ValidationError("\(out): exists and is not empty (use --overwrite)")
        }
        // Samples are rendered into a listing folder; by default it is then built into a dataset
        // exactly as `data build` writes it, and removed.
        let renderURL = listing ? outURL
            : outURL.deletingLastPathComponent().appendingPathComponent(".\(outURL.lastPathComponent).synth-\(ProcessInfo.processInfo.processIdentifier)")
        let fontSpecs = try resolveFonts()
        let sink = try ListingFolderSink(directory: renderURL, overwrite: overwrite || !listing)
        let stderr = FileHandle.standardError
        // A live counter on a terminal; otherwise (logs, CI) a line every tenth of the run.
        let tty = isatty(STDERR_FILENO) == 1
        var lastTenth = 0
        let progress: (SynthProgress) -> Void = { p in
            if tty {
                stderr.write(Data("\rsynth: \(p.done)/\(p.total) (\(p.skipped) skipped)".utf8))
            } else if p.done * 10 / max(1, p.total) > lastTenth || p.done == p.total {
                lastTenth = p.done * 10 / max(1, p.total)
                stderr.write(Data("synth: \(p.done)/\(p.total) (\(p.skipped) skipped)\n".utf8))
            }
        }
        let report: SynthReport
        do {
            if let latex {
                let formulas = try CorpusLoader.lines(file: latex)
                let config = FormulaSynthConfig(count: count ?? formulas.count, seed: seed, dpis: dpi.isEmpty ? [100, 150, 200] : dpi,
                                                profile: prof, threads: threads, pngLevel: pngLevel ?? 3)
                report = try FormulaSynthesizer(config: config, formulas: formulas).run(into: sink, progress: progress)
            } else if let template {
                guard let kind = DocumentTemplate(rawValue: template) else {
                    throw ValidationError("--template must be one of \(DocumentTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let config = DocumentSynthConfig(count: count ?? 100, seed: seed, template: kind, profile: prof, threads: threads, pngLevel: pngLevel ?? 3)
                report = try DocumentSynthesizer(config: config, fonts: FontLibrary(specs: fontSpecs)).run(into: sink, progress: progress)
            } else {
                let source = try textSource()
                guard let n = count ?? source.naturalCount else { throw ValidationError("--count is required with --words or --generator") }
                let config = LineSynthConfig(count: n, seed: seed, lineHeight: lineHeight, vertical: vertical, profile: prof,
                                             pngLevel: pngLevel ?? 1, threads: threads)
                report = try LineSynthesizer(config: config, fonts: FontLibrary(specs: fontSpecs), source: source).run(into: sink, progress: progress)
            }
        } catch {
            sink.abandon()
            throw error
        }
        if tty { stderr.write(Data("\n".utf8)) }
        for s in report.skipped.prefix(10) { stderr.write(Data("skipped #\(s.index): \(s.reason)\n".utf8)) }
        if report.skipped.count > 10 { stderr.write(Data("… \(report.skipped.count - 10) more in \(out)/skipped.jsonl\n".utf8)) }
        let rate = report.seconds > 0 ? Double(report.written) / report.seconds : 0
        let rendered = "\(report.written) samples (\(report.skipped.count) skipped) in \(String(format: "%.1f", report.seconds)) s, \(String(format: "%.0f", rate))/s"
        if listing {
            print("wrote \(rendered) to \(out)")
            return
        }
        defer { try? FileManager.default.removeItem(at: renderURL) }
        var options = BuildOptions()
        options.seed = seed
        options.split = splitSpec
        options.overwrite = true
        // metadata.jsonl: {path, text, width, height, params, annotations?}; the other fields
        // become metadata columns (params as JSON text).
        options.importOptions = ImportOptions(imageField: "path", textField: "text")
        let summary = try DatasetBuilder(inputs: [renderURL.appendingPathComponent("metadata.jsonl")], output: outURL, options: options).run()
        let counts = Split.allCases.map { "\($0.rawValue) \(summary.manifest.counts[$0.rawValue] ?? 0)" }.joined(separator: ", ")
        print("rendered \(rendered); wrote the dataset \(out) (\(counts))")
    }

    /// --font, plus --font-family-of's selection (reported on stderr), or the default fonts.
    private func resolveFonts() throws -> [String] {
        guard !fontFamilyOf.isEmpty else {
            if !excludeFont.isEmpty { throw ValidationError("--exclude-font goes with --font-family-of") }
            return font.isEmpty ? Self.defaultFonts.filter(FontLibrary.isInstalled) : font
        }
        let characters = try corpus.map { FontSelection.characterCounts(of: try Self.corpusLines($0).prefix(100_000)) } ?? [:]
        let (kept, dropped) = try FontSelection.select(languages: fontFamilyOf, exclude: excludeFont, characters: characters)
        func list(_ c: [FontSelection.Candidate]) -> String {
            c.map { "\($0.family) (\(String(format: "%.1f", $0.coverage * 100))%)" }.joined(separator: ", ")
        }
        let stderr = FileHandle.standardError
        stderr.write(Data("fonts for \(fontFamilyOf.joined(separator: ", ")): \(kept.isEmpty ? "none" : list(kept))\n".utf8))
        if !dropped.isEmpty { stderr.write(Data("left out (cover under 99% of the corpus's characters): \(list(dropped))\n".utf8)) }
        let specs = font + kept.map(\.family).filter { !font.contains($0) }
        guard !specs.isEmpty else { throw ValidationError("--font-family-of \(fontFamilyOf.joined(separator: ",")): no installed font covers the corpus") }
        return specs
    }

    private func textSource() throws -> TextSource {
        if let generator {
            guard let kind = FieldGenerator.Kind(rawValue: generator) else {
                throw ValidationError("--generator must be one of \(FieldGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return FieldGenerator(kind)
        }
        guard let corpus else { throw ValidationError("give --corpus FILE, --generator, --latex or --template") }
        let lines = try Self.corpusLines(corpus)
        guard !lines.isEmpty else { throw ValidationError("\(corpus): no text") }
        if words {
            let bounds = wordRange.split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, bounds[0] >= 1, bounds[0] <= bounds[1] else { throw ValidationError("--word-range: expected MIN-MAX") }
            let list = corpus.hasSuffix(".dic") ? lines : lines.flatMap { $0.split(separator: " ").map(String.init) }
            return WordCorpus(words: list, length: bounds[0]...bounds[1], name: "words:\((corpus as NSString).lastPathComponent)")
        }
        return LineCorpus(lines: lines, name: "lines:\((corpus as NSString).lastPathComponent)", shuffle: shuffle)
    }

    /// A corpus file's lines, or the texts of a dataset folder's train split (all splits when
    /// train is empty), one per sample.
    static func corpusLines(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return try CorpusLoader.load(file: path)
        }
        let reader = try DatasetReader(folder: URL(fileURLWithPath: path))
        var texts: [String] = []
        try reader.forEachSample(in: .train) { texts.append($0.text) }
        if texts.isEmpty {
            for split in [Split.val, .test] { try reader.forEachSample(in: split) { texts.append($0.text) } }
        }
        return texts
    }
}
