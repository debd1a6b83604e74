// A training run's folder: what it holds, whether a new run may start there, and `run.json`
// (what the run was started from, so `export` and `--resume` find the base model again).

import Foundation
import OCRTraining

// MARK: - run.json

/// `RUN/run.json`.
public struct RunOrigin: Codable, Sendable, Equatable {
    public var model: String
    public var data: String
    public var command: [String]

    public init(model: String, data: String, command: [String]) {
        self.model = model
        self.data = data
        self.command = command
    }

    public static func url(_ run: URL) -> URL { run.appendingPathComponent("run.json") }

    public func write(to run: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: Self.url(run), options: .atomic)
    }

    public static func read(from run: URL) throws -> RunOrigin {
        guard let data = FileManager.default.contents(atPath: url(run).path) else {
            throw FineTuneError("\(run.path) is not a training run folder (no run.json)")
        }
        do {
            return try JSONDecoder().decode(RunOrigin.self, from: data)
        } catch {
            throw FineTuneError("\(url(run).path): not a run description (\(error.localizedDescription))")
        }
    }
}

// MARK: - The folder

public enum RunFolder {
    /// What a run writes at its top level (the rest of a folder is never touched).
    static let entries = ["run.json", "config.toml", "metrics.jsonl", "checkpoints", "adapter", "model", "best", "config.json", "dictionary.txt"]

    static func checkpoints(_ run: URL) -> [(step: Int, path: String)] {
        Checkpoints.list(directory: run.appendingPathComponent("checkpoints").path)
    }

    /// Whether a new run may start in `run`, and where a resumed one continues. A folder already
    /// holding a run is refused unless the run is resumed or replaced; `--resume` without a
    /// complete checkpoint is refused.
    public static func check(_ run: URL, resume: Bool, overwrite: Bool) throws -> (step: Int, path: String)? {
        let fm = FileManager.default
        let latest = checkpoints(run).last
        if resume {
            guard let latest else {
                throw FineTuneError(
                    "--resume: \(run.path) has no complete checkpoint to continue from; start the run without --resume")
            }
            return latest
        }
        let present = entries.filter { fm.fileExists(atPath: run.appendingPathComponent($0).path) }
            + ((try? fm.contentsOfDirectory(atPath: run.path)) ?? []).filter { $0.hasPrefix("events.out.tfevents.") }
        guard !present.isEmpty, !overwrite else { return nil }
        var state: [String] = []
        if fm.fileExists(atPath: run.appendingPathComponent("model").path) { state.append("finished: model/ written") }
        if let latest { state.append("checkpoints up to step \(latest.step)") }
        let what = state.isEmpty ? "" : " (\(state.joined(separator: "; ")))"
        throw FineTuneError(
            "\(run.path) already holds a training run\(what): continue it with --resume, replace it with --overwrite, or choose another --out")
    }

    /// Removes a previous run's files (and nothing else) from `run`.
    public static func clear(_ run: URL) throws {
        let fm = FileManager.default
        let names = entries + ((try? fm.contentsOfDirectory(atPath: run.path)) ?? []).filter { $0.hasPrefix("events.out.tfevents.") }
        for name in names where fm.fileExists(atPath: run.appendingPathComponent(name).path) {
            try fm.removeItem(at: run.appendingPathComponent(name))
        }
    }
}
