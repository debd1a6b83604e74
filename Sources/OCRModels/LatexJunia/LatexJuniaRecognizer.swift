// latex-ocr-junia as a loaded recognizer: the model folder written by
// tools/convert_latex_ocr_junia.py (or by a fine-tune), preprocessing, decoding, and the
// `latex_ocr_junia` entry of the model registry.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging

// MARK: - Options

/// How ``LatexJuniaTextRecognizer`` decodes.
public struct LatexJuniaDecodingOptions: Sendable, Equatable {
    /// 1: greedy; more: the package's beam search (``GenerationOptions/BeamStrategy/pooled``).
    public var numBeams: Int
    public var lengthPenalty: Double
    /// Tokens with the BOS (the package's `max_length`); nil: the config's.
    public var maxLength: Int?

    public init(numBeams: Int = 1, lengthPenalty: Double = 0.6, maxLength: Int? = nil) {
        self.numBeams = numBeams
        self.lengthPenalty = lengthPenalty
        self.maxLength = maxLength
    }
}

// MARK: - Recognizer

public final class LatexJuniaTextRecognizer: TextRecognizer {
    public static let preprocessorFile = "preprocessor_config.json"
    public static let generationFile = "generation_config.json"

    public let model: LatexJuniaModel
    public let tokenizer: LatexJuniaTokenizer
    public var preprocessor: LatexJuniaPreprocessor
    public var decoding: LatexJuniaDecodingOptions
    public var batchSize = 8

    public var name: String { "latex-ocr-junia" }
    public var preferredBatchSize: Int { batchSize }

    public init(model: LatexJuniaModel, tokenizer: LatexJuniaTokenizer, preprocessor: LatexJuniaPreprocessor? = nil,
                decoding: LatexJuniaDecodingOptions = .init()) throws {
        guard tokenizer.vocabularySize == model.config.vocabSize else {
            throw ModelFolderError("the tokenizer has \(tokenizer.vocabularySize) tokens, the model's vocab_size is \(model.config.vocabSize)")
        }
        guard tokenizer.bosID == model.config.bosTokenID, tokenizer.eosID == model.config.eosTokenID,
              tokenizer.padID == model.config.padTokenID else {
            throw ModelFolderError("the tokenizer's pad/bos/eos ids (\(tokenizer.padID), \(tokenizer.bosID), \(tokenizer.eosID)) differ from config.json's")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor ?? LatexJuniaPreprocessor(config: model.config)
        self.decoding = decoding
        model.train(false)
    }

    /// Loads a model folder: config.json, model.safetensors, char_tokenizer.json, and the
    /// optional preprocessor_config.json and generation_config.json (whose `num_beams` —
    /// 3 for the converted package, as its predict.py — becomes the default decoding).
    public convenience init(folder: URL) throws {
        let model = try Self.loadModel(folder: folder)
        let tokenizer = try LatexJuniaTokenizer(contentsOf: folder.appendingPathComponent(LatexJuniaTokenizer.fileName))
        var pre = LatexJuniaPreprocessorConfig()
        let preURL = folder.appendingPathComponent(Self.preprocessorFile)
        if FileManager.default.fileExists(atPath: preURL.path) {
            do { pre = try JSONDecoder().decode(LatexJuniaPreprocessorConfig.self, from: Data(contentsOf: preURL)) }
            catch { throw ModelFolderError("cannot read \(preURL.path): \(error)") }
        }
        var decoding = LatexJuniaDecodingOptions()
        let genURL = folder.appendingPathComponent(Self.generationFile)
        if FileManager.default.fileExists(atPath: genURL.path) {
            do {
                let g = try JSONDecoder().decode(LatexJuniaGenerationConfig.self, from: Data(contentsOf: genURL))
                decoding = LatexJuniaDecodingOptions(numBeams: g.numBeams, lengthPenalty: g.lengthPenalty, maxLength: g.maxLength)
            } catch { throw ModelFolderError("cannot read \(genURL.path): \(error)") }
        }
        try self.init(model: model, tokenizer: tokenizer, preprocessor: LatexJuniaPreprocessor(config: model.config, preprocessor: pre),
                      decoding: decoding)
    }

    /// config.json and model.safetensors (the patch convolution in either layout).
    public static func loadModel(folder: URL) throws -> LatexJuniaModel {
        let config = try ModelFolder.readConfig(LatexJuniaConfig.self, at: folder)
        guard config.modelType == LatexJuniaConfig.modelTypeName else {
            throw ModelFolderError("\(folder.path): model_type \"\(config.modelType)\" is not \(LatexJuniaConfig.modelTypeName)")
        }
        try config.validate(file: folder.appendingPathComponent(ModelFolder.configFile).path)
        let weights = folder.appendingPathComponent(ModelFolder.weightsFile)
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw ModelFolderError("\(weights.path) is missing (convert the package's best.pt with tools/convert_latex_ocr_junia.py: ocrtune reads only safetensors)")
        }
        let model = LatexJuniaModel(config: config)
        let arrays = try loadSafeTensors(path: weights.path).arrays
        try model.update(parameters: model.sanitize(arrays), source: weights.path)
        try eval(model.parameters().map(\.array))
        return model
    }

    public static let modelTypes: Set<String> = [LatexJuniaConfig.modelTypeName]

    // MARK: Writing

    /// Writes the folder (weights in the package's PyTorch layout, so the converter's tools and
    /// the package itself can read it back).
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try ModelFolder.encodeConfig(model.config).write(to: folder.appendingPathComponent(ModelFolder.configFile))
        try saveSafeTensors(model.checkpointWeights(), metadata: ["format": "pt"], to: folder.appendingPathComponent(ModelFolder.weightsFile).path)
        try tokenizer.write(to: folder.appendingPathComponent(LatexJuniaTokenizer.fileName))
        try ModelFolder.encodeConfig(preprocessor.config).write(to: folder.appendingPathComponent(Self.preprocessorFile))
        let generation = LatexJuniaGenerationConfig(maxLength: decoding.maxLength, numBeams: decoding.numBeams, lengthPenalty: decoding.lengthPenalty)
        try ModelFolder.encodeConfig(generation).write(to: folder.appendingPathComponent(Self.generationFile))
    }

    // MARK: Inference

    /// Generated ids per image (after the BOS, with the EOS when one was generated), batched
    /// for greedy decoding and beam search alike.
    public func generate(_ images: [RGBImage], options: LatexJuniaDecodingOptions? = nil) throws -> [[Int]] {
        let g = (options ?? decoding).generationOptions(config: model.config)
        guard g.maxNewTokens >= 1 else { return images.map { _ in [] } }
        var out: [[Int]] = []
        let size = Swift.max(1, batchSize)
        for start in stride(from: 0, to: images.count, by: size) {
            let chunk = Array(images[start ..< Swift.min(start + size, images.count)])
            let pixels = preprocessor.batch(chunk)
            try withEngineErrors {
                let session = LatexJuniaSession(model: model, encoderStates: model.encode(pixels))
                out += try OCRModels.generate(session, prompts: chunk.map { _ in [model.config.bosTokenID] }, options: g)
            }
        }
        return out
    }

    /// The LaTeX of each formula image (`prompt` is ignored).
    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try generate(images).map(tokenizer.decode)
    }
}
