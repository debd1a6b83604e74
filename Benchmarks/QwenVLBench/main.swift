// Qwen2.5-VL runner for bench/qwenvl.py, which runs transformers + peft on the same inputs in the
// same run and compares. The model is built from a config.json with random weights (nothing is
// read from disk but the config and the inputs), cast to bf16 (or float32), the language model's linears
// optionally quantized; each configuration runs in its own process so that peaks are its own.
//
//   QwenVLBench forward --config CONFIG.json --inputs IN.safetensors [--bits 4] [--dtype bfloat16|float32] [--repeats N] [--warmup W]
//       timed prefill forward passes (vision tower + language model + lm_head logits).
//   QwenVLBench lora --config CONFIG.json --inputs IN.safetensors [--bits 4] [--repeats N] [--warmup W] [--rank 16]
//       timed LoRA steps (q/k/v/o of the language model; answer-only cross-entropy; AdamW).
//   QwenVLBench qmatmul [--shapes 2048x2048,11008x2048,2048x11008] [--rows 1,2,4,…] [--bits 4] [--repeats N]
//       the CPU crossover of QuantizedLinear: median ms of `x Ŵᵀ` for x [rows, in] through MLX's
//       quantized matmul, through dequantize + float32 matmul (BLAS), and the float32 matmul alone.
//
// IN holds `input_ids` [1, L] int32, `labels` [1, L] int32 (−100 = ignored), `pixels`
// [patches, C·T·P·P] float32 and `grid` [3] int32 (t, h, w). Prints one JSON line.
//
// Every mode takes --device cpu|gpu (default cpu; tools/gpu/run.sh passes gpu).

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import OCRFineTune
import OCRModels

// MARK: - Arguments

var arguments: [String: String] = [:]
let argv = Array(CommandLine.arguments.dropFirst())
guard let mode = argv.first, ["forward", "lora", "qmatmul"].contains(mode) else {
    FileHandle.standardError.write(Data("usage: QwenVLBench forward|lora|qmatmul --config CONFIG.json --inputs IN.safetensors ...\n".utf8))
    exit(2)
}
var k = 1
while k + 1 < argv.count, argv[k].hasPrefix("--") {
    arguments[String(argv[k].dropFirst(2))] = argv[k + 1]
    k += 2
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("QwenVLBench: \(message)\n".utf8))
    exit(1)
}

// MARK: - Device

/// `--device cpu|gpu` (default cpu, as the CLI's): MLX's CUDA build would otherwise pick the GPU.
let deviceName = arguments["device"] ?? "cpu"
guard let device = Device(rawValue: deviceName) else { fail("--device must be cpu or gpu, not \(deviceName)") }
do { try Device.setDefault(device) } catch { fail("--device \(deviceName): \(error)") }

func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}

/// Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

if mode == "qmatmul" {
    quantizedMatmulCrossover()
    exit(0)
}

guard let configPath = arguments["config"] else { fail("--config CONFIG.json is required") }
guard let inputsPath = arguments["inputs"] else { fail("--inputs FILE is required") }
let bits = arguments["bits"].flatMap(Int.init)
let repeats = Int(arguments["repeats"] ?? "2") ?? 2
let warmup = Int(arguments["warmup"] ?? "1") ?? 1
let rank = Int(arguments["rank"] ?? "16") ?? 16
let dtype: DType
switch arguments["dtype"] ?? "bfloat16" {
case "bfloat16": dtype = .bfloat16
case "float32": dtype = .float32
case let other: fail("--dtype \(other): expected bfloat16 or float32")
}

// MARK: - Model (random weights)

let setupStart = Date()
let config: QwenVLConfig
do {
    config = try JSONDecoder().decode(QwenVLConfig.self, from: Data(contentsOf: URL(fileURLWithPath: configPath)))
} catch {
    fail("cannot read \(configPath): \(error)")
}
let model = QwenVLModel(config: config)

