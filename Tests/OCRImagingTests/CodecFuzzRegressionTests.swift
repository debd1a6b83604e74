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

    /// A BMP header and `padding` bytes of pixel data: the 40-byte info header with `compression`,
    /// or the 12-byte OS/2 core header (16-bit sizes, no compression field).
    private func bmp(os2: Bool = false, width: Int, height: Int, compression: UInt32 = 0, padding: Int) -> Data {
        func le(_ v: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let dib = os2
            ? le(12, 4) + le(width, 2) + le(height, 2) + le(1, 2) + le(24, 2)
            : le(40, 4) + le(width, 4) + le(height, 4) + le(1, 2) + le(24, 2) + le(Int(compression), 4) + [UInt8](repeating: 0, count: 20)
        let body = dib + [UInt8](repeating: 0x80, count: padding)
        return Data([0x42, 0x4D] + le(14 + body.count, 4) + le(0, 4) + le(14 + dib.count, 4) + body)
    }

    /// Fuzz/image_bmp (the target's slowest inputs): a BMP of ~100 bytes announcing 2000 × 2000 with a
    /// compression field stb_image reads as a negative int (it decodes those as uncompressed rows),
    /// or with an OS/2 core header, was decoded to 4 million pixels of zeros: 28 MB allocated, and
    /// up to the pixel cap (~1 GB) for a larger header. Both are now truncated files, refused before
    /// anything is allocated; a complete file of each kind still decodes.
    func testBMPAnnouncingMoreRowsThanItHoldsIsRefusedBeforeDecoding() throws {
        for (name, data) in [("negative-compression.bmp", bmp(width: 2000, height: 2000, compression: 0x8000_0000, padding: 64)),
                             ("os2.bmp", bmp(os2: true, width: 2000, height: 2000, padding: 64))] {
            XCTAssertLessThan(data.count, 120)
            XCTAssertEqual(try ImageCodec.probe(data, source: name).pixelCount, 4_000_000, name)
            XCTAssertThrowsError(try ImageCodec.decode(data, source: name)) { error in
                XCTAssertEqual((error as? ImageError)?.kind, .corrupt, "\(error)")
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
            }
        }
        // 2 × 2 at 24 bits: rows of 8 bytes (padded to 4), 16 bytes of pixels.
        for data in [bmp(width: 2, height: 2, compression: 0x8000_0000, padding: 16), bmp(os2: true, width: 2, height: 2, padding: 16)] {
            let image = try ImageCodec.decode(data)
            XCTAssertEqual([image.width, image.height], [2, 2])
            XCTAssertEqual(image.pixels[0], 0x80)
        }
    }
}
