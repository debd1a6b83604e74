// PP-OCR training labels: one per code point, in visual (left-to-right) order.

import OCRFineTune
import XCTest

final class PPOCRLabelTests: XCTestCase {
    func testTrainingLabelsAreInVisualOrder() {
        XCTAssertEqual(PPOCRTrainable.labels(of: "ab"), ["a", "b"])
        XCTAssertEqual(PPOCRTrainable.labels(of: "بد"), ["د", "ب"])
        XCTAssertEqual(PPOCRTrainable.labels(of: "ی‌ب").count, 3)  // ZWNJ is its own label
    }
}
