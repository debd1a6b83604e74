// The PP-OCRv6 small recognizer's config.
//
// Reference: transformers/models/pp_ocrv6_small_rec/configuration_pp_ocrv6_small_rec.py
// (config fields). Decoding checks what the builders compute from the fields (positive sizes,
// finite ratios), so a crafted config.json is a DecodingError, never a trap (Fuzz/model_config).

import Foundation
import MLXNN

public struct PPOCRV6RecognizerConfig: Codable, Equatable, Sendable {
    public static let smallModelType = "pp_ocrv6_small_rec"
    public static let modelTypes: Set<String> = [smallModelType]

    public var modelType: String
    public var backboneConfig: PPLCNetV4Config
    public var hiddenAct: Activation
    public var hiddenSize: Int
    public var mlpRatio: Double
    public var depth: Int
    public var headOutChannels: Int
    /// The neck's depthwise local convolution, [kh, kw] (transformers' default [1, 7]).
    public var convKernelSize: [Int]
    public var qkvBias: Bool
    public var numAttentionHeads: Int
    public var attentionDropout: Double
    /// Epsilon of every LayerNorm of the neck (transformers uses `layer_norm_eps` for all).
    public var layerNormEps: Double

    public init(
        modelType: String = PPOCRV6RecognizerConfig.smallModelType, backboneConfig: PPLCNetV4Config = .init(),
        hiddenAct: Activation = .silu, hiddenSize: Int = 120, mlpRatio: Double = 2, depth: Int = 2,
        headOutChannels: Int = 18714, convKernelSize: [Int] = [1, 7], qkvBias: Bool = true, numAttentionHeads: Int = 8,
        attentionDropout: Double = 0, layerNormEps: Double = 1e-6
    ) {
        self.modelType = modelType
        self.backboneConfig = backboneConfig
        self.hiddenAct = hiddenAct
        self.hiddenSize = hiddenSize
        self.mlpRatio = mlpRatio
        self.depth = depth
        self.headOutChannels = headOutChannels
        self.convKernelSize = convKernelSize
        self.qkvBias = qkvBias
        self.numAttentionHeads = numAttentionHeads
        self.attentionDropout = attentionDropout
        self.layerNormEps = layerNormEps
    }

    /// Preprocessing (fixed for PP-OCRv6, as transformers' image processor: height 48, pad to ≥ 320, BGR).
    public static let imageHeight = 48
    public static let imageWidth = 320
    /// Pooling after the backbone (transformers: `F.avg_pool2d(hidden_state, (3, 2))`).
    public static let poolKernelSize = [3, 2]

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case backboneConfig = "backbone_config"
        case hiddenAct = "hidden_act"
        case hiddenSize = "hidden_size"
        case mlpRatio = "mlp_ratio"
        case depth
        case headOutChannels = "head_out_channels"
        case convKernelSize = "conv_kernel_size"
        case qkvBias = "qkv_bias"
        case numAttentionHeads = "num_attention_heads"
        case attentionDropout = "attention_dropout"
        case layerNormEps = "layer_norm_eps"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPOCRV6RecognizerConfig()
        modelType = try c.decode(String.self, forKey: .modelType)
        backboneConfig = try c.decodeIfPresent(PPLCNetV4Config.self, forKey: .backboneConfig) ?? d.backboneConfig
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? d.hiddenAct
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? d.mlpRatio
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? d.depth
        headOutChannels = try c.decodeIfPresent(Int.self, forKey: .headOutChannels) ?? d.headOutChannels
        convKernelSize = try c.decodeIfPresent([Int].self, forKey: .convKernelSize) ?? d.convKernelSize
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? d.qkvBias
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        attentionDropout = try c.decodeIfPresent(Double.self, forKey: .attentionDropout) ?? d.attentionDropout
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        try c.require([hiddenSize, numAttentionHeads], in: ConfigLimits.size, at: .hiddenSize, "hidden_size and num_attention_heads")
        try c.require(width: hiddenSize, dividesInto: numAttentionHeads, at: .numAttentionHeads)
        try c.require([convKernelSize.count], in: 2 ... 2, at: .convKernelSize, "conv_kernel_size entries")
        try c.require(convKernelSize, in: ConfigLimits.size, at: .convKernelSize, "conv_kernel_size")
        try c.require([depth], in: ConfigLimits.depth, at: .depth, "depth")
        try c.require(ratio: mlpRatio, atMost: ConfigLimits.mlpRatio, at: .mlpRatio, "mlp_ratio")
        try c.require([headOutChannels], in: ConfigLimits.classes, at: .headOutChannels, "head_out_channels")
    }
}
