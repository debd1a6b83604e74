// `ocrtune eval`: run a model over a dataset split and write a run folder with a report.

import ArgumentParser
import Foundation
import OCREvaluation
import OCRMetrics

struct EvalCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure a model on a dataset split: predictions, metrics and an HTML report.",
        discussion: """
            Writes RUN/predictions.jsonl (id, reference, prediction, per-sample scores,
            latency), RUN/metrics.json (the keys of `ocrtune score`, plus a "run"
            object) and RUN/report.html (summary, per-sample CER histogram, worst
            samples with images and differences, confusions).

            --model takes a model folder, or external:PRED.jsonl to evaluate predictions
            made elsewhere (lines {"id", "prediction"} and, without --data,
            "reference").

            Examples:
              ocrtune eval --model runs/fa/model --data data/persian \\
                           --split test --out runs/eval-after
              ocrtune eval --model external:preds.jsonl --out runs/eval-external
              ocrtune eval --model external:preds.jsonl --data data/persian \\
                           --split test --out runs/x
            """)

    @Option(help: "A model folder, or external:PRED.jsonl.")
    var model: String

    @Option(help: "Dataset folder (as written by `ocrtune data build`).")
    var data: String?

    @Option(help: "Split of the dataset to evaluate.")
    var split = "test"

    @Option(help: "Run folder to write (replaced if it exists).")
    var out: String

    @Option(help: "Images per model call (default: the model's preferred batch size).")
    var batchSize: Int?

    @Option(help: "Prompt for generative models (ignored by CTC recognizers).")
    var prompt: String?

    @Option(help: "Worst samples shown in the report.")
    var worst = 50

    @OptionGroup var metricOptions: MetricOptionsGroup

    @OptionGroup var engine: EngineOptions

    func run() throws {
        _ = try engine.apply(label: "eval")
        let options = EvaluationOptions(metrics: metricOptions.options, batchSize: batchSize, worstSamples: worst)

        let samples = try data.map { try DatasetSamples.load(dataset: $0, split: split) }
        let result: EvaluationResult
        if model.hasPrefix("external:") {
            let file = String(model.dropFirst("external:".count))
            let lines = try ExternalPredictions.read(path: file)
            let (joined, predictions) = try Evaluator.external(lines, samples: samples, file: file)
            result = Evaluator.score(samples: joined, predictions: predictions, options: options)
        } else {
            guard let samples else { throw CLIError("--data is required to evaluate a model folder") }
            let recognizer = try ModelLoader.recognizer(at: model)
            let progress = ProgressLine(total: samples.count, label: "eval", plainEvery: max(1, samples.count / 10))
            result = try Evaluator.run(recognizer: recognizer, samples: samples, prompt: prompt, options: options) { p in
                progress.update(step: p.done, "")
            }
        }
        let info = RunInfo(model: model, data: data, split: data == nil ? nil : split)
        try RunFolder.write(result, info: info, options: options, to: out)
        if let t = result.report.text {
            Terminal.line(String(format: "%d samples  CER %.2f%%  WER %.2f%%  exact match %.2f%%", t.count, t.cer * 100, t.wer * 100, t.exactMatch * 100))
        }
        Terminal.line("wrote \(out)/predictions.jsonl, metrics.json, report.html")
    }
}
