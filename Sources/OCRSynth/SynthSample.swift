// The output of synthesis: a stream of samples into a sink. `ListingFolderSink` writes a folder
// that `ocrtune data build` ingests; the dataset writer of OCRData plugs in as another sink.

import Foundation

// MARK: Samples

/// A labelled region of a document sample.
public struct SynthAnnotation: Codable, Sendable, Equatable {
    /// [x1, y1, x2, y2] in pixels of the sample image (x2, y2 exclusive), as the document form
    /// of `data build` reads it.
    public var bbox: [Int]
    public var text: String
    /// Field name (vendor, date, invoice_number, total, line_item, …).
    public var category: String

    public init(bbox: [Int], text: String, category: String) {
        self.bbox = bbox
        self.text = text
        self.category = category
    }
}

/// One synthesized sample.
public struct SynthSample: Sendable {
    /// Position in the run (file names derive from it; skipped indices leave gaps).
    public var index: Int
    /// Encoded PNG.
    public var png: Data
    public var width: Int
    public var height: Int
    /// The label (normalized LaTeX for formulas; the full text for documents).
    public var text: String
    /// Generator parameters: font, size, each applied degradation and its value, …
    public var parameters: [String: String]
    /// Field annotations (documents only).
    public var annotations: [SynthAnnotation]

    public init(index: Int, png: Data, width: Int, height: Int, text: String, parameters: [String: String],
                annotations: [SynthAnnotation] = []) {
        self.index = index
        self.png = png
        self.width = width
        self.height = height
        self.text = text
        self.parameters = parameters
        self.annotations = annotations
    }

    /// The image file name used by folder writers: six-digit index.
    public var fileName: String { String(format: "%06d.png", index) }
}

/// A sample that was not made, and why.
public struct SynthSkip: Codable, Sendable, Equatable {
    public var index: Int
    public var text: String
    public var reason: String
}

/// Totals of a run.
public struct SynthReport: Codable, Sendable {
    public var written: Int = 0
    public var skipped: [SynthSkip] = []
    public var seconds: Double = 0
    public init() {}
}

/// Progress of a run, reported after each chunk.
public struct SynthProgress: Sendable {
    public var done: Int
    public var total: Int
    public var written: Int
    public var skipped: Int
}

// MARK: Sinks

/// Receives samples in index order. Swap implementations to change the output format.
public protocol SynthSink: AnyObject {
    func write(_ sample: SynthSample) throws
    /// Called once after the last sample; a sink that stages output commits it here.
    func finish(_ report: SynthReport) throws
    /// Called instead of `finish` when the run failed: drop staged output.
    func abandon()
}

extension SynthSink {
    public func abandon() {}
}

/// Keeps samples in memory (tests, small runs, piping into another writer).
public final class MemorySink: SynthSink {
    public private(set) var samples: [SynthSample] = []
    public private(set) var report: SynthReport?
    public init() {}
    public func write(_ sample: SynthSample) throws { samples.append(sample) }
    public func finish(_ report: SynthReport) throws { self.report = report }
}

/// Writes a listing folder: `images/NNNNNN.png`, `listing.tsv` (`path<TAB>text`, with `\t`,
/// `\n` and `\\` escaped in the text), `metadata.jsonl` (path, text, source `synth:N`, parameters, annotations per
/// line) and `skipped.jsonl`. Everything goes to a temporary sibling folder that is renamed
/// onto `directory` in `finish`, so a folder that exists is complete.
public final class ListingFolderSink: SynthSink {
    public let directory: URL
    private let staging: URL
    private var listing: FileHandle
    private var metadata: FileHandle
    private let encoder: JSONEncoder

    /// Fails when `directory` exists and is not empty, unless `overwrite`.
    public init(directory: URL, overwrite: Bool = false) throws {
        let fm = FileManager.default
        self.directory = directory
        if fm.fileExists(atPath: directory.path) {
            let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
            if !contents.isEmpty && !overwrite {
                throw SynthError.io("\(directory.path): exists and is not empty (use --overwrite)")
            }
        }
        staging = directory.deletingLastPathComponent()
            .appendingPathComponent(".\(directory.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging.appendingPathComponent("images"), withIntermediateDirectories: true)
            _ = fm.createFile(atPath: staging.appendingPathComponent("listing.tsv").path, contents: nil)
            _ = fm.createFile(atPath: staging.appendingPathComponent("metadata.jsonl").path, contents: nil)
            listing = try FileHandle(forWritingTo: staging.appendingPathComponent("listing.tsv"))
            metadata = try FileHandle(forWritingTo: staging.appendingPathComponent("metadata.jsonl"))
        } catch {
            throw SynthError.io("\(staging.path): \(error.localizedDescription)")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    /// Escapes a label for one TSV field.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    private struct Record: Encodable {
        var path: String
        var text: String
        /// Where the sample came from, kept by `data build` as the dataset's `source` column (the
        /// listing folder may be a temporary one that is gone once the dataset is built).
        var source: String
        var width: Int
        var height: Int
        var params: [String: String]
        var annotations: [SynthAnnotation]?
    }

    public func write(_ sample: SynthSample) throws {
        let rel = "images/\(sample.fileName)"
        do {
            try sample.png.write(to: staging.appendingPathComponent(rel))
            try listing.write(contentsOf: Data("\(rel)\t\(Self.escape(sample.text))\n".utf8))  // write(_:) traps on a full disk
            let rec = Record(path: rel, text: sample.text, source: "synth:\(sample.index)", width: sample.width, height: sample.height, params: sample.parameters,
                             annotations: sample.annotations.isEmpty ? nil : sample.annotations)
            try metadata.write(contentsOf: try encoder.encode(rec) + Data("\n".utf8))
        } catch {
            throw SynthError.io("\(staging.appendingPathComponent(rel).path): \(error.localizedDescription)")
        }
    }

    public func finish(_ report: SynthReport) throws {
        let fm = FileManager.default
        try listing.close()
        try metadata.close()
        let skipped = report.skipped.map { (try? encoder.encode($0)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        try Data((skipped.joined(separator: "\n") + (skipped.isEmpty ? "" : "\n")).utf8)
            .write(to: staging.appendingPathComponent("skipped.jsonl"))
        do {
            if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
            try fm.moveItem(at: staging, to: directory)
        } catch {
            throw SynthError.io("cannot move \(staging.path) to \(directory.path): \(error.localizedDescription)")
        }
    }

    /// Removes the staging folder (a run that failed).
    public func abandon() { try? FileManager.default.removeItem(at: staging) }
}
