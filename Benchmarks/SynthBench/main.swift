// Synthesis benchmark: lines/s (48-px lines, `scan` profile, PNG-encoded, in memory) per corpus,
// and formulas/s. Prints one JSON object; bench/synth.py runs it and writes the results file.
// Usage: SynthBench [--lines N] [--formulas N] [--threads T]

import Foundation
import OCRSynth

/// Counts samples and bytes; keeps nothing.
final class CountingSink: SynthSink {
    var count = 0
    var bytes = 0
    func write(_ sample: SynthSample) throws {
        count += 1
        bytes += sample.png.count
    }
    func finish(_ report: SynthReport) throws {}
}

/// CPU seconds of this process (all threads): with other load on the machine, wall-clock rates
/// drop but CPU time per line does not.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return fallback
}

let lines = option("--lines", 3000)
let formulas = option("--formulas", 60)
let threads = option("--threads", 0)
var results: [String: Any] = ["threads": threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads,
                              "line_height": 48, "profile": "scan"]

struct Case {
    var name: String
    var fonts: [String]
    var source: TextSource
}

var cases: [Case] = [
    Case(name: "latin", fonts: ["Noto Sans", "Noto Serif", "DejaVu Sans"], source: FieldGenerator(.mixed)),
]
if let zh = try? CorpusLoader.fortuneLines(file: "/usr/share/games/fortunes/tang300") {
    cases.append(Case(name: "chinese", fonts: ["Noto Sans CJK SC", "AR PL UKai CN"], source: LineCorpus(lines: zh)))
}
if let fa = try? CorpusLoader.hunspellWords(file: "/usr/share/hunspell/fa_IR.dic") {
    cases.append(Case(name: "persian", fonts: ["Noto Naskh Arabic", "Nazli", "Vazirmatn"].filter(FontLibrary.isInstalled),
                      source: WordCorpus(words: fa, length: 2...6)))
}

if let i = CommandLine.arguments.firstIndex(of: "--only"), i + 1 < CommandLine.arguments.count {
    cases = cases.filter { $0.name == CommandLine.arguments[i + 1] }
}

var total = 0.0, totalCount = 0
var perCase: [String: Any] = [:]
for c in cases {
    do {
        let fonts = try FontLibrary(specs: c.fonts)
        let config = LineSynthConfig(count: lines, seed: 1, lineHeight: 48, profile: .scan, threads: threads)
        let synth = LineSynthesizer(config: config, fonts: fonts, source: c.source)
        // Warm-up: font loading and per-thread Pango contexts.
        _ = try LineSynthesizer(config: LineSynthConfig(count: 64, seed: 99, profile: .scan, threads: threads), fonts: fonts, source: c.source)
            .run(into: CountingSink())
        let sink = CountingSink()
        let t0 = Date(), c0 = cpuSeconds()
        let report = try synth.run(into: sink)
        let dt = Date().timeIntervalSince(t0), cpu = cpuSeconds() - c0
        perCase[c.name] = ["lines_per_s": Double(report.written) / dt, "written": report.written,
                           "cpu_ms_per_line": cpu * 1000 / Double(max(1, report.written)),
                           "skipped": report.skipped.count, "mean_png_bytes": sink.count > 0 ? sink.bytes / sink.count : 0]
        total += dt
        totalCount += report.written
    } catch {
        perCase[c.name] = ["error": "\(error)"]
    }
}
results["lines"] = perCase
results["lines_per_s"] = total > 0 ? Double(totalCount) / total : 0

// Formulas (TeX + dvipng).
let sampleFormulas = [
    "E = m c^{2}", "\\frac{a}{b} + \\sqrt{x^{2}+y^{2}}", "\\int_{0}^{1} x^{n} \\, dx = \\frac{1}{n+1}",
    "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}", "\\alpha \\beta \\gamma \\leq \\delta", "e^{i\\pi} + 1 = 0",
    "\\lim_{x \\to 0} \\frac{\\sin x}{x} = 1", "\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}",
]
if formulas > 0 {
    do {
        let config = FormulaSynthConfig(count: formulas, seed: 1, dpis: [120, 160, 200], profile: .scan, threads: threads, pngLevel: 3)
        let sink = CountingSink()
        let t0 = Date()
        // Distinct sources (each typeset once per font), so no sample reuses another's TeX run.
        let distinct = (0..<formulas).map { i in sampleFormulas[i % sampleFormulas.count] + " + \\frac{\(i)}{x_{\(i % 7)}}" }
        let report = try FormulaSynthesizer(config: config, formulas: distinct).run(into: sink, progress: nil)
        let dt = Date().timeIntervalSince(t0)
        results["formulas_per_s"] = Double(report.written) / dt
        results["formulas"] = ["written": report.written, "skipped": report.skipped.count]
    } catch {
        results["formulas"] = ["error": "\(error)"]
    }
}

let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
print(String(decoding: data, as: UTF8.self))
