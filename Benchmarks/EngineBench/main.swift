// Engine benchmark through the Swift API; bench/engine.py runs it beside its peers
// (numpy, and MLX's Python API on the same graph) and writes bench/results/engine.json.
//
// Prints one JSON object: matmul_gflops (fp32 1024³) and the median milliseconds of a
// forward+backward step of a 12-layer, 256-wide pre-norm transformer (batch 8 × 128 tokens).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Model (identical to bench/engine.py's)

final class Block: Module {
    let ln1 = LayerNorm(dimensions: 256)
    let ln2 = LayerNorm(dimensions: 256)
    let q: Linear
    let k: Linear
    let v: Linear
    let o: Linear
    let fc1: Linear
    let fc2: Linear

    init(_ d: Int) {
        q = Linear(d, d)
        k = Linear(d, d)
        v = Linear(d, d)
        o = Linear(d, d)
        fc1 = Linear(d, 4 * d)
        fc2 = Linear(4 * d, d)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (b, l, heads) = (x.dim(0), x.dim(1), 4)
        let h = ln1(x)
        func split(_ t: MLXArray) -> MLXArray { t.reshaped(b, l, heads, -1).transposed(0, 2, 1, 3) }
        let attention = scaledDotProductAttention(
            queries: split(q(h)), keys: split(k(h)), values: split(v(h)), scale: 0.125)
        let y = x + o(attention.transposed(0, 2, 1, 3).reshaped(b, l, -1))
        return y + fc2(gelu(fc1(ln2(y))))
    }
}

final class Transformer: Module {
    let layers: [Block]
    let norm = LayerNorm(dimensions: 256)
    override init() {
        layers = (0 ..< 12).map { _ in Block(256) }
        super.init()
    }
    func callAsFunction(_ x: MLXArray) -> MLXArray { norm(layers.reduce(x) { $1($0) }) }
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

// MARK: - Matmul

func matmulGFLOPS() throws -> Double {
    let a = MLXRandom.normal([1024, 1024], key: MLXRandom.key(1))
    let b = MLXRandom.normal([1024, 1024], key: MLXRandom.key(2))
    try eval(a, b)
    for _ in 0 ..< 3 { try eval(matmul(a, b)) }
    var times: [Double] = []
    for _ in 0 ..< 20 {
        let t = Date()
        try eval(matmul(a, b))
        times.append(Date().timeIntervalSince(t))
    }
    return 2 * pow(1024.0, 3) / median(times) / 1e9
}

// MARK: - Transformer step

func transformerStepMilliseconds(steps: Int) throws -> Double {
    MLXRandom.seed(0)
    let model = Transformer()
    let x = MLXRandom.normal([8, 128, 256], key: MLXRandom.key(3))
    try eval(model.parameters().map(\.array) + [x])
    var times: [Double] = []
    for i in 0 ..< steps + 3 {
        let t = Date()
        let (loss, grads) = try valueAndGrad(model: model) { model(x).square().mean() }
        try eval([loss] + Array(grads.values))
        if i >= 3 { times.append(Date().timeIntervalSince(t)) }
    }
    return median(times) * 1000
}

// MARK: - Depthwise block

/// Median milliseconds of forward+backward through a depthwise 3×3 + pointwise 1×1 block
/// on [16, 24, 160, 64] (NHWC): ocrtune's routing (its depthwise kernel, the 1×1 as a matmul,
/// as MLXNN's Conv2d does) or MLX's conv2d for both.
func depthwiseBlockMilliseconds(ours: Bool, steps: Int) throws -> Double {
    let x = MLXRandom.normal([16, 24, 160, 64], key: MLXRandom.key(5))
    let dw = MLXRandom.normal([64, 3, 3, 1], key: MLXRandom.key(6)) * 0.1
    let pw = MLXRandom.normal([64, 1, 1, 64], key: MLXRandom.key(7)) * 0.1
    try eval(x, dw, pw)
    let f: ArrayFunction.Body = { a in
        if ours {
            let h = depthwiseConv2d(a[0], a[1], padding: (1, 1))
            return [matmul(h.reshaped(-1, 64), a[2].reshaped(64, 64).T).square().mean()]
        }
        let h = conv2d(a[0], a[1], padding: (1, 1), groups: 64)
        return [conv2d(h, a[2]).square().mean()]
    }
    var times: [Double] = []
    for i in 0 ..< steps + 2 {
        let t = Date()
        let (v, g) = try valueAndGrad(f, [x, dw, pw])
        try eval(v + g)
        if i >= 2 { times.append(Date().timeIntervalSince(t)) }
    }
    return median(times) * 1000
}

let steps = Int(CommandLine.arguments.dropFirst().first ?? "10") ?? 10
let result: [String: Any] = [
    "matmul_gflops": try matmulGFLOPS(),
    "transformer_step_ms": try transformerStepMilliseconds(steps: steps),
    "depthwise_block_ms_ocrtune": try depthwiseBlockMilliseconds(ours: true, steps: steps),
    "depthwise_block_ms_mlx": try depthwiseBlockMilliseconds(ours: false, steps: steps),
    "mlx_version": Engine.version,
    "blas": Engine.blas,
]
let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
