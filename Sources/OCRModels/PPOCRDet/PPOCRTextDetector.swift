// The loaded DB text detector: PaddleOCR's detection preprocessing (limit the side to 736, sizes
// rounded to multiples of 32, OpenCV bilinear resize, BGR, (x/255 − 0.5)/0.5), the network, and
// DB post-processing in C (CTextDetection). Boxes come back in reading order (top to bottom, lines
// within 10 px left to right), as RapidOCR sorts them.
//
// Reference: rapidocr 3.10 ch_ppocr_det/main.py and utils.py (DetPreProcess, DBPostProcess,
// sorted_boxes); PaddleOCR tools/infer/predict_det.py.

import CTextDetection
import Foundation
import MLXEngine
import MLXNN
import OCRImaging

// MARK: - Results

/// A detected text region: four corners (top-left, top-right, bottom-right, bottom-left) in image
/// pixels and the mean text probability inside it.
public struct DetectedBox: Equatable, Sendable, Codable {
    public var points: [[Double]]
    public var score: Double

    public init(points: [[Double]], score: Double) {
        self.points = points
        self.score = score
    }

    /// The axis-aligned bounding box [x0, y0, x1, y1].
    public var bounds: [Double] {
        let xs = points.map { $0[0] }, ys = points.map { $0[1] }
        return [xs.min() ?? 0, ys.min() ?? 0, xs.max() ?? 0, ys.max() ?? 0]
    }
}

/// DB post-processing and preprocessing settings (RapidOCR's defaults).
public struct DetectionOptions: Sendable, Equatable {
    /// Side limit and which side it bounds: "min" scales the shorter side up to it (RapidOCR),
    /// "max" scales the longer side down to it (PaddleOCR's default for v5 server).
    public var limitSideLength = 736
    public var limitType = "min"
    public var threshold: Float = 0.3
    public var boxThreshold: Float = 0.5
    public var maxCandidates = 1000
    public var unclipRatio: Double = 1.6
    public var useDilation = true
    public var minSize = 3

    public init() {}
}

public struct TextDetectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Detector

public final class PPOCRTextDetector {
    public let network: PPOCRV6Detector
    /// The kernels the network runs (see ``KernelChoice``); with the fused ones, OpenBLAS is made
    /// single-threaded while they split their products over the cores.
    public var kernels: KernelChoice = .fused {
        didSet { network.useKernels(kernels) }
    }
    public var options = DetectionOptions()

    public init(network: PPOCRV6Detector) {
        self.network = network
        network.train(false)
    }

    /// Loads a folder written by `ocrtune import ppocr` from a detector's ONNX.
    public convenience init(folder: URL) throws {
        let type = try ModelFolder.modelType(at: folder)
        guard type == PPOCRV6DetConfig.smallModelType else {
            throw ModelFolderError("\(folder.path): model_type \"\(type)\" is not a text detector (pp_ocrv6_small_det)")
        }
        let network = PPOCRV6Detector(config: try ModelFolder.readConfig(PPOCRV6DetConfig.self, at: folder))
        try network.loadParameters(from: [folder.appendingPathComponent(ModelFolder.weightsFile).path])
        self.init(network: network)
    }

    /// Whether `folder` holds a text detector.
    public static func isDetector(_ folder: URL) -> Bool {
        (try? ModelFolder.modelType(at: folder)) == PPOCRV6DetConfig.smallModelType
    }

    /// The network's input size for an image (DetPreProcess.resize), or nil when it rounds to nothing.
    public func inputSize(width w: Int, height h: Int) -> (width: Int, height: Int)? {
        var ratio = 1.0
        let limit = Double(options.limitSideLength)
        if options.limitType == "max" {
            if Swift.max(h, w) > options.limitSideLength { ratio = limit / Double(Swift.max(h, w)) }
        } else if Swift.min(h, w) < options.limitSideLength {
            ratio = limit / Double(h < w ? h : w)
        }
        let rh = Int(Double(h) * ratio), rw = Int(Double(w) * ratio)
        let oh = Int((Double(rh) / 32).rounded(.toNearestOrEven)) * 32
        let ow = Int((Double(rw) / 32).rounded(.toNearestOrEven)) * 32
        return oh > 0 && ow > 0 ? (ow, oh) : nil
    }

    /// The network input for `image`: [1, H, W, 3], BGR, normalized.
    public func preprocess(_ image: RGBImage) -> MLXArray? {
        guard let size = inputSize(width: image.width, height: image.height) else { return nil }
        let resized = size.width == image.width && size.height == image.height
            ? image : image.resized(width: size.width, height: size.height)
        return PPOCRPreprocessor(height: size.height, minWidth: 1, bgr: true).batch([resized], width: size.width)
    }

