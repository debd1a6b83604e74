// `ocrtune eval --task pages`: whole pages through OCRModels' PageReader, scored by
// OCREvaluation's PageEvaluation.

import Foundation
import OCREvaluation
import OCRModels

extension EvalCommand {
    func runPages() throws {
        guard let data, let detector else { throw CLIError("eval --task pages needs --data and --detector") }
        let samples = try DatasetSamples.load(dataset: data, split: split)
        var options = ReadingOptions()
        options.batchSize = batchSize
        let reader = try PageModels.reader(
            recognizer: try ModelPath.modelFolder(model, option: "--model"), detector: detector, options: options,
            doing: "eval --task pages")
        let progress = ProgressLine(total: samples.count, label: "eval pages", plainEvery: max(1, samples.count / 10))
        let (metrics, records): (PageMetrics, [PageRecord])
        do {
            (metrics, records) = try PageEvaluation.run(samples: samples, options: metricOptions.options) { page in
                try reader.read(page).map { PageRegion(points: $0.box, text: $0.text) }
            } progress: { progress.update(step: $0, "") }
        } catch {
            throw CLIError("eval: \(error)")
        }
        try PageEvaluation.write(
            metrics: metrics, records: records, samples: samples,
            run: ["model": model, "detector": detector, "data": data, "split": split], to: out)
        Terminal.line(String(
            format: "%d pages  detection P %.2f%% R %.2f%% hmean %.2f%%  end-to-end CER %.2f%% (%d matched lines)", metrics.pages,
            metrics.precision * 100, metrics.recall * 100, metrics.hmean * 100, metrics.endToEndCER * 100, metrics.matched))
        Terminal.line("wrote \(out)/predictions.jsonl, metrics.json, report.html")
    }
}
