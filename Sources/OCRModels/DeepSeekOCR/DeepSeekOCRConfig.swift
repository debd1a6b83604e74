// Configuration of DeepSeek-OCR (v1: the published config.json, `model_type` deepseek_vl_v2 with
// `language_config`, `vision_config.width.{sam_vit_b, clip-l-14-224}` and `projector_config`) and
// DeepSeek-OCR 2 (transformers' native `deepseek_ocr2`: `text_config`, `vision_config.{sam_config,
// encoder_config}`), with the Hugging Face snake_case keys.
//
// Reference: transformers/models/deepseek_ocr2/configuration_deepseek_ocr2.py (transformers 5.23);
// DeepSeek-OCR's config.json and configuration_deepseek_v2.py (Hub, deepseek-ai/DeepSeek-OCR);
// deepencoder's hard-coded SAM / CLIP settings (github deepseek-ai/DeepSeek-OCR, DeepSeek-OCR-vllm/
// deepencoder/{sam_vary_sdpa,clip_sdpa}.py).

import Foundation

// MARK: - Version

public enum DeepSeekOCRVersion: String, Codable, CaseIterable, Sendable {
    /// DeepSeek-OCR: SAM-B + CLIP-L fed with SAM features, newline tokens, modes Tiny … Gundam.
    case v1 = "deepseek_vl_v2"
    /// DeepSeek-OCR 2: SAM-B + a Qwen2-style encoder emitting learned queries, global + 768 tiles.
    case v2 = "deepseek_ocr2"
}

// MARK: - Language model

