// Qwen2.5-VL's vision tower: what differs from the shared scaffold. RMSNorm blocks with a gated
// (SwiGLU) MLP, window attention except in `fullatt_block_indexes`, and the `ln_q` + MLP patch
// merger. Its language model is Qwen2 (biases on q/k/v) with sectioned M-RoPE, in QwenVLCommon.
//
// Reference: transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py
// (Qwen2_5_VisionTransformerPretrainedModel) and vision_utils.get_vision_window_index.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Patch embedding

/// The Conv3d patch embedding as a matmul: a row of pixel values is one (C, T, P, P) patch in the
/// kernel's own order, so `proj.weight` keeps the checkpoint's 5-D shape and is flattened on use.
final class QwenPatchEmbed: Module {
    @ModuleInfo(key: "proj") var proj: PatchProjection

    init(_ c: QwenVLVisionConfig, bias: Bool) {
        _proj.wrappedValue = PatchProjection(c, bias: bias)
        super.init()
    }

    func callAsFunction(_ pixels: MLXArray) -> MLXArray { proj(pixels) }
}

final class PatchProjection: Module {
    let weight: MLXArray
    let bias: MLXArray?

    init(_ c: QwenVLVisionConfig, bias: Bool) {
        weight = zeros([c.hiddenSize, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize])
        self.bias = bias ? zeros([c.hiddenSize]) : nil
        super.init()
    }

    func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let w = weight.reshaped(weight.dim(0), -1)
        let y = matmul(pixels.asType(w.dtype), w.T)
        return bias.map { y + $0 } ?? y
    }
}

// MARK: - Blocks and merger

final class Qwen25VisionBlock: Module {
    @ModuleInfo(key: "norm1") var norm1: RMSNorm
    @ModuleInfo(key: "norm2") var norm2: RMSNorm
    @ModuleInfo(key: "attn") var attention: QwenVisionAttention
    @ModuleInfo(key: "mlp") var mlp: QwenMLP

    init(_ c: QwenVLVisionConfig) {
        _norm1.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: 1e-6)
        _norm2.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: 1e-6)
        _attention.wrappedValue = QwenVisionAttention(dimensions: c.hiddenSize, heads: c.numHeads)
        _mlp.wrappedValue = QwenMLP(dimensions: c.hiddenSize, hidden: c.intermediateSize, bias: true, activation: c.hiddenAct)
        super.init()
    }

    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, segments: VisionSegments) -> MLXArray {
        let h = x + attention(norm1(x), cos: cos, sin: sin, segments: segments)
        return h + mlp(norm2(h))
    }
}

/// `ln_q` (RMSNorm), then the 2×2 neighbours concatenated through `mlp` (Linear, GELU, Linear).
final class Qwen25PatchMerger: Module {
    @ModuleInfo(key: "ln_q") var norm: RMSNorm
    @ModuleInfo(key: "mlp") var mlp: Sequential
    let unit: Int

    init(_ c: QwenVLVisionConfig) {
        unit = c.spatialMergeSize * c.spatialMergeSize
        let hidden = c.hiddenSize * unit
        _norm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: 1e-6)
        _mlp.wrappedValue = Sequential([Linear(hidden, hidden), GELU(), Linear(hidden, c.outHiddenSize)])
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        mlp(norm(x).reshaped(x.dim(0) / unit, -1))
    }
}

// MARK: - Window index

/// The order that groups merged tokens window by window, and the cumulative patch lengths of the
/// windows (`get_vision_window_index`; empty windows dropped as `unique_consecutive` does).
func qwen25WindowIndex(grids: [[Int]], merge: Int, windowSize: Int, patchSize: Int) -> (index: [Int32], cu: [Int]) {
    let side = windowSize / merge / patchSize
    let unit = merge * merge
    var index: [Int32] = []
    var cu = [0]
    var offset = 0
    for g in grids {
        let (t, h, w) = (g[0], g[1] / merge, g[2] / merge)
        let windowsH = (h + side - h % side) / side
        let windowsW = (w + side - w % side) / side
        for ti in 0 ..< t {
            for wh in 0 ..< windowsH {
                for ww in 0 ..< windowsW {
                    var count = 0
                    for r in wh * side ..< Swift.min((wh + 1) * side, h) {
                        for col in ww * side ..< Swift.min((ww + 1) * side, w) {
                            index.append(Int32(offset + ti * h * w + r * w + col))
                            count += 1
                        }
                    }
                    if count > 0 { cu.append(cu.last! + count * unit) }
                }
            }
        }
        offset += t * h * w
    }
    return (index, cu)
}

// MARK: - Tower

/// `model.visual` of Qwen2.5-VL.
public final class Qwen25VisionTower: Module, QwenVisionTower {
    @ModuleInfo(key: "patch_embed") var patchEmbed: QwenPatchEmbed
    let blocks: [Qwen25VisionBlock]
    @ModuleInfo(key: "merger") var merger: Qwen25PatchMerger
    let config: QwenVLVisionConfig

    public init(_ c: QwenVLVisionConfig) {
        config = c
        _patchEmbed.wrappedValue = QwenPatchEmbed(c, bias: false)
        blocks = (0 ..< c.depth).map { _ in Qwen25VisionBlock(c) }
        _merger.wrappedValue = Qwen25PatchMerger(c)
        super.init()
    }

    public func callAsFunction(_ pixels: MLXArray, grids: [[Int]]) -> QwenVisionOutput {
        let c = config
        let merge = c.spatialMergeSize
        let unit = merge * merge
        let (window, cuWindow) = qwen25WindowIndex(
            grids: grids, merge: merge, windowSize: c.windowSize ?? 112, patchSize: c.patchSize)
        let order = MLXArray(window, [window.count])
        func permuted(_ t: MLXArray) -> MLXArray {
            let n = t.dim(0)
            let rest = Array(t.shape.dropFirst())
            return t.reshaped([n / unit, unit] + rest).take(order, axis: 0).reshaped([n] + rest)
        }
        var x = permuted(patchEmbed(pixels))
        let headDim = c.hiddenSize / c.numHeads
        var (cos, sin) = visionRotary(coordinates: visionPatchCoordinates(grids: grids, merge: merge), headDim: headDim)
        cos = permuted(cos)
        sin = permuted(sin)
        let frames = VisionSegments(cumulativeLengths: visionFrameSegments(grids: grids))
        let windows = VisionSegments(cumulativeLengths: cuWindow)
        let full = Set(c.fullattBlockIndexes ?? [])
        for (i, block) in blocks.enumerated() {
            x = block(x, cos: cos, sin: sin, segments: full.contains(i) ? frames : windows)
        }
        var inverse = [Int32](repeating: 0, count: window.count)
        for (i, w) in window.enumerated() { inverse[Int(w)] = Int32(i) }
        let merged = merger(x).take(MLXArray(inverse, [inverse.count]), axis: 0)
        return QwenVisionOutput(embeddings: merged, deepstack: [])
    }
}
