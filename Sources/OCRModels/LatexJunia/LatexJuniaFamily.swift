// latex-ocr-junia (image → LaTeX) as a model family.

import Foundation
import OCRImaging

public enum LatexJuniaFamily: ModelFamily {
    public static let name = "latex-ocr-junia"
    public static var modelTypes: [String] { LatexJuniaTextRecognizer.modelTypes.sorted() }
    /// `--beam-width` is taken as the number of beams too (this model's package calls it so).
    public static let readingOptions: Set<ReadingOption> = [.beamWidth, .numBeams]

    public static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader {
        let recognizer = try LatexJuniaTextRecognizer(folder: folder)
        if let batchSize = options.batchSize { recognizer.batchSize = batchSize }
        if let beams = options.numBeams ?? options.beamWidth { recognizer.decoding.numBeams = beams }
        if let lengthPenalty = options.lengthPenalty { recognizer.decoding.lengthPenalty = lengthPenalty }
        return recognizer
    }

    /// The characters of its vocabulary.
    public static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool {
        let tokenizer = try LatexJuniaTokenizer(contentsOf: folder.appendingPathComponent(LatexJuniaTokenizer.fileName))
        return { tokenizer.covers(String($0)) }
    }
}

extension LatexJuniaTextRecognizer: ModelReader {
    public func read(_ images: [RGBImage]) throws -> [Reading] {
        try generate(images).map { Reading(text: tokenizer.decode($0), tokenIDs: $0) }
    }
}
