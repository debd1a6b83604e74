// Input preprocessing of the PP-OCR recognizers, exactly as PaddleOCR's `resize_norm_img`:
// height 48, aspect kept (width ceil(48·w/h), capped at the batch width), OpenCV INTER_LINEAR
// resize, (x/255 − 0.5)/0.5, zero padding on the right, channels in BGR order (PaddleOCR's
// models are trained on OpenCV images; the ONNX exports expect BGR).
//
// Reference: PaddleOCR tools/infer/predict_rec.py (resize_norm_img, batching by aspect ratio),
// rapidocr_onnxruntime/ch_ppocr_rec/text_recognize.py; OpenCV modules/imgproc/src/resize.cpp
// (fixed-point INTER_LINEAR for 8-bit images).

import Foundation
import MLXEngine
import OCRImaging

// MARK: - Preprocessor

public struct PPOCRPreprocessor: Sendable {
    /// Input height (48).
    public var height: Int
    /// The narrowest batch width (320 in PaddleOCR: `max_wh_ratio` starts at 320/48).
    public var minWidth: Int
    /// Whether channels are fed as BGR.
    public var bgr: Bool
    /// The resize used (OpenCV INTER_LINEAR on 8-bit images by default); swappable, e.g. for OCRImaging's.
    public var resize: @Sendable (RGBImage, _ width: Int, _ height: Int) -> RGBImage

    public init(
        height: Int = 48, minWidth: Int = 320, bgr: Bool = true,
        resize: @escaping @Sendable (RGBImage, Int, Int) -> RGBImage = resizeBilinearOpenCV
    ) {
        self.height = height
        self.minWidth = minWidth
        self.bgr = bgr
        self.resize = resize
    }

    public init(config: PPOCRRecognizerConfig) {
        self.init(height: config.imageHeight, minWidth: config.imageWidth, bgr: config.inputBGR)
    }

    /// Width ÷ height as PaddleOCR computes it (`w * 1.0 / h`).
    public func aspectRatio(_ image: RGBImage) -> Double {
        Double(image.width) / Double(image.height)
    }

    /// The batch width PaddleOCR uses for these images: `int(48 · max(320/48, max ratio))`.
    public func batchWidth(for images: [RGBImage]) -> Int {
        let maxRatio = images.reduce(Double(minWidth) / Double(height)) { Swift.max($0, aspectRatio($1)) }
        return Int(Double(height) * maxRatio)
    }

    /// The width one image is resized to inside a batch of width `batchWidth`.
    public func resizedWidth(_ image: RGBImage, batchWidth: Int) -> Int {
        let wanted = Int((Double(height) * aspectRatio(image)).rounded(.up))
        return Swift.max(1, Swift.min(batchWidth, wanted))
    }

    /// The network input for `images`: [N, height, width, 3] float32, normalized, zero-padded on
    /// the right to `width` (default: PaddleOCR's batch width).
    public func batch(_ images: [RGBImage], width: Int? = nil) -> MLXArray {
        let w = width ?? batchWidth(for: images)
        var values = [Float](repeating: 0, count: images.count * height * w * 3)
        values.withUnsafeMutableBufferPointer { out in
            for (n, image) in images.enumerated() {
                let rw = resizedWidth(image, batchWidth: w)
                let resized = image.width == rw && image.height == height ? image : resize(image, rw, height)
                write(resized, into: out, offset: n * height * w * 3, rowStride: w * 3)
            }
        }
        return MLXArray(values, [images.count, height, w, 3])
    }

    /// Normalizes one resized image into the batch buffer, as numpy in float32:
    /// `x.astype(float32) / 255`, `-= 0.5`, `/= 0.5`.
    private func write(_ image: RGBImage, into out: UnsafeMutableBufferPointer<Float>, offset: Int, rowStride: Int) {
        let order = bgr ? [2, 1, 0] : [0, 1, 2]
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0 ..< image.height {
                for x in 0 ..< image.width {
                    let src = (y * image.width + x) * 3
                    let dst = offset + y * rowStride + x * 3
                    for c in 0 ..< 3 {
                        out[dst + c] = (Float(px[src + order[c]]) / 255 - 0.5) / 0.5
                    }
                }
            }
        }
    }
}