/// The MHA + MoE decoder both versions share (DeepseekV2 without MLA).
public struct DeepSeekOCRTextConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var routedExperts: Int
    public var expertsPerToken: Int
    public var sharedExperts: Int
    public var moeIntermediateSize: Int
    public var routedScalingFactor: Double
    /// Sum-normalize the top-k weights (`norm_topk_prob`); false in both published models.
    public var normTopKProbability: Bool
    /// true where layer i is a MoE layer (`mlp_layer_types` "sparse", or i ≥ `first_k_dense_replace`).
    public var sparseLayers: [Bool]
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenID: [Int]

    public var headDim: Int { hiddenSize / numAttentionHeads }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case ropeParameters = "rope_parameters", routedExperts = "n_routed_experts"
        case expertsPerToken = "num_experts_per_tok", sharedExperts = "n_shared_experts"
        case moeIntermediateSize = "moe_intermediate_size", routedScalingFactor = "routed_scaling_factor"
        case normTopKProbability = "norm_topk_prob", mlpLayerTypes = "mlp_layer_types"
        case firstKDenseReplace = "first_k_dense_replace", moeLayerFrequency = "moe_layer_freq"
        case attentionBias = "attention_bias", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
        case topkMethod = "topk_method", scoringFunction = "scoring_func", useMLA = "use_mla"
    }

    private struct RopeParameters: Codable { var rope_theta: Double? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        ropeTheta = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)?.rope_theta
            ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
        routedExperts = try c.decodeIfPresent(Int.self, forKey: .routedExperts) ?? 64
        expertsPerToken = try c.decodeIfPresent(Int.self, forKey: .expertsPerToken) ?? 6
        sharedExperts = try c.decodeIfPresent(Int.self, forKey: .sharedExperts) ?? 2
        moeIntermediateSize = try c.decodeIfPresent(Int.self, forKey: .moeIntermediateSize) ?? 1407
        routedScalingFactor = try c.decodeIfPresent(Double.self, forKey: .routedScalingFactor) ?? 1
        normTopKProbability = try c.decodeIfPresent(Bool.self, forKey: .normTopKProbability) ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenID = [one]
        } else {
            eosTokenID = (try? c.decodeIfPresent([Int].self, forKey: .eosTokenID)) ?? []
        }
        guard numAttentionHeads > 0, numKeyValueHeads > 0, (0 ... 4096).contains(numHiddenLayers) else {
            throw DecodingError.dataCorruptedError(
                forKey: .numAttentionHeads, in: c,
                debugDescription: "num_attention_heads (\(numAttentionHeads)) and num_key_value_heads (\(numKeyValueHeads)) must be positive, "
                    + "num_hidden_layers (\(numHiddenLayers)) in 0...4096")
        }
        if let types = try c.decodeIfPresent([String].self, forKey: .mlpLayerTypes) {
            guard types.count == numHiddenLayers, types.allSatisfy({ $0 == "dense" || $0 == "sparse" }) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .mlpLayerTypes, in: c,
                    debugDescription: "expected \(numHiddenLayers) entries of \"dense\" or \"sparse\", got \(types)")
            }
            sparseLayers = types.map { $0 == "sparse" }
        } else {
            let first = try c.decodeIfPresent(Int.self, forKey: .firstKDenseReplace) ?? 1
            let every = try c.decodeIfPresent(Int.self, forKey: .moeLayerFrequency) ?? 1
            sparseLayers = (0 ..< numHiddenLayers).map { $0 >= first && $0 % Swift.max(every, 1) == 0 }
        }
        // What the port implements: MHA (no MLA), greedy top-k of a softmax.
        if try c.decodeIfPresent(Bool.self, forKey: .useMLA) == true {
            throw DecodingError.dataCorruptedError(
                forKey: .useMLA, in: c, debugDescription: "multi-head latent attention (use_mla true) is not supported")
        }
        if let method = try c.decodeIfPresent(String.self, forKey: .topkMethod), method != "greedy" {
            throw DecodingError.dataCorruptedError(
                forKey: .topkMethod, in: c, debugDescription: "topk_method \"\(method)\" is not supported (greedy only)")
        }
        if let scoring = try c.decodeIfPresent(String.self, forKey: .scoringFunction), scoring != "softmax" {
            throw DecodingError.dataCorruptedError(
                forKey: .scoringFunction, in: c, debugDescription: "scoring_func \"\(scoring)\" is not supported (softmax only)")
        }
        guard hiddenSize % numAttentionHeads == 0, numAttentionHeads % numKeyValueHeads == 0,
              expertsPerToken <= routedExperts
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .hiddenSize, in: c, debugDescription: "inconsistent heads / experts in the language config")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(routedExperts, forKey: .routedExperts)
        try c.encode(expertsPerToken, forKey: .expertsPerToken)
        try c.encode(sharedExperts, forKey: .sharedExperts)
        try c.encode(moeIntermediateSize, forKey: .moeIntermediateSize)
        try c.encode(routedScalingFactor, forKey: .routedScalingFactor)
        try c.encode(normTopKProbability, forKey: .normTopKProbability)
        try c.encode(sparseLayers.map { $0 ? "sparse" : "dense" }, forKey: .mlpLayerTypes)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encodeIfPresent(bosTokenID, forKey: .bosTokenID)
        try c.encode(eosTokenID, forKey: .eosTokenID)
    }
}

// MARK: - Vision

/// SAM ViT-B (both versions). v1's published config names only width/layers/heads, the global
/// blocks and the downsample channels; the rest is deepencoder's hard-coded values.
public struct DeepSeekSAMConfig: Equatable, Sendable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var globalAttentionIndexes: [Int]
    public var windowSize: Int
    public var outputChannels: Int
    public var downsampleChannels: [Int]
    public var imageSize: Int
    public var patchSize: Int
    public var mlpDim: Int
    public var layerNormEps: Double

    public var grid: Int { imageSize / patchSize }
    public var headDim: Int { hiddenSize / heads }
    /// Channels of the feature map it emits (`net_3`).
    public var outputWidth: Int { downsampleChannels[1] }
}

/// v1's CLIP-L (deepencoder clip_sdpa.py: quick_gelu, LayerNorm eps 1e-5, FFN 4 × width).
public struct DeepSeekCLIPConfig: Equatable, Sendable {
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var imageSize: Int
    public var patchSize: Int
    public var grid: Int { imageSize / patchSize }
}

/// v2's Qwen2-style encoder over SAM features and learned queries.
public struct DeepSeekOCR2EncoderConfig: Equatable, Sendable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var headDim: Int { hiddenSize / heads }
}

