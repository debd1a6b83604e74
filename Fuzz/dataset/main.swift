// Fuzz/dataset — libFuzzer target for `data build`'s text importers (Sources/OCRData/Importers.swift
// with Sample.swift and ParquetIO.swift, compiled with swiftc; the Arrow shim linked uninstrumented):
// the bytes are read as a JSON Lines / JSON array file (plain and document form, with and without
// --crop-lines) and as an `IMAGE_PATH TEXT` listing. A bad line becomes a Rejection naming the file
// and line; nothing may trap. No image is opened (importers do not decode).

import Foundation

private let folder = fuzzScratchFolder("dataset")
private let jsonFile = (folder ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent("data.jsonl")
private let listingFile = (folder ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent("listing.txt")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataset(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard folder != nil, let data else { return 0 }
    guard writeFuzzInput(data, size, to: jsonFile), writeFuzzInput(data, size, to: listingFile) else { return 0 }
    func check(_ item: ImportItem, _ file: URL) {
        switch item {
        case .record(let record):
            if record.source.file != file.path { fatalError("record names \(record.source.file), not \(file.path)") }
        case .rejected(let rejection):
            if rejection.source.file != file.path { fatalError("rejection names \(rejection.source.file), not \(file.path)") }
        }
    }
    for crop in [false, true] {
        do { try JSONImporter.read(jsonFile, options: ImportOptions(cropLines: crop)) { check($0, jsonFile) } } catch is DataError {
        } catch { fatalError("untyped error: \(error)") }
    }
    do { try ListingImporter.read(listingFile) { check($0, listingFile) } } catch is DataError {
    } catch { fatalError("untyped error: \(error)") }
    return 0
}
