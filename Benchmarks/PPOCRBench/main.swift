// PP-OCR recognizer runner for tools/ppocr_parity.py and bench/ppocr.py (which run onnxruntime
// on the same inputs in the same run and compare).
//
//   PPOCRBench parity --model DIR --inputs IN.safetensors [--images LIST] --out OUT.safetensors
//       IN holds `pixels.<i>` [1, 48, W, 3] (preprocessed by the driver). OUT gets `logits.<i>`
//       and `probabilities.<i>` [T, C] of each; with --images (a file of PPM paths, one per line)
//       also `own_pixels.<i>`, our own preprocessing of the same images. Prints one JSON line per
//       input: {"i", "text" (greedy, driver's pixels), "own_text" (our preprocessing)}.
//   PPOCRBench bench --model DIR --inputs IN.safetensors --batch B --seconds S [--kernel fused|unfused|engine] [--compile] [--full-softmax] [--threaded-blas]
//       IN holds `pixels` [N, 48, 320, 3]; prints {"lines_per_s", "ms_per_batch", ...} for
//       batches of B lines, timed over at least S seconds after a warm-up.
//   PPOCRBench profile --model DIR --inputs IN.safetensors --batch B [--kernel ...]
//   PPOCRBench pages --model REC --detector DET --images LIST --seconds S [--batch B]
//       pages/s reading whole pages (detect + crop + recognize), JSON {"pages_per_second", ...}
//   PPOCRBench detmap --detector DET --image PNG --out OUT.safetensors
//       the detector's probability map of one page (and its input), for parity checks
//       milliseconds of each layer (eager, evaluated one by one) and of the whole network, with
//       OpenBLAS single-threaded as the recognizer runs it when the kernel is ocrtune's.
//
// Every mode takes --device cpu|gpu (default cpu; tools/gpu/run.sh passes gpu).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRModels

// MARK: - Arguments

var arguments: [String: String] = [:]
var flags = Set<String>()
let argv = Array(CommandLine.arguments.dropFirst())
guard let mode = argv.first else {
    FileHandle.standardError.write(Data("usage: PPOCRBench parity|bench --model DIR ...\n".utf8))
    exit(2)
}
var k = 1
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

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("PPOCRBench: \(message)\n".utf8))
    exit(1)
}

// MARK: - Device

/// `--device cpu|gpu` (default cpu, as the CLI's): MLX's CUDA build would otherwise pick the GPU.
let deviceName = arguments["device"] ?? "cpu"
guard let device = Device(rawValue: deviceName) else { fail("--device must be cpu or gpu, not \(deviceName)") }
do { try Device.setDefault(device) } catch { fail("--device \(deviceName): \(error)") }

/// CPU seconds of the whole process (all threads, user + system): less sensitive than wall time to
/// other processes on a shared machine.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}

/// Binary PPM (P6, 8-bit) reader; the drivers write their rendered lines as PPM.
func readPPM(_ path: String) throws -> RGBImage {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = []
    var i = 0
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
    while fields.count < 4 && i < bytes.count {
        while i < bytes.count && isSpace(bytes[i]) { i += 1 }
        var s = ""
        while i < bytes.count && !isSpace(bytes[i]) { s.append(Character(UnicodeScalar(bytes[i]))); i += 1 }
        fields.append(s)
    }
    i += 1
    guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), bytes.count >= i + w * h * 3 else {
        fail("\(path) is not a binary PPM")
    }
    return RGBImage(width: w, height: h, pixels: Array(bytes[i ..< i + w * h * 3]))
}

if mode == "pages" || mode == "detmap" {
    do { try runPagesMode(mode) } catch { fail("\(error)") }
    exit(0)
}

guard let modelPath = arguments["model"] else { fail("--model DIR is required") }
guard let inputsPath = arguments["inputs"] else { fail("--inputs FILE is required") }
let kernels: KernelChoice
switch arguments["kernel"] {
case "engine": kernels = .engine
case "unfused": kernels = .unfused
default: kernels = .fused
}
let recognizer: PPOCRTextRecognizer
do {
    // As `ocrtune predict` runs by default: not compiled unless asked.
    recognizer = try PPOCRTextRecognizer(folder: URL(fileURLWithPath: modelPath), useCompile: flags.contains("compile"))
} catch {
    fail("cannot load \(modelPath): \(error)")
}
recognizer.singleThreadedBLAS = !flags.contains("threaded-blas")
recognizer.kernels = kernels
let inputs = try loadSafeTensors(path: inputsPath).arrays

