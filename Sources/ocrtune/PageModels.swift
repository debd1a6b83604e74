// The recognizer and detector of the page commands (`predict --detector`, `eval --task pages`,
// `data build --detect`), loaded one way: the recognizer through PP-OCR's family reader (so the
// reading options mean what they mean for lines), errors in the CLI's voice.

import Foundation
import OCRModels

enum PageModels {
    /// A PageReader of the PP-OCR recognizer at `recognizer` and the DB detector at `detector`.
    static func reader(
        recognizer: URL, detector: String, options: ReadingOptions = ReadingOptions(), doing action: String
    ) throws -> PageReader {
        let type: String
        let lines: PPOCRTextRecognizer
        do {
            type = try ModelFolder.modelType(at: recognizer)
        } catch {
            throw CLIError.from(error, doing: action)
        }
        guard PPOCRFamily.modelTypes.contains(type) else {
            throw CLIError("\(action): \(recognizer.path) is a \(type) model; whole pages are read with a PP-OCR recognizer")
        }
        do {
            lines = try PPOCRFamily.recognizer(at: recognizer, options: options)
        } catch {
            throw CLIError.from(error, doing: action)
        }
        do {
            return PageReader(detector: try PPOCRTextDetector(folder: URL(fileURLWithPath: detector)), recognizer: lines)
        } catch {
            throw CLIError("\(action): cannot load the detector \(detector): \(CLIError.describe(error))")
        }
    }
}
