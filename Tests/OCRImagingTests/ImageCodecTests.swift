// Decoding every format through Debian's libraries, the decompression-bomb guard, PNG round
// trips, and resize / grayscale against OpenCV reference outputs (tools/make_dataset_fixtures.py).

import Foundation
import OCRImaging
import XCTest

final class ImageCodecTests: XCTestCase {
    func fixture(_ name: String) throws -> Data {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return try Data(contentsOf: url)
    }

    /// pixel (x, y) of the 24×16 pattern = (10x, 15y, 128).
    func assertPattern(_ image: RGBImage, tolerance: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(image.width, 24, file: file, line: line)
        XCTAssertEqual(image.height, 16, file: file, line: line)
        var worst = 0
        for y in 0..<16 {
            for x in 0..<24 {
                let i = (y * 24 + x) * 3
                let expected = [10 * x, 15 * y, 128]
                for c in 0..<3 { worst = max(worst, abs(Int(image.pixels[i + c]) - expected[c])) }
            }
        }
        XCTAssertLessThanOrEqual(worst, tolerance, file: file, line: line)
    }

    // MARK: Probe and decode

    func testProbeReadsFormatAndSizeFromHeaders() throws {
        let expected: [(String, ImageFormat)] = [("png", .png), ("jpg", .jpeg), ("webp", .webp), ("bmp", .bmp), ("tif", .tiff), ("gif", .gif)]
        for (ext, format) in expected {
            let info = try ImageCodec.probe(try fixture("pattern.\(ext)"))
            XCTAssertEqual(info, ImageInfo(format: format, width: 24, height: 16), ext)
        }
    }

    func testLosslessFormatsDecodeExactly() throws {
        for ext in ["png", "bmp", "tif", "webp"] {
            assertPattern(try ImageCodec.decode(try fixture("pattern.\(ext)")), tolerance: 0)
        }
    }

    func testJPEGDecodesWithinQuantizationError() throws {
        assertPattern(try ImageCodec.decode(try fixture("pattern.jpg")), tolerance: 8)
    }

