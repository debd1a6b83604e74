// Where the CLI finds models, datasets and images, and how it words what goes wrong with them:
// one voice — the path, what is wrong with it, and the fix — never a Foundation error dump.

import Foundation
import OCRData
import OCREvaluation
import OCRFineTune
import OCRImaging
import OCRModels
import OCRText

// MARK: - Paths

enum ModelPath {
    /// A model folder argument: it exists, is a folder and holds config.json. A training run
    /// folder is pointed to its model/ folder.
    static func modelFolder(_ path: String, option: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(option) \(path): no such folder")
        }
        guard isDirectory.boolValue else {
            throw CLIError("\(option) \(path): a file, not a model folder (a model folder holds config.json and the weights)")
        }
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent(ModelFolder.configFile).path) else {
            if FileManager.default.fileExists(atPath: RunOrigin.url(url).path) {
                let model = url.appendingPathComponent("model")
                let hint = FileManager.default.fileExists(atPath: model.path)
                    ? "use \(model.path)"
                    : "it has no model/ yet (the run has not finished): `ocrtune export --merge \(path) --out DIR` writes one from its newest checkpoint"
                throw CLIError("\(option) \(path) is a training run folder, not a model folder: \(hint)")
            }
            throw CLIError("\(option) \(path): not a model folder (no \(ModelFolder.configFile)); `ocrtune models` lists the models ocrtune can get")
        }
        return url
    }

    /// A dataset folder argument (written by `ocrtune data build`).
    static func datasetFolder(_ path: String, option: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("\(option) \(path): no such dataset folder (make one with `ocrtune data build`)")
        }
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("dataset.json").path) else {
            throw CLIError("\(option) \(path): not a dataset folder (no dataset.json; make one with `ocrtune data build`)")
        }
        return url
    }
}

enum ImagePath {
    /// Decodes an image file (PNG, JPEG, WebP, BMP, TIFF, GIF); errors name the file and say what to do.
    static func load(_ path: String) throws -> RGBImage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path): no such file")
        }
        if isDirectory.boolValue { throw CLIError("\(path): a folder; pass its image files (e.g. \(path)/*.png)") }
        if path.lowercased().hasSuffix(".pdf") {
            throw CLIError("\(path): a PDF; convert its pages to images first, e.g. `pdftoppm -r 300 -png \(path) page`")
        }
        do {
            return try ImageCodec.decode(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ImageError {
            throw CLIError("\(path): cannot be read as an image (\(error.message))")
        }
    }
}

// MARK: - Errors

extension CLIError {
    /// A library error as one line: ocrtune's typed errors keep their own wording (they name
    /// files and fields); Foundation's are reworded (path and problem), never dumped.
    static func from(_ error: Error, doing action: String) -> CLIError {
        if let error = error as? CLIError { return error }
        return CLIError("\(action): \(describe(error))")
    }

    static func describe(_ error: Error) -> String {
        if let cocoa = error as? CocoaError {
            let path = (cocoa.userInfo[NSFilePathErrorKey] as? String) ?? (cocoa.userInfo[NSURLErrorKey] as? URL)?.path ?? "a file"
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "\(path): no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: return "\(path): permission denied"
            case .fileWriteOutOfSpace: return "\(path): no space left on the device"
            case .fileWriteFileExists: return "\(path): already exists"
            default: return "\(path): cannot be read or written (Foundation error \(cocoa.code.rawValue))"
            }
        }
        if let decoding = error as? DecodingError {
            switch decoding {
            case let .dataCorrupted(c), let .keyNotFound(_, c), let .typeMismatch(_, c), let .valueNotFound(_, c):
                let field = c.codingPath.map(\.stringValue).joined(separator: ".")
                return (field.isEmpty ? "" : "\(field): ") + c.debugDescription
            @unknown default: return "\(decoding)"
            }
        }
        if type(of: error) is NSError.Type { return (error as NSError).localizedDescription }
        return String(describing: error)
    }
}

extension Terminal {
    /// A warning on standard error.
    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }
}

// MARK: - Datasets

enum DatasetSamples {
    /// The samples of one split of a dataset folder. Ids: a metadata `id` column, else the image
    /// path the input gave, else the position in the split (also when either would repeat).
    static func load(dataset: String, split name: String) throws -> [EvalSample] {
        let split = try Split(argument: name, option: "--split")
        let reader = try DatasetReader(folder: try ModelPath.datasetFolder(dataset, option: "--data"))
        let samples = try reader.samples(in: split)
        guard !samples.isEmpty else { throw CLIError("\(dataset): the \(split.rawValue) split is empty") }
        var ids = samples.enumerated().map { $0.element.metadata["id"] ?? $0.element.imagePath ?? "\(split.rawValue)-\($0.offset)" }
        if Set(ids).count != ids.count { ids = samples.indices.map { "\(split.rawValue)-\($0)" } }
        return zip(ids, samples).map { id, sample in
            let bytes = sample.imageBytes
            let info = try? ImageCodec.probe(bytes)
            return EvalSample(
                id: id, reference: sample.text, imageBytes: bytes, width: info?.width, height: info?.height,
                metadata: sample.metadata
            ) {
                try RGBImage(encoded: bytes)
            }
        }
    }
}

extension Split {
    /// A split named on the command line: train, val (or validation) or test.
    init(argument: String, option: String) throws {
        guard let split = Split(name: argument) else {
            throw CLIError("\(option) \(argument): expected train, val (or validation) or test")
        }
        self = split
    }
}

// MARK: - Coverage

enum ModelCoverage {
    struct FamilyCoverage: CharacterCoverage {
        let emits: (Character) -> Bool
        func canEmit(_ character: Character) -> Bool { emits(character) }
    }

    /// What a model folder (or a dictionary file) can emit, for `data stats --against`.
    static func coverage(of path: String) throws -> CharacterCoverage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("--against \(path): no such model folder or dictionary file")
        }
        guard isDirectory.boolValue else { return try CharacterSetCoverage(dictionaryFile: URL(fileURLWithPath: path)) }
        let folder = try ModelPath.modelFolder(path, option: "--against")
        do {
            return FamilyCoverage(emits: try ModelFamilies.family(ofModelAt: folder).characterCoverage(at: folder))
        } catch {
            throw CLIError.from(error, doing: "--against \(path)")
        }
    }
}
