// The quantizers exports use, as engine ops over whole tensors:
// - ggml's Q8_0 (blocks of 32: a float16 scale d = max|x| / 127, then round(x · (1/d)) as int8,
//   rounding half away from zero like C's roundf), bit-exact with ggml's reference quantizer;
// - ONNX 8-bit weights for MatMulInteger (per output column: int8 symmetric in 7 bits, or uint8
//   with a zero point), as onnxruntime's dynamic quantization stores them (`reduce_range` for
//   int8: onnxruntime's AVX2 u8·s8 kernel adds pairs of products in 16 bits, which full-range
//   int8 weights overflow);
// - ONNX 4-bit weights for com.microsoft MatMulNBits (blocks of 32 along K, symmetric around the
//   default zero point 8, two values per byte, low nibble first).
//
// Reference: ggml/src/ggml-quants.c (quantize_row_q8_0_ref), onnxruntime
// quantization/quantize.py (dynamic MatMul), contrib_ops MatMulNBits (docs/ContribOperators.md).

import Foundation
import MLXEngine

public enum Quantizers {
    /// C's roundf: halves away from zero (MLX's round goes to even).
    static func roundHalfAway(_ x: MLXArray) -> MLXArray { sign(x) * floor(abs(x) + 0.5) }

    // MARK: GGUF Q8_0

    public static let q8BlockSize = 32

    /// Q8_0 blocks of a float tensor whose last axis is a multiple of 32, row-major: per block
    /// 2 bytes of float16 scale, then 32 int8 values.
    public static func q8_0(_ x: MLXArray) throws -> Data {
        let count = x.size
        guard count % q8BlockSize == 0, x.dim(-1) % q8BlockSize == 0 else {
            throw ExportError("Q8_0 needs rows that are a multiple of 32 values (shape \(x.shape))")
        }
        let blocks = x.asType(.float32).reshaped(-1, q8BlockSize)
        let amax = abs(blocks).max(axes: [1], keepDims: true)
        let d = amax / 127
        let inverse = which(d .== MLXArray(Float(0)), zeros(like: d), 1 / d)
        let q = roundHalfAway(blocks * inverse).asType(.int8)
        let scales = d.asType(.float16).bytes()
        let values = q.bytes()
        var out = Data(capacity: scales.count + values.count)
        let n = count / q8BlockSize
        scales.withUnsafeBufferPointer { s in
            values.withUnsafeBufferPointer { v in
                for b in 0 ..< n {
                    out.append(s.baseAddress! + 2 * b, count: 2)
                    out.append(UnsafeRawPointer(v.baseAddress! + q8BlockSize * b).assumingMemoryBound(to: UInt8.self), count: q8BlockSize)
                }
            }
        }
        return out
    }

    // MARK: ONNX 8-bit (MatMulInteger)

    /// A [K, N] weight quantized per column: values [K, N], scales [N], zero points [N].
    public struct ColumnQuantized {
        public var values: MLXArray
        public var scales: MLXArray
        public var zeroPoints: MLXArray
        public var signed: Bool
    }

    /// The int8 range used (7 bits, see the header).
    public static let int8Range: Float = 63

    /// int8 (symmetric, zero point 0, ±63) or uint8 (asymmetric) per output column of `w` [K, N].
    public static func columns(_ w: MLXArray, signed: Bool) -> ColumnQuantized {
        let w = w.asType(.float32)
        if signed {
            let amax = maximum(abs(w).max(axes: [0]), MLXArray(Float(1e-12)))
            let scales = amax / Double(int8Range)
            let q = clip(roundHalfAway(w / scales), min: MLXArray(-int8Range), max: MLXArray(int8Range)).asType(.int8)
            return ColumnQuantized(values: q, scales: scales, zeroPoints: zeros([w.dim(1)]).asType(.int8), signed: true)
        }
        let lo = minimum(w.min(axes: [0]), MLXArray(Float(0)))
        let hi = maximum(w.max(axes: [0]), MLXArray(Float(0)))
        let scales = maximum((hi - lo) / 255, MLXArray(Float(1e-12)))
        let zero = clip(roundHalfAway(-lo / scales), min: MLXArray(Float(0)), max: MLXArray(Float(255)))
        let q = clip(roundHalfAway(w / scales) + zero, min: MLXArray(Float(0)), max: MLXArray(Float(255))).asType(.uint8)
        return ColumnQuantized(values: q, scales: scales, zeroPoints: zero.asType(.uint8), signed: false)
    }

    // MARK: ONNX 4-bit (MatMulNBits)

    public static let nbitsBlockSize = 32

    /// `w` [N, K] (a Linear weight) as MatMulNBits' packed blocks [N, ⌈K/32⌉, 16] (uint8) and
    /// scales [N · ⌈K/32⌉]; K is padded with zeros to whole blocks.
    public static func blocks4(_ w: MLXArray) -> (packed: MLXArray, scales: MLXArray) {
        let (n, k) = (w.dim(0), w.dim(1))
        let blocks = (k + nbitsBlockSize - 1) / nbitsBlockSize
        var x = w.asType(.float32)
        if blocks * nbitsBlockSize != k { x = x.padded(low: [0, 0], high: [0, blocks * nbitsBlockSize - k]) }
        let grouped = x.reshaped(n, blocks, nbitsBlockSize)
        let amax = abs(grouped).max(axes: [2], keepDims: true)
        let scales = amax / 7
        let inverse = which(scales .== MLXArray(Float(0)), zeros(like: scales), 1 / scales)
        let q = clip(roundHalfAway(grouped * inverse), min: MLXArray(Float(-8)), max: MLXArray(Float(7))) + 8
        let pairs = q.reshaped(n, blocks, nbitsBlockSize / 2, 2)
        let low = pairs.sliced(axis: 3, from: 0, to: 1)
        let high = pairs.sliced(axis: 3, from: 1, to: 2)
        let packed = (low + high * 16).reshaped(n, blocks, nbitsBlockSize / 2).asType(.uint8)
        return (packed, scales.reshaped(-1))
    }
}
