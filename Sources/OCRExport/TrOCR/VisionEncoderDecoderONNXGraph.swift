// Vision encoder–decoders (ViT / DeiT / BEiT encoder + TrOCR decoder) as the two ONNX graphs optimum
// writes and transformers.js reads, built from the model's parameters under their checkpoint
// keys and its config:
// - encoder_model: `pixel_values` [batch, 3, H, W] → `last_hidden_state` [batch, tokens, hidden];
// - decoder_model_merged: `input_ids`, `encoder_hidden_states`, `past_key_values.{i}.{decoder,
//   encoder}.{key,value}` and `use_cache_branch` → `logits` and `present.*`. The decoder's
//   self-attention keys/values are the past ones with the new positions appended (a past of
//   length 0 on the first step); the cross-attention keys/values come from an `If` on
//   `use_cache_branch`: the past ones, or projected from the encoder states (first step).
// The decoder applies `enc_to_dec_proj` when the model has one.
//
// Reference: transformers models/vit/modeling_vit.py, models/deit, models/beit (relative position
// bias, layer scale), models/trocr/modeling_trocr.py,
// models/vision_encoder_decoder; optimum exporters/onnx (input/output names, merged decoder).

import Foundation
import MLXEngine
import MLXNN
import OCRModels
import ONNXProto

enum VisionEncoderDecoderONNXGraph {
    // MARK: Encoder

    /// `biases`: BEiT's relative position bias per layer ([1, heads, L, L], from the loaded encoder).
    static func encoder(
        _ p: [String: MLXArray], config: VisionEncoderDecoderConfig, storage: ONNXWeightStorage, quantization: ONNXLinearQuantization = .none,
        biases: [MLXArray?] = []
    ) throws -> Onnx_ModelProto {
        let e = config.encoder
        guard ["vit", "deit", "beit"].contains(e.modelType) else {
            throw ExportError("ONNX export of a \(e.modelType) encoder is not written yet (ViT, DeiT and BEiT encoders are)")
        }
        let g = ONNXGraphBuilder(name: "encoder", storage: storage)
        g.linearQuantization = quantization
        g.input("pixel_values", .float, [.named("batch_size"), .fixed(e.numChannels), .fixed(e.imageSize[0]), .fixed(e.imageSize[1])])
        let w = ParameterSource(p, builder: g)
        // Patches: a stride-p convolution, flattened to tokens.
        let conv = g.node(
            "Conv", ["pixel_values", try w.weight("encoder.embeddings.patch_embeddings.projection.weight"),
                     try w.weight("encoder.embeddings.patch_embeddings.projection.bias")],
            name: "encoder.embeddings.patch_embeddings.projection/Conv",
            attributes: [.ints("kernel_shape", [e.patchSize, e.patchSize]), .ints("strides", [e.patchSize, e.patchSize])])
        let flat = g.node("Reshape", [conv, g.int64s([0, 0, -1])], name: "encoder.embeddings/Flatten")
        let patches = g.node("Transpose", [flat], name: "encoder.embeddings/Tokens", attributes: [.ints("perm", [0, 2, 1])])
        // CLS (and DeiT's distillation token), broadcast over the batch.
        let batch = g.node("Slice", [g.node("Shape", [patches], name: "encoder.embeddings/Shape"), g.int64s([0]), g.int64s([1])], name: "encoder.embeddings/Batch")
        let tokenShape = g.node("Concat", [batch, g.int64s([1, Int64(e.hiddenSize)])], name: "encoder.embeddings/TokenShape", attributes: [.int("axis", 0)])
        var parts = [g.node("Expand", [try w.weight("encoder.embeddings.cls_token"), tokenShape], name: "encoder.embeddings/CLS")]
        if e.prefixTokens == 2 {
            parts.append(g.node("Expand", [try w.weight("encoder.embeddings.distillation_token"), tokenShape], name: "encoder.embeddings/Distillation"))
        }
        var h = g.node("Concat", parts + [patches], name: "encoder.embeddings/Concat", attributes: [.int("axis", 1)])
        if p["encoder.embeddings.position_embeddings"] != nil {
            h = g.node("Add", [h, try w.weight("encoder.embeddings.position_embeddings")], name: "encoder.embeddings/Positions")
        }
        for i in 0 ..< e.numHiddenLayers {
            let key = "encoder.encoder.layer.\(i)"
            let n1 = try w.layerNorm(h, "\(key).layernorm_before", eps: Float(e.layerNormEps))
            let q = g.splitHeads(try w.linear(n1, "\(key).attention.attention.query"), heads: e.numAttentionHeads, name: "\(key)/Q")
            let k = g.splitHeads(try w.linear(n1, "\(key).attention.attention.key"), heads: e.numAttentionHeads, name: "\(key)/K")
            let v = g.splitHeads(try w.linear(n1, "\(key).attention.attention.value"), heads: e.numAttentionHeads, name: "\(key)/V")
            let scale = Float(1 / Double(e.hiddenSize / e.numAttentionHeads).squareRoot())
            // BEiT: the relative position bias (a function of the fixed patch grid) as a constant.
            let bias = i < biases.count ? biases[i].map { g.floatInitializer("\(key).attention.relative_position_bias", $0) } : nil
            let context = g.mergeHeads(g.attention(q: q, k: k, v: v, scale: scale, mask: bias, name: "\(key).attention"), name: "\(key).attention/Merge")
            var attended = try w.linear(context, "\(key).attention.output.dense")
            if p["\(key).lambda_1"] != nil { attended = g.node("Mul", [attended, try w.weight("\(key).lambda_1")], name: "\(key)/LayerScale1") }
            h = g.node("Add", [h, attended], name: "\(key)/Residual1")
            let n2 = try w.layerNorm(h, "\(key).layernorm_after", eps: Float(e.layerNormEps))
            let mid = g.activation(try w.linear(n2, "\(key).intermediate.dense"), e.hiddenAct, name: "\(key).intermediate.act")
            var out = try w.linear(mid, "\(key).output.dense")
            if p["\(key).lambda_2"] != nil { out = g.node("Mul", [out, try w.weight("\(key).lambda_2")], name: "\(key)/LayerScale2") }
            h = g.node("Add", [h, out], name: "\(key)/Residual2")
        }
        // BEiT under mean pooling has no final layernorm (the encoder–decoder reads the last layer).
        if p["encoder.layernorm.weight"] != nil { h = try w.layerNorm(h, "encoder.layernorm", eps: Float(e.layerNormEps)) }
        g.output(h, as: "last_hidden_state", .float, [.named("batch_size"), .named("encoder_sequence_length"), .fixed(e.hiddenSize)])
        return g.model(docString: "vision encoder exported by ocrtune")
    }

