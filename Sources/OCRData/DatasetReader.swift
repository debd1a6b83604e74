// Reading a dataset folder written by `data build`: its manifest, shards and samples.

import Foundation

/// A built dataset folder.
public final class DatasetReader {
    public let folder: URL
    public let manifest: DatasetManifest

    public init(folder: URL) throws {
        self.folder = folder
        manifest = try DatasetManifest.load(from: folder)
    }

    /// Shard files of a split, in order.
    public func shards(_ split: Split) -> [URL] {
        manifest.shards.filter { $0.split == split }.map { folder.appendingPathComponent($0.file) }
    }

    public func count(_ split: Split) -> Int { manifest.counts[split.rawValue] ?? 0 }

    /// Verifies every shard's SHA-256 against the manifest; returns the files that differ.
    public func verifyChecksums() throws -> [String] {
        try manifest.shards.filter { try SHA256Digest.hex(fileAt: folder.appendingPathComponent($0.file)) != $0.sha256 }.map(\.file)
    }

    /// Calls `body` with every sample of `split`, in file order, one row group in memory at a time.
    public func forEachSample(in split: Split, _ body: (DatasetSample) throws -> Void) throws {
        for url in shards(split) { try Self.forEachSample(inShard: url, body) }
    }

    /// All samples of a split (small datasets, tests).
    public func samples(in split: Split) throws -> [DatasetSample] {
        var out: [DatasetSample] = []
        try forEachSample(in: split) { out.append($0) }
        return out
    }

    /// Reads a Parquet file with an `image` (struct<bytes, path> or binary) and a `text` column;
    /// other columns become metadata.
    public static func forEachSample(inShard url: URL, imageColumn: String = "image", textColumn: String = "text",
                                     _ body: (DatasetSample) throws -> Void) throws {
        let reader = try ParquetFileReader(url: url)
        guard let image = reader.columnIndex(imageColumn) else { throw DataError("\(url.path): no \"\(imageColumn)\" column") }
        guard let text = reader.columnIndex(textColumn) else { throw DataError("\(url.path): no \"\(textColumn)\" column") }
        let others = reader.columns.indices.filter { $0 != image && $0 != text }
        for group in 0..<reader.rowGroupCount {
            let batch = try reader.readRowGroup(group)
            for row in 0..<batch.rowCount {
                var metadata: [String: String] = [:]
                for c in others { if let v = try batch.text(column: c, row: row) { metadata[reader.columns[c].name] = v } }
                try body(DatasetSample(
                    imageBytes: try batch.bytes(column: image, row: row) ?? Data(),
                    imagePath: reader.columns[image].kind == .image ? try batch.imagePath(column: image, row: row) : nil,
                    text: try batch.text(column: text, row: row) ?? "",
                    metadata: metadata))
            }
        }
    }
}
