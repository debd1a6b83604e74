// DeepSeek-OCR (v1) and DeepSeek-OCR 2 as the two GGUF files llama.cpp's converter writes: the
// language model (`deepseek2-ocr`: DeepseekV2 without MLA — multi-head attention, k leading dense
// layers, then MoE layers whose routed experts are stacked into `ffn_{gate,up,down}_exps`
// [experts, out, in], the shared experts as `*_shexp`, the router `ffn_gate_inp` kept in F32; the
// byte-level BPE tokenizer with its special ids and BOS flag; the folder's chat template, else the
// converter's plain one) and the vision projector `mmproj` (`clip` architecture, projector
// `deepseekocr`: SAM + CLIP-L with the image newline, or `deepseekocr2`: SAM + the Qwen2 query
// encoder with its learned 768 / 1024 queries; the linear projector as `mm.model.fc`, the view
// separator as [1, hidden]). The language model in F16, BF16 or Q8_0; the mmproj in F16, with the
// position tables, relative positions, neck and downsampling convolutions in F32 as the converter
// keeps them.
//
// Reference: llama.cpp conversion/deepseek.py (DeepseekV2Model with its DEEPSEEK2OCR branch,
// DeepseekOCRVisionModel, DeepseekOCR2VisionModel), conversion/base.py (TextModel and
// MmprojModel parameters, tensor types), gguf-py constants.py / tensor_mapping.py (names),
// src/models/deepseek2ocr.cpp (what the loader requires), tools/mtmd/clip.cpp (mmproj keys).

import Foundation
import MLXEngine
import OCRModels
import OCRText

enum DeepSeekOCRGGUF {
    static let architecture = "deepseek2-ocr"
    /// What the converter embeds when the folder has no chat template.
    static let defaultChatTemplate = "{% for m in messages %}{{m['content']}}{% endfor %}"
    /// DeepseekV2Config's `max_position_embeddings` default (the converter writes no context length
    /// when the config names none, and llama.cpp then refuses the file).
    static let defaultContextLength = 2048

    /// Writes `<name>-<TYPE>.gguf` per variant (f16, bf16, q8_0) and `mmproj-<name>-F16.gguf`.
    static func export(model folder: URL, variants: [String], to out: URL) throws -> [ExportVariant] {
        let model = try DeepSeekOCRModel.load(from: folder)
        let weights = model.parameterDictionary()
        return try GGUFModelFiles.write(
            name: folder.lastPathComponent, variants: variants, to: out,
            mmproj: { try mmproj(weights, config: model.config, folder: folder) },
            languageModel: { try languageModel(weights, config: model.config, folder: folder, type: $0) })
    }

