// `ocrtune predict` for DeepSeek-OCR (v1) and DeepSeek-OCR 2: the vision–language options
// (prompt or task, generation settings) and v1's --mode.

import ArgumentParser
import Foundation
import OCRImaging
import OCRModels
import OCRText

extension PredictCommand {
    func runDeepSeekOCR(_ folder: URL) throws {
        if beamWidth != nil || whitelist != nil || whitelistFile != nil || dumpLogits != nil || chunk {
            throw CLIError("predict: --beam-width, --whitelist, --whitelist-file, --dump-logits and --chunk are not for vision–language models")
        }
        var chosen: DeepSeekOCRMode?
        if let mode {
            guard let m = DeepSeekOCRMode(rawValue: mode) else {
                throw CLIError("predict: --mode \(mode): expected \(DeepSeekOCRMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            chosen = m
        }
        let recognizer: DeepSeekOCRTextRecognizer
        do {
            recognizer = try DeepSeekOCRTextRecognizer(folder: folder, mode: chosen)
        } catch {
            throw CLIError("predict: cannot load \(model): \(error)")
        }
        recognizer.generation = generationOptions(from: recognizer.generation)
        recognizer.batchSize = batchSize
        try predictVisionLanguage(decode: { recognizer.tokenizer.decode($0, skipSpecialTokens: true) }) {
            try recognizer.generateWithStop($0, prompt: $1)
        }
    }
}
