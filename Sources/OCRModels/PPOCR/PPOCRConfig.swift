// Configuration of the PP-OCR text recognizers (PP-OCRv4 / PP-OCRv5 mobile: PPLCNetV3 backbone,
// SVTR neck, CTC head). Field names follow Hugging Face transformers 5.x
// (`PPOCRV5MobileRecConfig`, `PPLCNetV3Config`); fields transformers lacks are marked "ours".
//
// Reference: transformers/models/pp_ocrv5_mobile_rec/configuration_pp_ocrv5_mobile_rec.py,
// transformers/models/pp_lcnet_v3/configuration_pp_lcnet_v3.py, PaddleOCR
// ppocr/modeling/backbones/rec_lcnetv3.py and configs/rec/PP-OCRv5/PP-OCRv5_mobile_rec.yml.

import Foundation
import MLXNN

// MARK: - Recognizer

public struct PPOCRRecognizerConfig: Codable, Equatable, Sendable {
    /// "pp_ocrv5_mobile_rec" or "pp_ocrv4_mobile_rec" (ours: transformers has no v4 class).
    public var modelType: String
    public var backboneConfig: PPLCNetV3Config
    public var hiddenAct: Activation
    public var hiddenSize: Int
    public var mlpRatio: Double
    public var depth: Int
    public var headOutChannels: Int
    public var convKernelSize: [Int]
    public var qkvBias: Bool
    public var numAttentionHeads: Int
    public var attentionDropout: Double
    /// Epsilon of the final neck LayerNorm (PaddleOCR: 1e-6).
    public var layerNormEps: Double
    /// Ours: epsilon of the LayerNorms inside the SVTR blocks (PaddleOCR: 1e-5; transformers uses
    /// `layer_norm_eps` for both).
    public var blockLayerNormEps: Double
    /// Ours: epsilon of every BatchNorm (PaddleOCR: 1e-5).
    public var batchNormEps: Double
    /// Ours: pooling after the backbone, [kh, kw] (PaddleOCR rec: avg_pool2d [3, 2]).
    public var poolKernelSize: [Int]
    /// Ours: input image height (PaddleOCR `rec_image_shape` [3, 48, 320]).
    public var imageHeight: Int
    /// Ours: minimum padded input width (PaddleOCR pads a batch to at least 320).
    public var imageWidth: Int
    /// Ours: whether the input channels are in BGR order (true for PaddleOCR's models, trained on OpenCV images).
    public var inputBGR: Bool
    /// Ours: the class index of the CTC blank (0 in PaddleOCR).
    public var blankIndex: Int

    public init(
        modelType: String = "pp_ocrv5_mobile_rec", backboneConfig: PPLCNetV3Config = .init(),
        hiddenAct: Activation = .silu, hiddenSize: Int = 120, mlpRatio: Double = 2, depth: Int = 2,
        headOutChannels: Int = 18385, convKernelSize: [Int] = [1, 3], qkvBias: Bool = true,
        numAttentionHeads: Int = 8, attentionDropout: Double = 0, layerNormEps: Double = 1e-6,
        blockLayerNormEps: Double = 1e-5, batchNormEps: Double = 1e-5, poolKernelSize: [Int] = [3, 2],
        imageHeight: Int = 48, imageWidth: Int = 320, inputBGR: Bool = true, blankIndex: Int = 0
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
        self.blockLayerNormEps = blockLayerNormEps
        self.batchNormEps = batchNormEps
        self.poolKernelSize = poolKernelSize
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.inputBGR = inputBGR
        self.blankIndex = blankIndex
    }

