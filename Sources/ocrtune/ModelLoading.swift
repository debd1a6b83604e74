// Where the CLI finds models and datasets. Model families and the dataset reader plug in here.

import Foundation
import OCRData
import OCREvaluation
import OCRImaging
import OCRModels

enum ModelLoader {
    /// The recognizer for a model folder, chosen by `model_type` in its config.json.
    static func recognizer(at path: String) throws -> TextRecognizer {
        do {
            return try OCRModelRegistry.load(URL(fileURLWithPath: path))
        } catch {
            throw CLIError("\(path): \(error)")
        }
    }
}

enum DatasetSamples {
    /// The samples of one split of a dataset folder. Ids: a metadata `id` column, else the image
    /// path the input gave, else the position in the split (also when either would repeat).
    static func load(dataset: String, split: String) throws -> [EvalSample] {
        guard let which = Split(rawValue: split) else {
            throw CLIError("--split \(split): expected one of \(Split.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let reader = try DatasetReader(folder: URL(fileURLWithPath: dataset))
        let samples = try reader.samples(in: which)
        guard !samples.isEmpty else { throw CLIError("\(dataset): the \(split) split is empty") }
        var ids = samples.enumerated().map { $0.element.metadata["id"] ?? $0.element.imagePath ?? "\(split)-\($0.offset)" }
        if Set(ids).count != ids.count { ids = samples.indices.map { "\(split)-\($0)" } }
        return zip(ids, samples).map { id, sample in
            let bytes = sample.imageBytes
            return EvalSample(id: id, reference: sample.text, imageBytes: bytes) {
                try RGBImage(encoded: bytes)
            }
        }
    }
}

/// Decodes an image file (PNG, JPEG, WebP, BMP, TIFF, GIF); errors name the file.
func loadImage(path: String) throws -> RGBImage {
    try ImageCodec.decode(contentsOf: URL(fileURLWithPath: path))
}
