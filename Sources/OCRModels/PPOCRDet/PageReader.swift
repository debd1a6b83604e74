// Whole pages: detect text regions, cut each out upright, recognize the lines, and return them in
// reading order with their boxes — RapidOCR's pipeline without the angle classifier (`rotate`
// instead reads each line the other way up too and keeps the more confident reading).
//
// Reference: rapidocr 3.10 main.py (preprocess_img: sides kept within 30–2000 px; vertical
// padding of very wide or low images; detect → crop → recognize; boxes mapped back; empty and
// low-score (< 0.5) lines dropped).

import CTextDetection
import Foundation
import OCRImaging

// MARK: - Results

/// One line of a page: its box in page pixels, text, recognition confidence and detection score.
public struct PageLine: Equatable, Sendable, Codable {
    public var box: [[Double]]
    public var text: String
    public var confidence: Double
    public var detectionScore: Double
    /// Whether the line read better turned 180° (with `rotate`).
    public var rotated: Bool

    enum CodingKeys: String, CodingKey {
        case box, text, confidence
        case detectionScore = "detection_score"
        case rotated
    }
}

public struct PageOptions: Sendable, Equatable {
    /// Lines below this recognition confidence are dropped (RapidOCR's text_score).
    public var textScore: Double = 0.5
    /// Also read each line turned 180° and keep the more confident reading.
    public var rotate = false
    /// RapidOCR's page bounds before detection.
    public var minSide = 30
    public var maxSide = 2000
    /// RapidOCR pads pages wider than this many heights (or lower than `minHeight`) top and bottom.
    public var widthHeightRatio = 8.0
    public var minHeight = 30

    public init() {}
}

// MARK: - Reader

public final class PageReader {
    public let detector: PPOCRTextDetector
    public let recognizer: PPOCRTextRecognizer
    public var options = PageOptions()
    /// Recognition options (batching, decoder) for the lines of a page.
    public var recognition: RecognitionOptions

    public init(detector: PPOCRTextDetector, recognizer: PPOCRTextRecognizer) {
        self.detector = detector
        self.recognizer = recognizer
        recognition = recognizer.options
    }

    /// The page's lines, in reading order.
    public func read(_ page: RGBImage) throws -> [PageLine] {
        let (detected, crops) = try detectAndCrop(page)
        let kept = crops.indices.filter { crops[$0] != nil }
        let images = kept.map { crops[$0]! }
        var results = try recognizer.recognize(images, options: recognition)
        var rotated = [Bool](repeating: false, count: images.count)
        if options.rotate, !images.isEmpty {
            let turned = try recognizer.recognize(images.map(rotated180), options: recognition)
            for i in results.indices where turned[i].confidence > results[i].confidence {
                results[i] = turned[i]
                rotated[i] = true
            }
        }
        var lines: [PageLine] = []
        for (j, i) in kept.enumerated() {
            let r = results[j]
            guard !r.text.trimmingCharacters(in: .whitespaces).isEmpty, Double(r.confidence) >= options.textScore else { continue }
            lines.append(PageLine(
                box: detected[i].points, text: r.text, confidence: Double(r.confidence), detectionScore: detected[i].score,
                rotated: rotated[j]))
        }
        return lines
    }

    /// Detected boxes (page pixels, reading order) and the upright crop of each (nil when degenerate).
    public func detectAndCrop(_ page: RGBImage) throws -> (boxes: [DetectedBox], crops: [RGBImage?]) {
        guard page.width > 0, page.height > 0 else { return ([], []) }
        // preprocess_img: the longer side at most maxSide, the shorter at least minSide.
        var image = page
        var (ratioH, ratioW) = (1.0, 1.0)
        if Swift.max(image.height, image.width) > options.maxSide {
            (image, ratioH, ratioW) = Self.resized(image, scale: Double(options.maxSide) / Double(Swift.max(image.height, image.width)))
        }
        if Swift.min(image.height, image.width) < options.minSide {
            (image, ratioH, ratioW) = Self.resized(image, scale: Double(options.minSide) / Double(Swift.min(image.height, image.width)))
        }
        // apply_vertical_padding
        var top = 0
        let (h, w) = (image.height, image.width)
        if h <= options.minHeight || Double(w) / Double(h) > options.widthHeightRatio {
            let newHeight = Swift.max(Int(Double(w) / options.widthHeightRatio), options.minHeight) * 2
            top = abs(newHeight - h) / 2
            image = Self.padded(image, top: top, bottom: top)
        }
        let boxes = try detector.detect(image)
        let crops = boxes.map { cropQuadrilateral(image, points: $0.points) }
        // map_boxes_to_original
        let mapped = boxes.map { b in
            var m = b
            m.points = b.points.map { p in
                [Swift.min(Swift.max(p[0] * ratioW, 0), Double(page.width)), Swift.min(Swift.max((p[1] - Double(top)) * ratioH, 0), Double(page.height))]
            }
            return m
        }
        return (mapped, crops)
    }

    /// reduce_max_side / increase_min_side: sides scaled, rounded to multiples of 32; the ratios back.
    static func resized(_ image: RGBImage, scale: Double) -> (RGBImage, Double, Double) {
        let rh = Swift.max(32, Int((Double(Int(Double(image.height) * scale)) / 32).rounded(.toNearestOrEven)) * 32)
        let rw = Swift.max(32, Int((Double(Int(Double(image.width) * scale)) / 32).rounded(.toNearestOrEven)) * 32)
        let out = image.resized(width: rw, height: rh)
        return (out, Double(image.height) / Double(rh), Double(image.width) / Double(rw))
    }

    /// Black rows above and below (cv2.copyMakeBorder, constant 0).
    static func padded(_ image: RGBImage, top: Int, bottom: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: top * image.width * 3)
        pixels += image.pixels
        pixels += [UInt8](repeating: 0, count: bottom * image.width * 3)
        return RGBImage(width: image.width, height: image.height + top + bottom, pixels: pixels)
    }
}

// MARK: - Annotation

/// The page with each line's box outlined (red; lines read turned 180° in blue).
public func annotatedPage(_ page: RGBImage, lines: [PageLine], thickness: Int = 2) -> RGBImage {
    var pixels = page.pixels
    for line in lines {
        var quad = line.box.flatMap { $0.map(Float.init) }
        guard quad.count == 8 else { continue }
        var color: [UInt8] = line.rotated ? [30, 90, 230] : [230, 30, 30]
        pixels.withUnsafeMutableBufferPointer {
            ctd_draw_quad($0.baseAddress, Int32(page.width), Int32(page.height), &quad, &color, Int32(thickness))
        }
    }
    return RGBImage(width: page.width, height: page.height, pixels: pixels)
}