/// Casts every floating-point parameter to the compute dtype, materialising one tensor at a time so
/// that the float32 random initialisation never exists for the whole model at once.
func castToComputeType(_ module: Module) throws {
    for (_, p) in module.parameters() where p.dtype.isFloatingPoint && p.dtype != dtype {
        p.update(p.asType(dtype))
        try eval(p)
    }
}

let inputs: [String: MLXArray]
do {
    try castToComputeType(model)
    if let bits {
        try model.quantizeLinears(matching: ["model.language_model.layers.*"], groupSize: 64, bits: bits)
    }
    try eval(model.parameters().map(\.array))
    inputs = try loadSafeTensors(path: inputsPath).arrays
} catch {
    fail("setup: \(error)")
}
guard let idsArray = inputs["input_ids"], let labels = inputs["labels"], let pixels = inputs["pixels"],
      let gridArray = inputs["grid"] else { fail("\(inputsPath) needs input_ids, labels, pixels and grid") }
let inputIds = [idsArray.asArray(Int32.self).map(Int.init)]
let grids = [gridArray.asArray(Int32.self).map(Int.init)]
let tokens = inputIds[0].count
let parameterCount = model.parameters().reduce(0) { $0 + $1.array.size }

// MARK: - Timing

/// Runs `body` `warmup` times, then `repeats` times; the seconds of each timed run.
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
    "mode": mode, "dtype": "\(dtype)", "quantization_bits": bits.map { $0 as Any } ?? NSNull(),
    "tokens": tokens, "image_tokens": inputIds[0].filter { $0 == config.imageTokenID }.count,
    "layers": config.textConfig.numHiddenLayers, "vision_depth": config.visionConfig.depth,
    "parameters_stored": parameterCount, "repeats": repeats, "warmup": warmup,
]

do {
    let setupPeak = peakRSSMiB()
    result["setup_s"] = Date().timeIntervalSince(setupStart)
    result["peak_rss_after_setup_mb"] = setupPeak
    switch mode {
    case "forward":
        let times = try timed {
            let logits = try model(inputIds: inputIds, pixels: pixels, grids: grids)
            try eval(logits)
        }
        let best = times.min()!
        result["seconds"] = times
        result["tokens_per_s"] = Double(tokens) / best
    default:
        // LoRA on q/k/v/o (the trainable's default), scale alpha / r with alpha = 2r, adapters
        // in the compute dtype, like the trainer's.
        let lora = LoRAConfiguration(r: rank, alpha: Double(2 * rank), targetModules: ["q_proj", "k_proj", "v_proj", "o_proj"])
        let wrapped = try model.applyLoRA(lora, seed: 0)
        try castToComputeType(model)
        let optimizer = AdamW(learningRate: 1e-4)
        let trainable = model.trainableParameters().reduce(0) { $0 + $1.array.size }
        var losses: [Float] = []
        let times = try timed {
            // The trainer's loss (QwenVLTrainable): the LM head at the scored positions only.
            let (loss, grads) = try valueAndGrad(model: model) {
                try model.loss(inputIds: inputIds, pixels: pixels, grids: grids, labels: labels)
            }
            try eval([loss] + Array(grads.values))
            try optimizer.update(model: model, gradients: grads)
            try eval(model.trainableParameters().map(\.array))
            losses.append(loss.item(Float.self))
        }
        let best = times.min()!
        result["seconds"] = times
        result["step_s"] = best
        result["tokens_per_s"] = Double(tokens) / best
        result["lora_layers"] = wrapped.count
        result["trainable_parameters"] = trainable
        result["target_tokens"] = labels.asArray(Int32.self).filter { $0 != Int32(qwenIgnoreIndex) }.count
        result["losses"] = losses.map(Double.init)
    }
    result["peak_rss_mb"] = peakRSSMiB()
    result["mlx_peak_memory_mb"] = Double(Memory.peakBytes) / 1_048_576
} catch {
    fail("\(mode): \(error)")
}
printJSON(result)
