// Qwen2.5-VL and Qwen3-VL as the two GGUF files llama.cpp's converter writes: the language model
// (`qwen2vl` / `qwen3vl` architecture, M-RoPE sections, the byte-level BPE tokenizer with merges
// and special tokens, the chat template) and the vision projector `mmproj` (`clip` architecture,
// projector `qwen2.5vl_merger` / `qwen3vl_merger`: the temporal patch convolution split into its
// two frames, fused qkv split into q, k, v, the merger as mm.0 / mm.2; Qwen3-VL's learned positions
// and deepstack mergers). The language model in F16, BF16 or Q8_0 (1-D tensors stay F32, as the
// converter keeps them); the mmproj in F16.
//
// Reference: llama.cpp convert_hf_to_gguf.py (Qwen2VLModel, Qwen2VLVisionModel, Qwen3VL classes),
// gguf-py constants.py / tensor_mapping.py (key and tensor names), tools/mtmd/clip.cpp.

import Foundation
import MLXEngine
import OCRModels
import OCRText

enum QwenVLGGUF {
    /// Writes `<name>-<TYPE>.gguf` and `mmproj-<name>-F16.gguf` for `variant` (f16, bf16, q8_0).
    static func export(model folder: URL, variants: [String], to out: URL) throws -> [ExportVariant] {
        let config = try ModelFolder.readConfig(QwenVLConfig.self, at: folder)
        let weights = try QwenVLModel.load(from: folder).parameterDictionary()
        return try GGUFModelFiles.write(
            name: folder.lastPathComponent, variants: variants, to: out,
            mmproj: { try mmproj(weights, config: config, folder: folder) },
            languageModel: { try languageModel(weights, config: config, folder: folder, type: $0) })
    }

    /// The vision attention window llama.cpp's clip.cpp uses for Qwen2.5-VL, whatever
    /// `clip.vision.window_size` says (the released checkpoints' size).
    static let llamaCppWindow = 112

    /// Where llama.cpp will read this model's images differently from ocrtune and transformers.
    static func runtimeNotes(_ config: QwenVLConfig) -> [String] {
        guard config.modelType != .qwen3, let window = config.visionConfig.windowSize, window != llamaCppWindow else { return [] }
        return [
            "note: llama.cpp computes Qwen2.5-VL's vision attention in \(llamaCppWindow)-pixel windows whatever the mmproj's "
                + "clip.vision.window_size says; this model's window is \(window) px, so its image embeddings in llama.cpp "
                + "will differ from ocrtune's and transformers'"
        ]
    }

    // MARK: Language model

    static func languageModel(_ w: [String: MLXArray], config: QwenVLConfig, folder: URL, type: GGMLType) throws -> GGUFWriter {
        let t = config.textConfig
        let arch = config.modelType == .qwen3 ? "qwen3vl" : "qwen2vl"
        let g = GGUFWriter()
        g.set("general.architecture", .string(arch))
        g.set("general.name", .string(folder.lastPathComponent))
        g.set("general.file_type", .uint32(type.fileType))
        g.set("general.quantization_version", .uint32(2))
        g.set("\(arch).context_length", .uint32(UInt32(try maxPositions(folder))))
        g.set("\(arch).embedding_length", .uint32(UInt32(t.hiddenSize)))
        g.set("\(arch).block_count", .uint32(UInt32(t.numHiddenLayers)))
        g.set("\(arch).feed_forward_length", .uint32(UInt32(t.intermediateSize)))
        g.set("\(arch).attention.head_count", .uint32(UInt32(t.numAttentionHeads)))
        g.set("\(arch).attention.head_count_kv", .uint32(UInt32(t.numKeyValueHeads)))
        g.set("\(arch).attention.key_length", .uint32(UInt32(t.resolvedHeadDim)))
        g.set("\(arch).attention.value_length", .uint32(UInt32(t.resolvedHeadDim)))
        g.set("\(arch).rope.freq_base", .float32(Float(t.ropeTheta)))
        g.set("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(t.rmsNormEps)))
        g.set("\(arch).rope.dimension_sections", .int32s((t.mropeSection + [0, 0, 0, 0]).prefix(4).map { Int32($0) }))
        if config.modelType == .qwen3 {
            g.set("\(arch).n_deepstack_layers", .uint32(UInt32(config.visionConfig.deepstackVisualIndexes?.count ?? 0)))
        }
        try tokenizer(into: g, folder: folder, vocabSize: t.vocabSize, eos: t.eosTokenID.first)

        func add(_ key: String, _ name: String) throws {
            let a = try GGUFModelFiles.tensor(w, key)
            try g.add(name, a, as: type.storage(for: a))
        }
        let lm = "model.language_model"
        try add("\(lm).embed_tokens.weight", "token_embd.weight")
        try add("\(lm).norm.weight", "output_norm.weight")
        if w["lm_head.weight"] != nil { try add("lm_head.weight", "output.weight") }
        for i in 0 ..< t.numHiddenLayers {
            let p = "\(lm).layers.\(i)"
            try add("\(p).input_layernorm.weight", "blk.\(i).attn_norm.weight")
            for (ours, theirs) in [("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output")] {
                try add("\(p).self_attn.\(ours).weight", "blk.\(i).\(theirs).weight")
                if w["\(p).self_attn.\(ours).bias"] != nil { try add("\(p).self_attn.\(ours).bias", "blk.\(i).\(theirs).bias") }
            }
            if w["\(p).self_attn.q_norm.weight"] != nil {
                try add("\(p).self_attn.q_norm.weight", "blk.\(i).attn_q_norm.weight")
                try add("\(p).self_attn.k_norm.weight", "blk.\(i).attn_k_norm.weight")
            }
            try add("\(p).post_attention_layernorm.weight", "blk.\(i).ffn_norm.weight")
            for (ours, theirs) in [("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")] {
                try add("\(p).mlp.\(ours).weight", "blk.\(i).\(theirs).weight")
            }
        }
        return g
    }

    static func maxPositions(_ folder: URL) throws -> Int {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any]
        let text = object?["text_config"] as? [String: Any]
        return (text?["max_position_embeddings"] as? Int) ?? (object?["max_position_embeddings"] as? Int) ?? 32768
    }

