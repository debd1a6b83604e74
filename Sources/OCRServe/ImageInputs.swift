// Images from strangers: `data:` URLs and bare base64 (PaddleX's `file`), bounded before any
// work — the encoded length before base64 decoding, the byte count, then format, width and
// height from the header (ImageCodec.probe) before a pixel is decoded, so a decompression bomb
// costs a header read. Remote `http(s)` images are fetched only from allowed hosts
// (RemoteImages). Errors name the request part and never carry the codec's message.

import Foundation
import OCRImaging

struct ImageInputs: Sendable {
    let limits: ServeLimits

    /// An image from a chat `image_url` part: a `data:image/...;base64,` URL.
    func fromDataURL(_ url: String, param: String) throws -> RGBImage {
        guard url.hasPrefix("data:") else {
            throw ServeError.badRequest("\(param) must be a data: URL (data:image/png;base64,...)", param: param, code: "invalid_image_url")
        }
        guard let comma = url.firstIndex(of: ",") else {
            throw ServeError.badRequest("\(param) is a data: URL without data", param: param, code: "invalid_image_url")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5) ..< comma]
        guard header.hasSuffix(";base64") else {
            throw ServeError.badRequest("\(param) must be base64-encoded (data:image/png;base64,...)", param: param, code: "invalid_image_url")
        }
        return try fromBase64(url[url.index(after: comma)...], param: param)
    }

    /// An image from base64 text (whitespace allowed).
    func fromBase64<S: StringProtocol>(_ text: S, param: String) throws -> RGBImage {
        // Base64 holds 3 bytes per 4 characters: refuse an oversized image before decoding it.
        if text.utf8.count / 4 * 3 > limits.maxImageBytes + 3 {
            throw ServeError(.contentTooLarge, "image_too_large", "\(param) is larger than \(limits.maxImageBytes) bytes", param: param)
        }
        let compact = text.utf8.contains(where: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            ? String(text.filter { !$0.isWhitespace }) : String(text)
        guard let data = Data(base64Encoded: compact) else {
            throw ServeError.badRequest("\(param) is not valid base64", param: param, code: "invalid_base64")
        }
        return try decode(data, param: param)
    }

    /// Probes the header, checks the limits, then decodes.
    func decode(_ data: Data, param: String) throws -> RGBImage {
        guard data.count <= limits.maxImageBytes else {
            throw ServeError(.contentTooLarge, "image_too_large", "\(param) is larger than \(limits.maxImageBytes) bytes", param: param)
        }
        let info: ImageInfo
        do {
            info = try ImageCodec.probe(data)
        } catch let error as ImageError where error.kind == .unknownFormat {
            throw ServeError.badRequest("\(param) is not a PNG, JPEG, WebP, BMP, TIFF or GIF image", param: param, code: "invalid_image")
        } catch {
            throw ServeError.badRequest("\(param) has an unreadable image header", param: param, code: "invalid_image")
        }
        guard info.width > 0, info.height > 0, info.width <= Int(Int32.max), info.height <= Int(Int32.max),
              info.width.multipliedReportingOverflow(by: info.height).overflow == false,
              info.pixelCount <= limits.maxImagePixels
        else {
            throw ServeError(.contentTooLarge, "image_too_many_pixels",
                             "\(param) is \(info.width)×\(info.height) pixels, more than \(limits.maxImagePixels)", param: param)
        }
        guard min(info.width, info.height) >= limits.minImageSide else {
            throw ServeError.badRequest("\(param) is \(info.width)×\(info.height) pixels; each side must be at least \(limits.minImageSide)",
                                        param: param, code: "image_too_small")
        }
        do {
            return try ImageCodec.decode(data, maxPixels: limits.maxImagePixels)
        } catch {
            throw ServeError.badRequest("\(param) is a corrupt or unsupported \(info.format.rawValue.uppercased()) image", param: param, code: "invalid_image")
        }
    }
}
