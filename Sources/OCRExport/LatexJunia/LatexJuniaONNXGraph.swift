// latex-ocr-junia as two ONNX graphs in the layout optimum writes for encoder–decoders (the one
// TrOCR's export uses), built from the model's parameters and config:
// - encoder_model: `pixel_values` [batch, 1, H, W] (grayscale in [0, 1], the package's input) →
//   `last_hidden_state` [batch, patches, d_model]: the stride-p patch convolution, learned
//   positions, LayerNorm, pre-norm blocks, the final LayerNorm;
// - decoder_model_merged: `input_ids`, `encoder_hidden_states`, `past_key_values.{i}.{decoder,
//   encoder}.{key,value}` and `use_cache_branch` → `logits` and `present.*`, the cross-attention
//   keys/values from an `If` (the past ones, or projected from the encoder states on the first
//   step), learned positions from the past length on.
// torch.nn.MultiheadAttention's fused `in_proj` [3D, D] is split into its query, key and value
// thirds. Pad positions are not masked as keys (generation never attends to a pad before EOS).
//
// Reference: latex_ocr_junia/model.py (PatchEmbedding, TransformerEncoderBlock,
// TransformerDecoderBlock, TokenPositionEmbedding); optimum exporters/onnx (names, merged decoder).

import Foundation
import MLXEngine
import OCRModels
import ONNXProto

enum LatexJuniaONNXGraph {
    static let eps: Float = 1e-6

    /// The parameters with each attention's fused projection split into `q`, `k` and `v` linears.
    static func parameters(_ model: LatexJuniaModel) -> [String: MLXArray] {
        var p = model.parameterDictionary()
        for key in p.keys.filter({ $0.hasSuffix(".in_proj.weight") }) {
            let base = String(key.dropLast(".in_proj.weight".count))
            let weights = p[key]!.split(parts: 3, axis: 0)
            let biases = p["\(base).in_proj.bias"]?.split(parts: 3, axis: 0)
            for (i, name) in ["q", "k", "v"].enumerated() {
                p["\(base).\(name).weight"] = weights[i]
                if let biases { p["\(base).\(name).bias"] = biases[i] }
            }
        }
        return p
    }

    // MARK: Encoder

    static func encoder(
        _ p: [String: MLXArray], config c: LatexJuniaConfig, storage: ONNXWeightStorage, quantization: ONNXLinearQuantization = .none
    ) throws -> Onnx_ModelProto {
        let g = ONNXGraphBuilder(name: "encoder", storage: storage)
        g.linearQuantization = quantization
        g.input("pixel_values", .float, [.named("batch_size"), .fixed(1), .fixed(c.imageHeight), .fixed(c.imageWidth)])
        let w = ParameterSource(p, builder: g)
        // The patch convolution in PyTorch's weight layout [D, 1, p, p].
        let kernel = g.weight("patch_embed.proj.weight", try w.array("patch_embed.proj.weight").transposed(0, 3, 1, 2))
        let conv = g.node(
            "Conv", ["pixel_values", kernel, try w.weight("patch_embed.proj.bias")], name: "patch_embed.proj/Conv",
            attributes: [.ints("kernel_shape", [c.patchSize, c.patchSize]), .ints("strides", [c.patchSize, c.patchSize])])
        let flat = g.node("Reshape", [conv, g.int64s([0, 0, -1])], name: "patch_embed/Flatten")
        var h = g.node("Transpose", [flat], name: "patch_embed/Tokens", attributes: [.ints("perm", [0, 2, 1])])
        h = g.node("Add", [h, try w.weight("patch_embed.pos_emb")], name: "patch_embed/Positions")
        h = try w.layerNorm(h, "patch_embed.norm", eps: eps)
        let scale = Float(1 / Double(c.dModel / c.numHeads).squareRoot())
        for i in 0 ..< c.numEncoderLayers {
            let key = "encoder_blocks.\(i)"
            let n1 = try w.layerNorm(h, "\(key).norm1", eps: eps)
            let (q, k, v) = try projections(n1, "\(key).attn", w: w, g: g, heads: c.numHeads)
            let context = g.mergeHeads(g.attention(q: q, k: k, v: v, scale: scale, name: "\(key).attn"), name: "\(key).attn/Merge")
            h = g.node("Add", [h, try w.linear(context, "\(key).attn.out_proj")], name: "\(key)/Residual1")
            h = g.node("Add", [h, try feedForward(try w.layerNorm(h, "\(key).norm2", eps: eps), "\(key).mlp", w: w, g: g)], name: "\(key)/Residual2")
        }
        h = try w.layerNorm(h, "encoder_norm", eps: eps)
        let grid = c.patchGrid
        g.output(h, as: "last_hidden_state", .float, [.named("batch_size"), .fixed(grid.rows * grid.columns), .fixed(c.dModel)])
        return g.model(docString: "latex-ocr-junia encoder exported by ocrtune")
    }

    // MARK: Decoder

