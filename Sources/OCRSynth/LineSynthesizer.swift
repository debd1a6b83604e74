// Text-line synthesis: text from a source, a font that covers it, a style and degradations drawn
// from the profile, all from the sample's own seeded generator; parallel over cores.

import Dispatch
import Foundation

// MARK: Configuration

/// Settings of a line run (Codable, snake_case keys).
public struct LineSynthConfig: Codable, Sendable {
    public var count: Int
    public var seed: UInt64
    /// Output line height in pixels (width of a column when vertical).
    public var lineHeight: Int
    /// Vertical (top-to-bottom) columns, for CJK.
    public var vertical: Bool
    public var profile: SynthProfile
    /// PNG compression: 1 = fast run-length mode (default), 2...9 = zlib levels.
    public var pngLevel: Int
    /// Worker threads (0 = one per core).
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case count, seed, lineHeight = "line_height", vertical, profile, pngLevel = "png_level", threads
    }

    public init(count: Int, seed: UInt64 = 0, lineHeight: Int = 48, vertical: Bool = false,
                profile: SynthProfile = .clean, pngLevel: Int = 1, threads: Int = 0) {
        self.count = count
        self.seed = seed
        self.lineHeight = lineHeight
        self.vertical = vertical
        self.profile = profile
        self.pngLevel = pngLevel
        self.threads = threads
    }
}

// MARK: Runner

/// The outcome of making one sample.
public enum SynthOutcome: Sendable {
    case sample(SynthSample)
    case skipped(SynthSkip)
}

/// Makes samples 0..<count in parallel chunks and hands them to the sink in index order; the
/// result of each index depends only on the index, so output is the same for any thread count.
public enum SynthRunner {
    public static func run(count: Int, threads: Int, sink: SynthSink, progress: ((SynthProgress) -> Void)? = nil,
                           make: @escaping @Sendable (Int) throws -> SynthOutcome) throws -> SynthReport {
        let start = Date()
        let workers = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        let chunk = max(workers * 16, 64)
        var report = SynthReport()
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            let base = done
            let results = UnsafeMutableBufferPointer<Result<SynthOutcome, Error>?>.allocate(capacity: n)
            results.initialize(repeating: nil)
            defer {
                results.deinitialize()
                results.deallocate()
            }
            let w = min(workers, n)
            DispatchQueue.concurrentPerform(iterations: w) { worker in
                var i = worker
                while i < n {
                    results[i] = Result { try make(base + i) }
                    i += w
                }
            }
            for i in 0..<n {
                switch results[i]! {
                case let .success(.sample(s)):
                    try sink.write(s)
                    report.written += 1
                case let .success(.skipped(skip)): report.skipped.append(skip)
                case let .failure(error): throw error
                }
            }
            done += n
            progress?(SynthProgress(done: done, total: count, written: report.written, skipped: report.skipped.count))
        }
        report.seconds = Date().timeIntervalSince(start)
        try sink.finish(report)
        return report
    }
}

// MARK: Line synthesizer

/// Renders text lines. Stateless after `init` apart from read-only fonts, so one instance serves
/// every thread.
public final class LineSynthesizer: @unchecked Sendable {
    public let config: LineSynthConfig
    public let fonts: FontLibrary
    public let source: TextSource
    private let pipeline: DegradationPipeline

    public init(config: LineSynthConfig, fonts: FontLibrary, source: TextSource) {
        self.config = config
        self.fonts = fonts
        self.source = source
        self.pipeline = DegradationPipeline(profile: config.profile, lineHeight: config.lineHeight)
    }

