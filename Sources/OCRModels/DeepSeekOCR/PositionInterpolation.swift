// Resampling of learned position tables to another grid, as PyTorch's
// `F.interpolate(mode="bicubic", antialias=True, align_corners=False)` does it (DeepSeek-OCR's
// SAM and CLIP tables, DeepSeek-OCR 2's SAM table) and `mode="linear"` (SAM's relative position
// tables): the per-axis weights are computed once on the host (a few hundred numbers), the
// resampling itself is two matrix products.
//
// Reference: PyTorch aten/src/ATen/native/cpu/UpSampleKernel.cpp (_compute_weights_aa with the
// antialiasing bicubic filter, a = −0.5; width pass first, then height), UpSample.h
// (area_pixel_compute_scale / source index).

import Foundation
import MLXEngine

enum PositionInterpolation {
    /// The antialiasing bicubic filter (Keys' cubic with a = −0.5, as Pillow).
    private static func cubic(_ v: Float) -> Float {
        let a: Float = -0.5
        let x = abs(v)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Row-major [output, input] weights of PyTorch's antialiased bicubic resize along one axis,
    /// computed in float32 as its CPU kernel does (support widened by the scale when shrinking,
    /// taps clipped to the input and renormalized).
    static func antialiasedBicubic(from input: Int, to output: Int) -> [Float] {
        var weights = [Float](repeating: 0, count: output * input)
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? 2 * scale : 2
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        for o in 0 ..< output {
            let center = scale * (Float(o) + 0.5)
            let low = Swift.max(Int(center - support + 0.5), 0)
            let size = Swift.min(Int(center + support + 0.5), input) - low
            var taps = [Float](repeating: 0, count: Swift.max(size, 0))
            var total: Float = 0
            for j in 0 ..< Swift.max(size, 0) {
                let w = cubic((Float(j + low) - center + 0.5) * invScale)
                taps[j] = w
                total += w
            }
            for j in 0 ..< taps.count { weights[o * input + low + j] = total != 0 ? taps[j] / total : taps[j] }
        }
        return weights
    }

    /// A [H, W, C] grid resized to [h, w, C] (antialiased bicubic; width first, then height).
    static func resizeGrid(_ grid: MLXArray, height h: Int, width w: Int) -> MLXArray {
        let (inH, inW, c) = (grid.dim(0), grid.dim(1), grid.dim(2))
        if inH == h && inW == w { return grid }
        let dtype = grid.dtype
        var x = grid.asType(.float32)
        if inW != w {
            let ww = MLXArray(antialiasedBicubic(from: inW, to: w), [w, inW])
            let byWidth = matmul(ww, x.transposed(1, 0, 2).reshaped(inW, inH * c))  // [w, H·C]
            x = byWidth.reshaped(w, inH, c).transposed(1, 0, 2)
        }
        if inH != h {
            let wh = MLXArray(antialiasedBicubic(from: inH, to: h), [h, inH])
            x = matmul(wh, x.reshaped(inH, -1)).reshaped(h, w, c)
        }
        return x.asType(dtype)
    }

    /// A [L, C] table resized along L to `length` rows by PyTorch's linear interpolation
    /// (`align_corners=False`, no antialias).
    static func resizeLinear(_ table: MLXArray, to length: Int) -> MLXArray {
        let input = table.dim(0)
        if input == length { return table }
        let weights = MLXArray(BEiTRelativePositionBias.bilinear(from: input, to: length), [length, input])
        return matmul(weights, table.asType(.float32)).asType(table.dtype)
    }
}
