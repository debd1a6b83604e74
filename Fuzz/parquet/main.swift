// Fuzz/parquet — libFuzzer target for Hugging Face Parquet shards as `data build` reads them
// (Sources/OCRData/ParquetIO.swift and Importers.swift compiled with swiftc; the Arrow shim and
// pyarrow's libarrow/libparquet linked uninstrumented, so coverage guidance sees the Swift side
// and the shim's return codes only). The bytes are written to a `.parquet` file and read by
// ParquetImporter (image struct / binary column, text, metadata columns), then every cell of
// every column through ParquetBatch. A bad file is a DataError naming it; nothing may trap.

import Foundation

private let folder = fuzzScratchFolder("parquet")
private let file = (folder ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent("shard.parquet")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard folder != nil, let data else { return 0 }
    guard writeFuzzInput(data, size, to: file) else { return 0 }
    do {
        try ParquetImporter.read(file, options: ImportOptions()) { item in
            switch item {
            case .record(let record): precondition(record.source.file == file.path, "record names \(record.source.file)")
            case .rejected(let rejection): precondition(rejection.source.file == file.path, "rejection names \(rejection.source.file)")
            }
        }
    } catch is DataError {
    } catch {
        fatalError("untyped error: \(error)")
    }
    do {
        let reader = try ParquetFileReader(url: file)
        _ = (reader.rowGroupRowCounts(), reader.schemaMetadata("huggingface"))
        for group in 0 ..< min(reader.rowGroupCount, 16) {
            let batch = try reader.readRowGroup(group)
            for row in 0 ..< min(batch.rowCount, 64) {
                for column in reader.columns.indices {
                    _ = try batch.text(column: column, row: row)
                    _ = try? batch.bytes(column: column, row: row)
                    _ = try? batch.imagePath(column: column, row: row)
                }
            }
        }
    } catch is DataError {
    } catch {
        fatalError("untyped error: \(error)")
    }
    return 0
}
