// Image probing, decoding and PNG encoding through Debian's image libraries (CImageCodecs).

import CImageCodecs
import Foundation

// MARK: - Formats and header facts

/// An encoded image format ocrtune decodes.
public enum ImageFormat: String, Codable, Sendable, CaseIterable {
    case png, jpeg, webp, bmp, tiff, gif

    init?(_ code: cic_format) {
        switch code {
        case CIC_PNG: self = .png
        case CIC_JPEG: self = .jpeg
        case CIC_WEBP: self = .webp
        case CIC_BMP: self = .bmp
        case CIC_TIFF: self = .tiff
        case CIC_GIF: self = .gif
        default: return nil
        }
    }

    /// Format from the magic bytes only (nil when none matches).
    public static func sniff(_ data: Data) -> ImageFormat? {
        data.withUnsafeBytes { raw in
            ImageFormat(cic_sniff(raw.bindMemory(to: UInt8.self).baseAddress, raw.count))
        }
    }
}

/// What an image header says, read without decompressing any pixel.
public struct ImageInfo: Equatable, Sendable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int

    public init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }

    /// width × height.
    public var pixelCount: Int { width * height }
}

// MARK: - Errors

/// An image that could not be probed, decoded or encoded. `source` names the file (or "<memory>").
public struct ImageError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// Not a PNG, JPEG, WebP, BMP, TIFF or GIF byte stream.
        case unknownFormat = "unknown_format"
        /// A known format whose content is corrupt or unsupported.
        case corrupt
        /// The header announces more pixels than allowed; nothing was decoded.
        case tooLarge = "too_large"
        case encode
        case invalidArgument = "invalid_argument"
    }

    public let kind: Kind
    public let source: String
    public let message: String

    public var description: String { "\(source): \(message)" }
}

// MARK: - Codec

/// Decoding and encoding entry points. Decoding always yields 8-bit RGB; alpha is composited over
/// white, a GIF yields its first frame on its logical screen.
public enum ImageCodec {
    /// Pillow's default `Image.MAX_IMAGE_PIXELS`: larger images are refused as decompression bombs.
    public static let defaultMaxPixels = 89_478_485

    /// Reads format, width and height from the header only.
    public static func probe(_ data: Data, source: String = "<memory>") throws -> ImageInfo {
        var format = CIC_UNKNOWN
        var width: Int32 = 0
        var height: Int32 = 0
        let status = data.withUnsafeBytes { raw in
            cic_probe(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &format, &width, &height)
        }
        if status != 0 { throw error(status, source) }
        guard let f = ImageFormat(format) else { throw error(Int32(CIC_ERR_FORMAT), source) }
        return ImageInfo(format: f, width: Int(width), height: Int(height))
    }

    /// Decodes to RGB. Refuses (`.tooLarge`) before decoding when the header announces more than
    /// `maxPixels` pixels (0 = no limit).
    public static func decode(_ data: Data, source: String = "<memory>", maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        var out: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0
        var height: Int32 = 0
        let status = data.withUnsafeBytes { raw in
            cic_decode_rgb(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, UInt64(max(0, maxPixels)), &out, &width, &height)
        }
        if status != 0 { throw error(status, source) }
        defer { cic_free(out) }
        let count = Int(width) * Int(height) * 3
        let pixels = [UInt8](UnsafeBufferPointer(start: out, count: count))
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    /// Reads and decodes a file; errors name the file.
    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ImageError(kind: .invalidArgument, source: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path, maxPixels: maxPixels)
    }

    /// Encodes as PNG (8-bit RGB, lossless).
    public static func encodePNG(_ image: RGBImage) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = image.pixels.withUnsafeBufferPointer {
            cic_encode_png($0.baseAddress, Int32(image.width), Int32(image.height), &out, &length)
        }
        if status != 0 { throw error(status, "<png encoder>") }
        defer { cic_free(out) }
        return Data(bytes: out!, count: length)
    }

    static func error(_ status: Int32, _ source: String) -> ImageError {
        let message = String(cString: cic_last_error())
        let kind: ImageError.Kind
        switch Int(status) {
        case Int(CIC_ERR_FORMAT): kind = .unknownFormat
        case Int(CIC_ERR_TOO_LARGE): kind = .tooLarge
        case Int(CIC_ERR_ENCODE): kind = .encode
        case Int(CIC_ERR_ARGUMENT): kind = .invalidArgument
        default: kind = .corrupt
        }
        return ImageError(kind: kind, source: source, message: message.isEmpty ? kind.rawValue : message)
    }
}

// MARK: - RGBImage conveniences

extension RGBImage {
    /// Decodes an encoded image (see `ImageCodec.decode`).
    public init(encoded data: Data, source: String = "<memory>", maxPixels: Int = ImageCodec.defaultMaxPixels) throws {
        self = try ImageCodec.decode(data, source: source, maxPixels: maxPixels)
    }

    /// PNG bytes of this image (see `ImageCodec.encodePNG`).
    public func pngData() throws -> Data { try ImageCodec.encodePNG(self) }
}
