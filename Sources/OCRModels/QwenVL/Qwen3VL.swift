// Qwen3-VL's vision tower: what differs from the shared scaffold. A learned position table
// bilinearly resampled to each image's grid, LayerNorm blocks with a plain (fc1, fc2) MLP and full
// attention per frame, a LayerNorm patch merger, and DeepStack mergers whose features are added
// to the hidden states of the first language-model layers. Its language model is Qwen3 (q/k
// norms) with interleaved M-RoPE, in QwenVLCommon.
//
// Reference: transformers/models/qwen3_vl/modeling_qwen3_vl.py (Qwen3VLVisionModel) and
// vision_utils.get_vision_interpolation_indices_and_weights.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Blocks and mergers

final class Qwen3VisionMLP: Module, UnaryLayer {
    @ModuleInfo(key: "linear_fc1") var fc1: Linear
    @ModuleInfo(key: "linear_fc2") var fc2: Linear
    let activation: Activation

    init(dimensions: Int, hidden: Int, output: Int? = nil, activation: Activation) {
        _fc1.wrappedValue = Linear(dimensions, hidden)
        _fc2.wrappedValue = Linear(hidden, output ?? dimensions)
        self.activation = activation
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { fc2(activation(fc1(x))) }
}

final class Qwen3VisionBlock: Module {
    @ModuleInfo(key: "norm1") var norm1: LayerNorm
    @ModuleInfo(key: "norm2") var norm2: LayerNorm
    @ModuleInfo(key: "attn") var attention: QwenVisionAttention
    @ModuleInfo(key: "mlp") var mlp: Qwen3VisionMLP

    init(_ c: QwenVLVisionConfig) {
        _norm1.wrappedValue = LayerNorm(dimensions: c.hiddenSize, eps: 1e-6)
        _norm2.wrappedValue = LayerNorm(dimensions: c.hiddenSize, eps: 1e-6)
        _attention.wrappedValue = QwenVisionAttention(dimensions: c.hiddenSize, heads: c.numHeads)
        _mlp.wrappedValue = Qwen3VisionMLP(dimensions: c.hiddenSize, hidden: c.intermediateSize, activation: c.hiddenAct)
        super.init()
    }

    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, segments: VisionSegments) -> MLXArray {
        let h = x + attention(norm1(x), cos: cos, sin: sin, segments: segments)
        return h + mlp(norm2(h))
    }
}

/// LayerNorm (before the 2×2 shuffle for the main merger, after it for DeepStack ones), then
/// `linear_fc1`, GELU, `linear_fc2`.
final class Qwen3PatchMerger: Module {
    @ModuleInfo(key: "norm") var norm: LayerNorm
    @ModuleInfo(key: "linear_fc1") var fc1: Linear
    @ModuleInfo(key: "linear_fc2") var fc2: Linear
    let unit: Int
    let postShuffleNorm: Bool

    init(_ c: QwenVLVisionConfig, postShuffleNorm: Bool) {
        unit = c.spatialMergeSize * c.spatialMergeSize
        self.postShuffleNorm = postShuffleNorm
        let hidden = c.hiddenSize * unit
        _norm.wrappedValue = LayerNorm(dimensions: postShuffleNorm ? hidden : c.hiddenSize, eps: 1e-6)
        _fc1.wrappedValue = Linear(hidden, hidden)
        _fc2.wrappedValue = Linear(hidden, c.outHiddenSize)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let rows = x.dim(0) / unit
        let shuffled = postShuffleNorm ? norm(x.reshaped(rows, -1)) : norm(x).reshaped(rows, -1)
        return fc2(gelu(fc1(shuffled)))
    }
}

// MARK: - Position table resampling

/// Bilinear (align_corners) taps [N, 4] into the side×side table and their weights, for every
/// patch in merge-block order.
func qwen3PositionTaps(grids: [[Int]], merge: Int, side: Int) -> (index: [Int32], weight: [Float]) {
    var index: [Int32] = []
    var weight: [Float] = []
    func axis(_ i: Int, _ size: Int) -> ([Int], [Float]) {
        let src = Float(i) * Float(side - 1) / Float(Swift.max(size - 1, 1))
        let f = src.rounded(.down)
        let taps = [Int(f), Int(f) + 1].map { Swift.min(Swift.max($0, 0), side - 1) }
        let weights = [0, 1].map { Swift.max(1 - Swift.abs(src - f - Float($0)), 0) }
        return (taps, weights)
    }
    for g in grids {
        let coords = visionPatchCoordinates(grids: [g], merge: merge)
        for (r, col) in coords {
            let (ht, hw) = axis(Int(r), g[1])
            let (wt, ww) = axis(Int(col), g[2])
            for a in 0 ..< 2 {
                for b in 0 ..< 2 {
                    index.append(Int32(ht[a] * side + wt[b]))
                    weight.append(hw[a] * ww[b])
                }
            }
        }
    }
    return (index, weight)
}

// MARK: - Tower

/// `model.visual` of Qwen3-VL.
public final class Qwen3VisionTower: Module, QwenVisionTower {
    @ModuleInfo(key: "patch_embed") var patchEmbed: QwenPatchEmbed
    @ModuleInfo(key: "pos_embed") var positionEmbedding: Embedding
    let blocks: [Qwen3VisionBlock]
    @ModuleInfo(key: "merger") var merger: Qwen3PatchMerger
    /// Checkpoint key `deepstack_merger_list` (a plain property: its name is the key).
    let deepstack_merger_list: [Qwen3PatchMerger]
    let config: QwenVLVisionConfig

    public init(_ c: QwenVLVisionConfig) {
        config = c
        _patchEmbed.wrappedValue = QwenPatchEmbed(c, bias: true)
        _positionEmbedding.wrappedValue = Embedding(count: c.numPositionEmbeddings ?? 2304, dimensions: c.hiddenSize)
        blocks = (0 ..< c.depth).map { _ in Qwen3VisionBlock(c) }
        _merger.wrappedValue = Qwen3PatchMerger(c, postShuffleNorm: false)
        deepstack_merger_list = (c.deepstackVisualIndexes ?? []).map { _ in Qwen3PatchMerger(c, postShuffleNorm: true) }
        super.init()
    }

    public func callAsFunction(_ pixels: MLXArray, grids: [[Int]]) -> QwenVisionOutput {
        let c = config
        let merge = c.spatialMergeSize
        let side = Int(Double(c.numPositionEmbeddings ?? 2304).squareRoot())
        var x = patchEmbed(pixels)
        let n = x.dim(0)
        let taps = qwen3PositionTaps(grids: grids, merge: merge, side: side)
        let table = positionEmbedding.weight.take(MLXArray(taps.index, [taps.index.count]), axis: 0).reshaped(n, 4, -1)
        let positions = (table * MLXArray(taps.weight, [n, 4, 1])).sum(axes: [1])
        x = x + positions.asType(x.dtype)
        let (cos, sin) = visionRotary(
            coordinates: visionPatchCoordinates(grids: grids, merge: merge), headDim: c.hiddenSize / c.numHeads)
        let frames = VisionSegments(cumulativeLengths: visionFrameSegments(grids: grids))
        let deepstackIndexes = c.deepstackVisualIndexes ?? []
        var deepstack: [MLXArray] = []
        for (i, block) in blocks.enumerated() {
            x = block(x, cos: cos, sin: sin, segments: frames)
            if let k = deepstackIndexes.firstIndex(of: i) { deepstack.append(deepstack_merger_list[k](x)) }
        }
        return QwenVisionOutput(embeddings: merger(x), deepstack: deepstack)
    }
}
