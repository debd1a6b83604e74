// Fuzz/safetensors — libFuzzer target for the safetensors reader (Sources/SafeTensors, compiled in
// with swiftc): the 8-byte length, the JSON header, the tensor table and each tensor's bytes. Every
// input must parse or throw a SafeTensorsError naming the file; nothing may trap.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let file = try SafeTensorsFile(bytes: bytes, label: "fuzz.safetensors")
        for entry in file.entries {
            let raw = file.bytes(of: entry)
            if raw.count != entry.byteCount { fatalError("tensor \(entry.name): \(raw.count) bytes, header says \(entry.byteCount)") }
            if let expected = entry.dtype.byteCount(forShape: entry.shape), expected != raw.count {
                fatalError("tensor \(entry.name): shape needs \(expected) bytes, has \(raw.count)")
            }
            _ = entry.elementCount
            switch entry.dtype.byteSize {
            case 1: _ = try file.scalars(of: entry, as: UInt8.self)
            case 2: _ = try file.scalars(of: entry, as: UInt16.self)
            case 4: _ = try file.scalars(of: entry, as: UInt32.self)
            case 8: _ = try file.scalars(of: entry, as: UInt64.self)
            default: break
            }
        }
        _ = file.metadata
    } catch let error as SafeTensorsError {
        if error.file != "fuzz.safetensors" { fatalError("error does not name the file: \(error)") }
    } catch {
        fatalError("untyped error: \(error)")
    }
    return 0
}
