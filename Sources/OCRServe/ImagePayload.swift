// The bytes of an image given as text: a `data:image/...;base64,` URL (chat `image_url` parts)
// or bare base64 (PaddleX's `file`), bounded by length before base64 decoding. Pure parsing,
// with no server or codec types, so that Fuzz/data_url compiles it alone; ImageInputs turns a
// failure into the request's 400 / 413 and the bytes into pixels.

import Foundation

enum ImagePayload {
    enum Failure: Error, Equatable {
        case notDataURL, noData, notBase64, tooLarge, invalidBase64
    }

    /// The bytes of a `data:...;base64,DATA` URL.
    static func fromDataURL(_ url: String, maxBytes: Int) throws(Failure) -> Data {
        guard url.hasPrefix("data:") else { throw .notDataURL }
        guard let comma = url.firstIndex(of: ",") else { throw .noData }
        let header = url[url.index(url.startIndex, offsetBy: 5) ..< comma]
        guard header.hasSuffix(";base64") else { throw .notBase64 }
        return try fromBase64(url[url.index(after: comma)...], maxBytes: maxBytes)
    }

    /// The bytes of base64 text (whitespace allowed).
    static func fromBase64<S: StringProtocol>(_ text: S, maxBytes: Int) throws(Failure) -> Data {
        // Base64 holds 3 bytes per 4 characters: refuse an oversized image before decoding it.
        if text.utf8.count / 4 * 3 > maxBytes + 3 { throw .tooLarge }
        let compact = text.utf8.contains(where: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            ? String(text.filter { !$0.isWhitespace }) : String(text)
        guard let data = Data(base64Encoded: compact) else { throw .invalidBase64 }
        guard data.count <= maxBytes else { throw .tooLarge }
        return data
    }
}
