// `ocrtune export --check`: every variant of an export read by its runtime on a dataset split,
// beside the model it came from in ocrtune, written to DIR/export-check.json. CER and exact
// match of both on the same samples, their difference, the largest output difference on a probe
// batch, the file sizes; a variant fails when its CER moves by more than the tolerance.

import Foundation
import OCREvaluation
import OCRImaging
import OCRModels

/// `export-check.json`.
public struct ExportCheckReport: Codable, Sendable {
    public struct Scores: Codable, Sendable {
        public var cer: Double
        public var exactMatch: Double

        enum CodingKeys: String, CodingKey {
            case cer
            case exactMatch = "exact_match"
        }
    }

    public struct Variant: Codable, Sendable {
        public var name: String
        public var runtime: String
        public var scores: Scores
        /// Export CER − ocrtune CER, in percentage points.
        public var cerDifferencePoints: Double
        public var tolerancePoints: Double
        /// Largest absolute difference on the probe batch, and of what.
        public var largestDifference: Double
        public var differenceOf: String
        /// Samples whose text differs between the export and ocrtune.
        public var differingSamples: Int
        /// Bytes per file (the variant's own and the shared ones).
        public var fileBytes: [String: Int]
        public var passed: Bool

        enum CodingKeys: String, CodingKey {
            case name, runtime, scores, passed
            case cerDifferencePoints = "cer_difference_points"
            case tolerancePoints = "tolerance_points"
            case largestDifference = "largest_difference"
            case differenceOf = "difference_of"
            case differingSamples = "differing_samples"
            case fileBytes = "file_bytes"
        }
    }

    public var format: String
    public var family: String
    public var dataset: String
    public var split: String
    public var samples: Int
    public var probeSamples: Int
    public var ocrtune: Scores
    public var variants: [Variant]
    public var passed: Bool

    enum CodingKeys: String, CodingKey {
        case format, family, dataset, split, samples, ocrtune, variants, passed
        case probeSamples = "probe_samples"
    }
}

public enum ExportCheck {
    public static let reportFile = "export-check.json"

    /// Reads `samples` with the model in ocrtune and with each exported variant in its runtime.
    /// `tolerance` (points) overrides each variant's default.
    public static func run(
        _ outcome: ExportOutcome, export folder: URL, samples: [EvalSample], dataset: String, split: String,
        tolerance: Double? = nil, probeCount: Int = 4, progress: (String) -> Void = { _ in }
    ) throws -> ExportCheckReport {
        guard !samples.isEmpty else { throw ExportError("--check: the \(split) split of \(dataset) is empty") }
        guard let family = outcome.family, !outcome.manifest.variants.isEmpty else {
            throw ExportError("--check: a \(outcome.manifest.format) export has nothing to run")
        }
        let reference = try ModelFamilies.reader(at: outcome.model)
        progress("ocrtune: reading \(samples.count) samples")
        let ours = try Evaluator.run(recognizer: reference, samples: samples)
        let oursScores = scores(ours)
        let probe = try samples.prefix(probeCount).map { sample -> RGBImage in
            guard let load = sample.loadImage else { throw ExportError("--check: sample \(sample.id) has no image") }
            return try load()
        }
        var variants: [ExportCheckReport.Variant] = []
        for variant in outcome.manifest.variants {
            let reader = try family.runtimeReader(export: folder, manifest: outcome.manifest, variant: variant.name, model: outcome.model)
            progress("\(variant.name): reading \(samples.count) samples with \(reader.runtime)")
            let theirs = try Evaluator.run(recognizer: reader, samples: samples)
            let theirScores = scores(theirs)
            let difference = try reader.largestDifference(on: probe, reference: reference)
            let points = (theirScores.cer - oursScores.cer) * 100
            let allowed = tolerance ?? ExportFormat.defaultTolerance(variant: variant.name)
            var sizes: [String: Int] = [:]
            for file in variant.files + outcome.manifest.shared {
                let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(file).path)
                sizes[file] = (attributes?[.size] as? NSNumber)?.intValue ?? 0
            }
            let differing = zip(ours.records, theirs.records).filter { $0.prediction != $1.prediction }.count
            variants.append(ExportCheckReport.Variant(
                name: variant.name, runtime: reader.runtime, scores: theirScores, cerDifferencePoints: points,
                tolerancePoints: allowed, largestDifference: difference.value, differenceOf: difference.of,
                differingSamples: differing, fileBytes: sizes, passed: abs(points) <= allowed))
        }
        let report = ExportCheckReport(
            format: outcome.manifest.format, family: family.name, dataset: dataset, split: split, samples: samples.count,
            probeSamples: probe.count, ocrtune: oursScores, variants: variants, passed: variants.allSatisfy(\.passed))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(report).write(to: folder.appendingPathComponent(reportFile), options: .atomic)
        return report
    }

    static func scores(_ result: EvaluationResult) -> ExportCheckReport.Scores {
        ExportCheckReport.Scores(cer: result.report.text?.cer ?? 0, exactMatch: result.report.text?.exactMatch ?? 0)
    }
}