    // MARK: Decoder

    static func decoder(
        _ p: [String: MLXArray], config: VisionEncoderDecoderConfig, storage: ONNXWeightStorage, quantization: ONNXLinearQuantization = .none
    ) throws -> Onnx_ModelProto {
        let d = config.decoder
        let g = ONNXGraphBuilder(name: "decoder_merged", storage: storage)
        g.linearQuantization = quantization
        let w = ParameterSource(p, builder: g)
        let heads = d.decoderAttentionHeads
        let headDim = d.dModel / heads
        let prefix = "decoder.model.decoder"
        EncoderDecoderONNX.declareDecoderInputs(g, layers: d.decoderLayers, heads: heads, headDim: headDim, hidden: config.encoder.hiddenSize)

        var encoderStates = "encoder_hidden_states"
        if p["enc_to_dec_proj.weight"] != nil { encoderStates = try w.linear(encoderStates, "enc_to_dec_proj") }
        // Cross-attention keys and values: the past ones, or projected from the encoder states.
        let crossKV = try EncoderDecoderONNX.crossAttentionCache(g, layers: d.decoderLayers) { i in
            let key = "\(prefix).layers.\(i).encoder_attn"
            return [
                g.splitHeads(try w.linear(encoderStates, "\(key).k_proj"), heads: heads, name: "\(key)/K"),
                g.splitHeads(try w.linear(encoderStates, "\(key).v_proj"), heads: heads, name: "\(key)/V"),
            ]
        }

        // Positions past + 0 … past + L − 1 (table rows offset by 2), and the causal mask.
        let (queryPositions, mask) = EncoderDecoderONNX.positionsAndCausalMask(g)

        var h = g.node("Gather", [try w.weight("\(prefix).embed_tokens.weight"), "input_ids"], name: "\(prefix).embed_tokens/Gather", attributes: [.int("axis", 0)])
        if d.scaleEmbedding { h = g.node("Mul", [h, g.scalar(Float(Double(d.dModel).squareRoot()))], name: "\(prefix)/ScaleEmbedding") }
        let table = try p["\(prefix).embed_positions.weight"].map { _ in try w.weight("\(prefix).embed_positions.weight") }
            ?? g.floatInitializer(
                "\(prefix).sinusoidal_positions",
                sinusoids(count: max(d.maxPositionEmbeddings, sinusoidalPositions) + 2, dimensions: d.dModel, padding: d.padTokenID ?? 1))
        let rows = g.node("Add", [queryPositions, g.int64s([2], scalar: true)], name: "decoder/PositionRows")
        h = g.node("Add", [h, g.node("Gather", [table, rows], name: "\(prefix).embed_positions/Gather", attributes: [.int("axis", 0)])], name: "\(prefix)/Positions")
        if p["\(prefix).layernorm_embedding.weight"] != nil { h = try w.layerNorm(h, "\(prefix).layernorm_embedding", eps: 1e-5) }

        var presents: [(String, String)] = []
        let scale = Float(1 / Double(headDim).squareRoot())
        for i in 0 ..< d.decoderLayers {
            let key = "\(prefix).layers.\(i)"
            // Self-attention over the past and the new positions.
            let q = g.splitHeads(try w.linear(h, "\(key).self_attn.q_proj"), heads: heads, name: "\(key).self_attn/Q")
            let kNew = g.splitHeads(try w.linear(h, "\(key).self_attn.k_proj"), heads: heads, name: "\(key).self_attn/K")
            let vNew = g.splitHeads(try w.linear(h, "\(key).self_attn.v_proj"), heads: heads, name: "\(key).self_attn/V")
            let k = g.node("Concat", ["past_key_values.\(i).decoder.key", kNew], name: "\(key).self_attn/ConcatK", attributes: [.int("axis", 2)])
            let v = g.node("Concat", ["past_key_values.\(i).decoder.value", vNew], name: "\(key).self_attn/ConcatV", attributes: [.int("axis", 2)])
            presents += [(k, "present.\(i).decoder.key"), (v, "present.\(i).decoder.value")]
            var context = g.mergeHeads(g.attention(q: q, k: k, v: v, scale: scale, mask: mask, name: "\(key).self_attn"), name: "\(key).self_attn/Merge")
            h = try w.layerNorm(g.node("Add", [h, try w.linear(context, "\(key).self_attn.out_proj")], name: "\(key)/Residual1"), "\(key).self_attn_layer_norm", eps: 1e-5)
            // Cross-attention.
            let (ck, cv) = (crossKV[2 * i], crossKV[2 * i + 1])
            presents += [(ck, "present.\(i).encoder.key"), (cv, "present.\(i).encoder.value")]
            let q2 = g.splitHeads(try w.linear(h, "\(key).encoder_attn.q_proj"), heads: heads, name: "\(key).encoder_attn/Q")
            context = g.mergeHeads(g.attention(q: q2, k: ck, v: cv, scale: scale, name: "\(key).encoder_attn"), name: "\(key).encoder_attn/Merge")
            h = try w.layerNorm(g.node("Add", [h, try w.linear(context, "\(key).encoder_attn.out_proj")], name: "\(key)/Residual2"), "\(key).encoder_attn_layer_norm", eps: 1e-5)
            // Feed-forward.
            let mid = g.activation(try w.linear(h, "\(key).fc1"), d.activationFunction, name: "\(key).act")
            h = try w.layerNorm(g.node("Add", [h, try w.linear(mid, "\(key).fc2")], name: "\(key)/Residual3"), "\(key).final_layer_norm", eps: 1e-5)
        }
        let projection = p["decoder.output_projection.weight"] != nil
            ? try w.weight("decoder.output_projection.weight")
            : try w.weight("\(prefix).embed_tokens.weight")
        let logits = g.node("MatMul", [h, g.node("Transpose", [projection], name: "decoder.output_projection/Transpose", attributes: [.ints("perm", [1, 0])])], name: "decoder.output_projection/MatMul")
        EncoderDecoderONNX.declareDecoderOutputs(g, logits: logits, vocab: d.vocabSize, presents: presents, heads: heads, headDim: headDim)
        return g.model(docString: "TrOCR decoder with past keys/values (merged) exported by ocrtune")
    }

