// Vision encoder–decoders (TrOCR and alike, `model_type` vision-encoder-decoder) as a model family.

import Foundation
import OCRImaging
import OCRText

public enum VisionEncoderDecoderFamily: ModelFamily {
    public static let name = "vision encoder–decoders (TrOCR)"
    public static let modelTypes = [VisionEncoderDecoderConfig.modelType]
    public static let readingOptions: Set<ReadingOption> = [.tokenLimits, .numBeams, .noRepeatNgram, .chunking]

    public static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader {
        let recognizer = try VisionEncoderDecoderRecognizer(folder: folder)
        if let batchSize = options.batchSize { recognizer.batchSize = batchSize }
        recognizer.options = recognizer.options.applying(options)
        recognizer.chunking = options.chunking
        return recognizer
    }

    /// A character is covered when the tokenizer encodes it without its unknown token.
    public static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool {
        try Tokenizer(directory: folder).characterCoverage
    }
}

extension VisionEncoderDecoderRecognizer: ModelReader {
    public func read(_ images: [RGBImage]) throws -> [Reading] {
        try recognizeDetailed(images).map { Reading(text: $0.text, tokenIDs: $0.tokenIDs) }
    }
}

extension Tokenizer {
    /// Whether a character encodes without the unknown token.
    public var characterCoverage: @Sendable (Character) -> Bool {
        let tokenizer = self
        return { character in
            let ids = tokenizer.encode(String(character), addSpecialTokens: false)
            return !ids.isEmpty && !ids.contains { $0 == tokenizer.specialTokenIDs.unk }
        }
    }
}