// MARK: - Model

public struct DeepSeekOCRConfig: Decodable, Equatable, Sendable {
    public var version: DeepSeekOCRVersion
    public var text: DeepSeekOCRTextConfig
    public var sam: DeepSeekSAMConfig
    /// v1 only.
    public var clip: DeepSeekCLIPConfig?
    /// v2 only.
    public var encoder: DeepSeekOCR2EncoderConfig?
    /// The `<image>` placeholder id: `image_token_id` when the config names it, else v1's
    /// hard-coded 128815 (the recognizer checks it against the tokenizer's `<image>`).
    public var imageTokenID: Int
    public var tieWordEmbeddings: Bool

    /// Width of one visual feature before the projector (v1: CLIP + SAM channels; v2: the encoder's).
    public var visionWidth: Int { version == .v1 ? 2 * sam.outputWidth : encoder!.hiddenSize }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures, textConfig = "text_config", languageConfig = "language_config"
        case visionConfig = "vision_config", imageTokenID = "image_token_id", tieWordEmbeddings = "tie_word_embeddings"
        case projectorConfig = "projector_config"
    }

    private struct JSONValue: Decodable {
        let object: [String: JSONValue]?
        let number: Double?
        let numbers: [Double]?
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            object = try? c.decode([String: JSONValue].self)
            number = try? c.decode(Double.self)
            numbers = try? c.decode([Double].self)
        }
        subscript(_ key: String) -> JSONValue? { object?[key] }
        /// The whole number at `key` (nil when absent); a fraction or a number beyond Int is an error.
        func int(_ key: String) throws -> Int? {
            guard let value = self[key]?.number else { return nil }
            guard let whole = Int(exactly: value) else { throw Self.notWhole(key, "\(value)") }
            return whole
        }

        func ints(_ key: String) throws -> [Int]? {
            guard let values = self[key]?.numbers else { return nil }
            let whole = values.compactMap { Int(exactly: $0) }
            guard whole.count == values.count else { throw Self.notWhole(key, "\(values)") }
            return whole
        }

        static func notWhole(_ key: String, _ value: String) -> DecodingError {
            .dataCorrupted(.init(codingPath: [CodingKeys.visionConfig], debugDescription: "vision_config: \(key) \(value) is not a whole number"))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .modelType)
        let vision = try c.decode(JSONValue.self, forKey: .visionConfig)
        func missing(_ what: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: .visionConfig, in: c, debugDescription: "\(what) is missing")
        }
        switch type {
        case DeepSeekOCRVersion.v2.rawValue:
            version = .v2
            text = try c.decode(DeepSeekOCRTextConfig.self, forKey: .textConfig)
            guard let s = vision["sam_config"], let e = vision["encoder_config"] else { throw missing("vision_config.sam_config / encoder_config") }
            let width = try s.int("hidden_size") ?? 768
            sam = DeepSeekSAMConfig(
                hiddenSize: width, layers: try s.int("num_hidden_layers") ?? 12, heads: try s.int("num_attention_heads") ?? 12,
                globalAttentionIndexes: try s.ints("global_attn_indexes") ?? [2, 5, 8, 11], windowSize: try s.int("window_size") ?? 14,
                outputChannels: try s.int("output_channels") ?? 256, downsampleChannels: try s.ints("downsample_channels") ?? [512, 896],
                imageSize: try s.int("image_size") ?? 1024, patchSize: try s.int("patch_size") ?? 16,
                mlpDim: try s.int("mlp_dim") ?? width &* 4, layerNormEps: s["layer_norm_eps"]?.number ?? 1e-6)
            let hidden = try e.int("hidden_size") ?? 896
            let heads = try e.int("num_attention_heads") ?? 14
            encoder = DeepSeekOCR2EncoderConfig(
                hiddenSize: hidden, intermediateSize: try e.int("intermediate_size") ?? 4864, layers: try e.int("num_hidden_layers") ?? 24,
                heads: heads, kvHeads: try e.int("num_key_value_heads") ?? heads, rmsNormEps: e["rms_norm_eps"]?.number ?? 1e-6,
                ropeTheta: e["rope_parameters"]?["rope_theta"]?.number ?? e["rope_theta"]?.number ?? 10000)
            clip = nil
            imageTokenID = try c.decodeIfPresent(Int.self, forKey: .imageTokenID) ?? 128815
        case DeepSeekOCRVersion.v1.rawValue:
            let architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
            guard architectures.isEmpty || architectures.contains("DeepseekOCRForCausalLM") else {
                throw DecodingError.dataCorruptedError(
                    forKey: .architectures, in: c,
                    debugDescription: "deepseek_vl_v2 with architectures \(architectures): only DeepseekOCRForCausalLM (DeepSeek-OCR) is supported")
            }
            version = .v1
            text = try c.decode(DeepSeekOCRTextConfig.self, forKey: .languageConfig)
            guard let s = vision["width"]?["sam_vit_b"], let l = vision["width"]?["clip-l-14-224"] else {
                throw missing("vision_config.width.sam_vit_b / clip-l-14-224")
            }
            let width = try s.int("width") ?? 768
            sam = DeepSeekSAMConfig(
                hiddenSize: width, layers: try s.int("layers") ?? 12, heads: try s.int("heads") ?? 12,
                globalAttentionIndexes: try s.ints("global_attn_indexes") ?? [2, 5, 8, 11], windowSize: 14,
                outputChannels: try s.int("output_channels") ?? 256, downsampleChannels: try s.ints("downsample_channels") ?? [512, 1024],
                imageSize: 1024, patchSize: 16, mlpDim: width &* 4, layerNormEps: 1e-6)
            let clipWidth = try l.int("width") ?? 1024
            clip = DeepSeekCLIPConfig(
                width: clipWidth, layers: try l.int("layers") ?? 24, heads: try l.int("heads") ?? 16,
                intermediateSize: try l.int("intermediate_size") ?? clipWidth &* 4, imageSize: try l.int("image_size") ?? 224,
                patchSize: try l.int("patch_size") ?? 14)
            encoder = nil
            imageTokenID = try c.decodeIfPresent(Int.self, forKey: .imageTokenID) ?? 128815
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: c, debugDescription: "model_type \"\(type)\" is not DeepSeek-OCR (deepseek_vl_v2, deepseek_ocr2)")
        }
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        // Sizes the vision towers divide by or allocate: positive and bounded before any arithmetic.
        let sizes = [sam.hiddenSize, sam.layers, sam.heads, sam.windowSize, sam.outputChannels, sam.imageSize, sam.patchSize, sam.mlpDim]
            + sam.downsampleChannels
            + (clip.map { [$0.width, $0.layers, $0.heads, $0.intermediateSize, $0.imageSize, $0.patchSize] } ?? [])
            + (encoder.map { [$0.hiddenSize, $0.intermediateSize, $0.layers, $0.heads, $0.kvHeads] } ?? [])
        guard sizes.allSatisfy({ (1 ... 1 << 20).contains($0) }) else {
            throw missing("positive sizes (at most 2^20) in vision_config; got \(sizes)")
        }
        guard sam.downsampleChannels.count == 2, sam.hiddenSize % sam.heads == 0 else {
            throw missing("a consistent SAM config (two downsample channels, width divisible by heads)")
        }
        if let clip, clip.width != sam.outputWidth {
            throw DecodingError.dataCorruptedError(
                forKey: .visionConfig, in: c,
                debugDescription: "CLIP width \(clip.width) must equal SAM's last downsample channels \(sam.outputWidth)")
        }
        if let e = encoder, e.hiddenSize % e.heads != 0 || e.heads % e.kvHeads != 0 {
            throw missing("a consistent encoder config (hidden_size divisible by heads, heads by key/value heads)")
        }
        if let e = encoder, e.hiddenSize != sam.outputWidth {
            throw DecodingError.dataCorruptedError(
                forKey: .visionConfig, in: c,
                debugDescription: "encoder hidden_size \(e.hiddenSize) must equal SAM's last downsample channels \(sam.outputWidth)")
        }
    }
}
