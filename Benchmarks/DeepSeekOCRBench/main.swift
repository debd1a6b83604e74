// DeepSeek-OCR 2 runner for bench/deepseek_ocr.py, which runs transformers + peft on the same inputs
// in the same run, alternating, and compares. The model is built from a config.json with random
// weights (normal(0, 0.02), norms 1: the router's choices are random, as a trained model's look to
// the dispatch), float32 on the CPU; each configuration runs in its own process.
//
//   DeepSeekOCRBench forward --config CONFIG.json --inputs IN.safetensors --image IMAGE.png [--repeats N] [--warmup W]
//       timed forward passes: image processing excluded (done once), vision (SAM, query encoder,
//       projector) + language model + lm_head logits at every position.
//   DeepSeekOCRBench lora ... [--rank 16]
//       timed LoRA steps (r 16, alpha 16, on q/k/v/o and gate/up/down of the decoder: dense MLP,
//       shared and routed experts, as the trainable's default); answer-only loss (the trainer's: the
//       LM head at the answer positions); AdamW. The vision pass runs in every step (no feature cache).
//
// IN holds `input_ids` [1, L] int32 and `labels` [1, L] int32 (−100 = ignored). Prints one JSON line.
//
// Every mode takes --device cpu|gpu (default cpu; tools/gpu/run.sh passes gpu).

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import OCRImaging
import OCRModels

// MARK: - Arguments

var arguments: [String: String] = [:]
let argv = Array(CommandLine.arguments.dropFirst())
guard let mode = argv.first, ["forward", "lora"].contains(mode) else {
    FileHandle.standardError.write(Data("usage: DeepSeekOCRBench forward|lora --config CONFIG.json --inputs IN.safetensors --image IMAGE\n".utf8))
    exit(2)
}
var k = 1
while k + 1 < argv.count, argv[k].hasPrefix("--") {
    arguments[String(argv[k].dropFirst(2))] = argv[k + 1]
    k += 2
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("DeepSeekOCRBench: \(message)\n".utf8))
    exit(1)
}

// MARK: - Device

/// `--device cpu|gpu` (default cpu, as the CLI's): MLX's CUDA build would otherwise pick the GPU.
let deviceName = arguments["device"] ?? "cpu"
guard let device = Device(rawValue: deviceName) else { fail("--device must be cpu or gpu, not \(deviceName)") }
do { try Device.setDefault(device) } catch { fail("--device \(deviceName): \(error)") }

/// Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

guard let configPath = arguments["config"], let inputsPath = arguments["inputs"], let imagePath = arguments["image"] else {
    fail("--config, --inputs and --image are required")
}
let repeats = Int(arguments["repeats"] ?? "2") ?? 2
let warmup = Int(arguments["warmup"] ?? "1") ?? 1
let rank = Int(arguments["rank"] ?? "16") ?? 16

// MARK: - Model (random weights), inputs

let setupStart = Date()
let model: DeepSeekOCRModel
let input: DeepSeekOCRImageInput
let inputIds: [[Int]]
let labels: MLXArray
do {
    let config = try JSONDecoder().decode(DeepSeekOCRConfig.self, from: Data(contentsOf: URL(fileURLWithPath: configPath)))
    model = try DeepSeekOCRModel(config: config)
    var key = MLXRandom.key(0)
    for (name, p) in model.parameters() {
        let keys = MLXRandom.split(key)
        key = keys[0]
        let isNorm = name.hasSuffix("norm.weight") || name.contains("layernorm") || name.contains("norm1") || name.contains("norm2")
        p.update(isNorm && p.ndim == 1 ? ones(p.shape) : MLXRandom.normal(p.shape, std: 0.02, key: keys[1]))
        try eval([p])
    }
    let processor = DeepSeekOCRImageProcessor(config: DeepSeekOCRProcessorConfig(version: config.version))
    input = try processor(try ImageCodec.decode(contentsOf: URL(fileURLWithPath: imagePath)))
    let arrays = try loadSafeTensors(path: inputsPath).arrays
    guard let ids = arrays["input_ids"], let l = arrays["labels"] else { fail("\(inputsPath) needs input_ids and labels") }
    inputIds = [ids.asArray(Int32.self).map(Int.init)]
    labels = l
    model.imageTokenID = config.imageTokenID
    guard inputIds[0].filter({ $0 == config.imageTokenID }).count == input.tokenCount else {
        fail("the inputs hold \(inputIds[0].filter { $0 == config.imageTokenID }.count) image tokens, the image \(input.tokenCount)")
    }
} catch {
    fail("setup: \(error)")
}
let tokens = inputIds[0].count

// MARK: - Timing

func timed(_ body: () throws -> Void) throws -> [Double] {
    for _ in 0 ..< warmup { try body() }
    var times: [Double] = []
    for _ in 0 ..< repeats {
        let t = Date()
        try body()
        times.append(Date().timeIntervalSince(t))
    }
    return times
}

var result: [String: Any] = [
    "mode": mode, "dtype": "float32", "tokens": tokens, "image_tokens": input.tokenCount,
    "layers": model.config.text.numHiddenLayers, "parameters_stored": model.parameters().reduce(0) { $0 + $1.array.size },
    "repeats": repeats, "warmup": warmup,
]

do {
    result["setup_s"] = Date().timeIntervalSince(setupStart)
    result["peak_rss_after_setup_mb"] = peakRSSMiB()
    switch mode {
    case "forward":
        let times = try timed {
            let logits = try model(inputIds: inputIds, images: [input])
            try eval([logits])
        }
        result["seconds"] = times
        result["tokens_per_s"] = Double(tokens) / times.min()!
    default:
        let targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].map { "model.layers.*.\($0)" }
        let wrapped = try model.applyLoRA(LoRAConfiguration(r: rank, alpha: Double(rank), targetModules: targets), seed: 0)
        let optimizer = AdamW(learningRate: 1e-4)
        let trainable = model.trainableParameters().reduce(0) { $0 + $1.array.size }
        var losses: [Float] = []
        let times = try timed {
            let (loss, grads) = try valueAndGrad(model: model) {
                try model.loss(inputIds: inputIds, images: [input], labels: labels)
            }
            try eval([loss] + Array(grads.values))
            try optimizer.update(model: model, gradients: grads)
            try eval(model.trainableParameters().map(\.array))
            losses.append(loss.item(Float.self))
        }
        result["seconds"] = times
        result["step_s"] = times.min()!
        result["tokens_per_s"] = Double(tokens) / times.min()!
        result["lora_layers"] = wrapped.count
        result["trainable_parameters"] = trainable
        result["target_tokens"] = labels.asArray(Int32.self).filter { $0 != Int32(deepSeekIgnoreIndex) }.count
        result["losses"] = losses.map(Double.init)
    }
    result["peak_rss_mb"] = peakRSSMiB()
    result["mlx_peak_memory_mb"] = Double(Memory.peakBytes) / 1_048_576
} catch {
    fail("\(mode): \(error)")
}
let data = try! JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
