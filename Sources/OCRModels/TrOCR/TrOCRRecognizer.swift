// The loaded vision encoder–decoder recognizer (TrOCR and alike): image processor (Pillow
// resize, rescale, normalize, as transformers' ViTImageProcessor), model, tokenizer and
// generation defaults; registered under `model_type` "vision-encoder-decoder".

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRText

// MARK: - Preprocessing

/// transformers' ViTImageProcessor (PIL backend): resize to `size` with Pillow's filter,
/// `v · rescale_factor`, `(v − mean) / std`, channels first.
public struct ViTImagePreprocessor: Sendable {
    public let config: ViTImageProcessorConfig
    public let height: Int
    public let width: Int
    public let resampling: PillowResampling

    public init(config: ViTImageProcessorConfig) throws {
        self.config = config
        guard let h = config.size["height"], let w = config.size["width"], h > 0, w > 0 else {
            throw ModelFolderError("image processor: size must give \"height\" and \"width\" (got \(config.size))")
        }
        guard let filter = PillowResampling(pilValue: config.resample) else {
            throw ModelFolderError("image processor: resample \(config.resample) is not supported (2 = BILINEAR, 3 = BICUBIC)")
        }
        guard config.imageMean.count == 3, config.imageStd.count == 3 else {
            throw ModelFolderError("image processor: image_mean and image_std need 3 values")
        }
        (height, width, resampling) = (h, w, filter)
    }

    /// `pixel_values` [N, 3, height, width] (float32). Throws for an empty image, or one of
    /// another size when the processor does not resize.
    public func pixelValues(_ images: [RGBImage]) throws -> MLXArray {
        for image in images {
            if image.width == 0 || image.height == 0 { throw ModelFolderError("image processor: an image is empty") }
            if !config.doResize && (image.width != width || image.height != height) {
                throw ModelFolderError("image processor: do_resize is false and an image is \(image.width)×\(image.height), not \(width)×\(height)")
            }
        }
        let count = height * width * 3
        var values = [Float](repeating: 0, count: images.count * count)
        let scale = Float(config.rescaleFactor * 255)
        let mean = config.doNormalize ? config.imageMean.map { $0 / scale } : [0, 0, 0]
        let std = config.doNormalize ? config.imageStd.map { $0 / scale } : [1 / scale, 1 / scale, 1 / scale]
        values.withUnsafeMutableBufferPointer { buffer in
            for (i, image) in images.enumerated() {
                let resized = config.doResize && (image.width != width || image.height != height)
                    ? image.pillowResized(width: width, height: height, resampling: resampling) : image
                // (v/255 − mean/s)/(std/s) with s = rescale·255 equals (v·rescale − mean)/std.
                resized.normalize(into: buffer.baseAddress! + i * count, mean: mean, std: std, layout: .chw)
            }
        }
        return MLXArray(values, [images.count, 3, height, width])
    }
}

// MARK: - Recognizer

/// One image's generation result.
public struct GeneratedText: Sendable, Equatable {
    public var text: String
    /// Generated tokens after the decoder start token (EOS included when generated).
    public var tokenIDs: [Int]
}

public final class VisionEncoderDecoderRecognizer: TextRecognizer {
    public let model: VisionEncoderDecoder
    public let preprocessor: ViTImagePreprocessor
    public let tokenizer: Tokenizer
    /// Defaults from config.json and generation_config.json; `maxNewTokens` 256.
    public var options: GenerationOptions
    public var batchSize: Int
    /// Cut wide images into windows of the model's aspect and merge the texts.
    public var chunking: ChunkingOptions?
    public let name: String

    public var preferredBatchSize: Int { batchSize }
    public var decoderStartTokenID: Int

