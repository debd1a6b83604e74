// Qwen2.5-VL and Qwen3-VL as a model family: each image read with a prompt (or task).

import Foundation
import OCRImaging
import OCRText

public enum QwenVLFamily: ModelFamily {
    public static let name = "Qwen-VL vision–language models"
    public static let modelTypes = QwenVLVersion.allCases.map(\.rawValue)
    public static let readingOptions: Set<ReadingOption> = [.tokenLimits, .numBeams, .noRepeatNgram, .task, .sampling]
    /// Visual tokens per image the recognizer allows (larger images are resized down).
    public static let maxImageTokens = 1280

    public static func reader(at folder: URL, options: ReadingOptions) throws -> any ModelReader {
        let recognizer = try QwenVLTextRecognizer(folder: folder, maxImageTokens: maxImageTokens)
        recognizer.generation = recognizer.generation.applying(options)
        if let batchSize = options.batchSize { recognizer.batchSize = batchSize }
        recognizer.task = options.task
        return recognizer
    }

    public static func characterCoverage(at folder: URL) throws -> @Sendable (Character) -> Bool {
        try Tokenizer(directory: folder).characterCoverage
    }

    /// Under the folder's own processor bounds (image sizes only, nothing decoded).
    public static func visualTokens(at folder: URL) throws -> VisualTokenCounter? {
        let url = folder.appendingPathComponent("preprocessor_config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelFolderError("\(url.path): not found")
        }
        let config: QwenVLImageProcessorConfig
        do {
            config = try JSONDecoder().decode(QwenVLImageProcessorConfig.self, from: data)
        } catch {
            throw ModelFolderError("cannot read \(url.path): \(error)")
        }
        let processor = QwenVLImageProcessor(config: config)
        return VisualTokenCounter(bounds: "max_pixels \(config.maxPixels)", cap: maxImageTokens) {
            try processor.visualTokens(width: $0, height: $1)
        }
    }
}

extension QwenVLTextRecognizer: ModelReader {
    /// Generated text and ids (a final stop token kept, as transformers returns them) with ``task``'s prompt.
    public func read(_ images: [RGBImage]) throws -> [Reading] {
        try generateWithStop(images, prompt: task?.prompt).map {
            Reading(text: tokenizer.decode($0, skipSpecialTokens: true), tokenIDs: $0)
        }
    }
}