    /// Channels entering the neck: the last stage's scaled output.
    public var neckInputChannels: Int {
        backboneConfig.scaled(backboneConfig.blockConfigs.last!.last!.outChannels)
    }

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
        case blockLayerNormEps = "block_layer_norm_eps"
        case batchNormEps = "batch_norm_eps"
        case poolKernelSize = "pool_kernel_size"
        case imageHeight = "image_height"
        case imageWidth = "image_width"
        case inputBGR = "input_bgr"
        case blankIndex = "blank_index"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPOCRRecognizerConfig()
        modelType = try c.decode(String.self, forKey: .modelType)
        backboneConfig = try c.decodeIfPresent(PPLCNetV3Config.self, forKey: .backboneConfig) ?? d.backboneConfig
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
        blockLayerNormEps = try c.decodeIfPresent(Double.self, forKey: .blockLayerNormEps) ?? d.blockLayerNormEps
        batchNormEps = try c.decodeIfPresent(Double.self, forKey: .batchNormEps) ?? d.batchNormEps
        poolKernelSize = try c.decodeIfPresent([Int].self, forKey: .poolKernelSize) ?? d.poolKernelSize
        imageHeight = try c.decodeIfPresent(Int.self, forKey: .imageHeight) ?? d.imageHeight
        imageWidth = try c.decodeIfPresent(Int.self, forKey: .imageWidth) ?? d.imageWidth
        inputBGR = try c.decodeIfPresent(Bool.self, forKey: .inputBGR) ?? d.inputBGR
        blankIndex = try c.decodeIfPresent(Int.self, forKey: .blankIndex) ?? d.blankIndex
        try c.require([hiddenSize, numAttentionHeads], in: ConfigLimits.size, at: .hiddenSize, "hidden_size and num_attention_heads")
        try c.require(width: hiddenSize, dividesInto: numAttentionHeads, at: .numAttentionHeads)
        try c.require([depth], in: ConfigLimits.depth, at: .depth, "depth")
        try c.require(ratio: mlpRatio, atMost: ConfigLimits.mlpRatio, at: .mlpRatio, "mlp_ratio")
        try c.require([headOutChannels], in: ConfigLimits.classes, at: .headOutChannels, "head_out_channels")
        try c.require([blankIndex], in: 0 ... headOutChannels - 1, at: .blankIndex, "blank_index")
        try c.require([convKernelSize.count, poolKernelSize.count], in: 2 ... 2, at: .convKernelSize, "conv_kernel_size and pool_kernel_size entries")
        try c.require(convKernelSize + poolKernelSize + [imageHeight, imageWidth], in: ConfigLimits.size, at: .convKernelSize,
                      "conv_kernel_size, pool_kernel_size and image sides")
    }
}

// MARK: - Backbone

public struct PPLCNetV3Config: Codable, Equatable, Sendable {
    public var modelType: String
    public var scale: Double
    /// Stages of blocks; channels before scaling (as transformers and PaddleOCR's NET_CONFIG_rec).
    public var blockConfigs: [[PPLCNetV3BlockConfig]]
    public var stemChannels: Int
    public var stemStride: Int
    public var reduction: Int
    public var divisor: Int
    public var hiddenAct: Activation
    public var convSymmetricNum: Int
    /// Ours: whether each LearnableRepLayer is stored in its deployed form, one `reparam_conv`
    /// with bias (PaddleOCR's `rep()`; what inference exports hold), instead of its branches.
    public var reparameterized: Bool

    /// PaddleOCR's NET_CONFIG_rec: 1, or an [h, w] pair where the height or width is halved.
    public static let recognitionBlocks: [[PPLCNetV3BlockConfig]] = [
        [.init(3, 16, 32, [1], false)],
        [.init(3, 32, 64, [1], false), .init(3, 64, 64, [1], false)],
        [.init(3, 64, 128, [2, 1], false), .init(3, 128, 128, [1], false)],
        [
            .init(3, 128, 256, [1, 2], false), .init(5, 256, 256, [1], false), .init(5, 256, 256, [1], false),
            .init(5, 256, 256, [1], false), .init(5, 256, 256, [1], false),
        ],
        [
            .init(5, 256, 512, [2, 1], true), .init(5, 512, 512, [1], true), .init(5, 512, 512, [2, 1], false),
            .init(5, 512, 512, [1], false),
        ],
    ]

    public init(
        scale: Double = 0.95, blockConfigs: [[PPLCNetV3BlockConfig]] = PPLCNetV3Config.recognitionBlocks,
        stemChannels: Int = 16, stemStride: Int = 2, reduction: Int = 4, divisor: Int = 16,
        hiddenAct: Activation = .hardSwish, convSymmetricNum: Int = 4, reparameterized: Bool = true
    ) {
        self.modelType = "pp_lcnet_v3"
        self.scale = scale
        self.blockConfigs = blockConfigs
        self.stemChannels = stemChannels
        self.stemStride = stemStride
        self.reduction = reduction
        self.divisor = divisor
        self.hiddenAct = hiddenAct
        self.convSymmetricNum = convSymmetricNum
        self.reparameterized = reparameterized
    }

