// PP-OCRv6 DB detector: a tiny random transformers model exported to ONNX (BatchNorms folded
// where torch folds them), imported by role and compared with transformers' probability map;
// parameter names against transformers' state dict.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRModels
import XCTest

final class PPOCRDetTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ppocrv6")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func testTinyDetectorImportsWithTransformersConfigAndNames() throws {
        let imported = try PPOCRDetONNXImporter.load(onnxPath: fixture("tiny-det.onnx"))
        let c = imported.config
        XCTAssertEqual(c.layerListOutChannels, [16, 24, 32, 48])
        XCTAssertEqual(c.neckOutChannels, 16)
        XCTAssertEqual(c.dilatedKernelSize, 7)
        XCTAssertEqual(c.kernelList, [3, 2, 2])
        XCTAssertEqual(c.backboneConfig.blockConfigs.map(\.count), [2, 2, 2, 2])
        let keys = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: fixture("tiny-det-keys.json"))))
        let network = try imported.makeNetwork()
        XCTAssertEqual(Set(network.parameters().map(\.key)), Set(keys), "parameter names are transformers'")
    }

    func testTinyDetectorMatchesTransformers() throws {
        let network = try PPOCRDetONNXImporter.load(onnxPath: fixture("tiny-det.onnx")).makeNetwork()
        let expected = try loadSafeTensors(path: fixture("tiny-expected.safetensors")).arrays
        let map = network(try XCTUnwrap(expected["det.pixels"]))
        XCTAssertEqual(map.shape, expected["det.probabilities"]!.shape)
        let d = (map - expected["det.probabilities"]!).abs().max().item(Float.self)
        XCTAssertLessThan(d, 1e-5, "max |probability − transformers'|")
    }
}

final class DBPostProcessTests: XCTestCase {
    /// A map with one axis-aligned and one tilted text blob.
    func map(width: Int, height: Int, rects: [(Int, Int, Int, Int)]) -> MLXArray {
        var v = [Float](repeating: 0.05, count: width * height)
        for (x0, y0, x1, y1) in rects {
            for y in y0 ..< y1 { for x in x0 ..< x1 { v[y * width + x] = 0.9 } }
        }
        return MLXArray(v, [height, width])
    }

    func testAxisAlignedBlobsBecomeUnclippedBoxesInReadingOrder() throws {
        let m = map(width: 64, height: 48, rects: [(40, 10, 60, 20), (4, 11, 30, 21), (8, 30, 50, 40)])
        let boxes = try PPOCRTextDetector.boxes(probabilities: m, width: 128, height: 96, options: DetectionOptions())
        XCTAssertEqual(boxes.count, 3)
        // Reading order: the two blobs on the first line left to right, then the second line.
        XCTAssertLessThan(boxes[0].points[0][0], boxes[1].points[0][0])
        XCTAssertGreaterThan(boxes[2].points[0][1], boxes[1].points[2][1] - 10)
        // Each box grows by the unclip distance (area · 1.6 / perimeter) beyond its blob, scaled ×2.
        let b = boxes[0].bounds
        XCTAssertLessThan(b[0], 8)
        XCTAssertGreaterThan(b[2], 60)
        // The 2×2 dilation adds a row and a column of background to each blob's rectangle.
        let expected: Double = (200 * 0.9 + 31 * 0.05) / 231
        XCTAssertEqual(boxes[1].score, expected, accuracy: 1e-5)
    }

    /// A line's blob from a synthesized invoice (the detector's map of "Coffee beans", 800×736 for
    /// a 620×672 page). OpenCV 5's minAreaRect gives its rectangle exact corners; the rotating
    /// calipers as OpenCV 4.5 wrote them landed 1e-5 short, the polygon offset truncated a pixel
    /// away and the page box came out a pixel up and left (IoU 0.89 with RapidOCR's). Expected
    /// values: rapidocr 3.10's DBPostProcess with opencv-python-headless 5.0.0.93 on this map.
    func testBlobWithAChamferedEndGetsRapidOCRsBox() throws {
        let rows: [(Int, Int, Int)] = [(6, 9, 106), (7, 9, 108), (8, 9, 108), (9, 9, 108), (10, 9, 109), (11, 9, 109),
                                       (12, 9, 109), (13, 9, 108), (14, 9, 108), (15, 10, 108)]
        var v = [Float](repeating: 0.05, count: 800 * 736)
        for (y, x0, x1) in rows { for x in x0 ..< x1 { v[(276 + y) * 736 + 30 + x] = 0.9 } }
        let boxes = try PPOCRTextDetector.boxes(probabilities: MLXArray(v, [800, 736]), width: 620, height: 672, options: DetectionOptions())
        XCTAssertEqual(boxes.count, 1)
        XCTAssertEqual(boxes.first?.points, [[27, 231], [123, 231], [123, 251], [27, 251]])
        XCTAssertEqual(boxes.first?.score ?? 0, 0.8074257, accuracy: 1e-6)
    }

    /// "10.28" on a synthesized receipt (896×736 map, 384×460 page): the offset distance is
    /// 855 · 1.6 / 144 = 9.5 exactly, and Clipper rounds x − 9.5 half away from zero, so the ratio
    /// must be the double 1.6 RapidOCR passes (1.6 as a float, 1.60000002, gives 334, 187, 375, 205).
    func testOffsetDistanceUsesTheRatioAsADouble() throws {
        let rows: [(Int, [(Int, Int)])] = [
            (6, [(12, 33), (36, 37), (40, 41), (48, 49), (56, 57), (60, 68)]), (7, [(12, 69)]), (8, [(12, 69)]), (9, [(12, 69)]),
            (10, [(12, 69)]), (11, [(12, 68)]), (12, [(12, 68)]), (13, [(12, 68)]), (14, [(12, 68)]), (15, [(12, 68)]),
            (16, [(12, 68)]), (17, [(12, 68)]), (18, [(12, 69)]), (19, [(12, 68)]), (20, [(13, 68)]),
        ]
        var v = [Float](repeating: 0.05, count: 896 * 736)
        for (y, runs) in rows { for (x0, x1) in runs { for x in x0 ..< x1 { v[(370 + y) * 736 + 640 + x] = 0.9 } } }
        let boxes = try PPOCRTextDetector.boxes(probabilities: MLXArray(v, [896, 736]), width: 384, height: 460, options: DetectionOptions())
        XCTAssertEqual(boxes.first?.points, [[335, 188], [375, 188], [375, 205], [335, 205]])
        XCTAssertEqual(boxes.first?.score ?? 0, 0.8019935, accuracy: 1e-6)
    }
}

final class QuadrilateralCropTests: XCTestCase {
    func testAxisAlignedCropIsTheSubImage() throws {
        var pixels = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 37) % 251) }
        let image = RGBImage(width: 40, height: 30, pixels: pixels)
        let crop = try XCTUnwrap(cropQuadrilateral(image, points: [[5, 7], [25, 7], [25, 17], [5, 17]]))
        XCTAssertEqual(crop.width, 20)
        XCTAssertEqual(crop.height, 10)
        for y in 0 ..< 10 {
            for x in 0 ..< 20 {
                for c in 0 ..< 3 {
                    XCTAssertEqual(crop.pixels[(y * 20 + x) * 3 + c], pixels[((y + 7) * 40 + x + 5) * 3 + c], "(\(x), \(y))")
                }
            }
        }
    }
}
