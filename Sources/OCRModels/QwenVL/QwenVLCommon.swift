// The scaffold Qwen2.5-VL and Qwen3-VL share: rotary helpers, the vision attention over packed
// segments, the M-RoPE position ids (`get_rope_index`), the decoder-only language model with a KV
// cache (Qwen2's biases on q/k/v or Qwen3's q/k norms), and the merge of image features into the
// token embeddings. The version files (Qwen25VL.swift, Qwen3VL.swift) hold only the vision towers.
//
// Reference: transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py and
// transformers/models/qwen3_vl/modeling_qwen3_vl.py (transformers 5.23), vision_utils.py.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Rotary helpers

/// `cat(-x₂, x₁)` over the last axis (x = [x₁, x₂]).
func rotateHalf(_ x: MLXArray) -> MLXArray {
    let half = x.dim(-1) / 2
    let x1 = x.sliced(axis: -1, from: 0, to: half)
    let x2 = x.sliced(axis: -1, from: half)
    return concatenated([-x2, x1], axis: -1)
}

/// `x·cos + rotate_half(x)·sin`, computed in float32 and cast back (as transformers' vision rotary).
func applyRotary(_ x: MLXArray, cos: MLXArray, sin: MLXArray) -> MLXArray {
    let dtype = x.dtype
    let xf = x.asType(.float32)
    return (xf * cos + rotateHalf(xf) * sin).asType(dtype)
}

// MARK: - Vision: 2-D rotary and packed attention

/// (h, w) patch coordinates of every patch, in the processor's merge-block order
/// ([t][h/m][w/m][m][m]), as transformers' `get_vision_position_ids`.
func visionPatchCoordinates(grids: [[Int]], merge: Int) -> [(h: Int32, w: Int32)] {
    var out: [(Int32, Int32)] = []
    for g in grids {
        let (t, h, w) = (g[0], g[1], g[2])
        for _ in 0 ..< t {
            for bh in 0 ..< h / merge {
                for bw in 0 ..< w / merge {
                    for ih in 0 ..< merge {
                        for iw in 0 ..< merge { out.append((Int32(bh * merge + ih), Int32(bw * merge + iw))) }
                    }
                }
            }
        }
    }
    return out
}

/// cos and sin [N, 1, headDim] of the vision tower's axial rotary: head_dim/4 frequencies for the
/// row, the same for the column, concatenated and repeated twice.
func visionRotary(coordinates: [(h: Int32, w: Int32)], headDim: Int, theta: Double = 10000) -> (MLXArray, MLXArray) {
    let quarter = headDim / 4
    let spatial = Double(headDim / 2)
    let invFreq = (0 ..< quarter).map { Float(1 / pow(theta, Double(2 * $0) / spatial)) }
    let n = coordinates.count
    let pos = MLXArray(coordinates.flatMap { [$0.h, $0.w] }, [n, 2]).asType(.float32)
    let freqs = pos.expandedDimensions(axis: -1) * MLXArray(invFreq, [1, 1, quarter])  // [N, 2, q]
    let hw = freqs.reshaped(n, 2 * quarter)
    let full = concatenated([hw, hw], axis: -1).expandedDimensions(axis: 1)
    return (MLXEngine.cos(full), MLXEngine.sin(full))
}

/// Packed segments (`cu_seqlens`) grouped for batched attention: segments of equal length run
/// as one batch, so memory grows with the segment length, not with the whole sequence.
struct VisionSegments {
    /// (length, rows of all its segments in order) per distinct length.
    let groups: [(length: Int, rows: MLXArray)]
    /// Restores the packed order after the groups are concatenated.
    let inverse: MLXArray?

    init(cumulativeLengths cu: [Int]) {
        var byLength: [Int: [Int]] = [:]
        for s in 0 ..< cu.count - 1 where cu[s + 1] > cu[s] { byLength[cu[s + 1] - cu[s], default: []].append(s) }
        var order: [Int32] = []
        var groups: [(Int, MLXArray)] = []
        for length in byLength.keys.sorted() {
            var rows: [Int32] = []
            for s in byLength[length]! { rows += (cu[s] ..< cu[s + 1]).map(Int32.init) }
            order += rows
            groups.append((length, MLXArray(rows, [rows.count])))
        }
        self.groups = groups
        if order.elementsEqual((0 ..< order.count).map(Int32.init)) {
            inverse = nil
        } else {
            var inv = [Int32](repeating: 0, count: order.count)
            for (i, r) in order.enumerated() { inv[Int(r)] = Int32(i) }
            inverse = MLXArray(inv, [inv.count])
        }
    }
}

