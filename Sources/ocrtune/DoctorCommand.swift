// `ocrtune doctor`: what the engine is running on, and a short self-check.

import ArgumentParser
import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers

struct DoctorCommand: ParsableCommand {
    static var configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Print the engine's version, BLAS, devices and threads, and run a self-check.",
        discussion: """
            The self-check runs a matmul, a gradient against finite differences and a
            few optimizer steps. With --train it also runs a tiny LoRA fine-tuning run
            of a small transformer on a synthetic next-token task and shows the loss
            falling.

            Examples:
              ocrtune doctor
              ocrtune doctor --train --steps 80
              ocrtune doctor --device gpu
            """)

    @OptionGroup var engine: EngineOptions

    @Flag(help: "Also run a tiny LoRA training run end to end.")
    var train = false

    @Option(help: "Steps of the --train run.")
    var steps = 60

    func run() throws {
        _ = try engine.apply(label: "doctor")
        printEnvironment()
        let checks = try SelfCheck.run()
        for c in checks { Terminal.line("  \(c.passed ? "ok  " : "FAIL") \(c.name): \(c.detail)") }
        guard checks.allSatisfy(\.passed) else { throw ExitCode.failure }
        if train { try TinyTrainingRun(steps: steps).run() }
    }

    private func printEnvironment() {
        let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default"
        Terminal.line("ocrtune \(OCRTune.version)")
        Terminal.line("  MLX        \(Engine.version)")
        Terminal.line("  BLAS       \(Engine.blas)")
        Terminal.line("  devices    cpu: available; gpu: \(Device.gpu.isAvailable ? "available" : "not in this MLX build")")
        Terminal.line("  default    \(Device.defaultDevice)")
        Terminal.line("  cores      \(ProcessInfo.processInfo.activeProcessorCount) (OPENBLAS_NUM_THREADS=\(threads))")
        Terminal.line(
            "  threads    ocrtune kernels \(Threads.kernels), OpenBLAS \(Threads.blas.map(String.init) ?? "n/a")"
                + " (single-threaded during PP-OCR inference and backbone training)")
        Terminal.line("  memory     \(ProcessInfo.processInfo.physicalMemory / (1 << 20)) MiB physical")
        if !Engine.usesOpenBLAS {
            Terminal.line("  warning    libmlx is not using OpenBLAS: matmuls run ~25x slower; run tools/setup.sh")
        }
    }
}

// MARK: - Self-check

enum SelfCheck {
    struct Result {
        let name: String
        let passed: Bool
        let detail: String
    }

    static func run() throws -> [Result] {
        var results: [Result] = []

        // Matmul throughput (fp32, 512³).
        let a = MLXRandom.normal([512, 512], key: MLXRandom.key(1))
        let b = MLXRandom.normal([512, 512], key: MLXRandom.key(2))
        try eval(matmul(a, b))
        let start = Date()
        for _ in 0 ..< 10 { try eval(matmul(a, b)) }
        let gflops = 10 * 2 * pow(512.0, 3) / Date().timeIntervalSince(start) / 1e9
        let small = MLXArray([1, 2, 3, 4] as [Float], [2, 2])
        let product = matmul(small, small).asArray(Float.self)
        results.append(Result(name: "matmul", passed: product == [7, 10, 15, 22], detail: String(format: "fp32 512³ at %.1f GFLOP/s", gflops)))

        // Gradient of sum(tanh(x)²) against a central difference.
        let x = MLXArray([0.3, -0.7, 1.1] as [Float])
        let g = try grad({ tanh($0).square().sum() }, at: x).asArray(Float.self)
        let values = x.asArray(Float.self)
        let numeric = values.map { v -> Float in
            let h: Float = 1e-3
            func f(_ u: Float) -> Float { Foundation.tanh(u) * Foundation.tanh(u) }
            return (f(v + h) - f(v - h)) / (2 * h)
        }
        let gradError = zip(g, numeric).map { Swift.abs($0 - $1) }.max() ?? 1
        results.append(Result(name: "gradient", passed: gradError < 1e-3, detail: String(format: "max |analytic − numeric| = %.2e", gradError)))

        // AdamW on a linear least-squares problem.
        let model = Linear(4, 1, key: MLXRandom.key(3))
        let xs = MLXRandom.normal([64, 4], key: MLXRandom.key(4))
        let ys = matmul(xs, MLXArray([1, -2, 0.5, 3] as [Float], [4, 1]))
        let optimizer = AdamW(learningRate: 0.1, weightDecay: 0)
        var first: Float = 0
        var last: Float = 0
        for step in 0 ..< 50 {
            let (loss, grads) = try valueAndGrad(model: model) { mseLoss(model(xs), ys) }
            try optimizer.update(model: model, gradients: grads)
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        results.append(Result(name: "optimizer", passed: last < first * 0.05, detail: String(format: "AdamW loss %.3f → %.4f in 50 steps", first, last)))
        return results
    }
}
