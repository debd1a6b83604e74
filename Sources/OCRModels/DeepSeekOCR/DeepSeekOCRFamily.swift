// DeepSeek-OCR (v1, `deepseek_vl_v2`) and DeepSeek-OCR 2 (`deepseek_ocr2`) as a model family: each
// image read with a prompt (or task), v1 in a resolution mode.

import Foundation
import OCRImaging
import OCRText

public enum DeepSeekOCRFamily: ModelFamily {
    public static let name = "DeepSeek-OCR models"
    public static let modelTypes = DeepSeekOCRVersion.allCases.map(\.rawValue)
    public static let readingOptions: Set<ReadingOption> = [.tokenLimits, .numBeams, .noRepeatNgram, .task, .sampling, .mode]

    public static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader {
        let mode = try options.mode.map { name -> DeepSeekOCRMode in
            guard let mode = DeepSeekOCRMode(rawValue: name) else {
                throw ModelFolderError("--mode \(name): expected \(DeepSeekOCRMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return mode
        }
        let recognizer = try DeepSeekOCRTextRecognizer(folder: folder, mode: mode)
        recognizer.generation = recognizer.generation.applying(options)
        if let batchSize = options.batchSize { recognizer.batchSize = batchSize }
        recognizer.task = options.task
        return recognizer
    }

    public static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool {
        try Tokenizer(directory: folder).characterCoverage
    }
}

extension DeepSeekOCRTextRecognizer: ModelReader {
    /// Generated text and ids (a final stop token kept) with ``task``'s prompt.
    public func read(_ images: [RGBImage]) throws -> [Reading] {
        try generateWithStop(images, prompt: task?.prompt).map {
            Reading(text: tokenizer.decode($0, skipSpecialTokens: true), tokenIDs: $0)
        }
    }
}
