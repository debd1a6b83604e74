// Resizing, grayscale, cropping, normalization and hashing of RGBImage (pixel loops in CImageCodecs).

import CImageCodecs
import Foundation

// MARK: - Gray images

/// An 8-bit single-channel image, row-major, no padding.
public struct GrayImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height, "GrayImage: \(pixels.count) bytes do not fill \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Bilinear resize with the same convention as `RGBImage.resized(width:height:)`.
    public func resized(width: Int, height: Int) -> GrayImage {
        GrayImage(width: width, height: height, pixels: resizePixels(pixels, self.width, self.height, 1, width, height))
    }

    /// The gray value replicated into R, G and B.
    public func rgb() -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count * 3)
        _ = cic_gray_to_rgb(pixels, pixels.count, &out)
        return RGBImage(width: width, height: height, pixels: out)
    }
}

/// How `normalized(...)` lays out channels.
public enum ChannelLayout: String, Codable, Sendable {
    /// Planar channels: C × H × W (PyTorch / PaddlePaddle convention).
    case chw
    /// Interleaved channels: H × W × C (MLX convolution convention).
    case hwc
}

// MARK: - RGBImage transforms

extension RGBImage {
    /// Bilinear resize, bit-compatible in intent with OpenCV's `cv::resize(src, dst, Size(width,
    /// height), 0, 0, INTER_LINEAR)` on 8-bit images, which PP-OCR preprocessing uses.
    ///
    /// Convention (half-pixel centers): destination pixel `dx` samples source coordinate
    /// `sx = (dx + 0.5) · (srcWidth / width) − 0.5` (same for y); coordinates outside
    /// `[0, srcWidth − 1]` clamp to the border pixel. Weights are quantized to 11 bits and the two
    /// passes (horizontal then vertical) use OpenCV's fixed-point rounding. An exact 2× reduction
    /// in both axes is the rounded mean of each 2×2 block (OpenCV's INTER_AREA fast path);
    /// an unchanged size copies. This is *not* the `align_corners=True` convention.
    public func resized(width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resized: target \(width)×\(height) is empty")
        return RGBImage(width: width, height: height, pixels: resizePixels(pixels, self.width, self.height, 3, width, height))
    }

    /// Resized to `height`, keeping the aspect ratio: width = max(1, round(height · aspectRatio)).
    public func resized(height: Int) -> RGBImage {
        resized(width: max(1, Int((Double(height) * aspectRatio).rounded())), height: height)
    }

    /// BT.601 luma as OpenCV 4's COLOR_RGB2GRAY: (9798·R + 19235·G + 3735·B + 2¹⁴) >> 15.
    public func grayscale() -> GrayImage {
        var out = [UInt8](repeating: 0, count: width * height)
        _ = cic_rgb_to_gray(pixels, width * height, &out)
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// The rectangle `[x, x + width) × [y, y + height)`, clipped to the image (nil when empty).
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage? {
        let x0 = max(0, min(x, width)), y0 = max(0, min(y, height))
        let x1 = max(x0, min(x + w, width)), y1 = max(y0, min(y + h, height))
        guard x1 > x0, y1 > y0 else { return nil }
        var out = [UInt8](repeating: 0, count: (x1 - x0) * (y1 - y0) * 3)
        _ = cic_crop(pixels, Int32(width), Int32(height), 3, Int32(x0), Int32(y0), Int32(x1 - x0), Int32(y1 - y0), &out)
        return RGBImage(width: x1 - x0, height: y1 - y0, pixels: out)
    }

    /// Floats `(v / 255 − mean[c]) / std[c]`, written into a row stride of `paddedWidth ≥ width`
    /// (the padding holds `padValue`). PP-OCR uses mean = std = 0.5 (values in [−1, 1]).
    public func normalized(mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5],
                           layout: ChannelLayout = .chw, paddedWidth: Int? = nil, padValue: Float = 0) -> [Float] {
        precondition(mean.count == 3 && std.count == 3, "normalized: mean and std need 3 values")
        let outWidth = max(width, paddedWidth ?? width)
        var out = [Float](repeating: padValue, count: outWidth * height * 3)
        _ = cic_normalize_rgb(pixels, Int32(width), Int32(height), mean, std, layout == .chw ? 1 : 0, Int32(outWidth), &out)
        return out
    }

    /// Writes `normalized(...)` values into `out`, which must hold 3 × height × paddedWidth floats
    /// (the padding is left untouched).
    public func normalize(into out: UnsafeMutablePointer<Float>, mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5],
                          layout: ChannelLayout = .chw, paddedWidth: Int? = nil) {
        precondition(mean.count == 3 && std.count == 3, "normalize: mean and std need 3 values")
        _ = cic_normalize_rgb(pixels, Int32(width), Int32(height), mean, std, layout == .chw ? 1 : 0,
                              Int32(max(width, paddedWidth ?? width)), out)
    }

    /// 64-bit difference hash (dHash): grayscale, resize to 9×8, bit `y·8 + x` set when pixel
    /// (x, y) is brighter than (x+1, y). Near-identical images have a small Hamming distance.
    public func differenceHash() -> UInt64 {
        var hash: UInt64 = 0
        if width > 0, height > 0 { _ = cic_dhash(pixels, Int32(width), Int32(height), &hash) }
        return hash
    }
}

/// Number of differing bits between two hashes.
public func hammingDistance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

func resizePixels(_ src: [UInt8], _ sw: Int, _ sh: Int, _ channels: Int, _ dw: Int, _ dh: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: dw * dh * channels)
    let status = cic_resize_bilinear(src, Int32(sw), Int32(sh), Int32(channels), &out, Int32(dw), Int32(dh))
    precondition(status == 0, "resize: \(String(cString: cic_last_error()))")
    return out
}