    static func decoder(
        _ p: [String: MLXArray], config c: LatexJuniaConfig, storage: ONNXWeightStorage, quantization: ONNXLinearQuantization = .none
    ) throws -> Onnx_ModelProto {
        let g = ONNXGraphBuilder(name: "decoder_merged", storage: storage)
        g.linearQuantization = quantization
        let w = ParameterSource(p, builder: g)
        let (heads, headDim, layers) = (c.numHeads, c.dModel / c.numHeads, c.numDecoderLayers)
        EncoderDecoderONNX.declareDecoderInputs(g, layers: layers, heads: heads, headDim: headDim, hidden: c.dModel)

        // Cross-attention keys and values: the past ones, or projected from the encoder states.
        let crossKV = try EncoderDecoderONNX.crossAttentionCache(g, layers: layers) { i in
            let key = "decoder_blocks.\(i).cross_attn"
            return [
                g.splitHeads(try w.linear("encoder_hidden_states", "\(key).k"), heads: heads, name: "\(key)/K"),
                g.splitHeads(try w.linear("encoder_hidden_states", "\(key).v"), heads: heads, name: "\(key)/V"),
            ]
        }
        // Positions past … past + L − 1 and the causal mask over past + new keys.
        let (queryPositions, mask) = EncoderDecoderONNX.positionsAndCausalMask(g)

        let tokens = g.node("Gather", [try w.weight("decoder_embed.token_emb.weight"), "input_ids"], name: "decoder_embed.token_emb/Gather", attributes: [.int("axis", 0)])
        let positions = g.node("Gather", [try w.weight("decoder_embed.pos_emb.weight"), queryPositions], name: "decoder_embed.pos_emb/Gather", attributes: [.int("axis", 0)])
        var h = try w.layerNorm(g.node("Add", [tokens, positions], name: "decoder_embed/Add"), "decoder_embed.norm", eps: eps)

        var presents: [(String, String)] = []
        let scale = Float(1 / Double(headDim).squareRoot())
        for i in 0 ..< layers {
            let key = "decoder_blocks.\(i)"
            // Self-attention over the past and the new positions.
            let (q, kNew, vNew) = try projections(try w.layerNorm(h, "\(key).self_norm", eps: eps), "\(key).self_attn", w: w, g: g, heads: heads)
            let k = g.node("Concat", ["past_key_values.\(i).decoder.key", kNew], name: "\(key).self_attn/ConcatK", attributes: [.int("axis", 2)])
            let v = g.node("Concat", ["past_key_values.\(i).decoder.value", vNew], name: "\(key).self_attn/ConcatV", attributes: [.int("axis", 2)])
            presents += [(k, "present.\(i).decoder.key"), (v, "present.\(i).decoder.value")]
            var context = g.mergeHeads(g.attention(q: q, k: k, v: v, scale: scale, mask: mask, name: "\(key).self_attn"), name: "\(key).self_attn/Merge")
            h = g.node("Add", [h, try w.linear(context, "\(key).self_attn.out_proj")], name: "\(key)/Residual1")
            // Cross-attention.
            let (ck, cv) = (crossKV[2 * i], crossKV[2 * i + 1])
            presents += [(ck, "present.\(i).encoder.key"), (cv, "present.\(i).encoder.value")]
            let normed = try w.layerNorm(h, "\(key).cross_norm", eps: eps)
            let q2 = g.splitHeads(try w.linear(normed, "\(key).cross_attn.q"), heads: heads, name: "\(key).cross_attn/Q")
            context = g.mergeHeads(g.attention(q: q2, k: ck, v: cv, scale: scale, name: "\(key).cross_attn"), name: "\(key).cross_attn/Merge")
            h = g.node("Add", [h, try w.linear(context, "\(key).cross_attn.out_proj")], name: "\(key)/Residual2")
            // Feed-forward.
            h = g.node("Add", [h, try feedForward(try w.layerNorm(h, "\(key).ffn_norm", eps: eps), "\(key).ffn", w: w, g: g)], name: "\(key)/Residual3")
        }
        let logits = try w.linear(try w.layerNorm(h, "decoder_norm", eps: eps), "lm_head")
        EncoderDecoderONNX.declareDecoderOutputs(g, logits: logits, vocab: c.vocabSize, presents: presents, heads: heads, headDim: headDim)
        return g.model(docString: "latex-ocr-junia decoder with past keys/values (merged) exported by ocrtune")
    }

    // MARK: Pieces

    /// Query, key and value of `x` in head layout, from the split fused projection.
    static func projections(_ x: String, _ key: String, w: ParameterSource, g: ONNXGraphBuilder, heads: Int) throws -> (String, String, String) {
        (
            g.splitHeads(try w.linear(x, "\(key).q"), heads: heads, name: "\(key)/Q"),
            g.splitHeads(try w.linear(x, "\(key).k"), heads: heads, name: "\(key)/K"),
            g.splitHeads(try w.linear(x, "\(key).v"), heads: heads, name: "\(key)/V")
        )
    }

    /// `Linear (0) → GELU → Linear (3)`.
    static func feedForward(_ x: String, _ key: String, w: ParameterSource, g: ONNXGraphBuilder) throws -> String {
        try w.linear(g.activation(try w.linear(x, "\(key).0"), .gelu, name: "\(key).act"), "\(key).3")
    }
}
