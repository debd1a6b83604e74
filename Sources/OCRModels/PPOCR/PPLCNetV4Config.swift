// PP-LCNetV4's config: the backbone of the PP-OCRv6 recognizer and detector.
//
// Reference: transformers/models/pp_lcnet_v4/configuration_pp_lcnet_v4.py
// (config fields). Decoding checks what the builders compute from the fields (positive sizes,
// finite ratios), so a crafted config.json is a DecodingError, never a trap (Fuzz/model_config).

import Foundation
import MLXNN

public struct PPLCNetV4Config: Codable, Equatable, Sendable {
    public var modelType: String
    /// Scales only the reported feature counts (transformers' `num_features`); the layers use the
    /// channels of `block_configs` as written.
    public var scale: Double
    /// Stages of `[kernel, in, out, stride, use_se]` rows (the stride a number or an [h, w] pair).
    public var blockConfigs: [[PPLCNetV3BlockConfig]]
    /// [input, stem, output] channels.
    public var stemChannels: [Int]
    public var reduction: Int
    public var hiddenAct: Activation
    /// Strides of stem1, stem2a, stem2b, stem3, stem4.
    public var stemStrides: [Int]
    /// "large" (PP-OCRv6's) or "small".
    public var stemType: String
    public var useLearnableAffineBlock: Bool

    public static let defaultBlocks: [[PPLCNetV3BlockConfig]] = [
        [.init(3, 96, 96, [1], true)],
        [.init(3, 96, 96, [1], false), .init(3, 96, 96, [1], false)],
        [
            .init(3, 96, 192, [2, 1], false), .init(3, 192, 192, [1], true), .init(3, 192, 192, [1], false),
            .init(3, 192, 192, [1], true), .init(3, 192, 192, [1], false), .init(3, 192, 192, [1], true),
            .init(3, 192, 192, [1], false),
        ],
        [.init(3, 192, 384, [2, 1], false), .init(3, 384, 384, [1], true), .init(3, 384, 384, [1], false)],
    ]

    public init(
        scale: Double = 1, blockConfigs: [[PPLCNetV3BlockConfig]] = PPLCNetV4Config.defaultBlocks,
        stemChannels: [Int] = [3, 48, 96], reduction: Int = 4, hiddenAct: Activation = .relu,
        stemStrides: [Int] = [2, 1, 1, 2, 1], stemType: String = "large", useLearnableAffineBlock: Bool = false
    ) {
        modelType = "pp_lcnet_v4"
        self.scale = scale
        self.blockConfigs = blockConfigs
        self.stemChannels = stemChannels
        self.reduction = reduction
        self.hiddenAct = hiddenAct
        self.stemStrides = stemStrides
        self.stemType = stemType
        self.useLearnableAffineBlock = useLearnableAffineBlock
    }

    /// Channels of the last stage (what the neck receives).
    public var outputChannels: Int { blockConfigs.last?.last?.outChannels ?? stemChannels[2] }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case scale
        case blockConfigs = "block_configs"
        case stemChannels = "stem_channels"
        case reduction
        case hiddenAct = "hidden_act"
        case stemStrides = "stem_strides"
        case stemType = "stem_type"
        case useLearnableAffineBlock = "use_learnable_affine_block"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPLCNetV4Config()
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? d.scale
        blockConfigs = try c.decodeIfPresent([[PPLCNetV3BlockConfig]].self, forKey: .blockConfigs) ?? d.blockConfigs
        stemChannels = try c.decodeIfPresent([Int].self, forKey: .stemChannels) ?? d.stemChannels
        reduction = try c.decodeIfPresent(Int.self, forKey: .reduction) ?? d.reduction
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? d.hiddenAct
        stemStrides = try c.decodeIfPresent([Int].self, forKey: .stemStrides) ?? d.stemStrides
        stemType = try c.decodeIfPresent(String.self, forKey: .stemType) ?? d.stemType
        useLearnableAffineBlock = try c.decodeIfPresent(Bool.self, forKey: .useLearnableAffineBlock) ?? d.useLearnableAffineBlock
        guard modelType == "pp_lcnet_v4" else {
            throw DecodingError.dataCorruptedError(
                forKey: .modelType, in: c, debugDescription: "backbone model_type \"\(modelType)\" is not pp_lcnet_v4")
        }
        guard stemType == "large", stemChannels.count == 3, stemStrides.count == 5, blockConfigs.count == 4 else {
            throw DecodingError.dataCorruptedError(
                forKey: .stemType, in: c,
                debugDescription: "only the large stem (3 stem channels, 5 stem strides) with 4 stages is supported")
        }
        try c.require(stemChannels + stemStrides + [reduction], in: ConfigLimits.size, at: .reduction, "stem_channels, stem_strides and reduction")
        guard scale.isFinite, scale > 0, blockConfigs.allSatisfy({ !$0.isEmpty }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .blockConfigs, in: c, debugDescription: "every stage needs a block and the scale must be positive")
        }
    }
}
