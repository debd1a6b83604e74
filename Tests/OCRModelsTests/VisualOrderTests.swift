// Visual order of right-to-left text for CTC labels and outputs.

import OCRModels
import XCTest

final class VisualOrderTests: XCTestCase {
    func testLeftToRightTextIsUnchanged() {
        for s in ["一二三", "Invoice 42.50", "", "a-b c"] { XCTAssertEqual(VisualOrder.reordered(s), s) }
    }

    func testRightToLeftRunsAreReversedAndNumbersKeepTheirOrder() {
        XCTAssertEqual(VisualOrder.reordered("سلام"), "مالس")
        // Words: the line's visual order is the reverse of the words, each word reversed.
        XCTAssertEqual(VisualOrder.reordered("سلام دنیا"), "اینd مالس".replacingOccurrences(of: "d", with: "د"))
        // Digits and Latin inside Persian stay left to right, at their mirrored position.
        XCTAssertEqual(VisualOrder.reordered("کد 1234 است"), "تسا 1234 دک")
        XCTAssertEqual(VisualOrder.reordered("مبلغ ۱۲۰۰ ریال"), "لایر ۱۲۰۰ غلبم")
        XCTAssertEqual(VisualOrder.reordered("نرم‌افزار OCR جدید"), "دیدج OCR رازفا‌مرن")
    }

    func testReorderingIsItsOwnInverse() {
        for s in ["سلام دنیا", "کد 1234 است", "نرم‌افزار OCR و PDF جدید", "abc سلام 12", "می‌خواهم"] {
            XCTAssertEqual(VisualOrder.reordered(VisualOrder.reordered(s)), s, s)
        }
    }

    func testTrainingLabelsAreInVisualOrder() {
        XCTAssertEqual(PPOCRTrainable.labels(of: "ab"), ["a", "b"])
        XCTAssertEqual(PPOCRTrainable.labels(of: "بد"), ["د", "ب"])
        XCTAssertEqual(PPOCRTrainable.labels(of: "ی‌ب").count, 3)  // ZWNJ is its own label
    }
}
