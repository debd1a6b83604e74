// Fuzz/data_url — libFuzzer target for the images a request gives as text
// (Sources/OCRServe/ImagePayload.swift, compiled alone with swiftc): a chat `image_url` part's
// `data:...;base64,` URL and PaddleX's bare base64 `file`. A bad payload throws
// ImagePayload.Failure (the server's 400 / 413); what is accepted is within the byte limit and
// survives a base64 round trip. The accepted bytes then go to the codec shim (the image_* targets).

import Foundation

private let maxBytes = 4096

private func check(_ bytes: Data) {
    precondition(bytes.count <= maxBytes, "accepted \(bytes.count) bytes over the \(maxBytes)-byte limit")
    precondition(Data(base64Encoded: bytes.base64EncodedString()) == bytes, "base64 round trip changed the bytes")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataURL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    if let bytes = try? ImagePayload.fromDataURL(text, maxBytes: maxBytes) { check(bytes) }
    if let bytes = try? ImagePayload.fromBase64(text, maxBytes: maxBytes) { check(bytes) }
    if let bytes = try? ImagePayload.fromBase64(text.dropFirst(text.count / 2), maxBytes: maxBytes) { check(bytes) }  // a Substring
    return 0
}
