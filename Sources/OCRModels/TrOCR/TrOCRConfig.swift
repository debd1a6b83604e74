// Configuration of vision encoder–decoders (transformers' VisionEncoderDecoderConfig with a
// ViT, DeiT or BEiT encoder and a TrOCR decoder) and their image processor, decoded from the
// Hugging Face files with their snake_case keys; the files are read in TrOCRConfigLoading.swift.

import Foundation
import MLXNN
import OCRImaging

// MARK: - Encoder (ViT / DeiT / BEiT)

/// ViTConfig, DeiTConfig or BeitConfig: the shared fields, and BEiT's own (read for every type,
/// used by ``BEiTEncoder`` only; their defaults are BeitConfig's).
public struct VisionEncoderConfig: Codable, Sendable, Equatable {
    /// "vit", "deit" (DeiT adds a distillation token) or "beit".
    public var modelType: String
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: Activation
    public var layerNormEps: Double
    /// [height, width] (an integer in the file means a square).
    public var imageSize: [Int]
    public var patchSize: Int
    public var numChannels: Int
    /// ViT/DeiT: bias of query, key and value (BEiT: query and value always, key never).
    public var qkvBias: Bool
    public var hiddenDropoutProb: Double
    // BEiT
    public var useMaskToken: Bool
    public var useAbsolutePositionEmbeddings: Bool
    /// A relative position bias table in every layer's self-attention.
    public var useRelativePositionBias: Bool
    /// One relative position bias table for all layers (`encoder.relative_position_bias`).
    public var useSharedRelativePositionBias: Bool
    /// `lambda_1`/`lambda_2` layer scale when positive.
    public var layerScaleInitValue: Double
    /// Stochastic depth, rising linearly over the layers to this rate (training only).
    public var dropPathRate: Double
    /// The encoder output has no final `layernorm` (the pooler averages patches and normalizes).
    public var useMeanPooling: Bool

    enum CodingKeys: String, CodingKey {
        case hiddenDropoutProb = "hidden_dropout_prob"
        case useMaskToken = "use_mask_token", useAbsolutePositionEmbeddings = "use_absolute_position_embeddings"
        case useRelativePositionBias = "use_relative_position_bias"
        case useSharedRelativePositionBias = "use_shared_relative_position_bias"
        case layerScaleInitValue = "layer_scale_init_value", dropPathRate = "drop_path_rate"
        case useMeanPooling = "use_mean_pooling"
        case modelType = "model_type", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", imageSize = "image_size"
        case patchSize = "patch_size", numChannels = "num_channels", qkvBias = "qkv_bias"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .gelu
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? 1e-12
        if let square = try? c.decode(Int.self, forKey: .imageSize) {
            imageSize = [square, square]
        } else {
            imageSize = try c.decodeIfPresent([Int].self, forKey: .imageSize) ?? [224, 224]
        }
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 16
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? 3
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? true
        hiddenDropoutProb = try c.decodeIfPresent(Double.self, forKey: .hiddenDropoutProb) ?? 0
        useMaskToken = try c.decodeIfPresent(Bool.self, forKey: .useMaskToken) ?? false
        useAbsolutePositionEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .useAbsolutePositionEmbeddings) ?? false
        useRelativePositionBias = try c.decodeIfPresent(Bool.self, forKey: .useRelativePositionBias) ?? false
        useSharedRelativePositionBias = try c.decodeIfPresent(Bool.self, forKey: .useSharedRelativePositionBias) ?? false
        layerScaleInitValue = try c.decodeIfPresent(Double.self, forKey: .layerScaleInitValue) ?? 0.1
        dropPathRate = try c.decodeIfPresent(Double.self, forKey: .dropPathRate) ?? 0.1
        useMeanPooling = try c.decodeIfPresent(Bool.self, forKey: .useMeanPooling) ?? true
    }

    /// Tokens before the patches: CLS, and DeiT's distillation token.
    public var prefixTokens: Int { modelType == "deit" ? 2 : 1 }
    public var patchGrid: (rows: Int, columns: Int) { (imageSize[0] / patchSize, imageSize[1] / patchSize) }
}

// MARK: - Decoder (TrOCR)

