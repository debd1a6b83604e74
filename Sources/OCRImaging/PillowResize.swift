// Resizing and grayscale identical to Pillow's (`Image.resize`, `convert("L")`), as used by
// Hugging Face image processors (ViT, DeiT, TrOCR, Qwen-VL) and by packages that preprocess
// with PIL (latex-ocr-junia): the bytes that produced a checkpoint's training inputs. The
// arithmetic is C (`CImageCodecs/pillow_resample.c`).

import CImageCodecs
import Foundation

// MARK: - Filters

extension PillowResampling {
    var cFilter: cic_pil_filter { cic_pil_filter(UInt32(rawValue)) }
}

/// The order of Pillow's two resampling passes, which decides the rounding of the intermediate
/// image and so the bytes.
public enum PillowPassOrder: Sendable {
    /// Pillow ≤ 12: always horizontal, then vertical.
    case pillow12
    /// Pillow 13: vertical first when the height shrinks and the width does not
    /// (out-width ≥ in-width, out-height < in-height), else horizontal first.
    case pillow13

    var cOrder: cic_pil_pass_order { self == .pillow12 ? CIC_PIL_HORIZONTAL_FIRST : CIC_PIL_AUTOMATIC_ORDER }
}

// MARK: - Images

extension RGBImage {
    /// The image resized as Pillow's `Image.resize((width, height), resample)` does (no box,
    /// no reducing gap): antialiased when shrinking, identical bytes to the Pillow version of
    /// `passOrder`.
    public func pillowResized(
        width w: Int, height h: Int, resampling: PillowResampling, passOrder: PillowPassOrder = .pillow12
    ) -> RGBImage {
        // Pillow's `resize` to the image's own size returns a copy.
        if w == width && h == height { return self }
        return RGBImage(width: w, height: h, pixels: pillowResize(pixels, width, height, 3, w, h, resampling, passOrder))
    }

    /// `Image.convert("L")`: (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 — Pillow's luma, which
    /// differs from ``grayscale()`` (OpenCV's) by one level on some colours; gray stays gray.
    public func grayscalePillow() -> GrayImage {
        var out = [UInt8](repeating: 0, count: width * height)
        _ = cic_rgb_to_luma_pillow(pixels, width * height, &out)
        return GrayImage(width: width, height: height, pixels: out)
    }
}

extension GrayImage {
    /// `Image.resize((width, height), resample)` on a mode "L" image, identical bytes.
    public func pillowResized(
        width w: Int, height h: Int, resampling: PillowResampling, passOrder: PillowPassOrder = .pillow12
    ) -> GrayImage {
        if w == width && h == height { return self }
        return GrayImage(width: w, height: h, pixels: pillowResize(pixels, width, height, 1, w, h, resampling, passOrder))
    }
}

private func pillowResize(
    _ src: [UInt8], _ sw: Int, _ sh: Int, _ channels: Int, _ dw: Int, _ dh: Int, _ resampling: PillowResampling,
    _ order: PillowPassOrder
) -> [UInt8] {
    precondition(dw > 0 && dh > 0, "pillowResized: target \(dw)×\(dh) is empty")
    precondition(sw > 0 && sh > 0, "pillowResized: the image is empty")
    var out = [UInt8](repeating: 0, count: dw * dh * channels)
    let status = cic_resize_pillow_ordered(
        src, Int32(sw), Int32(sh), Int32(channels), &out, Int32(dw), Int32(dh), resampling.cFilter, order.cOrder)
    precondition(status == 0, "pillowResized: \(String(cString: cic_last_error()))")
    return out
}
