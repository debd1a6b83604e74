// Where the CLI finds models and datasets. Model families and the dataset reader plug in here.

import Foundation
import OCRData
import OCREvaluation
import OCRImaging
import OCRModels
import OCRText

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
            let width = try? ImageCodec.probe(bytes).width
            return EvalSample(id: id, reference: sample.text, imageBytes: bytes, width: width, metadata: sample.metadata) {
                try RGBImage(encoded: bytes)
            }
        }
    }
}

/// Decodes an image file (PNG, JPEG, WebP, BMP, TIFF, GIF); errors name the file.
func loadImage(path: String) throws -> RGBImage {
    try ImageCodec.decode(contentsOf: URL(fileURLWithPath: path))
}

/// What characters a model can emit, for `data stats --against`.
enum ModelCoverage {
    struct TokenizerCoverage: CharacterCoverage {
        let tokenizer: Tokenizer
        /// A character is covered when it encodes without the unknown token.
        func canEmit(_ character: Character) -> Bool {
            let ids = tokenizer.encode(String(character), addSpecialTokens: false)
            return !ids.isEmpty && !ids.contains { $0 == tokenizer.specialTokenIDs.unk }
        }
    }

    static func coverage(of path: String) throws -> CharacterCoverage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("\(path): not found") }
        guard isDirectory.boolValue else { return try CharacterSetCoverage(dictionaryFile: URL(fileURLWithPath: path)) }
        let folder = URL(fileURLWithPath: path)
        let dictionary = folder.appendingPathComponent(ModelFolder.dictionaryFile)
        if FileManager.default.fileExists(atPath: dictionary.path) {
            let labels = try CharacterDictionary(contentsOf: dictionary).labels
            return CharacterSetCoverage(characters: Set(labels.compactMap { $0.count == 1 ? $0.first : nil }))
        }
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) {
            return TokenizerCoverage(tokenizer: try Tokenizer(directory: folder))
        }
        throw CLIError("\(path): neither \(ModelFolder.dictionaryFile) nor tokenizer.json (is it a model folder?)")
    }
}