    /// Positions a sinusoidal table holds (transformers grows its table on demand; a graph needs
    /// one size: four times ocrtune's default generation limit).
    static let sinusoidalPositions = 1024

    /// fairseq's sinusoidal table as transformers' TrOCRSinusoidalPositionalEmbedding builds it
    /// (the padding row zero).
    static func sinusoids(count: Int, dimensions d: Int, padding: Int) -> MLXArray {
        let half = d / 2
        let step = log(10000.0) / Double(half - 1)
        var values = [Float](repeating: 0, count: count * d)
        for p in 0 ..< count where p != padding {
            for j in 0 ..< half {
                let angle = Float(Double(p) * exp(Double(j) * -step))
                values[p * d + j] = sin(angle)
                values[p * d + half + j] = cos(angle)
            }
        }
        return MLXArray(values, [count, d])
    }
}

/// The parameters of a model by checkpoint key, turned into graph weights (an error names a missing key).
struct ParameterSource {
    let parameters: [String: MLXArray]
    let builder: ONNXGraphBuilder

    init(_ parameters: [String: MLXArray], builder: ONNXGraphBuilder) {
        self.parameters = parameters
        self.builder = builder
    }

    func array(_ key: String) throws -> MLXArray {
        guard let a = parameters[key] else { throw ExportError("the model has no parameter \(key)") }
        return a
    }

    func weight(_ key: String) throws -> String { builder.weight(key, try array(key)) }

    func linear(_ x: String, _ key: String) throws -> String {
        builder.linear(x, Linear(weight: try array("\(key).weight"), bias: parameters["\(key).bias"]), key: key)
    }

    func layerNorm(_ x: String, _ key: String, eps: Float) throws -> String {
        let weight = try array("\(key).weight")
        return builder.layerNorm(x, weight: weight, bias: parameters["\(key).bias"] ?? zeros(weight.shape), eps: eps, key: key)
    }
}
