// What evaluation reads (samples, external predictions) and writes (prediction records).

import Foundation
import OCRImaging

// MARK: - Samples

/// One sample to evaluate: its id, reference text and, when known, the image.
public struct EvalSample {
    public let id: String
    public let reference: String
    /// The original encoded image (PNG, JPEG, …), shown in reports.
    public let imageBytes: Data?
    /// Decodes the image for a recognizer.
    public let loadImage: (() throws -> RGBImage)?
    /// Image width in pixels, when known (for CER by width).
    public let width: Int?
    /// Image height in pixels, when known (with the width: batches of similar aspect ratio).
    public let height: Int?
    /// The dataset's metadata columns (a `fields` column holds the reference fields as JSON).
    public let metadata: [String: String]

    public init(
        id: String, reference: String, imageBytes: Data? = nil, width: Int? = nil, height: Int? = nil,
        metadata: [String: String] = [:], loadImage: (() throws -> RGBImage)? = nil
    ) {
        self.id = id
        self.reference = reference
        self.imageBytes = imageBytes
        self.width = width
        self.height = height
        self.metadata = metadata
        self.loadImage = loadImage
    }
}

// MARK: - Prediction records (predictions.jsonl)

/// One line of `predictions.jsonl`.
public struct PredictionRecord: Codable, Equatable, Sendable {
    public var id: String
    public var reference: String
    public var prediction: String
    public var cer: Double
    public var wer: Double
    public var exactMatch: Bool
    public var characterEdits: Int
    public var referenceCharacters: Int
    public var wordEdits: Int
    public var referenceWords: Int
    /// Milliseconds spent on this sample's batch divided by the batch size (nil for external predictions).
    public var latencyMs: Double?

    enum CodingKeys: String, CodingKey {
        case id, reference, prediction, cer, wer
        case exactMatch = "exact_match"
        case characterEdits = "character_edits"
        case referenceCharacters = "reference_characters"
        case wordEdits = "word_edits"
        case referenceWords = "reference_words"
        case latencyMs = "latency_ms"
    }
}

// MARK: - External predictions

/// Errors in a predictions file, naming the file and line.
public struct PredictionFileError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let message: String
    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// Predictions made elsewhere: JSONL lines `{"id": ..., "reference": ..., "prediction": ...}`
/// (`id` optional: line number; `reference` optional when the dataset supplies it).
public enum ExternalPredictions {
    public struct Line: Equatable {
        public let id: String
        public let reference: String?
        public let prediction: String
    }

    public static func read(path: String) throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PredictionFileError(file: path, line: nil, message: "cannot read the file")
        }
        var lines: [Line] = []
        var seen = Set<String>()
        for (index, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            let lineNumber = index + 1
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw PredictionFileError(file: path, line: lineNumber, message: "not a JSON object")
            }
            guard let prediction = object["prediction"] as? String else {
                throw PredictionFileError(file: path, line: lineNumber, message: "missing string field \"prediction\"")
            }
            let id = (object["id"] as? String) ?? (object["id"] as? NSNumber)?.stringValue ?? "\(lineNumber)"
            guard seen.insert(id).inserted else {
                throw PredictionFileError(file: path, line: lineNumber, message: "duplicate id \"\(id)\"")
            }
            if object["reference"] != nil, !(object["reference"] is String) {
                throw PredictionFileError(file: path, line: lineNumber, message: "\"reference\" must be a string")
            }
            lines.append(Line(id: id, reference: object["reference"] as? String, prediction: prediction))
        }
        if lines.isEmpty { throw PredictionFileError(file: path, line: nil, message: "no predictions") }
        return lines
    }
}
