// Field-level scoring of a field-extraction run: each prediction's JSON object (read by
// OCRText's FieldAnswerParser) against the sample's reference fields, with OCRMetrics'
// FieldMetrics (exact / normalized precision, recall, F1, overall and per field).

import Foundation
import OCRMetrics
import OCRText

// MARK: - Field evaluation

public enum FieldEvaluation {
    /// The metadata column holding a sample's reference fields as a JSON object.
    public static let column = "fields"

    /// The reference fields of `sample` among `names`: its `fields` column when the dataset has
    /// one, else its reference text read as a JSON object. Errors name the sample.
    public static func referenceFields(of sample: EvalSample, names: [String]) throws -> [String: String] {
        let source = sample.metadata[column] ?? sample.reference
        do {
            return try FieldAnswerParser.parse(source, fields: names).values
        } catch {
            let origin = sample.metadata[column] != nil ? "its \"\(column)\" column" : "its reference text"
            throw EvaluationError("sample \(sample.id): \(origin) holds no JSON object of fields (\(error))")
        }
    }

    /// The requested fields of a prediction; an answer without a JSON object predicts none.
    public static func predictedFields(_ prediction: String, names: [String]) -> [String: String] {
        (try? FieldAnswerParser.parse(prediction, fields: names).values) ?? [:]
    }

    /// Field metrics of `predictions` (one per sample, in order).
    public static func score(
        samples: [EvalSample], predictions: [String], names: [String], normalization: UnicodeNormalization = .nfc
    ) throws -> FieldMetricsReport {
        precondition(samples.count == predictions.count, "one prediction per sample")
        let pairs = try zip(samples, predictions).map { sample, prediction in
            FieldPair(id: sample.id, reference: try referenceFields(of: sample, names: names),
                      prediction: predictedFields(prediction, names: names))
        }
        return FieldMetrics.evaluate(pairs, normalization: normalization)
    }

    /// `result` with the field metrics in its report (metrics.json's `fields`).
    public static func adding(
        to result: EvaluationResult, names: [String], normalization: UnicodeNormalization = .nfc
    ) throws -> EvaluationResult {
        var report = result.report
        report.fields = try score(
            samples: result.samples, predictions: result.records.map(\.prediction), names: names,
            normalization: normalization)
        return EvaluationResult(records: result.records, report: report, samples: result.samples, seconds: result.seconds)
    }
}