/// Vision self-attention (`qkv`, `proj`) over N packed patches, with the axial rotary.
final class QwenVisionAttention: Module {
    @ModuleInfo(key: "qkv") var qkv: Linear
    @ModuleInfo(key: "proj") var proj: Linear
    let heads: Int

    init(dimensions: Int, heads: Int) {
        self.heads = heads
        _qkv.wrappedValue = Linear(dimensions, dimensions * 3, bias: true)
        _proj.wrappedValue = Linear(dimensions, dimensions, bias: true)
        super.init()
    }

    /// `x` [N, D]; cos/sin [N, 1, hd]; attention stays inside each segment.
    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, segments: VisionSegments) -> MLXArray {
        let n = x.dim(0)
        let parts = qkv(x).reshaped(n, 3, heads, -1)
        var q = parts.sliced(axis: 1, from: 0, to: 1).squeezed(axis: 1)
        var k = parts.sliced(axis: 1, from: 1, to: 2).squeezed(axis: 1)
        let v = parts.sliced(axis: 1, from: 2, to: 3).squeezed(axis: 1)
        q = applyRotary(q, cos: cos, sin: sin)
        k = applyRotary(k, cos: cos, sin: sin)
        let scale = Float(1 / Double(q.dim(-1)).squareRoot())
        var outputs: [MLXArray] = []
        for (length, rows) in segments.groups {
            // [G·len, H, hd] → [G, H, len, hd]
            func batched(_ t: MLXArray) -> MLXArray {
                let picked = segments.groups.count == 1 && segments.inverse == nil ? t : t.take(rows, axis: 0)
                return picked.reshaped(-1, length, heads, t.dim(-1)).transposed(0, 2, 1, 3)
            }
            let o = scaledDotProductAttention(queries: batched(q), keys: batched(k), values: batched(v), scale: scale)
            outputs.append(o.transposed(0, 2, 1, 3).reshaped(-1, x.dim(1)))
        }
        var out = outputs.count == 1 ? outputs[0] : concatenated(outputs, axis: 0)
        if let inverse = segments.inverse { out = out.take(inverse, axis: 0) }
        return proj(out)
    }
}

/// Cumulative lengths of the per-frame segments (`get_vision_cu_seqlens`).
func visionFrameSegments(grids: [[Int]]) -> [Int] {
    var cu = [0]
    for g in grids { for _ in 0 ..< g[0] { cu.append(cu.last! + g[1] * g[2]) } }
    return cu
}

/// What a vision tower gives the language model: merged features [tokens, D] (image order) and,
/// for Qwen3-VL, the DeepStack features added after the first LM layers.
public struct QwenVisionOutput {
    public let embeddings: MLXArray
    public let deepstack: [MLXArray]
}

/// A Qwen-VL vision tower: patches [N, C·T·P·P] and grids → merged features.
public protocol QwenVisionTower: Module {
    func callAsFunction(_ pixels: MLXArray, grids: [[Int]]) -> QwenVisionOutput
}

// MARK: - M-RoPE position ids

/// 3-D positions [3][L] of one sequence (`get_rope_index`) and the delta that continues them
/// (next position = index + delta). Text advances all three axes together; an image's
/// `<|image_pad|>` run gets (t, h, w) on its merged grid, offset by the position where it starts,
/// and the text after it starts at that offset + max(h, w) / merge.
public func qwenRopeIndex(
    inputIds: [Int], imageTokenID: Int, grids: [[Int]], mergeSize: Int
) throws -> (positions: [[Int32]], delta: Int) {
    var pos: [[Int32]] = [[], [], []]
    var current = 0
    var i = 0
    var image = 0
    while i < inputIds.count {
        if inputIds[i] == imageTokenID {
            var j = i
            while j < inputIds.count && inputIds[j] == imageTokenID { j += 1 }
            guard image < grids.count else {
                throw QwenVLInputError("the prompt has more image placeholder runs than the \(grids.count) images")
            }
            let g = grids[image]
            guard g.count == 3 else { throw QwenVLInputError("image grid \(g): expected (t, h, w)") }
            let (t, h, w) = (g[0], g[1] / mergeSize, g[2] / mergeSize)
            guard j - i == t * h * w else {
                throw QwenVLInputError("an image placeholder run of \(j - i) tokens for a \(t)×\(h)×\(w) grid (did the text contain image tokens?)")
            }
            for ti in 0 ..< t {
                for hi in 0 ..< h {
                    for wi in 0 ..< w {
                        pos[0].append(Int32(current + ti))
                        pos[1].append(Int32(current + hi))
                        pos[2].append(Int32(current + wi))
                    }
                }
            }
            current += Swift.max(h, w)
            image += 1
            i = j
        } else {
            for a in 0 ..< 3 { pos[a].append(Int32(current)) }
            current += 1
            i += 1
        }
    }
    let maxPos = pos.flatMap { $0 }.max().map(Int.init) ?? -1
    return (pos, maxPos + 1 - inputIds.count)
}

