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

    func testLeftToRightLinesKeepTheirRunOrder() {
        // A stray right-to-left letter in a Chinese line stays where it is.
        XCTAssertEqual(VisualOrder.reordered("死别已春声ت。", rightToLeft: false), "死别已春声ت。")
        XCTAssertEqual(VisualOrder.reordered("Total: تسا 12", rightToLeft: false), "Total: است 12")
        XCTAssertFalse(VisualOrder.isRightToLeftParagraph(visual: "死别已春声，生别常تت。"))
        XCTAssertTrue(VisualOrder.isRightToLeftParagraph(visual: "مالس 12"))
        XCTAssertFalse(VisualOrder.isRightToLeftParagraph(logical: "OCR سلام"))
        XCTAssertTrue(VisualOrder.isRightToLeftParagraph(logical: "سلام OCR"))
    }

    func testReorderingIsItsOwnInverse() {
        for s in ["سلام دنیا", "کد 1234 است", "نرم‌افزار OCR و PDF جدید", "abc سلام 12", "می‌خواهم"] {
            XCTAssertEqual(VisualOrder.reordered(VisualOrder.reordered(s)), s, s)
        }
    }
}