// MARK: - Parity

func runParity() throws {
    guard let outPath = arguments["out"] else { fail("--out FILE is required") }
    let count = inputs.keys.filter { $0.hasPrefix("pixels.") }.count
    let images = try arguments["images"].map { list in
        try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n").map { try readPPM(String($0)) }
    }
    var out: [String: MLXArray] = [:]
    if flags.contains("float64") {
        // Debugging aid: the whole network in float64 (CPU), to separate rounding from mistakes.
        let wide = recognizer.network.parameterDictionary().mapValues { $0.asType(.float64) }
        try recognizer.network.update(parameters: wide)
        recognizer.useCompile = false
    }
    for i in 0 ..< count {
        guard var pixels = inputs["pixels.\(i)"] else { fail("\(inputsPath) lacks pixels.\(i)") }
        if flags.contains("float64") { pixels = pixels.asType(.float64) }
        let logits = try withEngineErrors { recognizer.network(pixels) }
        let probabilities = try recognizer.probabilities(pixels)
        out["logits.\(i)"] = logits.squeezed(axis: 0)
        out["probabilities.\(i)"] = probabilities.squeezed(axis: 0)
        if flags.contains("features") {
            let features = (recognizer.network.backboneModule as! UnaryLayer)(pixels)
            out["backbone.\(i)"] = features.squeezed(axis: 0)
            out["neck.\(i)"] = recognizer.network.neck(recognizer.network.pooledFeatures(pixels)).squeezed(axis: 0)
        }
        let text = CTCDecoding.decode(probabilities: probabilities, dictionary: recognizer.dictionary, decoder: .greedy)[0].text
        var line: [String: Any] = ["i": i, "text": text]
        if let images {
            let own = recognizer.preprocessor.batch([images[i]])
            out["own_pixels.\(i)"] = own.squeezed(axis: 0)
            line["own_text"] = try recognizer.recognize([images[i]], options: .init(batchSize: 1))[0].text
            if let beam = try? recognizer.recognize([images[i]], options: .init(batchSize: 1, decoder: .beamSearch(width: 5))) {
                line["own_beam_text"] = beam[0].text
            }
        }
        printJSON(line)
    }
    try saveSafeTensors(out, to: outPath)
}

// MARK: - Bench

func runBench() throws {
    guard let all = inputs["pixels"] else { fail("\(inputsPath) lacks `pixels`") }
    let batch = Int(arguments["batch"] ?? "8") ?? 8
    let seconds = Double(arguments["seconds"] ?? "10") ?? 10
    let n = all.dim(0)
    let batches = stride(from: 0, to: n, by: batch).map { all.sliced(axis: 0, $0 ..< Swift.min($0 + batch, n)) }
    // Warm-up (compiles each shape once).
    for b in batches.prefix(2) { try eval(recognizer.probabilities(b)) }
    var lines = 0
    var times: [Double] = []
    let start = Date()
    let cpuStart = cpuSeconds()
    var i = 0
    while Date().timeIntervalSince(start) < seconds || times.count < 3 {
        let b = batches[i % batches.count]
        let t = Date()
        if flags.contains("full-softmax") {
            // Softmax over every class, then argmax and the max probability per step.
            let p = try recognizer.probabilities(b)
            try eval(p.argMax(axis: -1), p.max(axis: -1))
        } else {
            // What greedy decoding runs: the best class and its probability per step, from the logits.
            let best = try recognizer.bestClasses(b)
            try eval(best.classes, best.probabilities)
        }
        times.append(Date().timeIntervalSince(t))
        lines += b.dim(0)
        i += 1
    }
    let total = times.reduce(0, +)
    let cpu = cpuSeconds() - cpuStart
    let sorted = times.sorted()
    printJSON([
        "cpu_ms_per_line": cpu * 1000 / Double(lines),
        "lines_per_s": Double(lines) / total, "ms_per_batch_median": sorted[sorted.count / 2] * 1000,
        "batches": times.count, "batch": batch, "lines": lines, "peak_memory_mb": Double(Memory.peakBytes) / 1_048_576,
        "kernel": kernels.rawValue, "compile": recognizer.useCompile,
        "blas_threads": kernels == .fused && recognizer.singleThreadedBLAS ? 1 : (Threads.blas ?? 0),
        "output": flags.contains("full-softmax") ? "softmax, argmax, max" : "best class and its probability",
    ])
}