/// For each of the head_dim/2 rotary frequencies, which M-RoPE axis (0 t, 1 h, 2 w) drives it.
func mropeAxisPerFrequency(section: [Int], interleaved: Bool) -> [Int32] {
    let count = section.reduce(0, +)
    if interleaved {
        // Qwen3-VL: T everywhere, then H at 1, 4, 7, … < 3·s_h and W at 2, 5, 8, … < 3·s_w.
        return (0 ..< count).map { j in
            if j % 3 == 1 && j < section[1] * 3 { return 1 }
            if j % 3 == 2 && j < section[2] * 3 { return 2 }
            return 0
        }
    }
    var out: [Int32] = []
    for (i, s) in section.enumerated() { out += [Int32](repeating: Int32(i % 3), count: s) }
    return out
}

// MARK: - Language model

final class QwenTextAttention: Module {
    @ModuleInfo(key: "q_proj") var qProj: Linear
    @ModuleInfo(key: "k_proj") var kProj: Linear
    @ModuleInfo(key: "v_proj") var vProj: Linear
    @ModuleInfo(key: "o_proj") var oProj: Linear
    @ModuleInfo(key: "q_norm") var qNorm: RMSNorm?
    @ModuleInfo(key: "k_norm") var kNorm: RMSNorm?
    let heads: Int
    let kvHeads: Int
    let headDim: Int

    init(_ c: QwenVLTextConfig, version: QwenVLVersion) {
        heads = c.numAttentionHeads
        kvHeads = c.numKeyValueHeads
        headDim = c.resolvedHeadDim
        let qkvBias = version == .qwen2_5 ? true : (c.attentionBias ?? false)
        let oBias = version == .qwen2_5 ? false : (c.attentionBias ?? false)
        _qProj.wrappedValue = Linear(c.hiddenSize, heads * headDim, bias: qkvBias)
        _kProj.wrappedValue = Linear(c.hiddenSize, kvHeads * headDim, bias: qkvBias)
        _vProj.wrappedValue = Linear(c.hiddenSize, kvHeads * headDim, bias: qkvBias)
        _oProj.wrappedValue = Linear(heads * headDim, c.hiddenSize, bias: oBias)
        if version == .qwen3 {
            _qNorm.wrappedValue = RMSNorm(dimensions: headDim, eps: Float(c.rmsNormEps))
            _kNorm.wrappedValue = RMSNorm(dimensions: headDim, eps: Float(c.rmsNormEps))
        } else {
            _qNorm.wrappedValue = nil
            _kNorm.wrappedValue = nil
        }
        super.init()
    }

    func callAsFunction(
        _ x: MLXArray, cos: MLXArray, sin: MLXArray, mask: AttentionMask, cache: KVCache?
    ) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        var q = qProj(x).reshaped(b, l, heads, headDim)
        var k = kProj(x).reshaped(b, l, kvHeads, headDim)
        let vv = vProj(x).reshaped(b, l, kvHeads, headDim).transposed(0, 2, 1, 3)
        if let qNorm, let kNorm {
            q = qNorm(q)
            k = kNorm(k)
        }
        q = q.transposed(0, 2, 1, 3)
        k = k.transposed(0, 2, 1, 3)
        q = q * cos + rotateHalf(q) * sin
        k = k * cos + rotateHalf(k) * sin
        var keys = k
        var values = vv
        if let cache { (keys, values) = cache.update(keys: k, values: vv) }
        let out = scaledDotProductAttention(
            queries: q, keys: keys, values: values, scale: Float(1 / Double(headDim).squareRoot()), mask: mask)
        return oProj(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }
}

final class QwenMLP: Module, UnaryLayer {
    @ModuleInfo(key: "gate_proj") var gateProj: Linear
    @ModuleInfo(key: "up_proj") var upProj: Linear
    @ModuleInfo(key: "down_proj") var downProj: Linear
    let activation: Activation