    /// The language model's config.json entries the typed config does not keep (`language_config`
    /// in v1, `text_config` in v2).
    static func rawTextConfig(_ folder: URL) throws -> [String: Any] {
        let url = folder.appendingPathComponent("config.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return (object?["language_config"] ?? object?["text_config"]) as? [String: Any] ?? [:]
    }

    // MARK: Language model

    static func languageModel(_ w: [String: MLXArray], config: DeepSeekOCRConfig, folder: URL, type: GGMLType) throws -> GGUFWriter {
        let t = config.text
        let raw = try rawTextConfig(folder)
        let arch = architecture
        let g = GGUFWriter()
        g.set("general.architecture", .string(arch))
        g.set("general.type", .string("model"))
        g.set("general.name", .string(folder.lastPathComponent))
        g.set("\(arch).block_count", .uint32(UInt32(t.numHiddenLayers)))
        // llama.cpp requires the context length; a config without it means DeepseekV2Config's default.
        g.set("\(arch).context_length", .uint32(UInt32(raw["max_position_embeddings"] as? Int ?? defaultContextLength)))
        g.set("\(arch).embedding_length", .uint32(UInt32(t.hiddenSize)))
        g.set("\(arch).feed_forward_length", .uint32(UInt32(t.intermediateSize)))
        g.set("\(arch).attention.head_count", .uint32(UInt32(t.numAttentionHeads)))
        g.set("\(arch).attention.head_count_kv", .uint32(UInt32(t.numKeyValueHeads)))
        g.set("\(arch).rope.freq_base", .float32(Float(t.ropeTheta)))
        g.set("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(t.rmsNormEps)))
        g.set("\(arch).expert_count", .uint32(UInt32(t.routedExperts)))
        g.set("\(arch).expert_used_count", .uint32(UInt32(t.expertsPerToken)))
        if let n = raw["n_group"] as? Int { g.set("\(arch).expert_group_count", .uint32(UInt32(n))) }
        if let n = raw["topk_group"] as? Int { g.set("\(arch).expert_group_used_count", .uint32(UInt32(n))) }
        if raw["scoring_func"] != nil { g.set("\(arch).expert_gating_func", .uint32(1)) }  // softmax (the only one the config admits)
        if let d = raw["head_dim"] as? Int {
            g.set("\(arch).attention.key_length", .uint32(UInt32(d)))
            g.set("\(arch).attention.value_length", .uint32(UInt32(d)))
        }
        g.set("general.file_type", .uint32(type.fileType))
        g.set("\(arch).leading_dense_block_count", .uint32(UInt32(try leadingDenseLayers(t))))
        g.set("\(arch).vocab_size", .uint32(UInt32(t.vocabSize)))
        g.set("\(arch).expert_feed_forward_length", .uint32(UInt32(t.moeIntermediateSize)))
        g.set("\(arch).expert_shared_count", .uint32(UInt32(t.sharedExperts)))
        g.set("\(arch).expert_weights_scale", .float32(Float(t.routedScalingFactor)))
        if t.normTopKProbability { g.set("\(arch).expert_weights_norm", .bool(true)) }
        // Without MLA the published configs say qk_rope_head_dim 0; llama.cpp rotates whole heads.
        g.set("\(arch).rope.dimension_count", .uint32(UInt32(raw["qk_rope_head_dim"] as? Int ?? 0)))
        g.set("general.quantization_version", .uint32(2))
        try tokenizer(into: g, folder: folder, config: config)

        func add(_ key: String, _ name: String) throws {
            let a = try GGUFModelFiles.tensor(w, key)
            try g.add(name, a, as: type.storage(for: a))
        }
        try add("model.embed_tokens.weight", "token_embd.weight")
        try add("model.norm.weight", "output_norm.weight")
        if w["lm_head.weight"] != nil { try add("lm_head.weight", "output.weight") }
        for (i, sparse) in t.sparseLayers.enumerated() {
            let p = "model.layers.\(i)"
            let b = "blk.\(i)"
            try add("\(p).input_layernorm.weight", "\(b).attn_norm.weight")
            try add("\(p).post_attention_layernorm.weight", "\(b).ffn_norm.weight")
            for (ours, theirs) in [("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output")] {
                try add("\(p).self_attn.\(ours).weight", "\(b).\(theirs).weight")
                if w["\(p).self_attn.\(ours).bias"] != nil { try add("\(p).self_attn.\(ours).bias", "\(b).\(theirs).bias") }
            }
            let projections = ["gate_proj": "gate", "up_proj": "up", "down_proj": "down"].sorted { $0.key < $1.key }
            guard sparse else {
                for (ours, theirs) in projections { try add("\(p).mlp.\(ours).weight", "\(b).ffn_\(theirs).weight") }
                continue
            }
            // The router stays F32 whatever the file type (the converter's FFN_GATE_INP rule).
            try g.add("\(b).ffn_gate_inp.weight", try GGUFModelFiles.tensor(w, "\(p).mlp.gate.weight"), as: .f32)
            for (ours, theirs) in projections {
                let stacked = try stackedExperts(w, layer: i, projection: ours, count: t.routedExperts)
                try g.add("\(b).ffn_\(theirs)_exps.weight", stacked, as: type.storage(for: stacked))
                try add("\(p).mlp.shared_experts.\(ours).weight", "\(b).ffn_\(theirs)_shexp.weight")
            }
        }
        return g
    }

    /// The routed experts' `projection` weights of layer `layer` as one [experts, out, in] tensor.
    static func stackedExperts(_ w: [String: MLXArray], layer: Int, projection: String, count: Int) throws -> MLXArray {
        let experts = try (0 ..< count).map { e in
            try GGUFModelFiles.tensor(w, "model.layers.\(layer).mlp.experts.\(e).\(projection).weight")
        }
        return stacked(experts, axis: 0)
    }

    /// llama.cpp's deepseek2-ocr runs k dense layers, then MoE layers only.
    static func leadingDenseLayers(_ t: DeepSeekOCRTextConfig) throws -> Int {
        let k = t.sparseLayers.firstIndex(of: true) ?? t.sparseLayers.count
        guard t.sparseLayers[k...].allSatisfy({ $0 }) else {
            throw ExportError(
                "llama.cpp's \(architecture) runs leading dense layers then MoE layers only; this model's layers are \(t.sparseLayers.map { $0 ? "sparse" : "dense" })")
        }
        return k
    }

    /// The vocabulary, its pre-tokenizer, the BOS / EOS / padding ids (tokenizer_config.json's
    /// tokens, else config.json's ids), whether BOS is added, and the chat template — as gguf-py's
    /// SpecialVocab reads them.
    static func tokenizer(into g: GGUFWriter, folder: URL, config: DeepSeekOCRConfig) throws {
        let vocabulary = try GGUFVocabulary(folder: folder, vocabSize: config.text.vocabSize)
        vocabulary.write(into: g, pre: try vocabulary.preTokenizer())
        func json(_ file: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(file)))) as? [String: Any] ?? [:]
        }
        let tokenizerConfig = json("tokenizer_config.json")
        let modelConfig = json("config.json")
        let textConfig = try rawTextConfig(folder)
        func content(_ kind: String) -> String? {
            let entry = tokenizerConfig["\(kind)_token"]
            return (entry as? String) ?? ((entry as? [String: Any])?["content"] as? String)
        }
        // The post-processor's leading special token is BOS when tokenizer_config names none.
        let bos = content("bos") ?? vocabulary.templateStartsWithSpecial
        for (kind, text, key) in [("bos", bos, "bos_token_id"), ("eos", content("eos"), "eos_token_id"), ("pad", content("pad"), "padding_token_id")] {
            let id = text.flatMap { vocabulary.added[$0] }
                ?? modelConfig["\(kind)_token_id"] as? Int ?? textConfig["\(kind)_token_id"] as? Int
            if let id, id >= 0, id < config.text.vocabSize { g.set("tokenizer.ggml.\(key)", .uint32(UInt32(id))) }
        }
        if let first = vocabulary.templateStartsWithSpecial {
            g.set("tokenizer.ggml.add_bos_token", .bool(first == bos))
        } else if let add = tokenizerConfig["add_bos_token"] as? Bool {
            g.set("tokenizer.ggml.add_bos_token", .bool(add))
        }
        if let add = tokenizerConfig["add_eos_token"] as? Bool { g.set("tokenizer.ggml.add_eos_token", .bool(add)) }
        let template = (try? ChatTemplate.load(directory: folder))?.source ?? defaultChatTemplate
        g.set("tokenizer.chat_template", .string(template))
    }

    // MARK: Vision projector

    static func mmproj(_ w: [String: MLXArray], config: DeepSeekOCRConfig, folder: URL) throws -> GGUFWriter {
        let v1 = config.version == .v1
        let sam = config.sam
        let processor = try DeepSeekOCRProcessorConfig.load(folder: folder, version: config.version)
        let g = GGUFWriter()
        g.set("general.architecture", .string("clip"))
        g.set("general.type", .string("mmproj"))
        g.set("general.name", .string("mmproj-\(folder.lastPathComponent)"))
        g.set("general.file_type", .uint32(GGMLType.f16.fileType))
        g.set("clip.has_vision_encoder", .bool(true))
        g.set("clip.vision.projection_dim", .uint32(UInt32(config.text.hiddenSize)))
        // The second stage's geometry: v1 CLIP-L (224 / 14; the converter writes 4 × heads as its
        // feed-forward length), v2 the query encoder on SAM's 1024 / 16 grid.
        if let clip = config.clip {
            g.set("clip.vision.image_size", .uint32(UInt32(clip.imageSize)))
            g.set("clip.vision.patch_size", .uint32(UInt32(clip.patchSize)))
            g.set("clip.vision.embedding_length", .uint32(UInt32(clip.width)))
            g.set("clip.vision.feed_forward_length", .uint32(UInt32(clip.heads * 4)))
            g.set("clip.vision.block_count", .uint32(UInt32(clip.layers)))
            g.set("clip.vision.attention.head_count", .uint32(UInt32(clip.heads)))
        } else if let e = config.encoder {
            g.set("clip.vision.image_size", .uint32(UInt32(sam.imageSize)))
            g.set("clip.vision.patch_size", .uint32(UInt32(sam.patchSize)))
            g.set("clip.vision.embedding_length", .uint32(UInt32(e.hiddenSize)))
            g.set("clip.vision.feed_forward_length", .uint32(UInt32(e.intermediateSize)))
            g.set("clip.vision.block_count", .uint32(UInt32(e.layers)))
            g.set("clip.vision.attention.head_count", .uint32(UInt32(e.heads)))
        }
        g.set("clip.vision.image_mean", .float32s(processor.mean))
        g.set("clip.vision.image_std", .float32s(processor.std))
        g.set("clip.projector_type", .string(v1 ? "deepseekocr" : "deepseekocr2"))
        g.set("clip.vision.attention.layer_norm_epsilon", .float32(Float(sam.layerNormEps)))
        g.set("clip.use_gelu", .bool(true))
        if let clip = config.clip {
            // (image grid) / 16 side tokens; written only when not the default 4.
            let scale = clip.grid / 16
            if scale > 0 && scale != 4 { g.set("clip.vision.projector.scale_factor", .uint32(UInt32(scale))) }
        }
        g.set("clip.vision.window_size", .uint32(UInt32(sam.windowSize)))
        g.set("clip.vision.preproc_min_tiles", .uint32(UInt32(processor.minTiles)))
        g.set("clip.vision.preproc_max_tiles", .uint32(UInt32(processor.maxTiles)))
        g.set("clip.vision.sam.block_count", .uint32(UInt32(sam.layers)))
        g.set("clip.vision.sam.embedding_length", .uint32(UInt32(sam.hiddenSize)))
        g.set("clip.vision.sam.head_count", .uint32(UInt32(sam.heads)))
        if let e = config.encoder { g.set("clip.vision.attention.head_count_kv", .uint32(UInt32(e.kvHeads))) }
        g.set("general.quantization_version", .uint32(2))

        let vision = w.keys.filter { !isLanguageModel($0) }.sorted()
        for key in vision {
            guard let name = mmprojName(key) else {
                throw ExportError("\(key): no mmproj tensor name for this parameter")
            }
            var a = w[key]!
            if key == "model.view_seperator" { a = a.reshaped(1, -1) }
            try g.add(name, a, as: mmprojType(key: key, name: name, ndim: a.ndim))
        }
        return g
    }

    static func isLanguageModel(_ key: String) -> Bool {
        key.hasPrefix("lm_head.") || key.hasPrefix("model.embed_tokens.") || key.hasPrefix("model.layers.") || key.hasPrefix("model.norm.")
    }

    // MARK: mmproj names and types

    /// Our (DeepSeek's original) vision names → the mmproj's, per parameter stem (`weight` /
    /// `bias` kept) with `{i}` for a block number; the stems without a suffix in `whole`.
    static let stems: [String: String] = [
        "model.sam_model.patch_embed.proj": "v.sam.patch_embd",
        "model.sam_model.blocks.{i}.norm1": "v.sam.blk.{i}.pre_ln",
        "model.sam_model.blocks.{i}.norm2": "v.sam.blk.{i}.post_ln",
        "model.sam_model.blocks.{i}.attn.qkv": "v.sam.blk.{i}.attn.qkv",
        "model.sam_model.blocks.{i}.attn.proj": "v.sam.blk.{i}.attn.out",
        "model.sam_model.blocks.{i}.mlp.lin1": "v.sam.blk.{i}.mlp.lin1",
        "model.sam_model.blocks.{i}.mlp.lin2": "v.sam.blk.{i}.mlp.lin2",
        "model.sam_model.neck.{i}": "v.sam.neck.{i}",
        "model.sam_model.net_2": "v.sam.net_2",
        "model.sam_model.net_3": "v.sam.net_3",
        "model.projector.layers": "mm.model.fc",
        // v1: CLIP-L on SAM
        "model.vision_model.embeddings.patch_embedding": "v.patch_embd",
        "model.vision_model.embeddings.position_embedding": "v.position_embd",
        "model.vision_model.pre_layrnorm": "v.pre_ln",
        "model.vision_model.transformer.layers.{i}.layer_norm1": "v.blk.{i}.ln1",
        "model.vision_model.transformer.layers.{i}.layer_norm2": "v.blk.{i}.ln2",
        "model.vision_model.transformer.layers.{i}.self_attn.qkv_proj": "v.blk.{i}.attn_qkv",
        "model.vision_model.transformer.layers.{i}.self_attn.out_proj": "v.blk.{i}.attn_out",
        "model.vision_model.transformer.layers.{i}.mlp.fc1": "v.blk.{i}.ffn_up",
        "model.vision_model.transformer.layers.{i}.mlp.fc2": "v.blk.{i}.ffn_down",
        // v2: the Qwen2 query encoder
        "model.qwen2_model.model.model.layers.{i}.input_layernorm": "v.blk.{i}.ln1",
        "model.qwen2_model.model.model.layers.{i}.post_attention_layernorm": "v.blk.{i}.ln2",
        "model.qwen2_model.model.model.layers.{i}.self_attn.q_proj": "v.blk.{i}.attn_q",
        "model.qwen2_model.model.model.layers.{i}.self_attn.k_proj": "v.blk.{i}.attn_k",
        "model.qwen2_model.model.model.layers.{i}.self_attn.v_proj": "v.blk.{i}.attn_v",
        "model.qwen2_model.model.model.layers.{i}.self_attn.o_proj": "v.blk.{i}.attn_out",
        "model.qwen2_model.model.model.layers.{i}.mlp.gate_proj": "v.blk.{i}.ffn_gate",
        "model.qwen2_model.model.model.layers.{i}.mlp.up_proj": "v.blk.{i}.ffn_up",
        "model.qwen2_model.model.model.layers.{i}.mlp.down_proj": "v.blk.{i}.ffn_down",
        "model.qwen2_model.model.model.norm": "v.post_ln",
        "model.qwen2_model.query_768": "v.resample_query_768",
        "model.qwen2_model.query_1024": "v.resample_query_1024",
    ]
    static let whole: [String: String] = [
        "model.sam_model.pos_embed": "v.sam.pos_embd.weight",
        "model.sam_model.blocks.{i}.attn.rel_pos_h": "v.sam.blk.{i}.attn.pos_h.weight",
        "model.sam_model.blocks.{i}.attn.rel_pos_w": "v.sam.blk.{i}.attn.pos_w.weight",
        "model.vision_model.embeddings.class_embedding": "v.class_embd",
        "model.image_newline": "v.image_newline",
        "model.view_seperator": "v.view_seperator",
    ]

    /// The mmproj name of one of our vision parameters (nil: none).
    static func mmprojName(_ key: String) -> String? {
        var parts = key.split(separator: ".").map(String.init)
        let block = parts.firstIndex { !$0.isEmpty && $0.allSatisfy(\.isNumber) }.map { parts[$0] }
        parts = parts.map { !$0.isEmpty && $0.allSatisfy(\.isNumber) ? "{i}" : $0 }
        let template = parts.joined(separator: ".")
        func filled(_ s: String) -> String { block.map { s.replacingOccurrences(of: "{i}", with: $0) } ?? s }
        if let name = whole[template] { return filled(name) }
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        return stems[parts.dropLast().joined(separator: ".")].map { filled("\($0).\(suffix)") }
    }

    /// F32 for what the converter keeps exact (position tables, relative positions, the neck and
    /// downsampling convolutions, CLIP's embeddings; 1-D tensors, norms and non-weights), else F16.
    static func mmprojType(key: String, name: String, ndim: Int) -> GGMLType {
        let exact = [".embeddings.", "pos_embed", ".rel_pos_h", ".rel_pos_w", ".neck.", ".net_"].contains { key.contains($0) }
        if exact || ndim < 2 || name.hasSuffix("_norm.weight") || !name.hasSuffix(".weight") || name == "v.position_embd.weight" { return .f32 }
        return .f16
    }
}
