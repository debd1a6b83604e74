// The one export driver: a run folder is restored on its base through its family's recipe
// (`restore(run:from:)`, adapters merged) into a temporary model folder; a model folder is used
// as it is; then the family writes the format into a temporary folder renamed to the output, so
// a half-written export never looks complete.

import Foundation
import OCRFineTune
import OCRModels
import OCRSupport

/// What to export, how, and where.
public struct ExportRequest: Sendable {
    /// A model folder, or a training run folder.
    public var source: URL
    /// A run's checkpoint, adapter or model folder (nil: its output, else its newest checkpoint).
    public var from: URL?
    public var format: ExportFormat
    /// Numeric variants (`--quantize`); empty: the format's default.
    public var variants: [String]
    public var out: URL

    public init(source: URL, from: URL? = nil, format: ExportFormat, variants: [String] = [], out: URL) {
        self.source = source
        self.from = from
        self.format = format
        self.variants = variants
        self.out = out
    }
}

/// What an export produced.
public struct ExportOutcome {
    public var manifest: ExportManifest
    /// The model folder the export was written from (a run's merged model lives in a temporary
    /// folder until ``cleanUp()``).
    public var model: URL
    /// The exporting family (nil for `--format ocrtune`, which every fine-tunable family writes).
    public var family: (any ExportableFamily.Type)?
    /// What was restored from a run and where the runtime reads the export differently, for the terminal.
    public var notes: [String]
    let temporary: URL?

    /// Removes the temporary merged model of a run.
    public func cleanUp() {
        if let temporary { try? FileManager.default.removeItem(at: temporary) }
    }
}

public enum Exporter {
    /// The file naming what an export holds.
    public static let manifestFile = "export.json"

    /// Whether `folder` is a training run (it holds run.json).
    public static func isRun(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: RunOrigin.url(folder).path)
    }

    /// Writes the export; the output folder is replaced when it exists.
    public static func run(_ request: ExportRequest) throws -> ExportOutcome {
        let variants = try checkedVariants(request.variants, format: request.format)
        var notes: [String] = []
        var temporary: URL?
        let model: URL
        if request.format == .peft { return try exportAdapter(request) }
        if isRun(request.source) {
            let origin = try RunOrigin.read(from: request.source)
            let tunable = try fineTunableFamily(ofModelAt: URL(fileURLWithPath: origin.model))
            let restored = try tunable.restore(run: request.source, from: request.from)
            notes += restored.notes
            if request.format == .ocrtune {
                try restored.writeModel(to: request.out)
                return ExportOutcome(
                    manifest: ExportManifest(format: .ocrtune, family: tunable.name, variants: [], shared: []),
                    model: request.out, family: nil, notes: notes, temporary: nil)
            }
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-export-\(UUID().uuidString.prefix(8))")
            temporary = root
            model = root.appendingPathComponent("model")
            try restored.writeModel(to: model)
        } else {
            if request.from != nil { throw ExportError("--from picks a checkpoint of a training run; \(request.source.path) is a model folder") }
            if request.format == .ocrtune {
                throw ExportError("--format ocrtune writes a training run as a model folder; \(request.source.path) already is one")
            }
            model = request.source
        }
        do {
            let family = try exportableFamily(ofModelAt: model)
            guard family.exportFormats.contains(request.format) else {
                throw ExportError(
                    "--format \(request.format.rawValue): not for \(family.name) (it exports to \(family.exportFormats.map(\.rawValue).joined(separator: ", ")))")
            }
            var manifest: ExportManifest?
            try AtomicDirectory.write(to: request.out.path) { path in
                let folder = URL(fileURLWithPath: path)
                let written = try family.export(model: model, format: request.format, variants: variants, to: folder)
                try write(written, to: folder)
                manifest = written
            }
            notes += manifest?.notes ?? []
            return ExportOutcome(manifest: manifest!, model: model, family: family, notes: notes, temporary: temporary)
        } catch {
            if let temporary { try? FileManager.default.removeItem(at: temporary) }
            throw error
        }
    }

    /// `--format peft`: the run's adapter (RUN/adapter, or --from an adapter folder) alone.
    static func exportAdapter(_ request: ExportRequest) throws -> ExportOutcome {
        guard isRun(request.source) else {
            throw ExportError("--format peft writes a training run's LoRA adapter; \(request.source.path) is not a run folder")
        }
        let origin = try RunOrigin.read(from: request.source)
        let base = URL(fileURLWithPath: origin.model)
        let family = try exportableFamily(ofModelAt: base)
        guard family.exportFormats.contains(.peft) else {
            throw ExportError("--format peft: not for \(family.name) (it exports to \(family.exportFormats.map(\.rawValue).joined(separator: ", ")))")
        }
        let adapter = request.from ?? request.source.appendingPathComponent("adapter")
        guard FileManager.default.fileExists(atPath: adapter.appendingPathComponent("adapter_config.json").path) else {
            throw ExportError(
                "\(adapter.path) holds no PEFT adapter (a LoRA run writes RUN/adapter when it finishes; a full fine-tune has none: use --format hf)")
        }
        var manifest: ExportManifest?
        try AtomicDirectory.write(to: request.out.path) { path in
            let folder = URL(fileURLWithPath: path)
            let written = try family.exportAdapter(adapter, baseModel: base, to: folder)
            try write(written, to: folder)
            manifest = written
        }
        return ExportOutcome(manifest: manifest!, model: base, family: family, notes: ["adapter from \(adapter.path)"], temporary: nil)
    }

    /// The variants of a request, checked against the format's (empty: its default).
    static func checkedVariants(_ variants: [String], format: ExportFormat) throws -> [String] {
        let wanted = variants.isEmpty ? [format.variants[0]] : variants.map { $0.lowercased() }
        for v in wanted where !format.variants.contains(v) {
            throw ExportError("--quantize \(v): not a variant of --format \(format.rawValue) (it takes \(format.variants.joined(separator: ", ")))")
        }
        var seen = Set<String>()
        return wanted.filter { seen.insert($0).inserted }
    }

    static func write(_ manifest: ExportManifest, to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: folder.appendingPathComponent(manifestFile), options: .atomic)
    }

    /// The manifest of an export folder.
    public static func manifest(of folder: URL) throws -> ExportManifest {
        let url = folder.appendingPathComponent(manifestFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ExportError("\(folder.path) is not an ocrtune export (no \(manifestFile))")
        }
        return try JSONDecoder().decode(ExportManifest.self, from: data)
    }
}
