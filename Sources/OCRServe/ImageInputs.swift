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
        let bytes = try payload(param) { () throws(ImagePayload.Failure) in
            try ImagePayload.fromDataURL(url, maxBytes: limits.maxImageBytes)
        }
        return try decode(bytes, param: param)
    }

    /// An image from base64 text (whitespace allowed).
    func fromBase64<S: StringProtocol>(_ text: S, param: String) throws -> RGBImage {
        let bytes = try payload(param) { () throws(ImagePayload.Failure) in
            try ImagePayload.fromBase64(text, maxBytes: limits.maxImageBytes)
        }
        return try decode(bytes, param: param)
    }

    /// The request's error for a payload that is not an image's bytes.
    private func payload(_ param: String, _ parse: () throws(ImagePayload.Failure) -> Data) throws(ServeError) -> Data {
        do {
            return try parse()
        } catch {
            switch error {
            case .notDataURL:
                throw ServeError.badRequest("\(param) must be a data: URL (data:image/png;base64,...)", param: param, code: "invalid_image_url")
            case .noData:
                throw ServeError.badRequest("\(param) is a data: URL without data", param: param, code: "invalid_image_url")
            case .notBase64:
                throw ServeError.badRequest("\(param) must be base64-encoded (data:image/png;base64,...)", param: param, code: "invalid_image_url")
            case .tooLarge:
                throw ServeError(.contentTooLarge, "image_too_large", "\(param) is larger than \(limits.maxImageBytes) bytes", param: param)
            case .invalidBase64:
                throw ServeError.badRequest("\(param) is not valid base64", param: param, code: "invalid_base64")
            }
        }
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
