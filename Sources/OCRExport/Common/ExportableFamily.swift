// Export formats, and how a family declares the ones it writes: its `ModelFamily` descriptor
// conforms to `ExportableFamily` in its folder here (as fine-tuning attaches through
// `FineTunableFamily`), so the CLI dispatches through the registry and never names a family.

import Foundation
import OCRImaging
import OCRModels

// MARK: - Formats

/// Where an export is meant to run.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// ONNX graphs for onnxruntime (RapidOCR, PaddleX, transformers.js, optimum).
    case onnx
    /// GGUF for llama.cpp (language model + mmproj).
    case gguf
    /// A merged Hugging Face folder in transformers 5.x's key layout.
    case hf
    /// The PEFT adapter alone.
    case peft
    /// A folder mlx-vlm loads.
    case mlx
    /// A merged model folder in ocrtune's own layout (what `export --merge` writes).
    case ocrtune

    /// The numeric formats `--quantize` takes for this format, the first the default.
    public var variants: [String] {
        switch self {
        case .onnx: ["fp32", "fp16", "int8", "uint8", "q4"]
        case .gguf: ["f16", "bf16", "q8_0"]
        case .mlx: ["none", "4", "8"]
        case .hf, .peft, .ocrtune: ["none"]
        }
    }

    /// The CER tolerance of `--check` for a variant, in percentage points.
    public static func defaultTolerance(variant: String) -> Double {
        switch variant {
        case "int8", "uint8", "8": 1
        case "q4", "4": 3
        default: 0.2
        }
    }
}

// MARK: - What an export wrote

/// One numeric variant of an export and its files (paths relative to the export folder).
public struct ExportVariant: Codable, Sendable, Equatable {
    public var name: String
    public var files: [String]

    public init(name: String, files: [String]) {
        self.name = name
        self.files = files
    }
}

/// The files an export wrote.
public struct ExportManifest: Codable, Sendable, Equatable {
    public var format: String
    public var family: String
    public var variants: [ExportVariant]
    /// Files every variant shares (dictionary, tokenizer, configs).
    public var shared: [String]
    /// Where the target runtime is known to read this model differently (nil: nowhere known).
    public var notes: [String]?

    public init(format: ExportFormat, family: String, variants: [ExportVariant], shared: [String], notes: [String]? = nil) {
        self.format = format.rawValue
        self.family = family
        self.variants = variants
        self.shared = shared
        self.notes = notes
    }
}

// MARK: - Families

/// An exported variant read in its runtime, as ocrtune's own reader reads the model.
public protocol ExportRuntimeReader: ModelReader {
    /// The runtime, for the report ("onnxruntime 1.32.0").
    var runtime: String { get }
    /// The largest absolute difference between the export's outputs and `reference`'s (the
    /// model in ocrtune) on these images, and what was compared ("probabilities", "logits").
    func largestDifference(on images: [RGBImage], reference: any ModelReader) throws -> (value: Double, of: String)
}

/// A family that writes some export formats.
public protocol ExportableFamily: ModelFamily {
    /// The formats it writes.
    static var exportFormats: [ExportFormat] { get }
    /// Writes the model folder `model` in `format` (the `variants` asked for) into `folder`,
    /// which exists and is empty.
    static func export(model: URL, format: ExportFormat, variants: [String], to folder: URL) throws -> ExportManifest
    /// A reader running one variant of an export in its runtime (`--check`), or an error saying
    /// which tool checks it where that runtime is not reachable from Swift.
    static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader
    /// Writes a run's LoRA adapter alone (`--format peft`) into `folder` (exists, empty).
    static func exportAdapter(_ adapter: URL, baseModel: URL, to folder: URL) throws -> ExportManifest
}

extension ExportableFamily {
    public static func exportAdapter(_ adapter: URL, baseModel: URL, to folder: URL) throws -> ExportManifest {
        try HuggingFaceExport.writeAdapter(adapter, to: folder, family: name, baseModel: baseModel.path)
    }

    public static func runtimeReader(export folder: URL, manifest: ExportManifest, variant: String, model: URL) throws -> any ExportRuntimeReader {
        throw ExportError("--check: \(manifest.format) exports of \(name) are checked by tools/check_export.py (their runtime is Python)")
    }
}

/// The exportable family of a model folder.
public func exportableFamily(ofModelAt folder: URL) throws -> any ExportableFamily.Type {
    let family = try ModelFamilies.family(ofModelAt: folder)
    guard let exportable = family as? any ExportableFamily.Type else {
        throw ExportError("\(folder.path): \(family.name) cannot be exported in this build (only --format ocrtune)")
    }
    return exportable
}

public struct ExportError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