    init(dimensions: Int, hidden: Int, bias: Bool, activation: Activation = .silu) {
        _gateProj.wrappedValue = Linear(dimensions, hidden, bias: bias)
        _upProj.wrappedValue = Linear(dimensions, hidden, bias: bias)
        _downProj.wrappedValue = Linear(hidden, dimensions, bias: bias)
        self.activation = activation
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { downProj(activation(gateProj(x)) * upProj(x)) }
}

final class QwenDecoderLayer: Module {
    @ModuleInfo(key: "self_attn") var selfAttention: QwenTextAttention
    @ModuleInfo(key: "mlp") var mlp: QwenMLP
    @ModuleInfo(key: "input_layernorm") var inputNorm: RMSNorm
    @ModuleInfo(key: "post_attention_layernorm") var postAttentionNorm: RMSNorm

    init(_ c: QwenVLTextConfig, version: QwenVLVersion) {
        _selfAttention.wrappedValue = QwenTextAttention(c, version: version)
        _mlp.wrappedValue = QwenMLP(dimensions: c.hiddenSize, hidden: c.intermediateSize, bias: false, activation: c.hiddenAct)
        _inputNorm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        _postAttentionNorm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        super.init()
    }

    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, mask: AttentionMask, cache: KVCache?) -> MLXArray {
        let h = x + selfAttention(inputNorm(x), cos: cos, sin: sin, mask: mask, cache: cache)
        return h + mlp(postAttentionNorm(h))
    }
}

/// `model.language_model`: embeddings, decoder layers, final norm. Positions are M-RoPE [3, B, L].
public final class QwenTextModel: Module {
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    /// Plain property (not @ModuleInfo) so LoRA and quantization can replace layers inside.
    let layers: [QwenDecoderLayer]
    @ModuleInfo(key: "norm") var norm: RMSNorm
    let config: QwenVLTextConfig
    private let _axisPerFrequency: MLXArray
    private let _invFreq: MLXArray

    init(_ c: QwenVLTextConfig, version: QwenVLVersion) {
        config = c
        _embedTokens.wrappedValue = Embedding(count: c.vocabSize, dimensions: c.hiddenSize)
        layers = (0 ..< c.numHiddenLayers).map { _ in QwenDecoderLayer(c, version: version) }
        _norm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        let dim = c.resolvedHeadDim
        let axes = mropeAxisPerFrequency(section: c.mropeSection, interleaved: c.mropeInterleaved)
        _axisPerFrequency = MLXArray(axes, [axes.count])
        _invFreq = MLXArray((0 ..< dim / 2).map { Float(1 / pow(c.ropeTheta, Double(2 * $0) / Double(dim))) }, [dim / 2])
        super.init()
    }

    /// cos and sin [B, 1, L, head_dim] for positions [3, B, L].
    func rotary(positions: MLXArray, dtype: DType) -> (MLXArray, MLXArray) {
        let perFreq = positions.transposed(1, 2, 0).take(_axisPerFrequency, axis: 2).asType(.float32)  // [B, L, hd/2]
        let freqs = perFreq * _invFreq
        let emb = concatenated([freqs, freqs], axis: -1).expandedDimensions(axis: 1)
        return (MLXEngine.cos(emb).asType(dtype), MLXEngine.sin(emb).asType(dtype))
    }

    /// Hidden states [B, L, D] after the final norm. `deepstack(i, h)` may add to the output of layer i.
    func callAsFunction(
        embeddings: MLXArray, positions: MLXArray, mask: AttentionMask, caches: [KVCache]?,
        deepstack: ((Int, MLXArray) -> MLXArray)? = nil
    ) -> MLXArray {
        let (cos, sin) = rotary(positions: positions, dtype: embeddings.dtype)
        var h = embeddings
        for (i, layer) in layers.enumerated() {
            h = layer(h, cos: cos, sin: sin, mask: mask, cache: caches?[i])
            if let deepstack { h = deepstack(i, h) }
        }
        return norm(h)
    }
}

// MARK: - Image-token merge

/// A gather index that places image features at the `<|image_pad|>` positions: row r of
/// `concat(textRows [B·L, D], imageRows [K, D])` for each of the B·L positions.
func imageMergeIndex(inputIds: [[Int]], imageTokenID: Int) -> (index: [Int32], count: Int) {
    let total = inputIds.reduce(0) { $0 + $1.count }
    var index: [Int32] = []
    var k = 0
    var p = 0
    for row in inputIds {
        for id in row {
            if id == imageTokenID {
                index.append(Int32(total + k))
                k += 1
            } else {
                index.append(Int32(p))
            }
            p += 1
        }
    }
    return (index, k)
}
