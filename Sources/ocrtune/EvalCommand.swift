// `ocrtune eval`: run a model over a dataset split and write a run folder with a report.

import ArgumentParser
import Foundation
import OCREvaluation
import OCRMetrics
import OCRModels
import OCRText

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

            --task fields --fields a,b,c (vision–language models) asks for those fields as JSON
            and adds field-level scores to metrics.json ("fields": exact and normalized
            precision/recall/F1, overall and per field): each prediction's JSON object against the
            dataset's "fields" column (a JSON object), or the reference text read as one.

            --task pages --detector DET reads whole pages (a dataset of pages with an "annotations"
            column: [{"bbox": [x1, y1, x2, y2], "text"}], as `data synth --template` writes) and
            scores detection with ICDAR 2015's protocol (precision, recall, hmean at IoU 0.5) and
            recognition end to end (CER over the matched lines); the report draws the boxes.

            Examples:
              ocrtune eval --model models/Qwen2.5-VL-3B-Instruct --data data/receipts \\
                           --task fields --fields date,total --out runs/eval-fields
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

    @Option(help: "Images per model call (default: the model's preferred batch size; Qwen-VL: 4 images generated together).")
    var batchSize: Int?

    @Option(help: "Prompt for generative models (ignored by CTC recognizers).")
    var prompt: String?

    @Option(help: "Vision–language models: ocr, latex or fields (that task's prompt unless --prompt; fields adds field scores).")
    var task: String?

    @Option(help: "With --task fields: the field names, comma-separated.")
    var fields: String?

    @Option(help: "Worst samples shown in the report.")
    var worst = 50

    @Option(help: "With --task pages: the text detector folder (pages with an \"annotations\" column are read whole and scored: ICDAR 2015 P/R/hmean at IoU 0.5, end-to-end CER).")
    var detector: String?

    @OptionGroup var metricOptions: MetricOptionsGroup

    @OptionGroup var engine: EngineOptions

    /// The task (nil: the model's default prompt) and, for --task fields, the field names scored.
    func requestedTask() throws -> (task: OCRTask?, fields: [String]?) {
        let task = try OCRTask.parse(task: self.task, fields: fields, prompt: prompt)
        let names = self.task == "fields" ? try OCRTask.parse(task: "fields", fields: fields, prompt: nil)?.fieldNames : nil
        return (task, names)
    }

    func validate() throws {
        if task == "pages" {
            if detector == nil { throw ValidationError("--task pages needs --detector DIR") }
            if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
            return
        }
        do { _ = try requestedTask() } catch { throw ValidationError("\(error)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        _ = try engine.apply(label: "eval")
        if self.task == "pages" { return try runPages() }
        let (task, fieldNames) = try requestedTask()
        let options = EvaluationOptions(metrics: metricOptions.options, batchSize: batchSize, worstSamples: worst)

        let samples = try data.map { try DatasetSamples.load(dataset: $0, split: split) }
        var result: EvaluationResult
        if model.hasPrefix("external:") {
            let file = String(model.dropFirst("external:".count))
            let lines = try ExternalPredictions.read(path: file)
            let (joined, predictions) = try Evaluator.external(lines, samples: samples, file: file)
            result = Evaluator.score(samples: joined, predictions: predictions, options: options)
        } else {
            guard let samples else { throw CLIError("--data is required to evaluate a model folder") }
            let folder = try ModelPath.modelFolder(model, option: "--model")
            var reading = ReadingOptions()
            reading.batchSize = batchSize
            reading.task = task
            let reader: any ModelReader
            do {
                reader = try ModelFamilies.reader(at: folder, options: reading)
            } catch {
                throw CLIError.from(error, doing: "eval")
            }
            let progress = ProgressLine(total: samples.count, label: "eval", plainEvery: max(1, samples.count / 10))
            do {
                result = try Evaluator.run(recognizer: reader, samples: samples, prompt: task?.prompt, options: options) { p in
                    progress.update(step: p.done, "")
                }
            } catch {
                throw CLIError.from(error, doing: "eval")
            }
        }
        if let fieldNames {
            do {
                result = try FieldEvaluation.adding(to: result, names: fieldNames, normalization: options.metrics.normalization)
            } catch {
                throw CLIError("eval: \(error)")
            }
        }
        let info = RunInfo(model: model, data: data, split: data == nil ? nil : split)
        try RunFolder.write(result, info: info, options: options, to: out)
        if let t = result.report.text {
            Terminal.line(String(format: "%d samples  CER %.2f%%  WER %.2f%%  exact match %.2f%%", t.count, t.cer * 100, t.wer * 100, t.exactMatch * 100))
        }
        if let f = result.report.fields {
            Terminal.line(String(format: "fields  F1 %.2f%% (normalized %.2f%%)  precision %.2f%%  recall %.2f%%",
                                 f.exact.f1 * 100, f.normalized.f1 * 100, f.exact.precision * 100, f.exact.recall * 100))
        }
        Terminal.line("wrote \(out)/predictions.jsonl, metrics.json, report.html")
    }
}
