// Configuration of Qwen2.5-VL and Qwen3-VL (config.json and preprocessor_config.json), with the
// Hugging Face snake_case keys. Both the transformers 5 layout (`text_config`) and the original
// Qwen2.5-VL layout (text fields at the top level, `rope_scaling`) decode.
//
// Reference: transformers/models/qwen2_5_vl/configuration_qwen2_5_vl.py,
// transformers/models/qwen3_vl/configuration_qwen3_vl.py,
// transformers/models/qwen2_vl/image_processing_pil_qwen2_vl.py.

import Foundation
import MLXNN

// MARK: - Version

/// Which member of the family a folder holds.
public enum QwenVLVersion: String, Codable, CaseIterable, Sendable {
    case qwen2_5 = "qwen2_5_vl"
    case qwen3 = "qwen3_vl"
}

// MARK: - Text

public struct QwenVLTextConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// Explicit in Qwen3; hidden_size / heads otherwise.
    public var headDim: Int?
    public var rmsNormEps: Double
    public var ropeTheta: Double
    /// Frequencies per M-RoPE axis (temporal, height, width); they sum to head_dim / 2.
    public var mropeSection: [Int]
    /// Qwen3-VL interleaves the axes (T H W T H W …) instead of giving each a contiguous run.
    public var mropeInterleaved: Bool
    /// Biases on q/k/v (Qwen2.5: always; Qwen3: `attention_bias`, on o_proj too).
    public var attentionBias: Bool?
    public var tieWordEmbeddings: Bool?
    public var eosTokenID: [Int]
    /// The MLP's gate activation (`hidden_act`, SiLU in every published checkpoint).
    public var hiddenAct: Activation

    public var resolvedHeadDim: Int { headDim ?? hiddenSize / numAttentionHeads }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", mropeSection = "mrope_section", mropeInterleaved = "mrope_interleaved"
        case attentionBias = "attention_bias", tieWordEmbeddings = "tie_word_embeddings"
        case eosTokenID = "eos_token_id", ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case hiddenAct = "hidden_act"
    }

    private struct RopeParameters: Codable {
        var rope_theta: Double?
        var mrope_section: [Int]?
        var mrope_interleaved: Bool?
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .silu
        guard numAttentionHeads > 0, numKeyValueHeads > 0, hiddenSize > 0, (headDim ?? 1) > 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .numAttentionHeads, in: c,
                debugDescription: "hidden_size (\(hiddenSize)), head_dim, num_attention_heads (\(numAttentionHeads)) and "
                    + "num_key_value_heads (\(numKeyValueHeads)) must be positive")
        }
        let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
            ?? c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        ropeTheta = try rope?.rope_theta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 1_000_000
        guard let section = rope?.mrope_section else {
            throw DecodingError.dataCorruptedError(
                forKey: .ropeParameters, in: c, debugDescription: "no mrope_section in rope_parameters / rope_scaling")
        }
        mropeSection = section
        let halfHead = (headDim ?? hiddenSize / numAttentionHeads) / 2
        guard section.count == 3, section.allSatisfy({ (0 ... halfHead).contains($0) }), section.reduce(0, +) == halfHead else {
            throw DecodingError.dataCorruptedError(
                forKey: .ropeParameters, in: c,
                debugDescription: "mrope_section \(section) must be three counts summing to head_dim / 2 = \(halfHead)")
        }
        mropeInterleaved = rope?.mrope_interleaved ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenID = [one]
        } else {
            eosTokenID = (try? c.decodeIfPresent([Int].self, forKey: .eosTokenID)) ?? []
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
        try c.encodeIfPresent(headDim, forKey: .headDim)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(
            RopeParameters(rope_theta: ropeTheta, mrope_section: mropeSection, mrope_interleaved: mropeInterleaved),
            forKey: .ropeParameters)
        try c.encodeIfPresent(attentionBias, forKey: .attentionBias)
        try c.encodeIfPresent(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(eosTokenID, forKey: .eosTokenID)
        try c.encode(hiddenAct, forKey: .hiddenAct)
    }
}

// MARK: - Vision

public struct QwenVLVisionConfig: Codable, Equatable, Sendable {
    public var depth: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHeads: Int
    public var outHiddenSize: Int
    public var patchSize: Int
    public var spatialMergeSize: Int
    public var temporalPatchSize: Int
    public var inChannels: Int
    public var hiddenAct: Activation
    /// Qwen2.5-VL: window attention everywhere except these blocks.
    public var fullattBlockIndexes: [Int]?
    /// Qwen2.5-VL: window side in pixels (112 → 4×4 merged tokens at patch 14).
    public var windowSize: Int?
    /// Qwen3-VL: learned position table (a square grid), interpolated to each image.
    public var numPositionEmbeddings: Int?
    /// Qwen3-VL: blocks whose output feeds a DeepStack merger (injected into LM layers 0, 1, …).
    public var deepstackVisualIndexes: [Int]?

    enum CodingKeys: String, CodingKey {
        case depth, hiddenSize = "hidden_size", intermediateSize = "intermediate_size", numHeads = "num_heads"
        case outHiddenSize = "out_hidden_size", patchSize = "patch_size", spatialMergeSize = "spatial_merge_size"
        case temporalPatchSize = "temporal_patch_size", inChannels = "in_channels", hiddenAct = "hidden_act"
        case fullattBlockIndexes = "fullatt_block_indexes", windowSize = "window_size"
        case numPositionEmbeddings = "num_position_embeddings", deepstackVisualIndexes = "deepstack_visual_indexes"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depth = try c.decode(Int.self, forKey: .depth)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        outHiddenSize = try c.decode(Int.self, forKey: .outHiddenSize)
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 14
        spatialMergeSize = try c.decodeIfPresent(Int.self, forKey: .spatialMergeSize) ?? 2
        temporalPatchSize = try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .silu
        fullattBlockIndexes = try c.decodeIfPresent([Int].self, forKey: .fullattBlockIndexes)
        windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize)
        numPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .numPositionEmbeddings)
        deepstackVisualIndexes = try c.decodeIfPresent([Int].self, forKey: .deepstackVisualIndexes)
    }
}