    /// The text probability map [H, W] of `image` at the network's input size, evaluated.
    public func probabilityMap(_ image: RGBImage) throws -> MLXArray? {
        guard let pixels = preprocess(image) else { return nil }
        return try Threads.withSingleThreadedBLAS(if: kernels == .fused) {
            try withEngineErrors {
                let map = network(pixels).reshaped(pixels.dim(1), pixels.dim(2))
                try eval(map)
                return map
            }
        }
    }

    /// Text regions of `image`, in reading order.
    public func detect(_ image: RGBImage) throws -> [DetectedBox] {
        guard image.width > 0, image.height > 0, let map = try probabilityMap(image) else { return [] }
        return try Self.boxes(probabilities: map, width: image.width, height: image.height, options: options)
    }

    /// DB post-processing of a probability map [H, W] for an image of `width` × `height`.
    public static func boxes(probabilities map: MLXArray, width: Int, height: Int, options: DetectionOptions) throws -> [DetectedBox] {
        let (h, w) = (map.dim(0), map.dim(1))
        let values = map.asType(.float32).asArray(Float.self)
        var o = ctd_db_options(
            thresh: options.threshold, box_thresh: options.boxThreshold, max_candidates: Int32(options.maxCandidates),
            unclip_ratio: options.unclipRatio, use_dilation: options.useDilation ? 1 : 0, min_size: Int32(options.minSize))
        var out: UnsafeMutablePointer<ctd_box>?
        var count: Int32 = 0
        let rc = values.withUnsafeBufferPointer { ctd_db_boxes($0.baseAddress, Int32(h), Int32(w), &o, Int32(width), Int32(height), &out, &count) }
        guard rc == 0 else { throw TextDetectionError("DB post-processing ran out of memory (\(w)×\(h) map)") }
        defer { ctd_free(out) }
        return (0 ..< Int(count)).map { i in
            let b = out![i]
            let p = withUnsafeBytes(of: b.points) { Array($0.bindMemory(to: Float.self)) }
            return DetectedBox(points: (0 ..< 4).map { [Double(p[2 * $0]), Double(p[2 * $0 + 1])] }, score: Double(b.score))
        }
    }
}

// MARK: - Crops

/// The quadrilateral `points` (tl, tr, br, bl) of `image` warped upright, as RapidOCR's
/// get_rotate_crop_image: width and height the longer opposite sides, bicubic, replicated border;
/// turned a quarter counter-clockwise when at least 1.5 times taller than wide.
public func cropQuadrilateral(_ image: RGBImage, points: [[Double]]) -> RGBImage? {
    guard points.count == 4 else { return nil }
    func distance(_ a: [Double], _ b: [Double]) -> Double {
        // np.linalg.norm of float32 differences
        let dx = Float(a[0]) - Float(b[0]), dy = Float(a[1]) - Float(b[1])
        return Double((dx * dx + dy * dy).squareRoot())
    }
    let w = Int(Swift.max(distance(points[0], points[1]), distance(points[2], points[3])))
    let h = Int(Swift.max(distance(points[0], points[3]), distance(points[1], points[2])))
    guard w > 0, h > 0 else { return nil }
    var quad = points.flatMap { $0.map(Float.init) }
    var pixels = [UInt8](repeating: 0, count: w * h * 3)
    let rc = image.pixels.withUnsafeBufferPointer { src in
        pixels.withUnsafeMutableBufferPointer { dst in
            ctd_warp_quad(src.baseAddress, Int32(image.width), Int32(image.height), 3, &quad, Int32(w), Int32(h), dst.baseAddress)
        }
    }
    guard rc == 0 else { return nil }
    let crop = RGBImage(width: w, height: h, pixels: pixels)
    return Double(h) / Double(w) >= 1.5 ? rotatedCounterClockwise(crop) : crop
}

/// np.rot90: a quarter turn counter-clockwise.
public func rotatedCounterClockwise(_ image: RGBImage) -> RGBImage {
    let (w, h) = (image.width, image.height)
    var out = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0 ..< w {
        for x in 0 ..< h {
            let src = (x * w + (w - 1 - y)) * 3
            let dst = (y * h + x) * 3
            out[dst] = image.pixels[src]
            out[dst + 1] = image.pixels[src + 1]
            out[dst + 2] = image.pixels[src + 2]
        }
    }
    return RGBImage(width: h, height: w, pixels: out)
}

/// A half turn.
public func rotated180(_ image: RGBImage) -> RGBImage {
    var out = [UInt8](repeating: 0, count: image.pixels.count)
    let n = image.width * image.height
    for i in 0 ..< n {
        let j = n - 1 - i
        out[3 * j] = image.pixels[3 * i]
        out[3 * j + 1] = image.pixels[3 * i + 1]
        out[3 * j + 2] = image.pixels[3 * i + 2]
    }
    return RGBImage(width: image.width, height: image.height, pixels: out)
}
