// Atomic checkpoints: trainable weights, optimizer state, trainer state.

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers

/// The trainer's own state in a checkpoint (`trainer_state.json`).
public struct TrainerState: Codable, Equatable, Sendable {
    public var step: Int
    public var data: DataPosition
    public var bestMetric: Double?
    public var bestStep: Int?
    public var evaluationsWithoutImprovement: Int
    public var samplesSeen: Int

    enum CodingKeys: String, CodingKey {
        case step, data
        case bestMetric = "best_metric"
        case bestStep = "best_step"
        case evaluationsWithoutImprovement = "evaluations_without_improvement"
        case samplesSeen = "samples_seen"
    }
}

public enum Checkpoints {
    static let weightsFile = "trainable.safetensors"
    static let optimizerFile = "optimizer.safetensors"
    static let stateFile = "trainer_state.json"

    /// `checkpoints/step-000120`.
    public static func name(step: Int) -> String { String(format: "step-%06d", step) }

    /// Writes a checkpoint through a temporary folder: files are fsynced, then the folder is
    /// renamed into place, so a checkpoint folder either is complete or does not exist.
    /// `keys`: the weights to keep (default: the trainable ones and the buffers, such as
    /// BatchNorm running statistics, which training-mode passes update).
    public static func save(
        directory: String, step: Int, module: Module, keys: Set<String>? = nil, optimizer: Optimizer, state: TrainerState
    ) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = (directory as NSString).appendingPathComponent(name(step: step))
        let temporary = (directory as NSString).appendingPathComponent(".tmp-\(name(step: step))-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            let kept = keys ?? Set(module.trainableParameters().map(\.key)).union(module.bufferParameterKeys())
            try module.saveParameters(to: (temporary as NSString).appendingPathComponent(weightsFile), only: kept)
            try saveSafeTensors(optimizer.stateDictionary(), to: (temporary as NSString).appendingPathComponent(optimizerFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let statePath = (temporary as NSString).appendingPathComponent(stateFile)
            try encoder.encode(state).write(to: URL(fileURLWithPath: statePath))
            for file in [weightsFile, optimizerFile, stateFile] { try fsync(path: (temporary as NSString).appendingPathComponent(file)) }
            if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
            try fm.moveItem(atPath: temporary, toPath: final)
            try fsync(path: directory)
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
        return final
    }

    /// Removes temporary folders (`.tmp-*`) that a killed run left in `directory`: a run owns its
    /// checkpoint folder, so at its start none of them can belong to a live write.
    @discardableResult
    public static func removeTemporaries(directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let stale = names.filter { $0.hasPrefix(".tmp-") }.sorted()
        for name in stale { try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name)) }
        return stale
    }

    /// Complete checkpoints (all three files present), oldest first; temporary folders are ignored.
    public static func list(directory: String) -> [(step: Int, path: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let path = (directory as NSString).appendingPathComponent(name)
            guard [weightsFile, optimizerFile, stateFile].allSatisfy({
                FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0))
            }) else { return nil }
            return (step, path)
        }.sorted { $0.0 < $1.0 }
    }

    /// Restores weights (by name) and optimizer state; returns the trainer state. `keys`: the
    /// weights a checkpoint may hold (default: the trainable ones and the buffers).
    public static func load(path: String, module: Module, keys: Set<String>? = nil, optimizer: Optimizer) throws -> TrainerState {
        let weights = try loadSafeTensors(path: (path as NSString).appendingPathComponent(weightsFile)).arrays
        let allowed = keys ?? Set(module.trainableParameters().map(\.key)).union(module.bufferParameterKeys())
        let unknown = Set(weights.keys).subtracting(allowed)
        if !unknown.isEmpty {
            throw TrainingError("\(path): checkpoint has weights the model does not train: \(unknown.sorted().prefix(5).joined(separator: ", "))")
        }
        try module.update(parameters: weights, verify: [.shapesMatch, .noUnexpected], source: path)
        let state = try loadSafeTensors(path: (path as NSString).appendingPathComponent(optimizerFile)).arrays
        try optimizer.load(stateDictionary: state)
        let data = try Data(contentsOf: URL(fileURLWithPath: (path as NSString).appendingPathComponent(stateFile)))
        return try JSONDecoder().decode(TrainerState.self, from: data)
    }

    /// Deletes all but the newest `keep` checkpoints (and never `protected`). Each is first renamed
    /// to a temporary name, so that a process killed while deleting its files leaves a `.tmp-`
    /// folder (removed by the next run) rather than a checkpoint that still lists as complete but
    /// lacks its weights.
    public static func prune(directory: String, keep: Int, protected: Set<String> = []) {
        let fm = FileManager.default
        for (step, path) in list(directory: directory).dropLast(max(keep, 1)) where !protected.contains(path) {
            let doomed = (directory as NSString).appendingPathComponent(".tmp-pruned-\(name(step: step))")
            try? fm.removeItem(atPath: doomed)
            if (try? fm.moveItem(atPath: path, toPath: doomed)) != nil {
                try? fm.removeItem(atPath: doomed)
            } else {
                try? fm.removeItem(atPath: path)
            }
        }
    }

    static func fsync(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TrainingError("cannot open \(path) to sync it") }
        defer { close(fd) }
        _ = Foundation.fsync(fd)
    }
}
