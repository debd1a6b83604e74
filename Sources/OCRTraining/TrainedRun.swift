// A run's trained weights back on a fresh base model: the fine-tuning method as the trainer
// applies it, and the weights of the run's output or of one of its checkpoints (export --merge).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Method

public enum FineTuning {
    /// Applies the method to a freshly loaded model: LoRA adapters (seeded by the run's seed) on
    /// the targets, over a quantized base for QLoRA; everything trainable for full fine-tuning.
    public static func apply<Model: TrainableModel>(_ c: TrainingConfiguration, to model: Model) throws {
        let module = model.module
        if c.method == .full {
            module.unfreeze()
            return
        }
        var lora = c.lora
        if lora.targetModules.isEmpty { lora.targetModules = model.defaultLoRATargets }
        if c.method == .qlora {
            let quantized = try module.quantizeLinears(groupSize: c.quantizationGroupSize, bits: c.quantizationBits)
            if quantized.isEmpty {
                throw TrainingError(
                    "qlora: no Linear layer has an input size divisible by quantization_group_size \(c.quantizationGroupSize) (the engine groups by 32, 64 or 128), so nothing would be quantized; use --method lora")
            }
        }
        let wrapped = try module.applyLoRA(lora, seed: c.seed)
        if wrapped.isEmpty {
            throw TrainingError("no Linear layer matches the LoRA targets \(lora.targetModules)")
        }
    }
}

extension Module {
    /// Full keys of the buffers (e.g. BatchNorm running statistics): not trained, but updated
    /// by training-mode forward passes, so checkpoints keep them.
    public func bufferParameterKeys() -> Set<String> {
        var keys = Set<String>()
        for (path, module) in namedModules() {
            for key in module.bufferKeys { keys.insert(path.isEmpty ? key : path + "." + key) }
        }
        return keys
    }

    /// Replaces every LoRA layer by the Linear it amounts to and every remaining quantized
    /// Linear by its dequantized weight: the base model's own layout.
    public func mergeForExport() throws {
        try mergeLoRALayers()
        try replaceModules { _, module in
            (module as? QuantizedLinear).map { Linear(weight: $0.dequantizedWeight(), bias: $0.bias) }
        }
    }
}

// MARK: - Trained weights of a run

public enum TrainedRun {
    /// RUN/config.toml, the resolved configuration the run trained with.
    public static func configuration(of run: String) throws -> TrainingConfiguration {
        let path = (run as NSString).appendingPathComponent("config.toml")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError("\(path): not found (is \(run) a training run folder?)")
        }
        return try TrainingConfiguration.fromTOML(text, file: path)
    }

    /// The folder `export` reads by default: the run's output (RUN/adapter, or RUN/model for full
    /// fine-tuning) when it completed, else its newest complete checkpoint.
    public static func defaultSource(run: String, configuration c: TrainingConfiguration) throws -> String {
        let output = (run as NSString).appendingPathComponent(c.method == .full ? "model" : "adapter")
        if FileManager.default.fileExists(atPath: output) { return output }
        if let latest = Checkpoints.list(directory: (run as NSString).appendingPathComponent("checkpoints")).last {
            return latest.path
        }
        throw TrainingError("\(run): no \(c.method == .full ? "model" : "adapter")/ and no complete checkpoint to export")
    }

    /// Applies the run's method to `model` (a freshly loaded base, with any vocabulary change the
    /// run made already applied) and loads the trained weights from `source`: a checkpoint
    /// folder, an adapter folder (PEFT format) or a folder with model.safetensors (full). Every
    /// weight the run trained must be there. Returns the folder read.
    @discardableResult
    public static func restore<Model: TrainableModel>(
        _ model: Model, run: String, configuration c: TrainingConfiguration, from source: String? = nil
    ) throws -> String {
        let folder = try source ?? defaultSource(run: run, configuration: c)
        try FineTuning.apply(c, to: model)
        let module = model.module
        let fm = FileManager.default
        guard fm.fileExists(atPath: folder) else { throw TrainingError("\(folder): not found") }
        let weights: [String: MLXArray]
        if fm.fileExists(atPath: (folder as NSString).appendingPathComponent(Checkpoints.stateFile)) {
            weights = try loadSafeTensors(path: (folder as NSString).appendingPathComponent(Checkpoints.weightsFile)).arrays
        } else if fm.fileExists(atPath: (folder as NSString).appendingPathComponent(PEFTAdapter.configFile)) {
            guard c.method != .full else { throw TrainingError("\(folder): an adapter, but \(run) fine-tuned all weights (method full)") }
            weights = try PEFTAdapter.load(from: folder).weights
        } else if fm.fileExists(atPath: (folder as NSString).appendingPathComponent("model.safetensors")) {
            guard c.method == .full else { throw TrainingError("\(folder): full weights, but \(run) trained \(c.method.rawValue) adapters") }
            weights = try loadSafeTensors(path: (folder as NSString).appendingPathComponent("model.safetensors")).arrays
        } else {
            throw TrainingError("\(folder): neither a checkpoint, an adapter nor a model folder")
        }
        // What the run trained: the adapters, or every parameter not frozen by group.
        let frozen = model.keyPatterns(for: c.freeze)
        if !frozen.isEmpty { module.freeze(matching: frozen) }
        let trained = Set(c.method == .full ? module.trainableParameters().map(\.key) : module.loraParameters().map(\.key))
        let missing = trained.subtracting(weights.keys)
        if !missing.isEmpty {
            throw TrainingError("\(folder): lacks \(missing.count) trained weights, e.g. \(missing.sorted().prefix(3).joined(separator: ", "))")
        }
        try module.update(parameters: weights, verify: [.shapesMatch, .noUnexpected], source: folder)
        try eval(module.parameters().map(\.array))
        return folder
    }
}
