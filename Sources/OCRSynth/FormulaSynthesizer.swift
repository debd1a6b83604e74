// Formulas: LaTeX sources typeset by a real TeX (latex → DVI) and rasterized by dvipng at several
// DPIs and font packages; the label is the whitespace-normalized token sequence of the source.

import Dispatch
import Foundation
import OCRMetrics

// MARK: Configuration

/// Settings of a formula run (Codable, snake_case keys).
public struct FormulaSynthConfig: Codable, Sendable {
    public var count: Int
    public var seed: UInt64
    /// Rasterization resolutions; each sample draws one.
    public var dpis: [Int]
    /// Font setups by name (see `FormulaSynthesizer.fontPreambles`); each sample draws one.
    public var fonts: [String]
    public var profile: SynthProfile
    public var threads: Int
    public var pngLevel: Int
    /// Margin around the formula, pixels.
    public var margin: Int

    enum CodingKeys: String, CodingKey {
        case count, seed, dpis, fonts, profile, threads, pngLevel = "png_level", margin
    }

    public init(count: Int, seed: UInt64 = 0, dpis: [Int] = [100, 150, 200], fonts: [String] = ["cm", "times", "palatino"],
                profile: SynthProfile = .clean, threads: Int = 0, pngLevel: Int = 3, margin: Int = 8) {
        self.count = count
        self.seed = seed
        self.dpis = dpis
        self.fonts = fonts
        self.profile = profile
        self.threads = threads
        self.pngLevel = pngLevel
        self.margin = margin
    }
}

// MARK: Synthesizer

/// Typesets formulas with `latex` and `dvipng` (Debian texlive-latex-base,
/// texlive-fonts-recommended, dvipng). A formula that does not compile is reported and skipped.
public final class FormulaSynthesizer: @unchecked Sendable {
    public let config: FormulaSynthConfig
    public let formulas: [String]

    /// Preamble lines per font setup (all with amsmath and amssymb).
    public static let fontPreambles: [String: String] = [
        "cm": "",
        "times": "\\usepackage{mathptmx}",
        "palatino": "\\usepackage{mathpazo}",
    ]

    public init(config: FormulaSynthConfig, formulas: [String]) {
        self.config = config
        self.formulas = formulas
    }

    /// The label of a LaTeX source: its tokens separated by single spaces.
    public static func normalize(_ source: String) -> String { LaTeX.tokenize(source).joined(separator: " ") }

