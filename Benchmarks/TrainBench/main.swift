// Training-step runner for bench/train.py: the trainer against a bare engine loop on the same
// model, batches and optimizer, one configuration per process (so peak RSS is its own).
//
//   TrainBench --model DIR --inputs IN.safetensors --method lora|qlora|full --loop trainer|bare
//              --steps N --warmup W [--batch 16] [--freeze GROUPS] [--gradient-checkpointing]
//       IN holds `pixels` [N, 48, W, 3] (preprocessed by the driver), `targets` [N, L] int32 class
//       ids and `target_lengths` [N] int32. Batches are consecutive slices of B lines, cycled.
//       Prints one JSON line: steps/s over the steps after the first W (steady state), the CPU
//       time per step (user + system, all threads: less sensitive to other jobs), the loss
//       of every step, the peak resident memory (VmHWM) and the engine's peak allocation; or
//       {"error": ...} when the configuration cannot run (e.g. nothing to quantize for QLoRA).
//
// Every mode takes --device cpu|gpu (default cpu; tools/gpu/run.sh passes gpu).

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import OCRFineTune
import OCRModels
import OCRTraining

// MARK: - Arguments

var arguments: [String: String] = [:]
var flags = Set<String>()
let argv = Array(CommandLine.arguments.dropFirst())
var k = 0
while k < argv.count {
    let a = argv[k]
    if a.hasPrefix("--"), k + 1 < argv.count, !argv[k + 1].hasPrefix("--") {
        arguments[String(a.dropFirst(2))] = argv[k + 1]
        k += 2
    } else {
        flags.insert(String(a.dropFirst(2)))
        k += 1
    }
}

func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("TrainBench: \(message)\n".utf8))
    exit(1)
}

// MARK: - Device

/// `--device cpu|gpu` (default cpu, as the CLI's): MLX's CUDA build would otherwise pick the GPU.
let deviceName = arguments["device"] ?? "cpu"
guard let device = Device(rawValue: deviceName) else { fail("--device must be cpu or gpu, not \(deviceName)") }
do { try Device.setDefault(device) } catch { fail("--device \(deviceName): \(error)") }

/// Peak resident set size of this process (VmHWM), in MB.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return .nan }
    return kb / 1024
}

/// CPU seconds (user + system, all threads) this process has used.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

guard let modelDir = arguments["model"], let inputs = arguments["inputs"] else {
    fail("usage: TrainBench --model DIR --inputs IN.safetensors --method lora|qlora|full --loop trainer|bare --steps N --warmup W")
}
let loop = arguments["loop"] ?? "trainer"
let steps = Int(arguments["steps"] ?? "20")!
let warmup = Int(arguments["warmup"] ?? "3")!
let batchSize = Int(arguments["batch"] ?? "16")!
guard let method = FineTuningMethod(rawValue: arguments["method"] ?? "lora") else { fail("--method: lora, qlora or full") }

// MARK: - Batches

/// Consecutive slices of the driver's lines, cycled; resumable like any source.
final class FixedBatches: BatchSource {
    let batches: [CTCBatch]
    private(set) var position = DataPosition()
    init(_ batches: [CTCBatch]) { self.batches = batches }
    var samplesPerEpoch: Int { batches.count * batchSize }
    func seek(to p: DataPosition) throws { position = p }
    func nextBatch(size: Int) throws -> CTCBatch? {
        let i = position.index / batchSize
        guard i < batches.count else { return nil }
        position.index += batchSize
        return batches[i]
    }
}

let arrays: [String: MLXArray]
do { arrays = try loadSafeTensors(path: inputs).arrays } catch { fail("\(inputs): \(error)") }
guard let pixels = arrays["pixels"], let targets = arrays["targets"], let lengths = arrays["target_lengths"] else {
    fail("\(inputs): needs pixels, targets and target_lengths")
}
let targetLengths = lengths.asArray(Int32.self).map(Int.init)

// MARK: - Model and configuration

var configuration = TrainingConfiguration()
configuration.method = method
configuration.batchSize = batchSize
configuration.maxSteps = steps
configuration.learningRate = 5e-4
configuration.evalEvery = 0
configuration.saveEvery = 0
configuration.logEvery = 1
configuration.gradientCheckpointing = flags.contains("gradient-checkpointing")
if let freeze = arguments["freeze"] { configuration.freeze = freeze.split(separator: ",").map(String.init) }