    public init(folder: URL, batchSize: Int = 8) throws {
        model = try VisionEncoderDecoder.load(from: folder)
        model.train(false)
        preprocessor = try ViTImagePreprocessor(config: try ViTImageProcessorConfig.load(from: folder))
        let imageSize = model.config.encoder.imageSize
        guard [preprocessor.height, preprocessor.width] == imageSize else {
            throw ModelFolderError("""
                \(folder.path): the image processor's size \(preprocessor.height)×\(preprocessor.width) differs from the \
                encoder's image_size \(imageSize[0])×\(imageSize[1]) (position embeddings are not interpolated)
                """)
        }
        do {
            tokenizer = try Tokenizer(directory: folder)
        } catch {
            throw ModelFolderError("\(folder.path): cannot load the tokenizer: \(error)")
        }
        let config = model.config
        let defaults = GenerationDefaults.load(from: folder)
        decoderStartTokenID = defaults.decoderStartTokenID ?? config.startTokenID
        let eos = defaults.eosTokenIDs ?? [config.eosTokenID ?? config.decoder.eosTokenID ?? 2]
        options = GenerationOptions(
            maxNewTokens: 256, numBeams: defaults.numBeams ?? 1, lengthPenalty: defaults.lengthPenalty ?? 1,
            noRepeatNgramSize: defaults.noRepeatNgramSize ?? 0, earlyStopping: defaults.earlyStopping ?? .heuristic,
            eosTokenIDs: eos, padTokenID: defaults.padTokenID ?? config.padTokenID ?? config.decoder.padTokenID)
        self.batchSize = batchSize
        name = "\(config.encoder.modelType)+trocr (\(folder.lastPathComponent))"
    }

    // MARK: Inference

    /// Tokens a decoder with learned positions can hold after its start token (nil: no limit).
    public var maxNewTokensLimit: Int? {
        let decoder = model.config.decoder
        return decoder.useLearnedPositionEmbeddings ? Swift.max(0, decoder.maxPositionEmbeddings - 1) : nil
    }

    /// Token ids generated for each image (batches of ``batchSize``). A decoder with learned
    /// positions stops at its last position (transformers raises there), so no position outside its
    /// table is ever looked up.
    public func generateTokenIDs(_ images: [RGBImage], options: GenerationOptions) throws -> [[Int]] {
        var options = options
        if let limit = maxNewTokensLimit {
            options.maxNewTokens = Swift.min(options.maxNewTokens, limit)
            options.minNewTokens = Swift.min(options.minNewTokens, options.maxNewTokens)
        }
        var out: [[Int]] = []
        for start in stride(from: 0, to: images.count, by: max(1, batchSize)) {
            let batch = Array(images[start ..< min(start + max(1, batchSize), images.count)])
            let ids = try withEngineErrors { () throws -> [[Int]] in
                let encoded = model.encode(try preprocessor.pixelValues(batch))
                let session = model.session(encoderOutput: encoded)
                return try generate(session, prompts: batch.map { _ in [decoderStartTokenID] }, options: options)
            }
            out.append(contentsOf: ids)
        }
        return out
    }

    public func decode(_ ids: [Int]) -> String { tokenizer.decode(ids, skipSpecialTokens: true) }

    /// Text and token ids of each image; with ``chunking``, wide images are read window by
    /// window (their token ids are the windows' concatenated).
    public func recognizeDetailed(_ images: [RGBImage]) throws -> [GeneratedText] {
        guard let chunking else {
            return try generateTokenIDs(images, options: options).map { GeneratedText(text: decode($0), tokenIDs: $0) }
        }
        let aspect = chunking.aspect ?? Double(preprocessor.width) / Double(preprocessor.height)
        var windows: [RGBImage] = []
        var owners: [Int] = []
        for (i, image) in images.enumerated() {
            for window in chunkWindows(width: image.width, height: image.height, aspect: aspect, options: chunking) {
                windows.append(image.cropped(x: window.lowerBound, y: 0, width: window.count, height: image.height)!)
                owners.append(i)
            }
        }
        let ids = try generateTokenIDs(windows, options: options)
        return images.indices.map { i in
            let mine = owners.indices.filter { owners[$0] == i }
            let texts = mine.map { decode(ids[$0]) }
            return GeneratedText(text: mergeChunkTexts(texts, minOverlap: chunking.minMergeOverlap),
                                 tokenIDs: mine.flatMap { ids[$0] })
        }
    }

    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try recognizeDetailed(images).map(\.text)
    }
}
