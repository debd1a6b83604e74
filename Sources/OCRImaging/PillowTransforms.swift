// Pillow-compatible resize and grayscale (pixel loops in CImageCodecs/pillow_resample.c), for
// model families whose training inputs were made with PIL (`Image.resize`, `convert("L")`).

import CImageCodecs
import Foundation

// MARK: - Filters

/// Pillow's resampling filters, with PIL.Image.Resampling's values (NEAREST is not provided).
public enum PillowFilter: Int32, Codable, Sendable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5
}

// MARK: - Transforms

extension GrayImage {
    /// `Image.resize((width, height), filter)` on a mode "L" image, bit-identical to Pillow
    /// (the filter's support widens with the reduction factor, unlike OpenCV's bilinear).
    public func resizedPillow(width: Int, height: Int, filter: PillowFilter = .bilinear) -> GrayImage {
        GrayImage(width: width, height: height, pixels: pillowResized(pixels, self.width, self.height, 1, width, height, filter))
    }
}

extension RGBImage {
    /// `Image.resize((width, height), filter)` on a mode "RGB" image, bit-identical to Pillow.
    public func resizedPillow(width: Int, height: Int, filter: PillowFilter = .bilinear) -> RGBImage {
        RGBImage(width: width, height: height, pixels: pillowResized(pixels, self.width, self.height, 3, width, height, filter))
    }

    /// `Image.convert("L")`: (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 — Pillow's luma, which
    /// differs from ``grayscale()`` (OpenCV's) by one level on some colours; gray stays gray.
    public func grayscalePillow() -> GrayImage {
        var out = [UInt8](repeating: 0, count: width * height)
        _ = cic_rgb_to_luma_pillow(pixels, width * height, &out)
        return GrayImage(width: width, height: height, pixels: out)
    }
}

private func pillowResized(
    _ src: [UInt8], _ sw: Int, _ sh: Int, _ channels: Int, _ dw: Int, _ dh: Int, _ filter: PillowFilter
) -> [UInt8] {
    precondition(dw > 0 && dh > 0, "resizedPillow: target \(dw)×\(dh) is empty")
    var out = [UInt8](repeating: 0, count: dw * dh * channels)
    let status = cic_resize_pillow(
        src, Int32(sw), Int32(sh), Int32(channels), &out, Int32(dw), Int32(dh), cic_pil_filter(UInt32(filter.rawValue)))
    precondition(status == 0, "resizedPillow: \(String(cString: cic_last_error()))")
    return out
}