    /// `make_divisible(channels · scale, divisor)` as transformers and PaddleOCR.
    public func scaled(_ channels: Int) -> Int {
        makeDivisible(Double(channels) * scale, divisor: divisor)
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case scale
        case blockConfigs = "block_configs"
        case stemChannels = "stem_channels"
        case stemStride = "stem_stride"
        case reduction
        case divisor
        case hiddenAct = "hidden_act"
        case convSymmetricNum = "conv_symmetric_num"
        case reparameterized
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPLCNetV3Config()
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? d.scale
        blockConfigs = try c.decodeIfPresent([[PPLCNetV3BlockConfig]].self, forKey: .blockConfigs) ?? d.blockConfigs
        stemChannels = try c.decodeIfPresent(Int.self, forKey: .stemChannels) ?? d.stemChannels
        stemStride = try c.decodeIfPresent(Int.self, forKey: .stemStride) ?? d.stemStride
        reduction = try c.decodeIfPresent(Int.self, forKey: .reduction) ?? d.reduction
        divisor = try c.decodeIfPresent(Int.self, forKey: .divisor) ?? d.divisor
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? d.hiddenAct
        convSymmetricNum = try c.decodeIfPresent(Int.self, forKey: .convSymmetricNum) ?? d.convSymmetricNum
        reparameterized = try c.decodeIfPresent(Bool.self, forKey: .reparameterized) ?? d.reparameterized
        // What scaled(_:) and the recognizer's neck read: stages with blocks, a finite scale, a divisor.
        guard !blockConfigs.isEmpty, blockConfigs.allSatisfy({ !$0.isEmpty }) else {
            throw DecodingError.dataCorruptedError(forKey: .blockConfigs, in: c, debugDescription: "every stage needs at least one block")
        }
        try c.require([stemChannels, stemStride, reduction], in: ConfigLimits.size, at: .reduction, "stem_channels, stem_stride and reduction")
        try c.require([convSymmetricNum], in: 0 ... 1 << 16, at: .convSymmetricNum, "conv_symmetric_num")
        guard scale > 0, scale <= 16, (1 ... 1024).contains(divisor) else {
            throw DecodingError.dataCorruptedError(
                forKey: .scale, in: c, debugDescription: "scale \(scale) must be in (0, 16] and divisor \(divisor) in 1...1024")
        }
    }
}

/// `[kernel_size, in_channels, out_channels, stride, use_squeeze_excitation]`, as transformers'
/// `block_configs` rows; the stride is a number or an [h, w] pair.
public struct PPLCNetV3BlockConfig: Codable, Equatable, Sendable {
    public var kernelSize: Int
    public var inChannels: Int
    public var outChannels: Int
    /// [h, w].
    public var stride: [Int]
    /// Whether the stride was written as one number (PaddleOCR then skips the depthwise
    /// activation when it is 2; a pair never equals 2, so recognizers always apply it).
    public var strideIsScalar: Bool
    public var useSqueezeExcitation: Bool

    public init(_ kernel: Int, _ input: Int, _ output: Int, _ stride: [Int], _ se: Bool) {
        kernelSize = kernel
        inChannels = input
        outChannels = output
        self.stride = stride.count == 1 ? [stride[0], stride[0]] : stride
        strideIsScalar = stride.count == 1
        useSqueezeExcitation = se
    }

    /// PaddleOCR's `if self.stride != 2: x = self.act(x)`.
    public var depthwiseActivation: Bool { !(strideIsScalar && stride[0] == 2) }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        kernelSize = try c.decode(Int.self)
        inChannels = try c.decode(Int.self)
        outChannels = try c.decode(Int.self)
        if let s = try? c.decode(Int.self) {
            stride = [s, s]
            strideIsScalar = true
        } else {
            stride = try c.decode([Int].self)
            strideIsScalar = false
            guard stride.count == 2 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "stride must be a number or [h, w]")
            }
        }
        useSqueezeExcitation = try c.decode(Bool.self)
        let sizes = [kernelSize, inChannels, outChannels] + stride
        guard sizes.allSatisfy({ (1 ... 1 << 16).contains($0) }) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "kernel size, channels and stride must be in 1...65536; got \(sizes)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(kernelSize)
        try c.encode(inChannels)
        try c.encode(outChannels)
        if strideIsScalar { try c.encode(stride[0]) } else { try c.encode(stride) }
        try c.encode(useSqueezeExcitation)
    }
}

/// transformers' / PaddleOCR's `make_divisible`.
public func makeDivisible(_ value: Double, divisor: Int = 8, minValue: Int? = nil) -> Int {
    let minValue = minValue ?? divisor
    var new = Swift.max(minValue, Int(value + Double(divisor) / 2) / divisor * divisor)
    if Double(new) < 0.9 * value { new += divisor }
    return new
}
