// Text lines: labels match pixels (Tesseract reads them back), right-to-left shaping, font
// coverage, vertical columns, determinism of parallel runs.

import Foundation
import OCRImaging
import OCRMetrics
import XCTest

@testable import OCRSynth

final class LineRenderingTests: XCTestCase {
    // MARK: Helpers

    func render(_ text: String, family: String, px: Double = 30, height: Int = 48, pad: Int = 12,
                vertical: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> (RGBImage, LineInfo) {
        var style = LineStyle(family: family, fontPx: px, lineHeight: height)
        style.padBefore = pad
        style.padAfter = pad
        style.vertical = vertical
        guard case let .rendered(img, info) = try LineRenderer.render(text, style: style) else {
            XCTFail("'\(text)' did not render in \(family)", file: file, line: line)
            throw SynthError.render("not rendered")
        }
        return (img.image, info)
    }

    func cleanLines(_ texts: [String], fonts: [String]) throws -> [SynthSample] {
        let config = LineSynthConfig(count: texts.count, seed: 7, lineHeight: 48, profile: .clean)
        let sink = MemorySink()
        try LineSynthesizer(config: config, fonts: FontLibrary(specs: fonts), source: LineCorpus(lines: texts)).run(into: sink)
        XCTAssertEqual(sink.samples.count, texts.count)
        return sink.samples
    }

    // MARK: Tesseract reads the labels back

    func testCleanLatinLinesReadBackByTesseract() throws {
        let texts = [
            "The quick brown fox jumps over the lazy dog.",
            "Invoice INV-20931 dated 12 March 2024",
            "Total amount due: 1,284.50 EUR",
            "Please remit payment within 30 days.",
        ]
        let samples = try cleanLines(texts, fonts: ["Noto Sans", "Noto Serif"])
        let predictions = try samples.map { try Tesseract.read(png: $0.png, language: "eng") }
        let cer = TextMetrics.cer(references: samples.map(\.text), predictions: predictions)
        XCTAssertLessThan(cer, 0.03, "Tesseract read \(predictions) for \(samples.map(\.text))")
    }

    func testCleanChineseLinesReadBackByTesseract() throws {
        let texts = ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。", "床前明月光，疑是地上霜。", "白日依山尽，黄河入海流。"]
        let samples = try cleanLines(texts, fonts: ["Noto Sans CJK SC"])
        // chi_sim puts spaces between characters; compare without whitespace.
        let strip = { (s: String) in s.filter { !$0.isWhitespace } }
        let predictions = try samples.map { strip(try Tesseract.read(png: $0.png, language: "chi_sim")) }
        let cer = TextMetrics.cer(references: samples.map { strip($0.text) }, predictions: predictions)
        XCTAssertLessThan(cer, 0.03, "Tesseract read \(predictions)")
    }

    // MARK: Right to left, joined

    func testPersianIsJoined() throws {
        // م ح م د join into one connected word; ZWNJ between them forces isolated forms.
        let (joined, _) = try render("محمد", family: "Noto Naskh Arabic", pad: 4)
        let (isolated, _) = try render("م\u{200C}ح\u{200C}م\u{200C}د", family: "Noto Naskh Arabic", pad: 4)
        let joinedRuns = runs(joined.columnInk()), isolatedRuns = runs(isolated.columnInk())
        XCTAssertEqual(joinedRuns, 1, "joined word should be one connected stroke")
        XCTAssertGreaterThanOrEqual(isolatedRuns, 3, "isolated letters should be separate")
        XCTAssertNotEqual(joined.pixels, isolated.pixels)
    }

    func testPersianRunsRightToLeft() throws {
        let first = "محمد", second = "کتاب"
        let (line, info) = try render("\(first) \(second)", family: "Noto Naskh Arabic", pad: 4)
        XCTAssertTrue(info.rightToLeft)
        let (a, _) = try render(first, family: "Noto Naskh Arabic", pad: 4)
        let word = trimmed(a.columnInk()), whole = trimmed(line.columnInk())
        XCTAssertGreaterThan(whole.count, word.count + 10)
        func distance(_ slice: ArraySlice<Int>) -> Int { zip(slice, word).reduce(0) { $0 + abs($1.0 - $1.1) } }
        let right = distance(whole.suffix(word.count)), left = distance(whole.prefix(word.count))
        // The first logical word sits at the right edge.
        XCTAssertLessThan(right * 4, left, "right-edge mismatch \(right) vs left-edge \(left)")
    }

    // MARK: Font coverage

    func testFontWithoutGlyphsIsNotUsed() throws {
        // Pango level: fallback is off, so a font lacking glyphs reports it instead of boxes.
        var style = LineStyle(family: "DejaVu Sans", fontPx: 30, lineHeight: 48)
        style.padBefore = 4
        guard case .missingGlyph = try LineRenderer.render("春眠不觉晓", style: style) else {
            return XCTFail("DejaVu Sans has no CJK glyphs; rendering must report it")
        }
        // Coverage: only the CJK font is used for Chinese, both for Latin.
        let fonts = try FontLibrary(specs: ["DejaVu Sans", "Noto Sans CJK SC"])
        XCTAssertEqual(fonts.covering("春眠不觉晓").map(\.family), ["Noto Sans CJK SC"])
        XCTAssertEqual(fonts.covering("hello").count, 2)
        XCTAssertEqual(fonts.fonts[0].covers("春").missing, "春")
        let config = LineSynthConfig(count: 12, seed: 3, profile: .clean)
        let sink = MemorySink()
        try LineSynthesizer(config: config, fonts: fonts, source: LineCorpus(lines: ["春眠不觉晓", "hello world"])).run(into: sink)
        for s in sink.samples where s.text.hasPrefix("春") { XCTAssertEqual(s.parameters["font"], "Noto Sans CJK SC") }
    }

    func testSampleNoFontCoversIsSkipped() throws {
        let sink = MemorySink()
        let report = try LineSynthesizer(
            config: LineSynthConfig(count: 2, seed: 1, profile: .clean), fonts: FontLibrary(specs: ["DejaVu Sans"]),
            source: LineCorpus(lines: ["fine text", "春眠不觉晓"])
        ).run(into: sink)
        XCTAssertEqual(report.written, 1)
        XCTAssertEqual(report.skipped.map(\.index), [1])
        XCTAssertTrue(report.skipped[0].reason.contains("U+6625"), report.skipped[0].reason)
        XCTAssertEqual(sink.samples.map(\.index), [0])
    }

    func testUnknownFontFails() {
        XCTAssertThrowsError(try FontLibrary(specs: ["No Such Family 123"])) { error in
            XCTAssertEqual(error as? SynthError, .fontNotFound("No Such Family 123"))
        }
    }

    func testFontFileIsRegistered() throws {
        guard let file = try FontLibrary(specs: ["DejaVu Sans"]).fonts.first?.file else { return XCTFail("no file") }
        let lib = try FontLibrary(specs: [file])
        XCTAssertEqual(lib.fonts.first?.family, "DejaVu Sans")
    }

    // MARK: Vertical

    func testVerticalColumn() throws {
        let (img, info) = try render("春眠不觉晓", family: "Noto Sans CJK SC", pad: 6, vertical: true)
        XCTAssertEqual(img.width, 48)
        XCTAssertGreaterThan(img.height, 5 * 25)
        // Five characters stacked: five separate ink runs down the column.
        let rows = (0..<img.height).map { y in (0..<img.width).reduce(0) { $0 + (img.luma($1, y) < 128 ? 1 : 0) } }
        XCTAssertGreaterThanOrEqual(runs(rows), 5)
        XCTAssertLessThanOrEqual(info.inkBox[2], 48)
    }

    // MARK: Determinism

    func testSameSeedSameBytesAnyThreadCount() throws {
        let fonts = try FontLibrary(specs: ["Noto Sans", "Noto Sans CJK SC", "Noto Naskh Arabic"])
        let source = LineCorpus(lines: ["Invoice 2024-03-12 total 41.90", "春眠不觉晓，处处闻啼鸟。", "سلام دنیا"], shuffle: true)
        func run(seed: UInt64, threads: Int, profile: SynthProfile) throws -> [SynthSample] {
            let sink = MemorySink()
            try LineSynthesizer(config: LineSynthConfig(count: 24, seed: seed, profile: profile, threads: threads), fonts: fonts, source: source)
                .run(into: sink)
            return sink.samples
        }
        for profile in [SynthProfile.scan, .photo, .handwriting, .fax] {
            let a = try run(seed: 11, threads: 1, profile: profile), b = try run(seed: 11, threads: 2, profile: profile)
            XCTAssertEqual(a.map(\.png), b.map(\.png), "\(profile.name): thread count changed the bytes")
            XCTAssertEqual(a.map(\.parameters), b.map(\.parameters))
            let c = try run(seed: 12, threads: 2, profile: profile)
            XCTAssertNotEqual(a.map(\.png), c.map(\.png), "\(profile.name): a different seed gave identical images")
        }
    }

    // MARK: Output

    func testListingFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocrsynth-listing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sink = try ListingFolderSink(directory: dir)
        let report = try LineSynthesizer(
            config: LineSynthConfig(count: 3, seed: 5, profile: .scan), fonts: FontLibrary(specs: ["Noto Sans"]),
            source: LineCorpus(lines: ["alpha\tbeta", "gamma", "δέλτα"])
        ).run(into: sink)
        XCTAssertEqual(report.written, 3)
        let listing = try String(contentsOf: dir.appendingPathComponent("listing.tsv"), encoding: .utf8)
        XCTAssertEqual(listing, "images/000000.png\talpha\\tbeta\nimages/000001.png\tgamma\nimages/000002.png\tδέλτα\n")
        let meta = try String(contentsOf: dir.appendingPathComponent("metadata.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(meta.count, 3)
        let first = try JSONSerialization.jsonObject(with: Data(meta[0].utf8)) as! [String: Any]
        XCTAssertEqual((first["params"] as? [String: String])?["profile"], "scan")
        XCTAssertEqual(first["source"] as? String, "synth:0")  // not the (temporary) folder's path
        let png = try Data(contentsOf: dir.appendingPathComponent("images/000001.png"))
        let decoded = try PixelBuffer.decodePNG(png)
        XCTAssertEqual(decoded.height, 48)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.deletingLastPathComponent()
            .appendingPathComponent(".\(dir.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)").path))
        XCTAssertThrowsError(try ListingFolderSink(directory: dir))  // not empty, no overwrite
    }
}