    /// The byte-level BPE vocabulary ("gpt2" model, Qwen's pre-tokenizer), merges, special tokens and chat template.
    static func tokenizer(into g: GGUFWriter, folder: URL, vocabSize: Int, eos: Int?) throws {
        let vocabulary = try GGUFVocabulary(folder: folder, vocabSize: vocabSize)
        vocabulary.write(into: g, pre: "qwen2")
        if let eos { g.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos))) }
        if let padID = vocabulary.added["<|endoftext|>"] {
            g.set("tokenizer.ggml.padding_token_id", .uint32(UInt32(padID)))
            g.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(padID)))
        }
        g.set("tokenizer.ggml.add_bos_token", .bool(false))
        if let template = try? ChatTemplate.load(directory: folder) { g.set("tokenizer.chat_template", .string(template.source)) }
    }

    // MARK: Vision projector

    static func mmproj(_ w: [String: MLXArray], config: QwenVLConfig, folder: URL) throws -> GGUFWriter {
        let v = config.visionConfig
        let qwen3 = config.modelType == .qwen3
        let g = GGUFWriter()
        g.set("general.architecture", .string("clip"))
        g.set("general.name", .string("mmproj-\(folder.lastPathComponent)"))
        g.set("general.file_type", .uint32(1))
        g.set("clip.has_vision_encoder", .bool(true))
        g.set("clip.projector_type", .string(qwen3 ? "qwen3vl_merger" : "qwen2.5vl_merger"))
        g.set("clip.vision.projector_type", .string(qwen3 ? "qwen3vl_merger" : "qwen2.5vl_merger"))
        g.set("clip.vision.image_size", .uint32(UInt32(v.patchSize * 40)))
        g.set("clip.vision.patch_size", .uint32(UInt32(v.patchSize)))
        g.set("clip.vision.embedding_length", .uint32(UInt32(v.hiddenSize)))
        g.set("clip.vision.feed_forward_length", .uint32(UInt32(v.intermediateSize)))
        g.set("clip.vision.projection_dim", .uint32(UInt32(v.outHiddenSize)))
        g.set("clip.vision.block_count", .uint32(UInt32(v.depth)))
        g.set("clip.vision.attention.head_count", .uint32(UInt32(v.numHeads)))
        g.set("clip.vision.attention.layer_norm_epsilon", .float32(1e-6))
        g.set("clip.vision.spatial_merge_size", .uint32(UInt32(v.spatialMergeSize)))
        let processor = try? JSONDecoder().decode(
            QwenVLImageProcessorConfig.self, from: Data(contentsOf: folder.appendingPathComponent("preprocessor_config.json")))
        g.set("clip.vision.image_mean", .float32s(processor?.imageMean ?? [0.48145466, 0.4578275, 0.40821073]))
        g.set("clip.vision.image_std", .float32s(processor?.imageStd ?? [0.26862954, 0.26130258, 0.27577711]))
        if let processor {
            g.set("clip.vision.image_min_pixels", .uint32(UInt32(processor.minPixels)))
            g.set("clip.vision.image_max_pixels", .uint32(UInt32(processor.maxPixels)))
        }
        if qwen3 {
            g.set("clip.use_gelu", .bool(true))
            let deep = Set(v.deepstackVisualIndexes ?? [])
            g.set("clip.vision.is_deepstack_layers", .bools((0 ..< v.depth).map { deep.contains($0) }))
        } else {
            g.set("clip.use_silu", .bool(true))
            if let full = v.fullattBlockIndexes, let first = full.first { g.set("clip.vision.n_wa_pattern", .uint32(UInt32(first + 1))) }
            if let window = v.windowSize { g.set("clip.vision.window_size", .uint32(UInt32(window))) }
        }

        func tensor(_ key: String) throws -> MLXArray { try GGUFModelFiles.tensor(w, key) }
        func add(_ a: MLXArray, _ name: String) throws { try g.add(name, a, as: a.ndim < 2 ? .f32 : .f16) }
        let vis = "model.visual"
        // The 3-D patch convolution [hidden, C, T, p, p] as one 2-D kernel per frame.
        let patch = try tensor("\(vis).patch_embed.proj.weight")
        try add(patch.sliced(axis: 2, from: 0, to: 1).squeezed(axis: 2), "v.patch_embd.weight")
        try add(patch.sliced(axis: 2, from: 1, to: 2).squeezed(axis: 2), "v.patch_embd.weight.1")
        if let bias = w["\(vis).patch_embed.proj.bias"] { try add(bias, "v.patch_embd.bias") }
        // Float32, as llama.cpp's converter writes it: clip.cpp resizes the table with
        // ggml_interpolate, which takes F32 only.
        if let positions = w["\(vis).pos_embed.weight"] { try g.add("v.position_embd.weight", positions, as: .f32) }
        for i in 0 ..< v.depth {
            let p = "\(vis).blocks.\(i)"
            let b = "v.blk.\(i)"
            for (ours, theirs) in [("norm1", "ln1"), ("norm2", "ln2")] {
                try add(try tensor("\(p).\(ours).weight"), "\(b).\(theirs).weight")
                if let bias = w["\(p).\(ours).bias"] { try add(bias, "\(b).\(theirs).bias") }
            }
            if qwen3 {
                // clip.cpp's qwen3vl graph reads the fused projection.
                try add(try tensor("\(p).attn.qkv.weight"), "\(b).attn_qkv.weight")
                try add(try tensor("\(p).attn.qkv.bias"), "\(b).attn_qkv.bias")
            } else {
                let qkv = try tensor("\(p).attn.qkv.weight").split(parts: 3, axis: 0)
                let qkvBias = try tensor("\(p).attn.qkv.bias").split(parts: 3, axis: 0)
                for (j, part) in ["attn_q", "attn_k", "attn_v"].enumerated() {
                    try add(qkv[j], "\(b).\(part).weight")
                    try add(qkvBias[j], "\(b).\(part).bias")
                }
            }
            try add(try tensor("\(p).attn.proj.weight"), "\(b).attn_out.weight")
            try add(try tensor("\(p).attn.proj.bias"), "\(b).attn_out.bias")
            let mlp = qwen3
                ? [("linear_fc1", "ffn_up"), ("linear_fc2", "ffn_down")]
                : [("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")]
            for (ours, theirs) in mlp {
                try add(try tensor("\(p).mlp.\(ours).weight"), "\(b).\(theirs).weight")
                try add(try tensor("\(p).mlp.\(ours).bias"), "\(b).\(theirs).bias")
            }
        }
        if qwen3 {
            try add(try tensor("\(vis).merger.norm.weight"), "v.post_ln.weight")
            try add(try tensor("\(vis).merger.norm.bias"), "v.post_ln.bias")
            for (ours, theirs) in [("linear_fc1", "mm.0"), ("linear_fc2", "mm.2")] {
                try add(try tensor("\(vis).merger.\(ours).weight"), "\(theirs).weight")
                try add(try tensor("\(vis).merger.\(ours).bias"), "\(theirs).bias")
            }
            for (k, layer) in (v.deepstackVisualIndexes ?? []).enumerated() {
                let p = "\(vis).deepstack_merger_list.\(k)"
                for (ours, theirs) in [("norm", "norm"), ("linear_fc1", "fc1"), ("linear_fc2", "fc2")] {
                    try add(try tensor("\(p).\(ours).weight"), "v.deepstack.\(layer).\(theirs).weight")
                    try add(try tensor("\(p).\(ours).bias"), "v.deepstack.\(layer).\(theirs).bias")
                }
            }
        } else {
            try add(try tensor("\(vis).merger.ln_q.weight"), "v.post_ln.weight")
            for (ours, theirs) in [("0", "mm.0"), ("2", "mm.2")] {
                try add(try tensor("\(vis).merger.mlp.\(ours).weight"), "\(theirs).weight")
                try add(try tensor("\(vis).merger.mlp.\(ours).bias"), "\(theirs).bias")
            }
        }
        return g
    }
}
