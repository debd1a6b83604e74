// Model folders: `config.json` (with `model_type`), `model.safetensors` (Hugging Face parameter
// names), `dictionary.txt` (CTC class labels, see CharacterDictionary); written atomically.
// A registry maps `model_type` to a loader (as mlx-swift-lm's model factories do) returning
// OCRImaging's `TextRecognizer`, through which evaluation and training talk to models.

import Foundation
import OCRSupport
import OCRImaging

// MARK: - Conventions

public enum ModelFolder {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let dictionaryFile = "dictionary.txt"

    /// The `model_type` of the folder's config.json.
    public static func modelType(at folder: URL) throws -> String {
        struct Header: Decodable { let model_type: String? }
        let url = folder.appendingPathComponent(configFile)
        guard let data = try? Data(contentsOf: url) else {
            throw ModelFolderError("\(folder.path) is not a model folder: \(configFile) is missing")
        }
        guard let type = (try? JSONDecoder().decode(Header.self, from: data))?.model_type else {
            throw ModelFolderError("\(url.path) has no \"model_type\"")
        }
        return type
    }

    /// Decodes config.json.
    public static func readConfig<C: Decodable>(_ type: C.Type, at folder: URL) throws -> C {
        let url = folder.appendingPathComponent(configFile)
        do {
            return try JSONDecoder().decode(C.self, from: Data(contentsOf: url))
        } catch {
            throw ModelFolderError("cannot read \(url.path): \(error)")
        }
    }

    /// Encodes a config as pretty, key-sorted JSON.
    public static func encodeConfig<C: Encodable>(_ config: C) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(config)
    }

    /// Builds a folder at `destination` atomically: `body` fills a temporary sibling folder,
    /// which then replaces `destination` (an existing folder is replaced only when `overwrite`).
    public static func writeAtomically(to destination: URL, overwrite: Bool = false, _ body: (URL) throws -> Void) throws {
        if FileManager.default.fileExists(atPath: destination.path) && !overwrite {
            throw ModelFolderError("\(destination.path) already exists (pass overwrite to replace it)")
        }
        try AtomicDirectory.write(to: destination.path) { try body(URL(fileURLWithPath: $0)) }
    }
}

public struct ModelFolderError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Text recognizers and the registry

/// Batching and decoding options of CTC line recognizers (``PPOCRTextRecognizer``).
public struct RecognitionOptions: Sendable, Equatable {
    /// Lines per forward pass.
    public var batchSize: Int
    /// Batch widths are rounded up to a multiple of this (1 = PaddleOCR's exact widths; larger
    /// values reuse compiled shapes at the cost of extra padding).
    public var widthBucket: Int
    /// The widest input; wider lines are squeezed to it.
    public var maxWidth: Int
    public var decoder: CTCDecoder

    public init(batchSize: Int = 8, widthBucket: Int = 1, maxWidth: Int = 3200, decoder: CTCDecoder = .greedy) {
        self.batchSize = batchSize
        self.widthBucket = widthBucket
        self.maxWidth = maxWidth
        self.decoder = decoder
    }
}

/// `model_type` → loader of a model folder, giving OCRImaging's ``TextRecognizer``.
public enum OCRModelRegistry {
    public typealias Loader = @Sendable (URL) throws -> any TextRecognizer

    /// Every family's loaders.
    static var builtInLoaders: [String: Loader] {
        PPOCRTextRecognizer.registryEntries
            .merging(VisionEncoderDecoderRecognizer.registryEntries) { a, _ in a }
            .merging(QwenVLTextRecognizer.registryEntries) { a, _ in a }
            .merging(LatexJuniaTextRecognizer.registryEntries) { a, _ in a }
            .merging(DeepSeekOCRTextRecognizer.registryEntries) { a, _ in a }
    }

    nonisolated(unsafe) private static var loaders: [String: Loader] = builtInLoaders

    public static var modelTypes: [String] { loaders.keys.sorted() }

    public static func register(_ modelType: String, _ loader: @escaping Loader) { loaders[modelType] = loader }

    /// Loads the model folder with the loader of its `model_type`.
    public static func load(_ folder: URL) throws -> any TextRecognizer {
        let type = try ModelFolder.modelType(at: folder)
        guard let loader = loaders[type] else {
            throw ModelFolderError(
                "\(folder.path): model_type \"\(type)\" is not supported (known: \(modelTypes.joined(separator: ", ")))")
        }
        return try loader(folder)
    }
}
