// The text-to-bytes step of request images (ImagePayload), without a server: what Fuzz/data_url
// runs, with the failures the server turns into 400 / 413.

import Foundation
import XCTest

@testable import OCRServe

final class ImagePayloadTests: XCTestCase {
    func testDataURLAndBase64Payloads() throws {
        let bytes = Data((0 ..< 100).map { UInt8($0 * 7 % 256) })
        let encoded = bytes.base64EncodedString()
        XCTAssertEqual(try ImagePayload.fromDataURL("data:image/png;base64," + encoded, maxBytes: 100), bytes)
        let wrapped = stride(from: 0, to: encoded.count, by: 16).map { String(encoded.dropFirst($0).prefix(16)) }.joined(separator: "\r\n")
        XCTAssertEqual(try ImagePayload.fromBase64(" " + wrapped + "\n\t", maxBytes: 120), bytes)  // the pre-check counts whitespace
        XCTAssertEqual(try ImagePayload.fromBase64(encoded.dropFirst(0), maxBytes: 100), bytes)

        func failure(_ parse: () throws(ImagePayload.Failure) -> Data) -> ImagePayload.Failure? {
            do { _ = try parse(); return nil } catch { return error }
        }
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromDataURL("http://x/a.png", maxBytes: 100) }, .notDataURL)
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromDataURL("data:image/png;base64", maxBytes: 100) }, .noData)
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromDataURL("data:image/png,rawbytes", maxBytes: 100) }, .notBase64)
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromDataURL("data:;base64,%%%", maxBytes: 100) }, .invalidBase64)
        // Over the cap: refused from the text's length before decoding, and from the decoded count.
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromBase64(encoded, maxBytes: 60) }, .tooLarge)
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromBase64(encoded, maxBytes: 99) }, .tooLarge)
        XCTAssertEqual(failure { () throws(ImagePayload.Failure) in try ImagePayload.fromDataURL("data:,", maxBytes: 100) }, .notBase64)
    }
}
