// A newcomer's listing with the usual mistakes (#16): every bad line is rejected with its line
// number and a reason a person can act on, and a truncated JPEG never reaches a split.

import Foundation
import OCRData
import OCRImaging
import XCTest

final class FirstHourTests: DataTestCase {
    func testAListingWithTheUsualMistakes() throws {
        let images = root.appendingPathComponent("scans 2024")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: try fixture("line.jpg"))
        try jpeg.write(to: images.appendingPathComponent("good.jpg"))
        try jpeg.prefix(jpeg.count / 2).write(to: images.appendingPathComponent("cut.jpg"))
        for i in 0 ..< 6 { try png(i).write(to: images.appendingPathComponent("l\(i).png")) }
        let dir = images.path
        let lines = [
            "# scanned lines, one per row",
            "\(dir)/good.jpg\tInvoice 42 total 17.30",
            "\(dir)/cut.jpg\t第二行",
            "\(dir)/missing.png\t不存在",
            "\(dir)/l0.png\t",
            "",
            "\(dir)/l1.png\t一二三",
            "\(dir)/l1.png\t一二三",
            "\(dir)/l2.png\t四五六",
            "\(dir)/l3.png 七八九",  // a path with a space and no TAB
        ]
        let listing = try write(lines.joined(separator: "\r\n") + "\r\n", to: "content.md")
        let (out, summary) = try build([listing], split: "100,0,0")
        let reader = try DatasetReader(folder: out)
        XCTAssertEqual(try reader.samples(in: .train).map(\.text).sorted(), ["Invoice 42 total 17.30", "一二三", "四五六"])

        let rejected = try String(contentsOf: out.appendingPathComponent("rejected.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        func rejection(line: Int) -> (reason: String, detail: String)? {
            for r in rejected {
                if let source = r["source"] as? [String: Any], source["line"] as? Int == line {
                    return (r["reason"] as? String ?? "", r["detail"] as? String ?? "")
                }
            }
            return nil
        }
        XCTAssertEqual(rejection(line: 3)?.reason, "decode_error")
        XCTAssertTrue(rejection(line: 3)?.detail.contains("truncated") ?? false, "\(String(describing: rejection(line: 3)))")
        XCTAssertEqual(rejection(line: 4)?.reason, "missing_file")
        XCTAssertEqual(rejection(line: 5)?.reason, "empty_text")
        XCTAssertEqual(rejection(line: 8)?.reason, "duplicate")
        XCTAssertEqual(rejection(line: 10)?.reason, "missing_file")
        XCTAssertTrue(rejection(line: 10)?.detail.contains("needs a TAB between path and text") ?? false)
        XCTAssertEqual(summary.manifest.rejected, 5)

        // --strict fails on the same listing and writes nothing.
        XCTAssertThrowsError(try build([listing], split: "100,0,0") { $0.strict = true })
    }
}
