// Fuzz/toml — libFuzzer target for the TOML reader of `ocrtune train --config`
// (Sources/OCRTraining/TOML.swift, compiled alone with swiftc). Every input decodes or throws a
// TOMLError naming the line; what decodes is encoded again and must read back.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    let table: [String: Any]
    do {
        table = try TOML.decode(text)
    } catch let error as TOMLError {
        if error.line < 1 { fatalError("error without a line: \(error)") }
        return 0
    } catch {
        fatalError("untyped error: \(error)")
    }
    let written = TOML.encode(table)
    do { _ = try TOML.decode(written) } catch {
        fatalError("TOML.encode wrote what TOML.decode cannot read (\(error)):\n\(written)")
    }
    return 0
}
