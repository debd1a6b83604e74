// The language model both DeepSeek-OCR versions share: DeepseekV2 without MLA — multi-head
// attention with 1-D rotary positions (no biases), RMSNorm, a dense SwiGLU MLP in the first layers
// and mixture-of-experts layers after: a router (fp32 softmax over the experts, greedy top-k, no
// renormalization unless `norm_topk_prob`, × routed_scaling_factor), the routed experts run by
// dispatch — tokens grouped per expert, one product per active expert, the outputs gathered back
// and weighted — and the shared experts added. The MLPs are Qwen-VL's (QwenMLP: gate/up/down).
// Key names are DeepSeek's (`layers.N.mlp.experts.K.gate_proj`, `mlp.gate.weight`,
// `mlp.shared_experts`); transformers' fused `experts.gate_up_proj` / `experts.down_proj` are
// split at load.
//
// Reference: transformers/models/deepseek_ocr2/modeling_deepseek_ocr2.py (DeepseekOcr2TextModel,
// DeepseekOcr2TextMoe, DeepseekOcr2TextTopkRouter, DeepseekOcr2TextExperts); the Hub's
// modeling_deepseekv2.py (MoEGate, DeepseekV2MoE.moe_infer, LlamaAttention for use_mla false).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Attention

final class DeepSeekAttention: Module {
    @ModuleInfo(key: "q_proj") var qProj: Linear
    @ModuleInfo(key: "k_proj") var kProj: Linear
    @ModuleInfo(key: "v_proj") var vProj: Linear
    @ModuleInfo(key: "o_proj") var oProj: Linear
    let heads: Int
    let kvHeads: Int
    let headDim: Int

    init(_ c: DeepSeekOCRTextConfig) {
        heads = c.numAttentionHeads
        kvHeads = c.numKeyValueHeads
        headDim = c.headDim
        _qProj.wrappedValue = Linear(c.hiddenSize, heads * headDim, bias: c.attentionBias)
        _kProj.wrappedValue = Linear(c.hiddenSize, kvHeads * headDim, bias: c.attentionBias)
        _vProj.wrappedValue = Linear(c.hiddenSize, kvHeads * headDim, bias: c.attentionBias)
        _oProj.wrappedValue = Linear(heads * headDim, c.hiddenSize, bias: c.attentionBias)
        super.init()
    }

    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, mask: AttentionMask, cache: KVCache?) -> MLXArray {
        let (b, l) = (x.dim(0), x.dim(1))
        var q = qProj(x).reshaped(b, l, heads, headDim).transposed(0, 2, 1, 3)
        var k = kProj(x).reshaped(b, l, kvHeads, headDim).transposed(0, 2, 1, 3)
        var v = vProj(x).reshaped(b, l, kvHeads, headDim).transposed(0, 2, 1, 3)
        q = q * cos + rotateHalf(q) * sin
        k = k * cos + rotateHalf(k) * sin
        if let cache { (k, v) = cache.update(keys: k, values: v) }
        let out = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: Float(1 / Double(headDim).squareRoot()), mask: mask)
        return oProj(out.transposed(0, 2, 1, 3).reshaped(b, l, -1))
    }
}

// MARK: - Mixture of experts

/// `mlp.gate`: the router's [experts, hidden] weight.
final class DeepSeekRouter: Module {
    let weight: MLXArray

    init(experts: Int, hidden: Int) {
        weight = zeros([experts, hidden])
        super.init()
    }
}

final class DeepSeekMoE: Module, UnaryLayer {
    /// Plain property (not @ModuleInfo) so LoRA and quantization can replace layers inside.
    let experts: [QwenMLP]
    @ModuleInfo(key: "gate") var gate: DeepSeekRouter
    @ModuleInfo(key: "shared_experts") var sharedExperts: QwenMLP
    let topK: Int
    let normalize: Bool
    let scaling: Double

    init(_ c: DeepSeekOCRTextConfig) {
        experts = (0 ..< c.routedExperts).map { _ in
            QwenMLP(dimensions: c.hiddenSize, hidden: c.moeIntermediateSize, bias: false)
        }
        _gate.wrappedValue = DeepSeekRouter(experts: c.routedExperts, hidden: c.hiddenSize)
        _sharedExperts.wrappedValue = QwenMLP(dimensions: c.hiddenSize, hidden: c.moeIntermediateSize * c.sharedExperts, bias: false)
        topK = c.expertsPerToken
        normalize = c.normTopKProbability
        scaling = c.routedScalingFactor
        super.init()
    }

