// Configuration of latex-ocr-junia (PyPI `latex-ocr-junia` 0.1.3): the package's `ModelConfig`
// fields under their own snake_case names, plus the preprocessing (`preprocessor_config.json`)
// and generation (`generation_config.json`) settings written by tools/convert_latex_ocr_junia.py.
//
// Reference: latex_ocr_junia/model.py (ModelConfig), data.py (load_and_preprocess_image),
// predict.py (beam 3, length penalty 0.6).

import Foundation
import OCRImaging

// MARK: - Model

public struct LatexJuniaConfig: Codable, Equatable, Sendable {
    public var modelType: String
    public var imageHeight: Int
    public var imageWidth: Int
    public var patchSize: Int
    public var dModel: Int
    public var numHeads: Int
    public var numEncoderLayers: Int
    public var numDecoderLayers: Int
    public var mlpDim: Int
    public var dropout: Double
    /// Decoder positions (the BOS included); also the default generation length.
    public var maxLength: Int
    public var vocabSize: Int
    public var padTokenID: Int
    /// Ours (from the tokenizer): BOS and EOS ids, written by the converter.
    public var bosTokenID: Int
    public var eosTokenID: Int

    public static let modelTypeName = "latex_ocr_junia"

    public init(
        imageHeight: Int = 128, imageWidth: Int = 512, patchSize: Int = 8, dModel: Int = 256, numHeads: Int = 8,
        numEncoderLayers: Int = 4, numDecoderLayers: Int = 4, mlpDim: Int = 1024, dropout: Double = 0.1,
        maxLength: Int = 512, vocabSize: Int = 166, padTokenID: Int = 0, bosTokenID: Int = 1, eosTokenID: Int = 2
    ) {
        modelType = Self.modelTypeName
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.patchSize = patchSize
        self.dModel = dModel
        self.numHeads = numHeads
        self.numEncoderLayers = numEncoderLayers
        self.numDecoderLayers = numDecoderLayers
        self.mlpDim = mlpDim
        self.dropout = dropout
        self.maxLength = maxLength
        self.vocabSize = vocabSize
        self.padTokenID = padTokenID
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    /// Patches along the height and the width.
    public var patchGrid: (rows: Int, columns: Int) { (imageHeight / patchSize, imageWidth / patchSize) }

    /// Checks what the package checks (and what the layers need).
    public func validate(file: String = "config.json") throws {
        guard patchSize > 0, imageHeight % patchSize == 0, imageWidth % patchSize == 0 else {
            throw ModelFolderError("\(file): image_height and image_width (\(imageHeight)×\(imageWidth)) must be multiples of patch_size \(patchSize)")
        }
        guard numHeads > 0, dModel % numHeads == 0 else {
            throw ModelFolderError("\(file): d_model \(dModel) must be a multiple of num_heads \(numHeads)")
        }
        guard maxLength >= 2, vocabSize > 0 else { throw ModelFolderError("\(file): max_length must be ≥ 2 and vocab_size > 0") }
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case imageHeight = "image_height"
        case imageWidth = "image_width"
        case patchSize = "patch_size"
        case dModel = "d_model"
        case numHeads = "num_heads"
        case numEncoderLayers = "num_encoder_layers"
        case numDecoderLayers = "num_decoder_layers"
        case mlpDim = "mlp_dim"
        case dropout
        case maxLength = "max_length"
        case vocabSize = "vocab_size"
        case padTokenID = "pad_token_id"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LatexJuniaConfig()
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType
        imageHeight = try c.decodeIfPresent(Int.self, forKey: .imageHeight) ?? 96  // the package's defaults
        imageWidth = try c.decodeIfPresent(Int.self, forKey: .imageWidth) ?? 384
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? d.dModel
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? d.numHeads
        numEncoderLayers = try c.decodeIfPresent(Int.self, forKey: .numEncoderLayers) ?? d.numEncoderLayers
        numDecoderLayers = try c.decodeIfPresent(Int.self, forKey: .numDecoderLayers) ?? d.numDecoderLayers
        mlpDim = try c.decodeIfPresent(Int.self, forKey: .mlpDim) ?? d.mlpDim
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? d.dropout
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? 256
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? d.padTokenID
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID) ?? d.bosTokenID
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID) ?? d.eosTokenID
    }
}

// MARK: - Preprocessing

/// `preprocessor_config.json`: PIL `convert("L")`, aspect-preserving resize into height × width
/// (sizes rounded), centred on a `pad_value` canvas, × `rescale_factor`.
public struct LatexJuniaPreprocessorConfig: Codable, Equatable, Sendable {
    public var resample: PillowResampling
    public var padValue: Int
    public var rescaleFactor: Double

    public init(resample: PillowResampling = .bilinear, padValue: Int = 0, rescaleFactor: Double = 1.0 / 255) {
        self.resample = resample
        self.padValue = padValue
        self.rescaleFactor = rescaleFactor
    }

    enum CodingKeys: String, CodingKey {
        case resample
        case padValue = "pad_value"
        case rescaleFactor = "rescale_factor"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LatexJuniaPreprocessorConfig()
        resample = try c.decodeIfPresent(PillowResampling.self, forKey: .resample) ?? d.resample
        padValue = try c.decodeIfPresent(Int.self, forKey: .padValue) ?? d.padValue
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? d.rescaleFactor
    }
}

// MARK: - Generation

/// `generation_config.json`: the package's `predict.py` decodes with beam 3 and length penalty
/// 0.6; pad and BOS are never generated.
public struct LatexJuniaGenerationConfig: Codable, Equatable, Sendable {
    public var maxLength: Int?
    public var numBeams: Int
    public var lengthPenalty: Double

    public init(maxLength: Int? = nil, numBeams: Int = 1, lengthPenalty: Double = 0.6) {
        self.maxLength = maxLength
        self.numBeams = numBeams
        self.lengthPenalty = lengthPenalty
    }

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length"
        case numBeams = "num_beams"
        case lengthPenalty = "length_penalty"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        numBeams = try c.decodeIfPresent(Int.self, forKey: .numBeams) ?? 1
        lengthPenalty = try c.decodeIfPresent(Double.self, forKey: .lengthPenalty) ?? 0.6
    }
}
