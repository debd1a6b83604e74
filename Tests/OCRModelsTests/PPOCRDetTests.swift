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