public struct TrOCRDecoderConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var dModel: Int
    public var decoderLayers: Int
    public var decoderAttentionHeads: Int
    public var decoderFfnDim: Int
    public var activationFunction: Activation
    public var maxPositionEmbeddings: Int
    public var scaleEmbedding: Bool
    public var useLearnedPositionEmbeddings: Bool
    public var layernormEmbedding: Bool
    public var padTokenID: Int?
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var decoderStartTokenID: Int?
    public var crossAttentionHiddenSize: Int?
    public var tieWordEmbeddings: Bool
    public var dropout: Double
    public var activationDropout: Double

    enum CodingKeys: String, CodingKey {
        case dropout, activationDropout = "activation_dropout"
        case vocabSize = "vocab_size", dModel = "d_model", decoderLayers = "decoder_layers"
        case decoderAttentionHeads = "decoder_attention_heads", decoderFfnDim = "decoder_ffn_dim"
        case activationFunction = "activation_function", maxPositionEmbeddings = "max_position_embeddings"
        case scaleEmbedding = "scale_embedding", useLearnedPositionEmbeddings = "use_learned_position_embeddings"
        case layernormEmbedding = "layernorm_embedding", padTokenID = "pad_token_id", bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id", decoderStartTokenID = "decoder_start_token_id"
        case crossAttentionHiddenSize = "cross_attention_hidden_size", tieWordEmbeddings = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 50265
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 1024
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? 12
        decoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .decoderAttentionHeads) ?? 16
        decoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .decoderFfnDim) ?? 4096
        activationFunction = try c.decodeIfPresent(Activation.self, forKey: .activationFunction) ?? .gelu
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        scaleEmbedding = try c.decodeIfPresent(Bool.self, forKey: .scaleEmbedding) ?? false
        useLearnedPositionEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .useLearnedPositionEmbeddings) ?? true
        layernormEmbedding = try c.decodeIfPresent(Bool.self, forKey: .layernormEmbedding) ?? true
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? 1
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID)
        decoderStartTokenID = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenID)
        crossAttentionHiddenSize = try c.decodeIfPresent(Int.self, forKey: .crossAttentionHiddenSize)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0.1
        activationDropout = try c.decodeIfPresent(Double.self, forKey: .activationDropout) ?? 0
    }
}

// MARK: - Vision encoder–decoder

public struct VisionEncoderDecoderConfig: Codable, Sendable, Equatable {
    public var modelType: String
    public var encoder: VisionEncoderConfig
    public var decoder: TrOCRDecoderConfig
    public var decoderStartTokenID: Int?
    public var padTokenID: Int?
    public var eosTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", encoder, decoder, decoderStartTokenID = "decoder_start_token_id"
        case padTokenID = "pad_token_id", eosTokenID = "eos_token_id"
    }

    public static let modelType = "vision-encoder-decoder"
    static let supportedEncoders = ["vit", "deit", "beit"]
    static let supportedDecoders = ["trocr"]

    /// The first decoder input: the top-level value, else the decoder's, else its BOS.
    public var startTokenID: Int { decoderStartTokenID ?? decoder.decoderStartTokenID ?? decoder.bosTokenID ?? 2 }
    /// Width of the encoder output the decoder's cross-attention reads.
    public var crossAttentionInput: Int { decoder.crossAttentionHiddenSize ?? decoder.dModel }
    /// Whether the checkpoint has `enc_to_dec_proj` (encoder and decoder widths differ and the
    /// decoder does not project keys/values from the encoder width itself).
    public var hasEncoderToDecoderProjection: Bool {
        encoder.hiddenSize != decoder.dModel && decoder.crossAttentionHiddenSize == nil
    }
}

// MARK: - Image processor

/// `preprocessor_config.json` (or `processor_config.json`'s `image_processor`) of a ViT/DeiT
/// image processor: resize to `size` with Pillow, rescale, normalize.
public struct ViTImageProcessorConfig: Codable, Sendable, Equatable {
    public var doResize: Bool
    public var size: [String: Int]
    public var resample: Int
    public var doRescale: Bool
    public var rescaleFactor: Double
    public var doNormalize: Bool
    public var imageMean: [Float]
    public var imageStd: [Float]

    enum CodingKeys: String, CodingKey {
        case doResize = "do_resize", size, resample, doRescale = "do_rescale", rescaleFactor = "rescale_factor"
        case doNormalize = "do_normalize", imageMean = "image_mean", imageStd = "image_std"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        doResize = try c.decodeIfPresent(Bool.self, forKey: .doResize) ?? true
        if let square = try? c.decode(Int.self, forKey: .size) {
            size = ["height": square, "width": square]
        } else {
            size = try c.decodeIfPresent([String: Int].self, forKey: .size) ?? ["height": 224, "width": 224]
        }
        resample = try c.decodeIfPresent(Int.self, forKey: .resample) ?? 2
        doRescale = try c.decodeIfPresent(Bool.self, forKey: .doRescale) ?? true
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? 1.0 / 255
        doNormalize = try c.decodeIfPresent(Bool.self, forKey: .doNormalize) ?? true
        imageMean = try c.decodeIfPresent([Float].self, forKey: .imageMean) ?? [0.5, 0.5, 0.5]
        imageStd = try c.decodeIfPresent([Float].self, forKey: .imageStd) ?? [0.5, 0.5, 0.5]
    }
}
