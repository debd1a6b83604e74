// `QwenVLBench qmatmul`: where QuantizedLinear's CPU path should switch from MLX's quantized
// matmul kernel to dequantize + float32 (BLAS) matmul. For each weight shape (out × in, the 3B
// model's attention and MLP widths by default) and each row count, the median milliseconds of
// the three ways to compute `x Ŵᵀ`; prints one JSON object.

import Foundation
import MLXEngine

func quantizedMatmulCrossover() {
    let shapes = (arguments["shapes"] ?? "2048x2048,11008x2048,2048x11008").split(separator: ",").map { spec -> (Int, Int) in
        let parts = spec.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2 else { fail("--shapes \(spec): expected OUTxIN") }
        return (parts[0], parts[1])
    }
    let rowCounts = (arguments["rows"] ?? "1,2,4,8,16,32,64,256").split(separator: ",").compactMap { Int($0) }
    let bits = Int(arguments["bits"] ?? "4") ?? 4
    let repeats = Int(arguments["repeats"] ?? "7") ?? 7
    func median(_ body: () throws -> MLXArray) throws -> Double {
        try eval(try body())
        var times: [Double] = []
        for _ in 0 ..< repeats {
            let t = Date()
            try eval(try body())
            times.append(Date().timeIntervalSince(t) * 1000)
        }
        return times.sorted()[times.count / 2]
    }
    var results: [[String: Any]] = []
    do {
        for (out, inp) in shapes {
            let w = MLXRandom.normal([out, inp], std: 0.02, key: MLXRandom.key(1))
            let q = try quantized(w, groupSize: 64, bits: bits)
            try eval(w, q.weight, q.scales, q.biases)
            for rows in rowCounts {
                let x = MLXRandom.normal([rows, inp], key: MLXRandom.key(2))
                try eval(x)
                let kernel = try median { quantizedMatmul(x, q) }
                let blas = try median { matmul(x, dequantized(q).T) }
                let fp32 = try median { matmul(x, w.T) }
                results.append([
                    "out": out, "in": inp, "rows": rows, "quantized_ms": kernel, "dequantize_blas_ms": blas,
                    "fp32_ms": fp32, "blas_faster": blas < kernel,
                ])
            }
        }
    } catch {
        fail("qmatmul: \(error)")
    }
    printJSON(["mode": "qmatmul", "bits": bits, "group_size": 64, "repeats": repeats, "results": results])
}
