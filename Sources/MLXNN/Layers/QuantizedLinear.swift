// A Linear layer whose weight is stored group-quantized (4 or 8 bits), for QLoRA and deployment.

import Foundation
import MLXEngine

/// `y = x Ŵᵀ + b` with Ŵ the dequantized `weight` (packed uint32) via `scales` and `biases`
/// (MLX's affine group quantization along the input axis). Frozen by construction: the
/// packed weight cannot be trained; LoRA adapters go on top.
public final class QuantizedLinear: Linear {
    public let scales: MLXArray
    public let biases: MLXArray
    public let groupSize: Int
    public let bits: Int
    private let inputs: Int

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

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = quantizedMatmul(x, matrix)
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
