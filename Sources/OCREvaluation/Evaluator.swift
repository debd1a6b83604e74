// Running a recognizer over samples and scoring what it read.

import Foundation
import OCRImaging
import OCRMetrics

// MARK: - Options and results

/// How evaluation scores and reports.
public struct EvaluationOptions: Codable, Equatable, Sendable {
    /// Metric definitions (unit, normalization, case, whitespace, punctuation).
    public var metrics: MetricOptions
    /// Images per recognizer call (nil: the recognizer's preferred size).
    public var batchSize: Int?
    /// Confusion pairs, insertions and deletions listed in the error analysis.
    public var topErrors: Int
    /// Worst samples shown in the report.
    public var worstSamples: Int

    public init(metrics: MetricOptions = .default, batchSize: Int? = nil, topErrors: Int = 20, worstSamples: Int = 50) {
        self.metrics = metrics
        self.batchSize = batchSize
        self.topErrors = topErrors
        self.worstSamples = worstSamples
    }

    enum CodingKeys: String, CodingKey {
        case metrics
        case batchSize = "batch_size"
        case topErrors = "top_errors"
        case worstSamples = "worst_samples"
    }
}

/// Progress of a running evaluation.
public struct EvaluationProgress: Sendable {
    public let done: Int
    public let total: Int
    public let elapsed: TimeInterval
}

/// Everything an evaluation produced, in sample order.
public struct EvaluationResult {
    public let records: [PredictionRecord]
    public let report: ScoreReport
    public let samples: [EvalSample]
    /// Wall-clock seconds spent recognizing (0 for external predictions).
    public let seconds: Double
}

public struct EvaluationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Evaluator

public enum Evaluator {
    /// The order in which samples are read: by aspect ratio (width ÷ height, where both are
    /// known; the rest keep their place at the end), as PaddleOCR and RapidOCR sort all crops
    /// before cutting batches, so that a batch pads little. Padding a line to a much wider batch
    /// changes what a CTC network reads in it.
    public static func readingOrder(_ samples: [EvalSample]) -> [Int] {
        func ratio(_ s: EvalSample) -> Double {
            guard let w = s.width, let h = s.height, h > 0 else { return .infinity }
            return Double(w) / Double(h)
        }
        let ratios = samples.map(ratio)
        return samples.indices.sorted { ratios[$0] != ratios[$1] ? ratios[$0] < ratios[$1] : $0 < $1 }
    }

    /// Runs `recognizer` over `samples` in batches of similar aspect ratio and scores the predictions.
    public static func run(
        recognizer: TextRecognizer, samples: [EvalSample], prompt: String? = nil,
        options: EvaluationOptions = EvaluationOptions(), progress: (EvaluationProgress) -> Void = { _ in }
    ) throws -> EvaluationResult {
        let batchSize = max(1, options.batchSize ?? recognizer.preferredBatchSize)
        var predictions = [String](repeating: "", count: samples.count)
        var latencies = [Double?](repeating: nil, count: samples.count)
        let order = readingOrder(samples)
        var done = 0
        let start = Date()
        for first in stride(from: 0, to: order.count, by: batchSize) {
            let indices = order[first ..< min(first + batchSize, order.count)]
            let batch = indices.map { samples[$0] }
            let images = try batch.map { sample -> RGBImage in
                guard let load = sample.loadImage else {
                    throw EvaluationError("sample \(sample.id) has no image to recognize")
                }
                return try load()
            }
            let t = Date()
            let texts = try recognizer.recognize(images, prompt: prompt)
            guard texts.count == images.count else {
                throw EvaluationError("\(recognizer.name) returned \(texts.count) texts for \(images.count) images")
            }
            let perSample = Date().timeIntervalSince(t) * 1000 / Double(images.count)
            for (i, text) in zip(indices, texts) {
                predictions[i] = text
                latencies[i] = perSample
            }
            done += texts.count
            progress(EvaluationProgress(done: done, total: samples.count, elapsed: Date().timeIntervalSince(start)))
        }
        return score(
            samples: samples, predictions: predictions, latencies: latencies, options: options,
            seconds: Date().timeIntervalSince(start))
    }

    /// Scores given predictions (one per sample, in order).
    public static func score(
        samples: [EvalSample], predictions: [String], latencies: [Double?]? = nil,
        options: EvaluationOptions = EvaluationOptions(), seconds: Double = 0
    ) -> EvaluationResult {
        precondition(samples.count == predictions.count, "one prediction per sample")
        var scorer = TextScorer(options: options.metrics)
        var records: [PredictionRecord] = []
        records.reserveCapacity(samples.count)
        for (i, (sample, prediction)) in zip(samples, predictions).enumerated() {
            let s = scorer.score(reference: sample.reference, prediction: prediction, id: sample.id)
            records.append(
                PredictionRecord(
                    id: sample.id, reference: sample.reference, prediction: prediction, cer: s.cer, wer: s.wer,
                    exactMatch: s.exactMatch, characterEdits: s.characterEdits,
                    referenceCharacters: s.referenceCharacters, wordEdits: s.wordEdits,
                    referenceWords: s.referenceWords, latencyMs: latencies?[i] ?? nil))
        }
        let pairs = zip(samples, predictions).map { ScoreRecord.text(TextPair(id: $0.id, reference: $0.reference, prediction: $1)) }
        let report = ScoreJob.run(
            records: pairs, configuration: ScoreConfiguration(options: options.metrics, errors: options.topErrors))
        return EvaluationResult(records: records, report: report, samples: samples, seconds: seconds)
    }

    /// Joins external predictions with samples by id (samples may be nil: then each
    /// prediction line must carry its reference).
    public static func external(
        _ lines: [ExternalPredictions.Line], samples: [EvalSample]?, file: String
    ) throws -> (samples: [EvalSample], predictions: [String]) {
        guard let samples else {
            let built = try lines.map { line -> EvalSample in
                guard let reference = line.reference else {
                    throw EvaluationError("\(file): prediction \"\(line.id)\" has no \"reference\"; pass --data to take references from a dataset")
                }
                return EvalSample(id: line.id, reference: reference)
            }
            return (built, lines.map(\.prediction))
        }
        let byID = Dictionary(lines.map { ($0.id, $0.prediction) }, uniquingKeysWith: { a, _ in a })
        let missing = samples.filter { byID[$0.id] == nil }.map(\.id)
        if !missing.isEmpty {
            throw EvaluationError("\(file) has no prediction for \(missing.count) sample(s): \(missing.prefix(10).joined(separator: ", "))\(missing.count > 10 ? ", …" : "")")
        }
        return (samples, samples.map { byID[$0.id]! })
    }
}
