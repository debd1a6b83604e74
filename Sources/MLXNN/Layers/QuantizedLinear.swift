// A Linear layer whose weight is stored group-quantized (4 or 8 bits), for QLoRA and deployment.

import Foundation
import MLXEngine

/// `y = x Ŵᵀ + b` with Ŵ the dequantized `weight` (packed uint32) via `scales` and `biases`
/// (MLX's affine group quantization along the input axis). Frozen by construction: the
/// packed weight cannot be trained; LoRA adapters go on top.
///
/// On the CPU, inputs of at least ``cpuDequantizeMinRows`` rows (prefill, training) are
/// computed by dequantizing the weight for the call and running MLX's float32 matmul (BLAS
/// sgemm), which is several times faster there than MLX's quantized-matmul kernel; the weight
/// stays packed at rest. Fewer rows (single-token decoding) keep the quantized kernel, which
/// reads 4 or 8 bits per weight instead of 32. The dequantized weight is not kept for a backward
/// pass (recomputed there), so QLoRA's memory stays near the packed size.
public final class QuantizedLinear: Linear {
    public let scales: MLXArray
    public let biases: MLXArray
    public let groupSize: Int
    public let bits: Int
    private let inputs: Int

    /// Rows (product of the leading axes of the input) from which the CPU path dequantizes and
    /// uses the float32 BLAS matmul; nil keeps the quantized kernel always.
    /// The BLAS path costs a near-constant dequantization plus the sgemm, the quantized kernel
    /// grows linearly with the rows; ``defaultCPUDequantizeMinRows`` is where they cross
    /// (`QwenVLBench qmatmul`, figures in bench/results/qwenvl_qmatmul.json).
    public var cpuDequantizeMinRows: Int? = QuantizedLinear.defaultCPUDequantizeMinRows

    /// The crossover picked from the `QwenVLBench qmatmul` figures (bench/results/qwenvl_qmatmul.json).
    public static let defaultCPUDequantizeMinRows = 8

    /// Quantizes `linear`'s weight. The input dimension must be divisible by `groupSize`.
    public init(from linear: Linear, groupSize: Int = 64, bits: Int = 4) throws {
        let q = try quantized(linear.weight.asType(.float32), groupSize: groupSize, bits: bits)
        try eval(q.weight, q.scales, q.biases)
        scales = q.scales
        biases = q.biases
        self.groupSize = groupSize
        self.bits = bits
        inputs = linear.inputDimensions
        super.init(weight: q.weight, bias: linear.bias)
        freeze(matching: ["weight", "scales", "biases", "bias"])
    }

    public override var inputDimensions: Int { inputs }

    var matrix: QuantizedMatrix {
        QuantizedMatrix(weight: weight, scales: scales, biases: biases, groupSize: groupSize, bits: bits)
    }

    /// The weight in full precision.
    public func dequantizedWeight() -> MLXArray { dequantized(matrix) }

    /// Whether an input of `rows` rows takes the dequantize + float32 matmul path.
    public func usesDequantizedMatmul(rows: Int) -> Bool {
        guard let minimum = cpuDequantizeMinRows, Device.defaultDevice == .cpu else { return false }
        return rows >= minimum
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y: MLXArray
        if usesDequantizedMatmul(rows: x.size / Swift.max(inputs, 1)) {
            // The quantized kernel's result dtype (x promoted with the scales), computed in float32.
            let dtype: DType = x.dtype == .float32 || scales.dtype == .float32 ? .float32 : x.dtype
            let matrix = matrix
            let body = { (x: MLXArray) -> MLXArray in
                let out = matmul(x.asType(.float32), dequantized(matrix).asType(.float32).T)
                return out.dtype == dtype ? out : out.asType(dtype)
            }
            // Checkpointed: under a gradient transform the backward pass dequantizes again
            // instead of keeping every layer's float32 weight alive from the forward pass to the
            // backward one (QLoRA's memory); outside one it is a plain call.
            y = checkpointedCall([x], parameters: []) { [body($0[0])] }[0]
        } else {
            y = quantizedMatmul(x, matrix)
        }
        return bias.map { y + $0 } ?? y
    }
}

extension Module {
    /// Replaces every `Linear` (declared with `@ModuleInfo`) whose path matches a pattern and
    /// whose input dimension is divisible by `groupSize` by a ``QuantizedLinear``.
    /// Returns the quantized paths.
    @discardableResult
    public func quantizeLinears(matching patterns: [String] = ["*"], groupSize: Int = 64, bits: Int = 4) throws -> [String] {
        let matchers = patterns.map(KeyPattern.init)
        return try replaceModules { path, module in
            guard let linear = module as? Linear, !(linear is QuantizedLinear), !(linear is LoRALinear),
                linear.inputDimensions % groupSize == 0,
                matchers.contains(where: { $0.matches(path) })
            else { return nil }
            return try QuantizedLinear(from: linear, groupSize: groupSize, bits: bits)
        }
    }
}