    /// Path of an executable on PATH.
    static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw SynthError.config("\(name) not found on PATH (apt packages texlive-latex-base, texlive-fonts-recommended, dvipng)")
    }

    @discardableResult
    static func execute(_ tool: String, _ args: [String], in dir: URL) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    private struct Plan {
        var formula: Int
        var font: String
        var dpi: Int
    }

    @discardableResult
    public func run(into sink: SynthSink, progress: ((SynthProgress) -> Void)? = nil) throws -> SynthReport {
        guard !formulas.isEmpty else { throw SynthError.config("no formulas") }
        for f in config.fonts where Self.fontPreambles[f] == nil {
            throw SynthError.config("unknown formula font '\(f)' (one of \(Self.fontPreambles.keys.sorted().joined(separator: ", ")))")
        }
        let typesetStart = Date()
        let latex = try Self.tool("latex"), dvipng = try Self.tool("dvipng")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ocrsynth-tex-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // Each sample's formula, font and DPI, from its own generator.
        let plans: [Plan] = (0..<config.count).map { i in
            var r = SynthRandom(seed: config.seed, index: i, stream: 4)
            return Plan(formula: i % formulas.count, font: config.fonts[r.int(0, config.fonts.count - 1)],
                        dpi: config.dpis[r.int(0, config.dpis.count - 1)])
        }
        let used = Array(Set(plans.map(\.formula))).sorted()
        let fonts = Array(Set(plans.map(\.font))).sorted()

        // Typeset every used formula once per font (one page each), isolating failures by bisection.
        var failed: [Int: String] = [:]
        var pageOf: [String: [Int: Int]] = [:]
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: fonts.count) { fi in
            let font = fonts[fi]
            let dir = work.appendingPathComponent(font)
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let (good, bad, errors) = compile(used, font: font, in: dir, latex: latex)
            lock.lock()
            for b in bad { failed[b] = "LaTeX error: \(errors[b] ?? "?") (\(font))" }
            pageOf[font] = Dictionary(uniqueKeysWithValues: good.enumerated().map { ($1, $0 + 1) })
            lock.unlock()
        }
        let failedFormulas = failed, pagesByFont = pageOf
        // Rasterize per (font, dpi) group.
        var groups: [String: Set<Int>] = [:]
        for p in plans where failedFormulas[p.formula] == nil { groups["\(p.font)@\(p.dpi)", default: []].insert(p.formula) }
        let keys = groups.keys.sorted()
        var rasterError: Error?
        DispatchQueue.concurrentPerform(iterations: keys.count) { ki in
            let parts = keys[ki].split(separator: "@")
            let font = String(parts[0]), dpi = String(parts[1])
            let dir = work.appendingPathComponent(font)
            let pages = groups[keys[ki]]!.compactMap { pagesByFont[font]?[$0] }.sorted()
            let list = pages.map(String.init).joined(separator: ",")
            do {
                let rc = try Self.execute(dvipng, ["-q", "-D", dpi, "-T", "tight", "-bg", "White", "-fg", "Black", "-pp", list,
                                                   "-o", "r\(dpi)-%d.png", "all.dvi"], in: dir)
                if rc != 0 { throw SynthError.render("dvipng failed (\(rc)) for \(font) at \(dpi) dpi") }
            } catch {
                lock.lock()
                rasterError = error
                lock.unlock()
            }
        }
        if let rasterError { throw rasterError }

        let pipeline = DegradationPipeline(profile: config.profile, lineHeight: 48)
        let started = Date()
        var report = try SynthRunner.run(count: config.count, threads: config.threads, sink: sink, progress: progress) { [self] i in
            let plan = plans[i]
            let source = formulas[plan.formula]
            if let why = failedFormulas[plan.formula] {
                return .skipped(SynthSkip(index: i, text: source, reason: "formula \(plan.formula + 1): \(why)"))
            }
            guard let page = pagesByFont[plan.font]?[plan.formula] else {
                return .skipped(SynthSkip(index: i, text: source, reason: "formula \(plan.formula + 1): not typeset"))
            }
            let file = work.appendingPathComponent(plan.font).appendingPathComponent("r\(plan.dpi)-\(page).png")
            guard let data = FileManager.default.contents(atPath: file.path) else {
                return .skipped(SynthSkip(index: i, text: source, reason: "formula \(plan.formula + 1): no image from dvipng"))
            }
            let img = try PixelBuffer.decodePNG(data)
            img.pad(left: config.margin, top: config.margin, right: config.margin, bottom: config.margin)
            var params: [String: String] = ["generator": "formula", "font": plan.font, "dpi": String(plan.dpi),
                                            "profile": config.profile.name, "seed": String(config.seed)]
            pipeline.apply(to: img, background: (255, 255, 255), seed: SynthRandom.derive(config.seed, UInt64(i), 3), params: &params)
            let png = try img.png(level: config.pngLevel)
            return .sample(SynthSample(index: i, png: png, width: img.width, height: img.height,
                                       text: Self.normalize(source), parameters: params))
        }
        report.seconds += started.timeIntervalSince(typesetStart)
        return report
    }

    /// Compiles `indices` into `dir/all.dvi` (one page each, in order); returns the formulas
    /// that compiled and those that did not.
    private func compile(_ indices: [Int], font: String, in dir: URL, latex: String) -> (good: [Int], bad: [Int], errors: [Int: String]) {
        var errors: [Int: String] = [:]
        func document(_ ids: [Int]) -> String {
            var s = "\\documentclass[12pt]{article}\n\\usepackage{amsmath,amssymb}\n\(Self.fontPreambles[font] ?? "")\n"
            s += "\\pagestyle{empty}\n\\begin{document}\n"
            for id in ids { s += "$\\displaystyle \(formulas[id])$\n\\newpage\n" }
            return s + "\\end{document}\n"
        }
        func ok(_ ids: [Int], name: String) -> Bool {
            let tex = dir.appendingPathComponent("\(name).tex")
            guard (try? document(ids).write(to: tex, atomically: true, encoding: .utf8)) != nil else { return false }
            let rc = (try? Self.execute(latex, ["-interaction=nonstopmode", "-halt-on-error", "\(name).tex"], in: dir)) ?? -1
            return rc == 0
        }
        // Find the failing formulas by bisection, then compile the good ones together.
        var bad: [Int] = []
        func isolate(_ ids: [Int]) {
            if ids.isEmpty || ok(ids, name: "probe") { return }
            if ids.count == 1 {
                bad.append(ids[0])
                let log = (try? String(contentsOf: dir.appendingPathComponent("probe.log"), encoding: .utf8)) ?? ""
                let message = log.split(separator: "\n").first(where: { $0.hasPrefix("! ") }).map { String($0.dropFirst(2)) }
                errors[ids[0]] = message ?? "LaTeX error"
                return
            }
            isolate(Array(ids[..<(ids.count / 2)]))
            isolate(Array(ids[(ids.count / 2)...]))
        }
        if !ok(indices, name: "all") {
            isolate(indices)
            let good = indices.filter { !bad.contains($0) }
            if !good.isEmpty && !ok(good, name: "all") { return ([], indices, errors) }
            return (good, bad, errors)
        }
        return (indices, [], errors)
    }
}
