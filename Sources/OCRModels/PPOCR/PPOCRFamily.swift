// PP-OCR recognizers as a model family: `pp_ocrv5_mobile_rec` and `pp_ocrv4_mobile_rec` folders
// (written by `ocrtune import ppocr` or a fine-tune), read line by line with CTC decoding.

import Foundation
import MLXEngine
import OCRImaging

public enum PPOCRFamily: ModelFamily {
    public static let name = "PP-OCR recognizers"
    public static var modelTypes: [String] { PPOCRTextRecognizer.modelTypes.sorted() }
    public static let readingOptions: Set<ReadingOption> = [.compile, .beamWidth, .allowedCharacters]

    public static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader {
        try recognizer(at: folder, options: options)
    }

    /// The recognizer with `options` applied (batch size, compile, greedy or beam CTC, allowed characters).
    public static func recognizer(at folder: URL, options: ReadingOptions) throws -> PPOCRTextRecognizer {
        let recognizer = try PPOCRTextRecognizer(folder: folder, useCompile: options.compile)
        let decoder = options.beamWidth.map { CTCDecoder.beamSearch(width: $0, whitelist: options.allowedCharacters) }
            ?? CTCDecoder(method: .greedy, whitelist: options.allowedCharacters)
        recognizer.options = RecognitionOptions(batchSize: options.batchSize ?? recognizer.options.batchSize, decoder: decoder)
        return recognizer
    }

    /// The dictionary's single-character labels.
    public static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool {
        let labels = try CharacterDictionary(contentsOf: folder.appendingPathComponent(ModelFolder.dictionaryFile)).labels
        let characters = Set(labels.compactMap { $0.count == 1 ? $0.first : nil })
        return { characters.contains($0) }
    }
}

extension PPOCRTextRecognizer: ClassProbabilityReader {
    public func read(_ images: [RGBImage]) throws -> [Reading] {
        try recognize(images, options: options).map { Reading(text: $0.text, confidence: Double($0.confidence), tokenIDs: $0.classes) }
    }

    public func inputAndProbabilities(_ image: RGBImage) throws -> (input: MLXArray, probabilities: MLXArray) {
        let pixels = preprocessor.batch([image])
        return (pixels.squeezed(axis: 0), try probabilities(pixels).squeezed(axis: 0))
    }
}