    func testGIFFirstFrameUsesItsPalette() throws {
        let image = try ImageCodec.decode(try fixture("pattern.gif"))
        XCTAssertEqual(image.width, 24)
        XCTAssertEqual(image.height, 16)
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(image.pixels[(y * 24 + x) * 3..<(y * 24 + x) * 3 + 3]) }
        XCTAssertEqual(px(0, 0), [255, 0, 0])
        XCTAssertEqual(px(23, 0), [0, 0, 255])
        XCTAssertEqual(px(5, 12), [0, 255, 0])
    }

    func testAlphaIsCompositedOverWhite() throws {
        let image = try ImageCodec.decode(try fixture("alpha.png"))
        // (255·128 + 255·127 + 127) / 255 = 255; (0·128 + 255·127 + 127) / 255 = 127.
        XCTAssertEqual(Array(image.pixels[0..<3]), [255, 127, 127])
    }

    func testDecompressionBombIsRefusedFromTheHeader() throws {
        let bomb = try fixture("bomb.png")
        XCTAssertEqual(try ImageCodec.probe(bomb).pixelCount, 400_000_000)
        XCTAssertThrowsError(try ImageCodec.decode(bomb, source: "bomb.png")) { error in
            let e = error as? ImageError
            XCTAssertEqual(e?.kind, .tooLarge)
            XCTAssertEqual(e?.source, "bomb.png")
        }
    }

    func testGarbageIsAnUnknownFormatAndTruncationIsCorrupt() throws {
        XCTAssertThrowsError(try ImageCodec.decode(Data("hello".utf8), source: "a.txt")) {
            XCTAssertEqual(($0 as? ImageError)?.kind, .unknownFormat)
            XCTAssertTrue("\($0)".hasPrefix("a.txt: "))
        }
        let png = try fixture("pattern.png")
        XCTAssertThrowsError(try ImageCodec.decode(png.prefix(40))) { XCTAssertEqual(($0 as? ImageError)?.kind, .corrupt) }
    }

    /// A file cut short in its pixel data is an error in every format, never an image padded with
    /// gray or zeros (libjpeg's "premature end of data" is a warning it decodes through, stb_image
    /// reads a short BMP without complaint; Pillow refuses the same files). The 89-byte PNG keeps
    /// its pixel data to 80%, where Pillow also reads it. pattern_strips.tif (one row per strip) was
    /// read with its missing strips blank: libtiff skipped an unreadable strip once it held a buffer.
    func testTruncatedFilesAreRefused() throws {
        for name in ["pattern.jpg", "pattern.png", "pattern.webp", "pattern.gif", "pattern.tif", "pattern_strips.tif", "pattern.bmp"] {
            let data = try fixture(name)
            XCTAssertNoThrow(try ImageCodec.decode(data), name)
            for fraction in name.hasSuffix(".png") ? [0.3, 0.5] : [0.5, 0.8, 0.95] {
                let cut = data.prefix(Int(Double(data.count) * fraction))
                XCTAssertThrowsError(try ImageCodec.decode(cut, source: name), "\(name) cut at \(fraction)") {
                    XCTAssertEqual(($0 as? ImageError)?.kind, .corrupt, "\($0)")
                }
            }
        }
    }

    func testPNGEncodeRoundTrips() throws {
        var image = RGBImage(width: 5, height: 3)
        for i in image.pixels.indices { image.pixels[i] = UInt8(i * 7 % 256) }
        let png = try ImageCodec.encodePNG(image)
        XCTAssertEqual(ImageFormat.sniff(png), .png)
        XCTAssertEqual(try ImageCodec.decode(png), image)
    }

    // MARK: Transforms against OpenCV

    struct Reference: Decodable {
        struct Case: Decodable { let width: Int; let height: Int; let pixels: [UInt8] }
        let resize: [Case]
        let gray: [UInt8]
    }

    /// ((37x + 11y) % 256, (x² + y) % 256, (7xy) % 256) on 23×17, as in the fixture script.
    func referenceSource() -> RGBImage {
        var p: [UInt8] = []
        for y in 0..<17 { for x in 0..<23 { p += [UInt8((x * 37 + y * 11) % 256), UInt8((x * x + y) % 256), UInt8((x * y * 7) % 256)] } }
        return RGBImage(width: 23, height: 17, pixels: p)
    }

    func testResizeMatchesOpenCVInterLinear() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: try fixture("opencv_reference.json"))
        let source = referenceSource()
        for c in reference.resize {
            let out = source.resized(width: c.width, height: c.height)
            let diff = zip(out.pixels, c.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertEqual(diff, 0, "\(c.width)×\(c.height)")
        }
    }

    func testGrayscaleMatchesOpenCV() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: try fixture("opencv_reference.json"))
        XCTAssertEqual(referenceSource().grayscale().pixels, reference.gray)
    }

    func testNormalizationCropAndHash() throws {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 255, 51, 255, 0, 102])
        let chw = image.normalized(layout: .chw, paddedWidth: 3, padValue: 9)
        XCTAssertEqual(chw, [-1, 1, 9, 1, -1, 9, -0.6, -0.2, 9].map { Float($0) }, accuracy: 1e-6)
        let crop = try XCTUnwrap(referenceSource().cropped(x: 20, y: 15, width: 10, height: 10))
        XCTAssertEqual(crop.width, 3)
        XCTAssertEqual(crop.height, 2)
        XCTAssertEqual(Array(crop.pixels[0..<3]), [UInt8((20 * 37 + 15 * 11) % 256), UInt8((400 + 15) % 256), UInt8((20 * 15 * 7) % 256)])
        let a = referenceSource()
        XCTAssertEqual(a.differenceHash(), a.differenceHash())
        XCTAssertLessThanOrEqual(hammingDistance(a.differenceHash(), a.resized(width: 46, height: 34).differenceHash()), 4)
        XCTAssertGreaterThan(hammingDistance(a.differenceHash(), RGBImage(width: 23, height: 17).differenceHash()), 10)
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
