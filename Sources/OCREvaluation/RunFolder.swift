// An evaluation run on disk: predictions.jsonl, metrics.json, report.html.

import Foundation
import OCRMetrics
import OCRSupport

/// What identifies a run in its files and report.
public struct RunInfo: Codable, Equatable, Sendable {
    public var model: String
    public var data: String?
    public var split: String?
    public var createdAt: String

    public init(model: String, data: String? = nil, split: String? = nil, createdAt: Date = Date()) {
        self.model = model
        self.data = data
        self.split = split
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case model, data, split
        case createdAt = "created_at"
    }
}

public enum RunFolder {
    public static let predictionsFile = "predictions.jsonl"
    public static let metricsFile = "metrics.json"
    public static let reportFile = "report.html"

    /// Writes the run into `path` through a temporary folder renamed at the end, so a
    /// half-written run never looks complete. An existing run at `path` is replaced.
    public static func write(_ result: EvaluationResult, info: RunInfo, options: EvaluationOptions, to path: String) throws {
        try AtomicDirectory.write(to: path) { temporary in
            let folder = URL(fileURLWithPath: temporary)
            try predictionsJSONL(result.records).write(to: folder.appendingPathComponent(predictionsFile))
            try metricsJSON(result, info: info).write(to: folder.appendingPathComponent(metricsFile))
            let html = HTMLReport.render(result, info: info, options: options)
            try Data(html.utf8).write(to: folder.appendingPathComponent(reportFile))
        }
    }

    static func predictionsJSONL(_ records: [PredictionRecord]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for r in records {
            out.append(try encoder.encode(r))
            out.append(0x0A)
        }
        return out
    }

    /// `score`'s JSON plus a `run` object (model, data, split, timing).
    static func metricsJSON(_ result: EvaluationResult, info: RunInfo) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: Data(try result.report.jsonString().utf8)) as! [String: Any]
        var run = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(info)) as! [String: Any]
        run["seconds"] = result.seconds
        if result.seconds > 0 { run["samples_per_second"] = Double(result.records.count) / result.seconds }
        object["run"] = run
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Reads a run's prediction records (for `compare`).
    public static func readPredictions(run path: String) throws -> [PredictionRecord] {
        let file = (path as NSString).appendingPathComponent(predictionsFile)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw EvaluationError("\(file): not found (is \(path) an evaluation run folder?)")
        }
        let decoder = JSONDecoder()
        var records: [PredictionRecord] = []
        for (i, line) in data.split(separator: 0x0A).enumerated() where !line.isEmpty {
            do {
                records.append(try decoder.decode(PredictionRecord.self, from: Data(line)))
            } catch {
                throw EvaluationError("\(file):\(i + 1): not a prediction record (\(error))")
            }
        }
        return records
    }

    /// Reads a run's info from metrics.json.
    public static func readInfo(run path: String) -> RunInfo? {
        let file = (path as NSString).appendingPathComponent(metricsFile)
        guard let data = FileManager.default.contents(atPath: file),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let run = object["run"], let runData = try? JSONSerialization.data(withJSONObject: run)
        else { return nil }
        return try? JSONDecoder().decode(RunInfo.self, from: runData)
    }
}