    /// Experts and weights [N, k] of each token: the top-k of the fp32 softmax over the router.
    func route(_ flat: MLXArray) -> (experts: MLXArray, weights: MLXArray) {
        let logits = matmul(flat.asType(.float32), gate.weight.asType(.float32).T)
        let scores = softmax(logits, axis: -1, precise: true)
        // The choice is not differentiated (as torch.topk's indices); the weights are.
        let chosen = stopGradient((-scores).argSort(axis: -1).sliced(axis: 1, from: 0, to: topK))
        var weights = scores.takeAlong(chosen, axis: 1)
        if normalize && topK > 1 { weights = weights / (weights.sum(axis: -1, keepDims: true) + 1e-20) }
        return (chosen, weights * scaling)
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let shape = x.shape
        let flat = x.reshaped(-1, shape[shape.count - 1])
        let n = flat.dim(0)
        let (chosen, weights) = route(flat)
        // Dispatch: the (token, slot) pairs grouped by expert, in token order within an expert.
        let ids = chosen.asType(.int32).asArray(Int32.self)
        var slotsOf = [[Int32]](repeating: [], count: experts.count)
        for (slot, e) in ids.enumerated() { slotsOf[Int(e)].append(Int32(slot)) }
        var outputs: [MLXArray] = []
        var position = [Int32](repeating: 0, count: ids.count)
        var next: Int32 = 0
        for (e, slots) in slotsOf.enumerated() where !slots.isEmpty {
            let tokens = MLXArray(slots.map { $0 / Int32(topK) }, [slots.count])
            outputs.append(experts[e](flat.take(tokens, axis: 0)))
            for s in slots {
                position[Int(s)] = next
                next += 1
            }
        }
        let routed = concatenated(outputs, axis: 0).take(MLXArray(position, [position.count]), axis: 0)
            .reshaped(n, topK, -1)
        let mixed = (routed.asType(.float32) * weights.expandedDimensions(axis: -1)).sum(axis: 1).asType(x.dtype)
        return mixed.reshaped(shape) + sharedExperts(x)
    }
}

// MARK: - Decoder

final class DeepSeekDecoderLayer: Module {
    @ModuleInfo(key: "self_attn") var selfAttention: DeepSeekAttention
    @ModuleInfo(key: "mlp") var mlp: Module
    @ModuleInfo(key: "input_layernorm") var inputNorm: RMSNorm
    @ModuleInfo(key: "post_attention_layernorm") var postAttentionNorm: RMSNorm

    init(_ c: DeepSeekOCRTextConfig, sparse: Bool) {
        _selfAttention.wrappedValue = DeepSeekAttention(c)
        _mlp.wrappedValue = sparse ? DeepSeekMoE(c) : QwenMLP(dimensions: c.hiddenSize, hidden: c.intermediateSize, bias: false)
        _inputNorm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        _postAttentionNorm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        super.init()
    }

    func callAsFunction(_ x: MLXArray, cos: MLXArray, sin: MLXArray, mask: AttentionMask, cache: KVCache?) -> MLXArray {
        let h = x + selfAttention(inputNorm(x), cos: cos, sin: sin, mask: mask, cache: cache)
        return h + (mlp as! UnaryLayer)(postAttentionNorm(h))
    }
}

/// The decoder stack under `model.` (`embed_tokens`, `layers`, `norm`) with its rotary table.
struct DeepSeekRotary {
    let invFreq: MLXArray

    init(headDim: Int, theta: Double) {
        invFreq = MLXArray((0 ..< headDim / 2).map { Float(1 / pow(theta, Double(2 * $0) / Double(headDim))) }, [headDim / 2])
    }

    /// cos and sin [B, 1, L, headDim] for positions [B, L] (int32).
    func callAsFunction(positions: MLXArray, dtype: DType) -> (MLXArray, MLXArray) {
        let freqs = positions.asType(.float32).expandedDimensions(axis: -1) * invFreq
        let emb = concatenated([freqs, freqs], axis: -1).expandedDimensions(axis: 1)
        return (MLXEngine.cos(emb).asType(dtype), MLXEngine.sin(emb).asType(dtype))
    }
}
