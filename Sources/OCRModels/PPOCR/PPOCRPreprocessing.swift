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
    public init(height: Int = 48, minWidth: Int = 320, bgr: Bool = true) {
        self.height = height
        self.minWidth = minWidth
        self.bgr = bgr
    }

    /// The preprocessing `network` takes (its input height, narrowest width, channel order).
    public init(network: any PPOCRNetwork) {
        self.init(height: network.inputHeight, minWidth: network.inputMinWidth, bgr: network.inputBGR)
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
                let resized = image.resized(width: rw, height: height)
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
