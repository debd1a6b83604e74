// Model folders: `config.json` (with `model_type`), `model.safetensors` (Hugging Face parameter
// names), `dictionary.txt` (CTC class labels, see CharacterDictionary); written atomically.
// The family registry (ModelFamily.swift) maps `model_type` to the family that loads the folder.

import Foundation
import MLXEngine
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

    /// The safetensors files of a folder: the shards named by model.safetensors.index.json, or
    /// model.safetensors. A folder with only pytorch_model.bin is refused (ocrtune never unpickles)
    /// with the conversion to run once.
    public static func weightFiles(in folder: URL) throws -> [URL] {
        let fm = FileManager.default
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: index.path) {
            struct Index: Decodable { let weight_map: [String: String] }
            let map: Index
            do {
                map = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index))
            } catch {
                throw ModelFolderError("cannot read \(index.path): \(error.localizedDescription)")
            }
            let files = Set(map.weight_map.values).sorted().map { folder.appendingPathComponent($0) }
            if let missing = files.first(where: { !fm.fileExists(atPath: $0.path) }) {
                throw ModelFolderError("\(missing.path) (named by model.safetensors.index.json) is missing")
            }
            return files
        }
        let single = folder.appendingPathComponent(weightsFile)
        if fm.fileExists(atPath: single.path) { return [single] }
        if fm.fileExists(atPath: folder.appendingPathComponent("pytorch_model.bin").path) {
            throw ModelFolderError("""
                \(folder.path) has pytorch_model.bin but no model.safetensors; ocrtune never unpickles. Convert it once with \
                transformers: model = AutoModel…from_pretrained('\(folder.path)'); model.save_pretrained('\(folder.path)', safe_serialization=True)
                """)
        }
        throw ModelFolderError("\(folder.path) has neither model.safetensors nor model.safetensors.index.json")
    }

    /// Every tensor of the folder's weight files (``weightFiles(in:)``).
    public static func readWeights(in folder: URL) throws -> [String: MLXArray] {
        var weights: [String: MLXArray] = [:]
        for file in try weightFiles(in: folder) {
            weights.merge(try loadSafeTensors(path: file.path).arrays) { a, _ in a }
        }
        return weights
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
