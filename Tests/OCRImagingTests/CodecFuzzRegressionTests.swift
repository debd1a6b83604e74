// Inputs found by `make fuzz` (Fuzz/image_*) that the codec shim got wrong, kept as tests.

import Foundation
import OCRImaging
import XCTest

final class CodecFuzzRegressionTests: XCTestCase {
    /// Fuzz/image_bmp, crash-564ae36a… (this copy's run of 0x95 filler bytes is longer; same header):
    /// a BMP whose header says 1,576,960 × 0 with an unknown compression. stb_image decoded it to an empty buffer and the shim returned success: an
    /// RGBImage of height 0 that a resize to a fixed height would divide by. Now `.corrupt`, from the
    /// probe as from the decoder, naming the source.
    func testBMPWithZeroHeightIsCorrupt() throws {
        let bytes = try XCTUnwrap(Data(base64Encoded: """
            Qk22BAgAAAAAADYAAAAoAAAAABAYAAAAAAABABgAAAAA/wCAlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWV\
            lZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlQTSQgCA\
            0gI=
            """))
        XCTAssertEqual(bytes.count, 170)
        XCTAssertThrowsError(try ImageCodec.decode(bytes, source: "zero.bmp")) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .corrupt, "\(error)")
            XCTAssertEqual((error as? ImageError)?.source, "zero.bmp")
            XCTAssertTrue("\(error)".contains("invalid dimensions 1576960x0"), "\(error)")
        }
        XCTAssertThrowsError(try ImageCodec.probe(bytes, source: "zero.bmp")) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .corrupt, "\(error)")
        }
    }
}
