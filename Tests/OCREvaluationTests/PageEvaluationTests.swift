// Page scoring: ICDAR 2015 matching (IoU ≥ 0.5, one to one, "###" don't care), polygon IoU, and
// end-to-end CER over the matched lines.

import Foundation
import OCRImaging
import OCRMetrics
@testable import OCREvaluation
import XCTest

final class PageEvaluationTests: XCTestCase {
    func rect(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ text: String = "") -> PageRegion {
        PageRegion(points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], text: text)
    }

    func testIoUOfRectanglesAndRotatedSquares() {
        XCTAssertEqual(PageEvaluation.iou(rect(0, 0, 10, 10).points, rect(5, 0, 15, 10).points), 50.0 / 150.0, accuracy: 1e-12)
        XCTAssertEqual(PageEvaluation.iou(rect(0, 0, 10, 10).points, rect(20, 0, 30, 10).points), 0)
        // A square and the same square turned 45° about its centre: the octagon's area over the union.
        let diamond = [[5, 5 - 50.0.squareRoot()], [5 + 50.0.squareRoot(), 5], [5, 5 + 50.0.squareRoot()], [5 - 50.0.squareRoot(), 5]]
        let inter = 100 - 4 * pow((50.0.squareRoot() - 5), 2)
        XCTAssertEqual(PageEvaluation.iou(rect(0, 0, 10, 10).points, diamond), inter / (200 - inter), accuracy: 1e-9)
    }

    func testMatchingIsOneToOneAndSkipsDontCare() {
        let refs = [rect(0, 0, 100, 20, "total"), rect(0, 30, 100, 50, "###"), rect(0, 60, 100, 80, "date")]
        let dets = [rect(2, 1, 98, 21, "tota1"), rect(0, 0, 100, 20, "total"), rect(1, 31, 99, 49, "x"), rect(200, 0, 300, 20, "y")]
        let m = PageEvaluation.match(references: refs, detections: dets)
        XCTAssertEqual(m.matches.map { [$0.0, $0.1] }, [[0, 0]], "the first detection over 0.5 takes the reference")
        XCTAssertEqual(m.careReferences, 2)
        XCTAssertEqual(m.careDetections, 3, "the detection on the don't-care box is ignored")
    }

    func testRunScoresPagesEndToEnd() throws {
        let annotations = #"[{"bbox": [0, 0, 100, 20], "text": "total"}, {"bbox": [0, 60, 100, 80], "text": "date"}]"#
        let sample = EvalSample(id: "p0", reference: "", metadata: ["annotations": annotations]) { RGBImage(width: 120, height: 90) }
        let (metrics, records) = try PageEvaluation.run(samples: [sample]) { _ in
            [self.rect(1, 0, 99, 20, "tota1"), self.rect(300, 300, 320, 310, "noise")]
        }
        XCTAssertEqual(metrics.matched, 1)
        XCTAssertEqual(metrics.precision, 0.5)
        XCTAssertEqual(metrics.recall, 0.5)
        XCTAssertEqual(metrics.hmean, 0.5)
        XCTAssertEqual(metrics.endToEndCER, 0.2, accuracy: 1e-12, "one substitution in five characters")
        XCTAssertEqual(records[0].matches.count, 1)
        XCTAssertThrowsError(try PageEvaluation.run(samples: [EvalSample(id: "x", reference: "")]) { _ in [] })
    }
}
