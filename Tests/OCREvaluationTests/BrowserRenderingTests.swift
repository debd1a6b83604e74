// report.html and the compare page as a browser renders them (headless Chromium).

import Foundation
import OCREvaluation
import XCTest

/// Renders `file` in headless Chromium and returns the DOM it built.
func renderedDOM(_ file: String) throws -> String {
    let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    guard let browser = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        struct NoBrowser: Error, CustomStringConvertible {
            let description = "no headless Chromium at /usr/bin/chromium: tools/setup.sh installs Debian's chromium"
        }
        throw NoBrowser()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: browser)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + file]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    return String(decoding: data, as: UTF8.self)
}

func count(_ needle: String, in haystack: String) -> Int {
    haystack.components(separatedBy: needle).count - 1
}

final class BrowserRenderingTests: XCTestCase {
    func testReportShowsOneRowPerWorstSample() throws {
        // A 1×1 PNG, so the image cells carry real images.
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg==")!
        let refs = (0 ..< 12).map { "行\($0) سلام" }
        let samples = refs.enumerated().map { EvalSample(id: "id\($0.offset)", reference: $0.element, imageBytes: png) }
        let predictions = refs.enumerated().map { $0.offset < 7 ? $0.element.replacingOccurrences(of: "行", with: "衍") : $0.element }
        let result = Evaluator.score(samples: samples, predictions: predictions)
        let run = tempDir() + "/run"
        try RunFolder.write(result, info: RunInfo(model: "stub"), options: EvaluationOptions(worstSamples: 5), to: run)
        let dom = try renderedDOM(run + "/report.html")
        XCTAssertEqual(count("<tr class=\"sample\">", in: dom), 5)
        XCTAssertEqual(count("data:image/png;base64", in: dom), 5)
        XCTAssertTrue(dom.contains("Top confusions"))
        XCTAssertTrue(dom.contains("<span class=\"sub\">衍</span>"))
    }

    func testComparePageListsFixedAndBrokenSamples() throws {
        let refs = (0 ..< 10).map { "line \($0)" }
        let samples = refs.enumerated().map { EvalSample(id: "\($0.offset)", reference: $0.element) }
        let a = Evaluator.score(samples: samples, predictions: refs.enumerated().map { $0.offset < 6 ? "l1ne" : $0.element }).records
        let b = Evaluator.score(samples: samples, predictions: refs.enumerated().map { $0.offset == 9 ? "lime" : $0.element }).records
        let c = try Comparison.compare(a, b, resamples: 100)
        XCTAssertEqual(c.fixed.count, 6)
        XCTAssertEqual(c.broken.count, 1)
        let page = tempDir() + "/compare.html"
        try Data(ComparePage.render(c, a: a, b: b, nameA: "before", nameB: "after").utf8).write(to: URL(fileURLWithPath: page))
        let dom = try renderedDOM(page)
        XCTAssertEqual(count("<tr class=\"sample\">", in: dom), 7)
    }
}
