// Affine group quantization (4 and 8 bits) and the quantized matmul.

import CMLXShim

/// A matrix quantized along its last axis: packed weights, per-group scales and biases.
public struct QuantizedMatrix {
    public let weight: MLXArray
    public let scales: MLXArray
    public let biases: MLXArray
    public let groupSize: Int
    public let bits: Int

    public init(weight: MLXArray, scales: MLXArray, biases: MLXArray, groupSize: Int, bits: Int) {
        self.weight = weight
        self.scales = scales
        self.biases = biases
        self.groupSize = groupSize
        self.bits = bits
    }
}

/// Quantizes `w` (last axis divisible by `groupSize`) to `bits` ∈ {2, 3, 4, 5, 6, 8}.
public func quantized(_ w: MLXArray, groupSize: Int = 64, bits: Int = 4) throws -> QuantizedMatrix {
    var q: OpaquePointer?
    var s: OpaquePointer?
    var b: OpaquePointer?
    try check(cmlx_quantize(&q, &s, &b, w.handle, Int32(groupSize), Int32(bits)), "quantize")
    return QuantizedMatrix(
        weight: MLXArray(handle: q!), scales: MLXArray(handle: s!), biases: MLXArray(handle: b!),
        groupSize: groupSize, bits: bits)
}

public func dequantized(_ m: QuantizedMatrix) -> MLXArray {
    call("dequantize") {
        cmlx_dequantize($0, m.weight.handle, m.scales.handle, m.biases.handle, Int32(m.groupSize), Int32(m.bits))
    }
}

/// `x @ Wᵀ` (transpose true, the Linear layout) or `x @ W` with W quantized.
public func quantizedMatmul(_ x: MLXArray, _ m: QuantizedMatrix, transpose: Bool = true) -> MLXArray {
    call("quantized_matmul") {
        cmlx_quantized_matmul(
            $0, x.handle, m.weight.handle, m.scales.handle, m.biases.handle, transpose, Int32(m.groupSize),
            Int32(m.bits))
    }
}
