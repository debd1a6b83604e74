// Input preprocessing of latex-ocr-junia, exactly as the package's `load_and_preprocess_image`:
// PIL `convert("L")`, scale = min(W / w, H / h), new size `max(1, round(w · scale))` (Python's
// round: half to even), PIL bilinear resize (Pillow's resampling, see OCRImaging's
// `pillowResized`), pasted centred (`(W − w′) // 2`, `(H − h′) // 2`) on a black canvas, / 255.
//
// Differences that remain: images with an alpha channel — ocrtune's decoders composite alpha
// over white, PIL's convert("L") drops it (transparent pixels take their stored colour).
//
// Reference: latex_ocr_junia/data.py (load_and_preprocess_image).

import Foundation
import MLXEngine
import OCRImaging

// MARK: - Preprocessor

public struct LatexJuniaPreprocessor: Sendable {
    public var height: Int
    public var width: Int
    public var config: LatexJuniaPreprocessorConfig

    public init(height: Int, width: Int, config: LatexJuniaPreprocessorConfig = .init()) {
        self.height = height
        self.width = width
        self.config = config
    }

    public init(config: LatexJuniaConfig, preprocessor: LatexJuniaPreprocessorConfig = .init()) {
        self.init(height: config.imageHeight, width: config.imageWidth, config: preprocessor)
    }

    /// The size an image of `w` × `h` is resized to before padding.
    public func resizedSize(width w: Int, height h: Int) -> (width: Int, height: Int) {
        let scale = Swift.min(Double(width) / Double(w), Double(height) / Double(h))
        let nw = Swift.max(1, Int((Double(w) * scale).rounded(.toNearestOrEven)))
        let nh = Swift.max(1, Int((Double(h) * scale).rounded(.toNearestOrEven)))
        return (nw, nh)
    }

    /// The 8-bit canvas the model sees: the grayscale image resized and centred on `pad_value`.
    public func canvas(_ image: RGBImage) -> GrayImage {
        precondition(image.width > 0 && image.height > 0, "latex-ocr-junia: empty image")
        let gray = image.grayscalePillow()
        let (nw, nh) = resizedSize(width: image.width, height: image.height)
        let resized = (nw, nh) == (gray.width, gray.height) ? gray : gray.pillowResized(width: nw, height: nh, resampling: config.resample)
        var pixels = [UInt8](repeating: UInt8(clamping: config.padValue), count: width * height)
        // PIL's paste at (left, top), clipped to the canvas (Python's floor division).
        let left = floorDivide(width - nw, 2), top = floorDivide(height - nh, 2)
        let x0 = Swift.max(0, left), x1 = Swift.min(width, left + nw)
        guard x1 > x0 else { return GrayImage(width: width, height: height, pixels: pixels) }
        for y in Swift.max(0, top) ..< Swift.min(height, top + nh) {
            let src = (y - top) * nw + (x0 - left)
            pixels.replaceSubrange(y * width + x0 ..< y * width + x1, with: resized.pixels[src ..< src + (x1 - x0)])
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// The network input for `images`: [N, height, width] float32 in [0, 1].
    public func batch(_ images: [RGBImage]) -> MLXArray {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(images.count * width * height)
        for image in images { bytes += canvas(image).pixels }
        // numpy: uint8 → float32, then a float32 division by 255 (not a multiplication by 1/255).
        return MLXArray(bytes, [images.count, height, width]).asType(.float32) / (1 / config.rescaleFactor)
    }
}

private func floorDivide(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