let model: PPOCRTrainable
do { model = PPOCRTrainable(recognizer: try PPOCRTextRecognizer(folder: URL(fileURLWithPath: modelDir))) } catch { fail("\(modelDir): \(error)") }
let network = model.network
let stepsPerLine = network.steps(forWidth: pixels.dim(2))
let batches = stride(from: 0, to: pixels.dim(0) - batchSize + 1, by: batchSize).map { start in
    CTCBatch(
        images: pixels.sliced(axis: 0, start ..< start + batchSize), targets: targets.sliced(axis: 0, start ..< start + batchSize),
        inputLengths: Array(repeating: stepsPerLine, count: batchSize), targetLengths: Array(targetLengths[start ..< start + batchSize]))
}
guard !batches.isEmpty else { fail("\(inputs): fewer lines than one batch") }
try eval(batches.flatMap { [$0.images, $0.targets] })

// MARK: - Loops

var stepTimes: [Double] = []
var cpuTimes: [Double] = []
var losses: [Double] = []
let run = NSTemporaryDirectory() + "ocrtune-trainbench-\(UUID().uuidString)"
defer { try? FileManager.default.removeItem(atPath: run) }

do {
    if loop == "trainer" {
        let trainer = try Trainer(model: model, data: FixedBatches(batches), configuration: configuration, runDirectory: run)
        try trainer.prepare()
        Memory.resetPeak()
        stepTimes.append(Date().timeIntervalSinceReferenceDate)
        cpuTimes.append(cpuSeconds())
        _ = try trainer.run { p in
            if p.event == .step {
                stepTimes.append(Date().timeIntervalSinceReferenceDate)
                cpuTimes.append(cpuSeconds())
                losses.append(Double(p.loss))
            }
            return .proceed
        }
    } else {
        // The bare loop: what the trainer does per step with nothing around it —
        // value-and-grad → clip → AdamW, the same schedule and the same batches.
        try FineTuning.apply(configuration, to: model)
        let frozen = configuration.freeze.flatMap { model.parameterGroups[$0] ?? [$0] }
        if !frozen.isEmpty { network.freeze(matching: frozen) }
        if configuration.gradientCheckpointing { _ = model.setGradientCheckpointing(true) }
        try eval(network.parameters().map(\.array))
        let c = configuration
        let optimizer = AdamW(learningRate: c.learningRate, betas: (c.adamBeta1, c.adamBeta2), eps: c.adamEpsilon, weightDecay: c.weightDecay)
        let schedule = Schedules.cosine(c.learningRate, warmup: c.warmupSteps, totalSteps: steps, minimum: c.minLearningRate)
        network.trainWithFrozenLayersInEvalMode()
        Memory.useTrainingCache()  // as the trainer
        Memory.resetPeak()
        stepTimes.append(Date().timeIntervalSinceReferenceDate)
        cpuTimes.append(cpuSeconds())
        func stepGradients(_ batch: PPOCRTrainable.Batch) throws -> (MLXArray, [String: MLXArray]) {
            let (loss, gradients) = try valueAndGrad(model: network) { model.loss(batch) }
            try eval([loss] + Array(gradients.values))
            return (loss, gradients)
        }
        for step in 0 ..< steps {
            optimizer.learningRate = schedule(step)
            MLXRandom.seed(c.seed &+ UInt64(step))
            // As the trainer runs a step: work ahead of it (a frozen backbone's features), then the
            // step with OpenBLAS single-threaded where the family prefers it.
            let batch = try model.prepareStep(batches[step % batches.count])
            let (loss, gradients) = try model.runStep {
                try stepGradients(batch)
            }
            let (clipped, _) = try clipGradientNorm(gradients, maxNorm: c.maxGradNorm)
            try optimizer.update(model: network, gradients: clipped)
            losses.append(Double(loss.item(Float.self)))
            stepTimes.append(Date().timeIntervalSinceReferenceDate)
            cpuTimes.append(cpuSeconds())
        }
    }
} catch {
    printJSON(["error": "\(error)", "method": method.rawValue, "loop": loop])
    exit(0)
}

let timed = stepTimes.count - 1 - warmup
guard timed > 0 else { fail("--steps must exceed --warmup") }
let seconds = stepTimes.last! - stepTimes[warmup]
printJSON([
    "method": method.rawValue, "loop": loop, "batch": batchSize, "steps": steps, "timed_steps": timed,
    "steps_per_s": Double(timed) / seconds, "samples_per_s": Double(timed * batchSize) / seconds,
    "ms_per_step_median": stepTimes.indices.dropFirst(warmup + 1).map { (stepTimes[$0] - stepTimes[$0 - 1]) * 1000 }.sorted()[timed / 2],
    "cpu_ms_per_step": (cpuTimes.last! - cpuTimes[warmup]) * 1000 / Double(timed),
    "losses": losses, "peak_rss_mb": peakRSSMegabytes(), "engine_peak_mb": Double(Memory.peakBytes) / 1_048_576,
    "trainable_parameters": network.trainableParameters().reduce(0) { $0 + $1.array.size },
    "gradient_checkpointing": configuration.gradientCheckpointing,
])
