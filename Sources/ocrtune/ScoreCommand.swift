import ArgumentParser
import Foundation
import OCRMetrics

/// `ocrtune score`: scores a JSONL file of predictions and prints a JSON
/// report. All logic lives in `OCRMetrics` (`ScoreJob`); this only parses options.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score OCR predictions against references (CER, WER, NED, BLEU, ...).",
        discussion: """
            Input is JSON Lines, one sample per line:
              {"id": "p1", "reference": "ground truth", "prediction": "model output"}
            ("id" is optional). For key-value extraction use objects instead of strings:
            {"reference": {"total": "12.50"}, "prediction": {"total": "12.5"}} and the
            report has field-level precision/recall/F1 under "fields".

            Definitions (all corpus values are micro averages unless named
            _mean/_median):
              cer          sum(char edits) / sum(reference chars); may exceed 1
              wer          sum(word edits) / sum(reference words); words are split
                           as jiwer 4.0 does (runs of whitespace, single spaces)
              ned          1 - mean(edits / max(len(ref), len(pred)))  (ICDAR 2019)
              exact_match  fraction of samples with identical character units
              char_*       bag-of-characters precision/recall/F1
              bleu         sacreBLEU corpus BLEU (13a, 4-gram), 0-100
            A sample with an empty reference counts its edits over a length of 1.
            Leading/trailing whitespace is never counted (as in jiwer). With --unit
            codepoint --normalize none, cer and wer equal jiwer's.

            Examples:
              ocrtune score preds.jsonl
              ocrtune score preds.jsonl --unit codepoint --no-normalize
              ocrtune score preds.jsonl --ignore-case --ignore-punctuation --errors 20
              ocrtune score formulas.jsonl --latex
            """)

    @Argument(help: "JSONL file with \"reference\" and \"prediction\" per line.")
    var predictions: String

    @OptionGroup var metricOptions: MetricOptionsGroup

    @Flag(help: "Add LaTeX-aware token metrics (section \"latex\").")
    var latex = false

    @Option(help: ArgumentHelp("Add error analysis with the top N confusions, insertions and deletions.", valueName: "N"))
    var errors: Int?

    func validate() throws {
        if let errors, errors < 0 { throw ValidationError("--errors must be 0 or more") }
    }

    func run() throws {
        let configuration = ScoreConfiguration(options: metricOptions.options, latex: latex, errors: errors)
        // ScoreInputError messages name the file and line; ArgumentParser prints them.
        let report = try ScoreJob.run(path: predictions, configuration: configuration)
        print(try report.jsonString())
    }
}