// MARK: - Profile

/// Runs `body` once, then three times, and prints its best wall and CPU milliseconds.
func timed(_ label: String, _ body: () throws -> MLXArray) throws -> MLXArray {
    var out = try body()
    try eval(out)
    var best = Double.infinity
    var bestCPU = Double.infinity
    for _ in 0 ..< 3 {
        let (t, c) = (Date(), cpuSeconds())
        out = try body()
        try eval(out)
        best = Swift.min(best, Date().timeIntervalSince(t))
        bestCPU = Swift.min(bestCPU, cpuSeconds() - c)
    }
    print("\(label)\t\(String(format: "%.1f", best * 1000)) ms\t\(String(format: "%.1f", bestCPU * 1000)) cpu ms\t\(out.shape)")
    return out
}

/// PP-OCRv6: milliseconds of the stem's layers, each block's parts, the pool, neck and head.
func profileV6(_ net: PPOCRV6Network, _ x: MLXArray) throws {
    try Threads.withSingleThreadedBLAS(if: kernels == .fused) {
        let stem = net.model.backbone.encoder.stem
        let s1 = try timed("stem1") { stem.stem1(x) }
        let padded = s1.padded(low: [0, 0, 0, 0], high: [0, 1, 1, 0])
        let s2a = try timed("stem2a") { stem.stem2a(padded) }
        let s2b = try timed("stem2b") { stem.stem2b(s2a.padded(low: [0, 0, 0, 0], high: [0, 1, 1, 0])) }
        let pool = try timed("stem pool") { stem.maxPool2x2(padded) }
        let cat = concatenated([pool, s2b], axis: -1)
        let s3 = try timed("stem3") { stem.stem3(cat) }
        var h = try timed("stem4") { stem.stem4(s3) }
        for (s, stage) in net.model.backbone.encoder.blocks.enumerated() {
            for (l, block) in stage.blocks.enumerated() {
                let input = h
                let t = try timed("blocks.\(s).blocks.\(l).token_conv") { (block.tokenConv as! UnaryLayer)(input) }
                var se = t
                if let m = block.squeezeExcitation { se = try timed("blocks.\(s).blocks.\(l).se") { m(t) } }
                let seOut = se
                let c1 = try timed("blocks.\(s).blocks.\(l).channel_conv1+gelu") { block.channelConv1(seOut) }
                _ = try timed("blocks.\(s).blocks.\(l).channel_conv2") { block.channelConv2(c1) }
                h = try timed("blocks.\(s).blocks.\(l) whole") { block(input) }
            }
        }
        let features = h
        let pooled = try timed("pool") { ppocrAveragePool(features, kernel: [3, 2]) }
        let neck = try timed("neck") { net.head.encoder(pooled) }
        _ = try timed("head linear") { ppocrClassify(neck, net.head.classifier, kernels: kernels) }
        _ = try timed("whole network") { net(x) }
    }
}

