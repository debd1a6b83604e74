// Formulas (TeX + dvipng) and documents with field annotations.

import Foundation
import OCRImaging
import XCTest

@testable import OCRSynth

final class FormulaAndDocumentTests: XCTestCase {
    func testFormulasTypesetAndBrokenOnesAreSkipped() throws {
        let formulas = ["E = m c^{2}", "\\frac{a}{b", "\\sum_{i=1}^{n} i", "\\nosuchmacro x"]
        let config = FormulaSynthConfig(count: 4, seed: 1, dpis: [120], fonts: ["cm"], profile: .clean)
        let sink = MemorySink()
        let report: SynthReport
        do {
            report = try FormulaSynthesizer(config: config, formulas: formulas).run(into: sink)
        } catch {
            return XCTFail("formula synthesis failed (are texlive-latex-base and dvipng installed?): \(error)")
        }
        XCTAssertEqual(sink.samples.map(\.index), [0, 2])
        XCTAssertEqual(sink.samples.map(\.text), ["E = m c ^ { 2 }", "\\sum _ { i = 1 } ^ { n } i"])
        XCTAssertEqual(report.skipped.map(\.index), [1, 3])
        XCTAssertTrue(report.skipped[1].reason.contains("Undefined control sequence"), report.skipped[1].reason)
        let img = try PixelBuffer.decodePNG(sink.samples[0].png).image
        XCTAssertGreaterThan(img.inkCount(), 50)
        XCTAssertGreaterThan(img.width, img.height)
        XCTAssertEqual(sink.samples[0].parameters["dpi"], "120")
    }

    func testDocumentAnnotationsLieOnInk() throws {
        for template in DocumentTemplate.allCases {
            let config = DocumentSynthConfig(count: 2, seed: 4, template: template, profile: .clean)
            let sink = MemorySink()
            try DocumentSynthesizer(config: config, fonts: FontLibrary(specs: ["Noto Sans"])).run(into: sink)
            XCTAssertEqual(sink.samples.count, 2, template.rawValue)
            for s in sink.samples {
                let img = try PixelBuffer.decodePNG(s.png).image
                XCTAssertFalse(s.annotations.isEmpty)
                for a in s.annotations {
                    let (x, y, w, h) = (a.bbox[0], a.bbox[1], a.bbox[2] - a.bbox[0], a.bbox[3] - a.bbox[1])
                    XCTAssertTrue(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= img.width && y + h <= img.height, "\(a)")
                    XCTAssertTrue(s.text.contains(a.text), "\(a.text) not in the page text")
                    // The box holds ink, and the margin around it does not.
                    var inside = 0
                    for yy in y..<(y + h) { for xx in x..<(x + w) where img.luma(xx, yy) < 128 { inside += 1 } }
                    XCTAssertGreaterThan(inside, 0, "\(template.rawValue): empty box for \(a.text)")
                }
                let categories = Set(s.annotations.map(\.category))
                if template != .form { XCTAssertTrue(categories.isSuperset(of: ["vendor", "total", "line_item"]), "\(categories)") }
            }
        }
    }

    func testDocumentsAreDeterministic() throws {
        let fonts = try FontLibrary(specs: ["Noto Sans", "Noto Serif"])
        func run(_ threads: Int) throws -> [Data] {
            let sink = MemorySink()
            try DocumentSynthesizer(config: DocumentSynthConfig(count: 4, seed: 2, template: .receipt, profile: .scan, threads: threads), fonts: fonts)
                .run(into: sink)
            return sink.samples.map(\.png)
        }
        XCTAssertEqual(try run(1), try run(2))
    }
}
