// Parquet shards through the Arrow C++ shim: a writer of `image`/`text`/metadata rows and a reader of
// Hugging Face–style Parquet (image as struct<bytes, path> or binary).

import CArrowShim
import Foundation

// MARK: - Writer

/// Writes one Parquet shard: `image: struct<bytes: binary, path: string>`, `text: string`, then the
/// metadata columns (strings), snappy-compressed, a row group every `rowGroupRows` rows or
/// `rowGroupBytes` bytes of payload, whichever comes first.
public final class ParquetShardWriter {
    public let url: URL
    public let metadataColumns: [String]
    private var handle: carrow_writer?
    public private(set) var rowCount = 0

    /// The Arrow schema metadata `datasets` reads to know `image` is an Image feature.
    public static func huggingFaceSchemaMetadata(metadataColumns: [String]) -> String {
        var features: [String: Any] = [
            "image": ["_type": "Image"],
            "text": ["dtype": "string", "_type": "Value"],
        ]
        for name in metadataColumns { features[name] = ["dtype": "string", "_type": "Value"] }
        let object: [String: Any] = ["info": ["features": features]]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    public init(url: URL, metadataColumns: [String], rowGroupRows: Int = 1000, rowGroupBytes: Int = 64 << 20) throws {
        self.url = url
        self.metadataColumns = metadataColumns
        let hf = Self.huggingFaceSchemaMetadata(metadataColumns: metadataColumns)
        var out: carrow_writer?
        let status = withCStrings(metadataColumns) { names in
            withCStrings(["huggingface"]) { keys in
                withCStrings([hf]) { values in
                    carrow_writer_open(&out, url.path, names, Int32(metadataColumns.count), Int64(rowGroupRows), Int64(rowGroupBytes), keys, values, 1)
                }
            }
        }
        guard status == 0, let out else { throw DataError("\(url.path): cannot open for writing: \(lastArrowError())") }
        handle = out
    }

    deinit { if let handle { carrow_writer_free(handle) } }

    public func append(_ sample: DatasetSample) throws {
        guard let handle else { throw DataError("\(url.path): writer is closed") }
        let values: [String?] = metadataColumns.map { sample.metadata[$0] }
        let text = Array(sample.text.utf8) + [0]  // never empty, so baseAddress is never nil
        let status = sample.imageBytes.withUnsafeBytes { image in
            withOptionalCStrings(values + [sample.imagePath]) { cstrings in
                text.withUnsafeBufferPointer { t in
                    t.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(1, t.count)) { tp in
                        carrow_writer_append(handle, image.bindMemory(to: UInt8.self).baseAddress, image.count,
                                             cstrings[values.count], tp, t.count - 1, cstrings)
                    }
                }
            }
        }
        if status != 0 { throw DataError("\(url.path): row \(rowCount): \(lastArrowError())") }
        rowCount += 1
    }

    /// Flushes and writes the footer; the shard is complete only after this returns.
    public func close() throws {
        guard let handle else { return }
        let status = carrow_writer_close(handle)
        carrow_writer_free(handle)
        self.handle = nil
        if status != 0 { throw DataError("\(url.path): cannot finish: \(lastArrowError())") }
    }
}

// MARK: - Reader

/// A column of a Parquet file, as the reader classifies it.
public struct ParquetColumn: Sendable, Equatable {
    public enum Kind: Int, Sendable { case other = 0, string, binary, image, int, float, bool }
    public let name: String
    public let kind: Kind
}

/// Reads a Parquet file row group by row group.
public final class ParquetFileReader {
    public let url: URL
    public let columns: [ParquetColumn]
    public let rowCount: Int
    public let rowGroupCount: Int
    private let handle: carrow_reader

    public init(url: URL) throws {
        self.url = url
        var out: carrow_reader?
        guard carrow_reader_open(&out, url.path) == 0, let out else {
            throw DataError("\(url.path): not a readable Parquet file: \(lastArrowError())")
        }
        handle = out
        var rows: Int64 = 0, groups: Int32 = 0, count: Int32 = 0
        _ = carrow_reader_num_rows(out, &rows)
        _ = carrow_reader_num_row_groups(out, &groups)
        _ = carrow_reader_num_columns(out, &count)
        var cols: [ParquetColumn] = []
        for i in 0..<Int(count) {
            var name: UnsafePointer<CChar>?
            var kind = CARROW_OTHER
            _ = carrow_reader_column(out, Int32(i), &name, &kind)
            cols.append(ParquetColumn(name: String(cString: name!), kind: ParquetColumn.Kind(rawValue: Int(kind.rawValue)) ?? .other))
        }
        columns = cols
        rowCount = Int(rows)
        rowGroupCount = Int(groups)
    }

    deinit { carrow_reader_free(handle) }

    /// Rows in each row group, from the footer.
    public func rowGroupRowCounts() -> [Int] {
        (0..<rowGroupCount).map { g in
            var n: Int64 = 0
            _ = carrow_reader_row_group_rows(handle, Int32(g), &n)
            return Int(n)
        }
    }

    /// Index of the column named `name`.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// A schema metadata value (e.g. "huggingface").
    public func schemaMetadata(_ key: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard carrow_reader_schema_metadata(handle, key, &value) == 0, let value else { return nil }
        return String(cString: value)
    }

    /// Reads one row group into memory.
    public func readRowGroup(_ index: Int) throws -> ParquetBatch {
        var out: carrow_batch?
        guard carrow_reader_read_row_group(handle, Int32(index), &out) == 0, let out else {
            throw DataError("\(url.path): row group \(index): \(lastArrowError())")
        }
        return ParquetBatch(handle: out, source: url.path)
    }
}

/// One row group in memory.
public final class ParquetBatch {
    private let handle: carrow_batch
    private let source: String
    public let rowCount: Int

    init(handle: carrow_batch, source: String) {
        self.handle = handle
        self.source = source
        var rows: Int64 = 0
        _ = carrow_batch_num_rows(handle, &rows)
        rowCount = Int(rows)
    }

    deinit { carrow_batch_free(handle) }

    /// Bytes of a string/binary column, or of an image struct's `bytes` (nil when null).
    public func bytes(column: Int, row: Int) throws -> Data? {
        try cell(column, row, carrow_batch_bytes).map { Data($0) }
    }

    /// An image struct's `path` (nil when null or absent).
    public func imagePath(column: Int, row: Int) throws -> String? {
        try cell(column, row, carrow_batch_image_path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Any column as text (nil when null); invalid UTF-8 is repaired with U+FFFD.
    public func text(column: Int, row: Int) throws -> String? {
        try cell(column, row, carrow_batch_text).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads one cell through a shim reader: its bytes (valid while the batch lives), or nil
    /// when the cell is null. Errors name the file, row and column.
    private func cell<T>(
        _ column: Int, _ row: Int,
        _ read: (OpaquePointer?, Int32, Int64, UnsafeMutablePointer<UnsafePointer<T>?>?, UnsafeMutablePointer<Int>?,
                 UnsafeMutablePointer<Int32>?) -> Int32
    ) throws -> UnsafeRawBufferPointer? {
        var data: UnsafePointer<T>?
        var length = 0
        var isNull: Int32 = 0
        guard read(handle, Int32(column), Int64(row), &data, &length, &isNull) == 0 else {
            throw DataError("\(source): row \(row), column \(column): \(lastArrowError())")
        }
        if isNull != 0 { return nil }
        guard length > 0, let data else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: length)
    }
}

// MARK: - C string helpers

func lastArrowError() -> String { String(cString: carrow_last_error()) }

/// Calls `body` with a C array of C strings valid for its duration.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) }, body)
}

func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
