// `ocrtune train`: fine-tune a model on a dataset.

import ArgumentParser
import Foundation
import MLXEngine
import MLXNN
import OCRFineTune
import OCRTraining

struct TrainCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model on a dataset (LoRA by default; QLoRA or full).",
        discussion: """
            Writes RUN/config.toml (the resolved configuration; --config reads it back),
            metrics.jsonl, TensorBoard event files (tensorboard --logdir RUN),
            checkpoints/, adapter/ (LoRA and QLoRA, in PEFT's format), best/ (the best
            validation checkpoint's output) and model/: the trained model as a complete
            folder in the base model's layout (adapters merged), ready for eval and
            predict. Ctrl-C finishes the current step, writes a checkpoint and prints
            the command that resumes it; --resume continues bit-exactly. Settings:
            defaults < --config FILE < flags.

            Examples:
              ocrtune train --model models/ppocrv5 --data data/persian --out runs/fa
              ocrtune train --model models/ppocrv5 --data data/persian --out runs/fa \\
                              --method full --max-steps 2000
              ocrtune train --model M --data D --out runs/x --method qlora --bits 4 \\
                              --lora-r 16 --target q_proj,v_proj
              ocrtune train --model M --data D --out runs/x \\
                              --mix data/chinese:0.25 --add-chars extra.txt
              ocrtune train --model M --data D --out runs/x --resume
              ocrtune launch -n 2 -- train --model M --data D --out runs/x   (data-parallel)

            Started by a distributed launcher (ocrtune launch, mlx.launch: MLX_RANK is set),
            each rank trains on its part of every batch; rank 0 alone prints and writes RUN.
            """)

    @Option(help: "Base model folder.") var model: String
    @Option(help: "Dataset folder (ocrtune data build).") var data: String
    @Option(help: "Run folder.") var out: String
    @Option(help: "A config.toml to start from (flags override it).") var config: String?
    @Flag(help: "Continue from the newest complete checkpoint in RUN.") var resume = false
    @Flag(help: "Replace a training run already in RUN (otherwise that is an error).") var overwrite = false

    @Option(help: "lora, qlora or full.") var method: FineTuningMethod?
    @Option(help: "Comma-separated name patterns of the Linear layers to adapt (default: the family's).") var target: String?
    @Option(help: "LoRA rank.") var loraR: Int?
    @Option(help: "LoRA alpha.") var loraAlpha: Double?
    @Option(help: "LoRA dropout.") var loraDropout: Float?
    @Flag(help: "rsLoRA scaling (alpha / sqrt(r)).") var rslora = false
    @Option(help: "Bits of the quantized base for QLoRA (4 or 8).") var bits: Int?
    @Option(help: "Comma-separated parameter groups or key patterns to freeze (PP-OCR groups: backbone, early-backbone — all of it but its last stage —, neck, head; e.g. backbone).") var freeze: String?

    @Option(help: "Peak learning rate.") var learningRate: Float?
    @Option(help: "Learning-rate schedule after warm-up.") var schedule: TrainingConfiguration.Schedule?
    @Option(help: "Warm-up steps.") var warmupSteps: Int?
    @Option(help: "Samples per micro-batch.") var batchSize: Int?
    @Option(help: "Micro-batches per optimizer step.") var gradAccum: Int?
    @Option(help: "Epochs (ignored with --max-steps).") var epochs: Int?
    @Option(help: "Optimizer steps.") var maxSteps: Int?
    @Option(help: "Compute dtype (float32 master weights).") var dtype: TrainingConfiguration.ComputeDType?
    @Flag(help: "Recompute activations in the backward pass (less memory, more compute; PP-OCR: the SVTR blocks).")
    var gradientCheckpointing = false
    @Option(help: "Validate every N steps.") var evalEvery: Int?
    @Option(help: "Validation samples used during training.") var evalSamples: Int?
    @Option(help: "Stop after N evaluations without improvement.") var patience: Int?
    @Option(help: "Checkpoint every N steps.") var saveEvery: Int?
    @Option(help: "Checkpoints to keep.") var keepLast: Int?
    @Option(help: "What a step with a non-finite loss does.") var onNan: TrainingConfiguration.NonFiniteLossPolicy?
    @Option(help: "Seed of initialization, shuffling and dropout.") var seed: UInt64?

    @Option(help: "A file of characters to add to the vocabulary (CTC models).") var addChars: String?
    @Flag(inversion: .prefixedNo, help: "Add training-set characters the model cannot emit, with a warning.") var extendVocab = true
    @Option(help: "DIR:RATIO — mix a general dataset into each batch (e.g. data/chinese:0.25).") var mix: String?
    @Option(help: "Weight of distillation from the base model on --mix lines: they keep the base model's outputs (0: off).")
    var distill: Double = 1

    @Option(help: "Weight of distillation of the base model's neck features on --mix lines (PP-OCR; 0: off).")
    var distillFeatures: Double = 0

    @OptionGroup var engine: EngineOptions

    /// defaults < the family's defaults (for the method) < --config FILE (or RUN/config.toml on
    /// --resume) < flags. A file or flag naming epochs or max_steps turns the family's minimum
    /// step count off.
    func resolvedConfiguration(family: (any FineTunableFamily.Type)? = nil) throws -> TrainingConfiguration {
        var file: (text: String, path: String)?
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else { throw CLIError("--config \(config): cannot read the file") }
            file = (text, config)
        } else if resume {
            let path = (out as NSString).appendingPathComponent("config.toml")
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { file = (text, path) }
        }
        let named = try file.map { try TOML.decode($0.text) } ?? [:]
        let chosenMethod = try method ?? (named["method"] as? String).map { try FineTuningMethod(parsing: $0) } ?? .lora
        var base = family?.trainingDefaults(for: chosenMethod).applied(to: TrainingConfiguration()) ?? TrainingConfiguration()
        if epochs != nil || maxSteps != nil || named["epochs"] != nil || named["max_steps"] != nil { base.minimumSteps = nil }
        var c = try file.map { try TrainingConfiguration.fromTOML($0.text, file: $0.path, base: base) } ?? base
        if let method { c.method = method }
        if let target { c.lora.targetModules = target.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let loraR { c.lora.r = loraR }
        if let loraAlpha { c.lora.loraAlpha = loraAlpha }
        if let loraDropout { c.lora.loraDropout = loraDropout }
        if rslora { c.lora.useRSLoRA = true }
        if let bits { c.quantizationBits = bits }
        if let freeze { c.freeze = freeze.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let learningRate { c.learningRate = learningRate }
        if let schedule { c.schedule = schedule }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let batchSize { c.batchSize = batchSize }
        if let gradAccum { c.gradientAccumulation = gradAccum }
        if let epochs { c.epochs = epochs }
        if let maxSteps { c.maxSteps = maxSteps }
        if let dtype { c.dtype = dtype }
        if gradientCheckpointing { c.gradientCheckpointing = true }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evalSamples { c.evalSamples = evalSamples }
        if let patience { c.patience = patience }
        if let saveEvery { c.saveEvery = saveEvery }
        if let keepLast { c.keepLast = keepLast }
        if let onNan { c.onNaN = onNan }
        if let seed { c.seed = seed }
        try c.validate()
        return c
    }

    func fineTuneOptions() throws -> FineTuneOptions {
        var o = FineTuneOptions()
        o.extendVocabularyFromData = extendVocab
        if let addChars {
            guard let text = try? String(contentsOfFile: addChars, encoding: .utf8) else { throw CLIError("--add-chars \(addChars): cannot read the file") }
            o.addCharacters = Array(text.filter { !$0.isNewline })
        }
        if let mix {
            guard let colon = mix.lastIndex(of: ":"), let ratio = Double(mix[mix.index(after: colon)...]), ratio > 0, ratio < 1 else {
                throw CLIError("--mix \(mix): expected DIR:RATIO with 0 < RATIO < 1, e.g. data/chinese:0.25")
            }
            o.mix = (String(mix[..<colon]), ratio)
        }
        guard distill >= 0, distill.isFinite else { throw CLIError("--distill \(distill): expected a weight ≥ 0") }
        o.distillation = distill
        guard distillFeatures >= 0, distillFeatures.isFinite else {
            throw CLIError("--distill-features \(distillFeatures): expected a weight ≥ 0")
        }
        o.featureDistillation = distillFeatures
        return o
    }

    func run() throws {
        _ = try engine.apply(label: "train")
        let base = try ModelPath.modelFolder(model, option: "--model")
        let family = try fineTunableFamily(ofModelAt: base)
        let configuration = try resolvedConfiguration(family: family)
        var request = TrainingRequest(
            model: base, data: try ModelPath.datasetFolder(data, option: "--data"), run: URL(fileURLWithPath: out),
            configuration: configuration, options: try fineTuneOptions())
        request.resume = resume
        request.overwrite = overwrite
        request.command = Array(CommandLine.arguments.dropFirst())
        request.group = try DistributedGroup.fromEnvironment()
        let writer = request.isWriter
        let session = try family.prepareTraining(request)
        if let group = request.group, writer {
            Terminal.line("data-parallel: \(group.size) ranks, \(configuration.batchSize) samples per global micro-batch")
        }
        for note in session.setupNotes where writer { Terminal.line(note) }
        if let point = session.resumePoint, writer {
            Terminal.line("resuming at step \(point.step) of \(session.totalSteps) from \(point.path)")
        }
        let console = TrainingConsole(totalSteps: session.totalSteps, quiet: !writer)
        console.catchSignals()
        let summary = try session.run(progress: console.handle)
        guard writer else { return }
        switch summary.ending {
        case .stoppedOnRequest:
            Terminal.line(console.resumeHint(arguments: Array(CommandLine.arguments.dropFirst())))
            throw ExitCode(130)
        case .earlyStopped:
            Terminal.line("early stop at step \(summary.steps): no improvement in \(configuration.patience ?? 0) evaluations")
        case .completed:
            break
        }
        if let best = summary.bestMetric, let step = summary.bestStep {
            Terminal.line(String(format: "best validation metric %.4f at step %d (saved in %@/best)", best, step, out))
        }
        let merged = URL(fileURLWithPath: out).appendingPathComponent("model")
        try session.writeModel(to: merged)
        let output = summary.output ?? merged.path
        Terminal.line(output == merged.path ? "wrote \(merged.path)" : "wrote \(output) and \(merged.path)")
    }
}

extension FineTuningMethod: ExpressibleByArgument {}
extension TrainingConfiguration.Schedule: ExpressibleByArgument {}
extension TrainingConfiguration.ComputeDType: ExpressibleByArgument {}
extension TrainingConfiguration.NonFiniteLossPolicy: ExpressibleByArgument {}
