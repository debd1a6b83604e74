// A C-owned RGB buffer that the degradations work on in place, and PNG coding.

import CRender
import Foundation
import OCRImaging

/// An 8-bit RGB image owned by CRender (no copies between degradation steps).
public final class PixelBuffer {
    var raw: crender_image

    init(taking raw: crender_image) { self.raw = raw }

    /// A copy of an `RGBImage`.
    public init(_ image: RGBImage) {
        var r = crender_image()
        _ = crender_image_alloc(&r, Int32(image.width), Int32(image.height), nil)
        image.pixels.withUnsafeBufferPointer { src in
            if let base = src.baseAddress, let dst = r.data { dst.update(from: base, count: src.count) }
        }
        raw = r
    }

    /// A solid image.
    public convenience init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.init(RGBImage(width: width, height: height, fill: fill))
    }

    deinit { crender_image_free(&raw) }

    public var width: Int { Int(raw.width) }
    public var height: Int { Int(raw.height) }

    /// A copy as the project's image type.
    public var image: RGBImage {
        let n = width * height * 3
        let pixels = [UInt8](UnsafeBufferPointer(start: raw.data, count: n))
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// An independent copy.
    public func copy() -> PixelBuffer {
        var out = crender_image()
        _ = crender_image_copy(&raw, &out)
        return PixelBuffer(taking: out)
    }

    /// PNG bytes (zlib `level` 0...9; grayscale when every pixel is gray and `allowGray`).
    public func png(level: Int = 3, allowGray: Bool = true) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        guard crender_png_encode(&raw, Int32(level), allowGray ? 1 : 0, &out, &len) == 0, let bytes = out else {
            throw SynthError.io("PNG encoding failed (\(width)×\(height))")
        }
        defer { crender_free(bytes) }
        return Data(bytes: bytes, count: len)
    }

    /// Decodes a PNG (any color type; alpha is composited over white).
    public static func decodePNG(_ data: Data) throws -> PixelBuffer {
        var out = crender_image()
        var err = [CChar](repeating: 0, count: 256)
        let rc = data.withUnsafeBytes { buf in
            crender_png_decode(buf.bindMemory(to: UInt8.self).baseAddress, buf.count, &out, &err, err.count)
        }
        guard rc == 0 else { throw SynthError.io("PNG decoding failed: \(String(cString: err))") }
        return PixelBuffer(taking: out)
    }

    /// Resizes (area averaging when shrinking, bilinear when growing).
    public func resize(width: Int, height: Int) { _ = crender_resize(&raw, Int32(width), Int32(height)) }

    /// Scales to `height` keeping the aspect ratio (width at least 1).
    public func scale(toHeight h: Int) {
        guard h != height else { return }
        resize(width: Swift.max(1, Int((Double(width) * Double(h) / Double(height)).rounded())), height: h)
    }

    /// Scales to `width` keeping the aspect ratio.
    public func scale(toWidth w: Int) {
        guard w != width else { return }
        resize(width: w, height: Swift.max(1, Int((Double(height) * Double(w) / Double(width)).rounded())))
    }

    /// Adds margins of `fill`.
    public func pad(left: Int, top: Int, right: Int, bottom: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        var f: [UInt8] = [fill.0, fill.1, fill.2]
        _ = crender_pad(&raw, Int32(left), Int32(top), Int32(right), Int32(bottom), &f)
    }

    /// Mean color of the border.
    public var borderColor: (UInt8, UInt8, UInt8) {
        var c: [UInt8] = [255, 255, 255]
        crender_border_color(&raw, &c)
        return (c[0], c[1], c[2])
    }
}
