// The PP-OCRv6 small DB detector's config.
//
// Reference: transformers/models/pp_ocrv6_small_det/configuration_pp_ocrv6_small_det.py
// (config fields). Decoding checks what the builders compute from the fields (positive sizes,
// finite ratios), so a crafted config.json is a DecodingError, never a trap (Fuzz/model_config).

import Foundation
import MLXNN

public struct PPOCRV6DetConfig: Codable, Equatable, Sendable {
    public static let smallModelType = "pp_ocrv6_small_det"

    public var modelType: String
    public var backboneConfig: PPLCNetV4Config
    public var reduction: Int
    public var neckOutChannels: Int
    /// "nearest" (PaddleOCR's) — the only mode implemented.
    public var interpolateMode: String
    /// Kernels of the head's conv_down, conv_up and conv_final.
    public var kernelList: [Int]
    /// Channels of the backbone stages the neck reads.
    public var layerListOutChannels: [Int]
    public var dilatedKernelSize: Int

    public init(
        modelType: String = PPOCRV6DetConfig.smallModelType, backboneConfig: PPLCNetV4Config, reduction: Int = 4,
        neckOutChannels: Int = 96, interpolateMode: String = "nearest", kernelList: [Int] = [3, 2, 2],
        layerListOutChannels: [Int], dilatedKernelSize: Int = 7
    ) {
        self.modelType = modelType
        self.backboneConfig = backboneConfig
        self.reduction = reduction
        self.neckOutChannels = neckOutChannels
        self.interpolateMode = interpolateMode
        self.kernelList = kernelList
        self.layerListOutChannels = layerListOutChannels
        self.dilatedKernelSize = dilatedKernelSize
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case backboneConfig = "backbone_config"
        case reduction
        case neckOutChannels = "neck_out_channels"
        case interpolateMode = "interpolate_mode"
        case kernelList = "kernel_list"
        case layerListOutChannels = "layer_list_out_channels"
        case dilatedKernelSize = "dilated_kernel_size"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        backboneConfig = try c.decode(PPLCNetV4Config.self, forKey: .backboneConfig)
        reduction = try c.decodeIfPresent(Int.self, forKey: .reduction) ?? 4
        neckOutChannels = try c.decodeIfPresent(Int.self, forKey: .neckOutChannels) ?? 96
        interpolateMode = try c.decodeIfPresent(String.self, forKey: .interpolateMode) ?? "nearest"
        kernelList = try c.decodeIfPresent([Int].self, forKey: .kernelList) ?? [3, 2, 2]
        layerListOutChannels = try c.decode([Int].self, forKey: .layerListOutChannels)
        dilatedKernelSize = try c.decodeIfPresent(Int.self, forKey: .dilatedKernelSize) ?? 7
        guard interpolateMode == "nearest", kernelList.count == 3, kernelList[1] == 2, kernelList[2] == 2,
            layerListOutChannels.count == 4, backboneConfig.blockConfigs.count == 4
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .kernelList, in: c,
                debugDescription: "supported: nearest interpolation, kernel_list [k, 2, 2], four backbone stages")
        }
        try c.require([reduction, kernelList[0], dilatedKernelSize, neckOutChannels] + layerListOutChannels, in: ConfigLimits.size,
                      at: .reduction, "reduction, kernel_list, dilated_kernel_size, neck_out_channels and layer_list_out_channels")
        // The neck's squeeze-excitations: out / reduction, then out / 4 / reduction channels.
        guard neckOutChannels % 4 == 0, neckOutChannels / 4 >= reduction else {
            throw DecodingError.dataCorruptedError(
                forKey: .neckOutChannels, in: c,
                debugDescription: "neck_out_channels must be a multiple of 4 with a quarter of at least reduction (\(reduction))")
        }
    }
}
