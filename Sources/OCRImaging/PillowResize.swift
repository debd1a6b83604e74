// Resizing identical to Pillow's `Image.resize` (BILINEAR / BICUBIC), as used by Hugging Face
// image processors (ViT, DeiT, TrOCR, Qwen-VL): the bytes that produced a checkpoint's
// training inputs. The arithmetic is C (`cic_resize_pillow`).

import CImageCodecs
import Foundation

// MARK: - Filters

/// Pillow's resampling filters, with `PIL.Image.Resampling` values (as in
/// `preprocessor_config.json`'s `resample`).
public enum PillowResampling: Int, Sendable, Codable {
    case bilinear = 2
    case bicubic = 3

    /// The filter of a processor's `resample` value; nil for filters not implemented
    /// (NEAREST 0, LANCZOS 1, BOX 4, HAMMING 5).
    public init?(pilValue: Int) { self.init(rawValue: pilValue) }

    var cFilter: cic_pillow_filter { self == .bilinear ? CIC_PILLOW_BILINEAR : CIC_PILLOW_BICUBIC }
}

/// The order of Pillow's two resampling passes, which decides the rounding of the intermediate
/// image and so the bytes.
public enum PillowPassOrder: Sendable {
    /// Pillow ≤ 12: always horizontal, then vertical.
    case pillow12
    /// Pillow 13: vertical first when that intermediate image is smaller
    /// (in-width · out-height < out-width · in-height), else horizontal first.
    case pillow13

    var cOrder: cic_pillow_pass_order { self == .pillow12 ? CIC_PILLOW_HORIZONTAL_FIRST : CIC_PILLOW_AUTOMATIC }
}

// MARK: - RGBImage

extension RGBImage {
    /// The image resized as Pillow's `Image.resize((width, height), resample)` does (no box,
    /// no reducing gap): antialiased when shrinking, identical bytes to the Pillow version of
    /// `passOrder`.
    public func pillowResized(
        width w: Int, height h: Int, resampling: PillowResampling, passOrder: PillowPassOrder = .pillow12
    ) -> RGBImage {
        precondition(w > 0 && h > 0, "pillowResized: target \(w)×\(h) is empty")
        precondition(width > 0 && height > 0, "pillowResized: the image is empty")
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let status = cic_resize_pillow_ordered(
            pixels, Int32(width), Int32(height), 3, &out, Int32(w), Int32(h), resampling.cFilter, passOrder.cOrder)
        precondition(status == 0, "pillowResized: \(String(cString: cic_last_error()))")
        return RGBImage(width: w, height: h, pixels: out)
    }
}