/// Milliseconds per stage (each evaluated before the next starts), uncompiled, for one batch.
func runProfile() throws {
    guard let all = inputs["pixels"] else { fail("\(inputsPath) lacks `pixels`") }
    let batch = Int(arguments["batch"] ?? "8") ?? 8
    let x = all.sliced(axis: 0, 0 ..< Swift.min(batch, all.dim(0)))
    recognizer.network.train(false)
    guard let net = recognizer.network as? PPOCRV5Network else {
        guard let v6 = recognizer.network as? PPOCRV6Network else { fail("profile: unknown network") }
        return try profileV6(v6, x)
    }
    let time = timed
    let encoder = net.model.backbone.encoder
    var h = try time("stem") { encoder.stem(x) }
    for (s, stage) in encoder.blocks.enumerated() {
        for (l, layer) in stage.layers.enumerated() {
            let input = h
            let d = try time("blocks.\(s).layers.\(l).depthwise") { layer.depthwise(input) }
            var se = d
            if let m = layer.squeezeExcitation { se = try time("blocks.\(s).layers.\(l).se") { m(d) } }
            let seOut = se
            h = try time("blocks.\(s).layers.\(l).pointwise") { layer.pointwise(seOut) }
        }
    }
    let features = h
    let pooled = try time("pool") { net.averagePool(features) }
    let neck = try time("neck") { net.head.encoder(pooled) }
    let blocks = net.head.encoder.conv_block
    let c0 = try time("neck conv_block.0 (1x3)") { blocks[0](pooled) }
    let c1 = try time("neck conv_block.1") { blocks[1](c0) }
    let tokens = c1.reshaped(c1.dim(0), -1, c1.dim(3))
    let svtr = net.head.encoder.svtr_block[0]
    _ = try time("neck svtr_block.0") { svtr(tokens) }
    let normed = try time("  layer_norm1") { svtr.norm1(tokens) }
    let mixed = try time("  qkv") { svtr.attention.qkv(normed) }
    _ = try time("  attention") { svtr.attention(normed) }
    _ = try time("  mlp") { svtr.mlp(normed) }
    let hidden = try time("  mlp.fc1") { svtr.mlp.fc1(normed) }
    let activated = try time("  silu") { silu(hidden) }
    _ = try time("  mlp.fc2") { svtr.mlp.fc2(activated) }
    _ = try time("  projection") { svtr.attention.projection(normed) }
    _ = mixed
    let wide = concatenated([pooled, pooled], axis: -1)
    _ = try time("neck conv_block.3 (1x3)") { blocks[3](wide) }
    let logits = try time("head linear") { net.head.classifier(neck) }
    _ = try time("head (neck and linear)") { net.head(pooled) }
    let compiledNeck = try compile { [net.head.encoder($0[0])] }
    _ = try time("neck, compiled") { try compiledNeck([pooled])[0] }
    _ = try time("softmax") { softmax(logits, axis: -1, precise: true) }
    _ = try time("logsumexp") { logits.logSumExp(axis: -1) }
    let dwLayer = encoder.blocks[3].layers[1].depthwise
    let dwInput = MLXRandom.normal([batch, 12, 80, 240], key: MLXRandom.key(1))
    let dwCompiled = try compile { [dwLayer($0[0])] }
    _ = try time("blocks.3.layers.1.depthwise alone, compiled") { try dwCompiled([dwInput])[0] }
    let convOnly = try compile { [dwLayer.conv($0[0])] }
    _ = try time("blocks.3.layers.1.depthwise conv only, compiled") { try convOnly([dwInput])[0] }
    _ = try time("blocks.3.layers.1.depthwise conv only, eager") { dwLayer.conv(dwInput) }
    // The one-pass depthwise + epilogue kernel against the two kernels, alternating, best of 20.
    let dwX = MLXRandom.normal([batch, 12, 80, 240], key: MLXRandom.key(2))
    var best: [KernelChoice: Double] = [:]
    let saved = dwLayer.conv.kernels
    for _ in 0 ..< 20 {
        for kernel in [KernelChoice.fused, .unfused] {
            dwLayer.conv.kernels = kernel
            let t = Date()
            try eval(dwLayer(dwX))
            best[kernel] = Swift.min(best[kernel] ?? .infinity, Date().timeIntervalSince(t))
        }
    }
    dwLayer.conv.kernels = saved
    for (kernel, t) in best.sorted(by: { $0.value < $1.value }) {
        print("blocks.3.layers.1.depthwise, kernel \(kernel), best of 20\t\(String(format: "%.2f", t * 1000)) ms")
    }
    _ = try time("whole (uncompiled)") { net.probabilities(x) }
    _ = try time("whole (compiled)") { try recognizer.probabilities(x) }
}

switch mode {
case "parity": try runParity()
case "bench": try runBench()
case "profile":
    // As the recognizer runs: OpenBLAS single-threaded with ocrtune's kernels (see `Threads`).
    try Threads.withSingleThreadedBLAS(if: kernels == .fused, runProfile)
default: fail("unknown mode \(mode) (parity or bench)")
}