// MARK: - Model

public struct QwenVLConfig: Codable, Equatable, Sendable {
    public var modelType: QwenVLVersion
    public var textConfig: QwenVLTextConfig
    public var visionConfig: QwenVLVisionConfig
    public var imageTokenID: Int
    public var videoTokenID: Int?
    public var visionStartTokenID: Int?
    public var visionEndTokenID: Int?
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", textConfig = "text_config", visionConfig = "vision_config"
        case imageTokenID = "image_token_id", videoTokenID = "video_token_id"
        case visionStartTokenID = "vision_start_token_id", visionEndTokenID = "vision_end_token_id"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(QwenVLVersion.self, forKey: .modelType)
        // The original Qwen2.5-VL config.json keeps the text fields at the top level.
        textConfig = try c.decodeIfPresent(QwenVLTextConfig.self, forKey: .textConfig)
            ?? QwenVLTextConfig(from: decoder)
        visionConfig = try c.decode(QwenVLVisionConfig.self, forKey: .visionConfig)
        imageTokenID = try c.decode(Int.self, forKey: .imageTokenID)
        videoTokenID = try c.decodeIfPresent(Int.self, forKey: .videoTokenID)
        visionStartTokenID = try c.decodeIfPresent(Int.self, forKey: .visionStartTokenID)
        visionEndTokenID = try c.decodeIfPresent(Int.self, forKey: .visionEndTokenID)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
            ?? textConfig.tieWordEmbeddings ?? false
    }
}

// MARK: - Image processor

/// preprocessor_config.json of the Qwen2-VL image processor (shared by 2.5 and 3).
public struct QwenVLImageProcessorConfig: Codable, Equatable, Sendable {
    public var patchSize: Int
    public var temporalPatchSize: Int
    public var mergeSize: Int
    public var minPixels: Int
    public var maxPixels: Int
    public var imageMean: [Float]
    public var imageStd: [Float]
    public var rescaleFactor: Float

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", temporalPatchSize = "temporal_patch_size", mergeSize = "merge_size"
        case minPixels = "min_pixels", maxPixels = "max_pixels", imageMean = "image_mean", imageStd = "image_std"
        case rescaleFactor = "rescale_factor", size
    }

    private struct Size: Codable {
        var shortest_edge: Int?
        var longest_edge: Int?
    }

    /// Our bound when a folder names no max_pixels: 1280 merged tokens (transformers' default
    /// 28·28·1280 at patch 14), so an oversized image is shrunk instead of exploding the sequence.
    public static func defaultMaxPixels(patchSize: Int, mergeSize: Int) -> Int {
        (patchSize * mergeSize) * (patchSize * mergeSize) * 1280
    }

    public init(
        patchSize: Int, temporalPatchSize: Int = 2, mergeSize: Int = 2, minPixels: Int? = nil,
        maxPixels: Int? = nil, imageMean: [Float], imageStd: [Float], rescaleFactor: Float = 1 / 255
    ) {
        self.patchSize = patchSize
        self.temporalPatchSize = temporalPatchSize
        self.mergeSize = mergeSize
        self.minPixels = minPixels ?? 56 * 56
        self.maxPixels = maxPixels ?? Self.defaultMaxPixels(patchSize: patchSize, mergeSize: mergeSize)
        self.imageMean = imageMean
        self.imageStd = imageStd
        self.rescaleFactor = rescaleFactor
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let size = try c.decodeIfPresent(Size.self, forKey: .size)
        let patch = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 14
        let merge = try c.decodeIfPresent(Int.self, forKey: .mergeSize) ?? 2
        guard (1 ... 1024).contains(patch), (1 ... 64).contains(merge) else {
            throw DecodingError.dataCorruptedError(
                forKey: .patchSize, in: c, debugDescription: "patch_size \(patch) must be in 1...1024 and merge_size \(merge) in 1...64")
        }
        self.init(
            patchSize: patch,
            temporalPatchSize: try c.decodeIfPresent(Int.self, forKey: .temporalPatchSize) ?? 2,
            mergeSize: merge,
            minPixels: try c.decodeIfPresent(Int.self, forKey: .minPixels) ?? size?.shortest_edge,
            maxPixels: try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? size?.longest_edge,
            imageMean: try c.decodeIfPresent([Float].self, forKey: .imageMean)
                ?? [0.48145466, 0.4578275, 0.40821073],
            imageStd: try c.decodeIfPresent([Float].self, forKey: .imageStd) ?? [0.26862954, 0.26130258, 0.27577711],
            rescaleFactor: try c.decodeIfPresent(Float.self, forKey: .rescaleFactor) ?? 1 / 255)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(temporalPatchSize, forKey: .temporalPatchSize)
        try c.encode(mergeSize, forKey: .mergeSize)
        try c.encode(Size(shortest_edge: minPixels, longest_edge: maxPixels), forKey: .size)
        try c.encode(imageMean, forKey: .imageMean)
        try c.encode(imageStd, forKey: .imageStd)
        try c.encode(rescaleFactor, forKey: .rescaleFactor)
    }
}