    /// Arabic-script (and Syriac, N'Ko) letters, whose glyphs join.
    static func isCursive(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x0600...0x08FF, 0xFB50...0xFDFF, 0xFE70...0xFEFF: return true
        default: return false
        }
    }

    /// Makes every sample into `sink`.
    @discardableResult
    public func run(into sink: SynthSink, progress: ((SynthProgress) -> Void)? = nil) throws -> SynthReport {
        try SynthRunner.run(count: config.count, threads: config.threads, sink: sink, progress: progress) { [self] i in
            try self.sample(at: i)
        }
    }

    /// Makes sample `index` (deterministic in `config.seed`, `index` and the inputs).
    public func sample(at index: Int) throws -> SynthOutcome {
        var textRng = SynthRandom(seed: config.seed, index: index, stream: 1)
        let text = source.text(at: index, rng: &textRng)
        return try sample(text: text, index: index)
    }

    /// Renders a given text as sample `index`.
    public func sample(text rawText: String, index: Int) throws -> SynthOutcome {
        let text = rawText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return .skipped(SynthSkip(index: index, text: rawText, reason: "empty text")) }
        var candidates = fonts.covering(text)
        if candidates.isEmpty {
            let missing = fonts.fonts.compactMap { $0.covers(text).missing }.first
            let what = missing.map { "U+" + String(format: "%04X", $0.value) + " '\(Character($0))'" } ?? "a character"
            return .skipped(SynthSkip(index: index, text: text, reason: "no font covers \(what)"))
        }
        let cursive = text.unicodeScalars.contains { LineSynthesizer.isCursive($0) }
        var rng = SynthRandom(seed: config.seed, index: index, stream: 2)
        let p = config.profile
        let h = config.lineHeight
        let k = Double(h) / 48
        while !candidates.isEmpty {
            let font = candidates.remove(at: rng.int(0, candidates.count - 1))
            // Sizes in half-pixel steps: Pango caches fonts per size, and a new size costs a fontconfig query.
            let px = (Double(h) * rng.uniform(p.fontScale.lowerBound, p.fontScale.upperBound) * 2).rounded() / 2
            var style = LineStyle(family: font.family, fontPx: px, lineHeight: h)
            style.vertical = config.vertical
            style.offset = Double(h) * rng.uniform(p.offset.lowerBound, p.offset.upperBound)
            style.padBefore = Int((Double(h) * rng.uniform(p.padding.lowerBound, p.padding.upperBound)).rounded())
            style.padAfter = Int((Double(h) * rng.uniform(p.padding.lowerBound, p.padding.upperBound)).rounded())
            let spacing = rng.uniform(p.letterSpacing.min, p.letterSpacing.max)
            // No letter spacing in joined (cursive) scripts: it would pull connected letters apart.
            if rng.unit() < p.letterSpacing.probability && !cursive { style.letterSpacing = spacing * style.fontPx }
            let gray = UInt8(clamping: Int(rng.uniform(p.ink.lowerBound, p.ink.upperBound).rounded()))
            style.ink = (gray, gray, gray)
            if rng.unit() < p.bold { style.weight = 700 }
            let u = rng.uniform(p.underline.min, p.underline.max)
            if rng.unit() < p.underline.probability { style.underline = u * k }
            let s = rng.uniform(p.strikeThrough.min, p.strikeThrough.max)
            if rng.unit() < p.strikeThrough.probability { style.strike = s * k }

            switch try LineRenderer.render(text, style: style) {
            case .missingGlyph, .empty:
                continue
            case let .rendered(img, info):
                var params: [String: String] = [
                    "generator": "line", "font": font.family, "font_px": formatParameter(info.fontPx),
                    "profile": p.name, "seed": String(config.seed), "source": source.name,
                ]
                if style.weight != 400 { params["weight"] = String(style.weight) }
                if style.letterSpacing != 0 { params["letter_spacing"] = formatParameter(style.letterSpacing) }
                if gray != 0 { params["ink"] = String(gray) }
                if let u = style.underline { params["underline"] = formatParameter(u) }
                if let s = style.strike { params["strike_through"] = formatParameter(s) }
                if info.rightToLeft { params["direction"] = "rtl" }
                if config.vertical { params["vertical"] = "true" }
                pipeline.apply(to: img, background: style.background,
                               seed: SynthRandom.derive(config.seed, UInt64(index), 3), params: &params)
                if config.vertical { img.scale(toWidth: h) } else { img.scale(toHeight: h) }
                let png = try img.png(level: config.pngLevel)
                return .sample(SynthSample(index: index, png: png, width: img.width, height: img.height, text: text, parameters: params))
            }
        }
        return .skipped(SynthSkip(index: index, text: text, reason: "every covering font lacked a glyph when shaped"))
    }
}
