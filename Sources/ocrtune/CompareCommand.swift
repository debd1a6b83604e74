// `ocrtune compare`: before/after on the same samples.

import ArgumentParser
import Foundation
import OCREvaluation

struct CompareCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two evaluation runs: metric deltas with 95% intervals, fixed and broken samples.",
        discussion: """
            Samples are matched by id. Intervals come from a paired bootstrap: the same
            resample of samples is scored in both runs, and the 2.5th/97.5th percentiles
            of B − A are reported. Prints a summary table (--json: the comparison as JSON)
            and writes an HTML page with the changed samples.

            Examples:
              ocrtune compare runs/eval-before runs/eval-after --out compare.html
              ocrtune compare runs/a runs/b --out page.html --resamples 5000 --seed 7
            """)

    @Argument(help: "The run before (A).")
    var runA: String

    @Argument(help: "The run after (B).")
    var runB: String

    @Option(help: "HTML page to write.")
    var out: String

    @Option(help: "Bootstrap resamples.")
    var resamples = 1000

    @Option(help: "Seed of the bootstrap.")
    var seed: UInt64 = 0

    @Flag(help: "Print the comparison as JSON instead of the summary table.")
    var json = false

    func run() throws {
        let a = try RunFolder.readPredictions(run: runA)
        let b = try RunFolder.readPredictions(run: runB)
        let result = try Comparison.compare(a, b, resamples: resamples, seed: seed)
        let nameA = RunFolder.readInfo(run: runA)?.model ?? runA
        let nameB = RunFolder.readInfo(run: runB)?.model ?? runB
        let html = ComparePage.render(result, a: a, b: b, nameA: nameA, nameB: nameB)
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(html.utf8).write(to: url, options: .atomic)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Terminal.line(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            Terminal.line(result.summary(nameA: nameA, nameB: nameB))
        }
        Terminal.line("wrote \(out)")
    }
}