// MARK: - OpenCV-compatible bilinear resize

/// `cv2.resize(img, (width, height))` (INTER_LINEAR) on an 8-bit image: half-pixel centres,
/// 11-bit fixed-point coefficients, border replication, and the rounding of OpenCV's SIMD row
/// kernel (`VResizeLinearVec_32s8u`) for full 16-byte chunks and of its scalar tail otherwise.
/// A stand-in until OCRImaging provides the shared implementation.
@Sendable
public func resizeBilinearOpenCV(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    let (sw, sh, cn) = (image.width, image.height, 3)
    precondition(sw > 0 && sh > 0 && width > 0 && height > 0, "resize: empty image or size")
    let scaleX = 1.0 / (Double(width) / Double(sw))
    let scaleY = 1.0 / (Double(height) / Double(sh))
    let coefScale: Float = 2048

    // Horizontal taps.
    var xofs = [Int](repeating: 0, count: width)
    var alpha = [Int32](repeating: 0, count: width * 2)
    for dx in 0 ..< width {
        var fx = Float((Double(dx) + 0.5) * scaleX - 0.5)
        var sx = Int(fx.rounded(.down))
        fx -= Float(sx)
        if sx < 0 { fx = 0; sx = 0 }
        if sx >= sw - 1 { fx = 0; sx = sw - 1 }
        xofs[dx] = sx
        alpha[2 * dx] = cvRound((Float(1) - fx) * coefScale)
        alpha[2 * dx + 1] = cvRound(fx * coefScale)
    }
    // Vertical taps.
    var yofs = [Int](repeating: 0, count: height)
    var beta = [Int32](repeating: 0, count: height * 2)
    for dy in 0 ..< height {
        var fy = Float((Double(dy) + 0.5) * scaleY - 0.5)
        let sy = Int(fy.rounded(.down))
        fy -= Float(sy)
        yofs[dy] = sy
        beta[2 * dy] = cvRound((Float(1) - fy) * coefScale)
        beta[2 * dy + 1] = cvRound(fy * coefScale)
    }

    let rowLength = width * cn
    var out = [UInt8](repeating: 0, count: width * height * cn)
    var row0 = [Int32](repeating: 0, count: rowLength)
    var row1 = [Int32](repeating: 0, count: rowLength)
    image.pixels.withUnsafeBufferPointer { src in
        func horizontal(_ sy: Int, into row: inout [Int32]) {
            let base = sy * sw * cn
            for dx in 0 ..< width {
                let s0 = base + xofs[dx] * cn
                let s1 = xofs[dx] + 1 < sw ? s0 + cn : s0
                let (a0, a1) = (alpha[2 * dx], alpha[2 * dx + 1])
                for c in 0 ..< cn {
                    row[dx * cn + c] = Int32(src[s0 + c]) * a0 + Int32(src[s1 + c]) * a1
                }
            }
        }
        let simdEnd = rowLength / 16 * 16
        for dy in 0 ..< height {
            let sy0 = Swift.min(Swift.max(yofs[dy], 0), sh - 1)
            let sy1 = Swift.min(Swift.max(yofs[dy] + 1, 0), sh - 1)
            horizontal(sy0, into: &row0)
            horizontal(sy1, into: &row1)
            let (b0, b1) = (beta[2 * dy], beta[2 * dy + 1])
            let o = dy * rowLength
            for x in 0 ..< rowLength {
                let v: Int32
                if x < simdEnd {
                    let p0 = ((row0[x] >> 4) * b0) >> 16
                    let p1 = ((row1[x] >> 4) * b1) >> 16
                    v = (p0 + p1 + 2) >> 2
                } else {
                    v = (row0[x] * b0 + row1[x] * b1 + (1 << 21)) >> 22
                }
                out[o + x] = UInt8(clamping: v)
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}

/// `saturate_cast<short>(value)`: round half to even, as cvRound.
private func cvRound(_ value: Float) -> Int32 {
    Int32(Swift.max(-32768, Swift.min(32767, value.rounded(.toNearestOrEven))))
}
