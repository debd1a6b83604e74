// Nothing is lost silently: every rejection reason, produced by a fixture, lands in rejected.jsonl.

import Foundation
import OCRData
import OCRImaging
import XCTest

final class ValidationTests: DataTestCase {
    /// One listing that triggers every reason; each bad line is named in rejected.jsonl.
    func testEveryRejectionReasonLandsInRejectedJSONL() throws {
        let images = root.appendingPathComponent("images")
        let paths = try writeImages([1, 2, 3, 4])
        try Data("not an image".utf8).write(to: images.appendingPathComponent("garbage.png"))
        try ImageCodec.encodePNG(RGBImage(width: 5, height: 30)).write(to: images.appendingPathComponent("thin.png"))
        try Data(contentsOf: try fixture("bomb.png")).write(to: images.appendingPathComponent("bomb.png"))
        try FileManager.default.createDirectory(at: images.appendingPathComponent("folder.png"), withIntermediateDirectories: true)
        try png(2).write(to: images.appendingPathComponent("copy-of-2.png"))
        var listing = Data()
        let lines: [String] = [
            "\(paths[0]) good one",                    // 1
            "images/nowhere.png missing",              // 2 missing_file
            "images/folder.png unreadable",            // 3 unreadable
            "images/garbage.png corrupt",              // 4 decode_error
            "images/thin.png too thin",                // 5 too_small
            "images/bomb.png bomb",                    // 6 too_large
            "\(paths[1])    ",                         // 7 empty_text
            "",                                        // 8 (invalid UTF-8, appended below)
            "\(paths[2]) same",                        // 9
            "\(paths[2]) same",                        // 10 duplicate
            "\(paths[1]) two",                         // 11 conflict (with 12)
            "images/copy-of-2.png owt",                // 12 conflict
        ]
        for (i, line) in lines.enumerated() {
            if i == 7 { listing.append(Data("\(paths[3]) ".utf8) + Data([0xC3, 0x28]) + Data("\n".utf8)); continue }
            listing.append(Data((line + "\n").utf8))
        }
        let url = root.appendingPathComponent("all.txt")
        try listing.write(to: url)
        let (out, summary) = try build([url], split: "100,0,0")
        XCTAssertEqual(try allSamples(out).map(\.text), ["good one", "same"])
        let expected: [Int: String] = [2: "missing_file", 3: "unreadable", 4: "decode_error", 5: "too_small", 6: "too_large",
                                       7: "empty_text", 8: "invalid_utf8", 10: "duplicate", 11: "conflict", 12: "conflict"]
        let rejected = try rejections(out)
        var got: [Int: String] = [:]
        for r in rejected {
            let source = try XCTUnwrap(r["source"] as? [String: Any])
            XCTAssertEqual(source["file"] as? String, url.path)
            got[try XCTUnwrap(source["line"] as? Int)] = r["reason"] as? String
            XCTAssertFalse((r["detail"] as? String ?? "").isEmpty)
        }
        XCTAssertEqual(got, expected)
        XCTAssertEqual(Set(got.values), Set(RejectReason.allCases.map(\.rawValue)))
        XCTAssertEqual(summary.rejectedByReason[.conflict], 2)
        XCTAssertEqual(summary.manifest.rejectedByReason["too_large"], 1)
    }

    func testTenGoodAndFiveBadLinesGiveTenSamplesAndFiveRejections() throws {
        let paths = try writeImages(Array(20..<30))
        var lines = paths.enumerated().map { "\($0.element) line number \($0.offset)" }
        lines.insert("images/absent.png text", at: 2)
        lines.insert("\(paths[0])", at: 5)
        lines.insert("{this is not a listing line}", at: 7)
        lines.insert("images/also-absent.png more", at: 9)
        lines.append("\(paths[3])\t ")
        let (out, summary) = try build([try write(lines.joined(separator: "\n"), to: "mixed.txt")])
        XCTAssertEqual(summary.manifest.counts.values.reduce(0, +), 10)
        XCTAssertEqual(summary.manifest.rejected, 5)
        XCTAssertEqual(try rejections(out).count, 5)
        XCTAssertEqual(summary.rejectedByReason, [.missingFile: 3, .emptyText: 2])
        XCTAssertEqual(summary.manifest.sources.first?.records, 15)
        XCTAssertEqual(summary.manifest.sources.first?.accepted, 10)
    }

    func testStrictTurnsARejectionIntoAFailureAndWritesNothing() throws {
        let paths = try writeImages([1])
        let listing = try write("\(paths[0]) fine\nimages/gone.png oops\n", to: "s.txt")
        let out = root.appendingPathComponent("strict-out")
        var options = BuildOptions()
        options.strict = true
        XCTAssertThrowsError(try DatasetBuilder(inputs: [listing], output: out, options: options).run()) { error in
            XCTAssertTrue("\(error)".contains("s.txt:2"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains("partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testNormalizationIsAppliedAndCounted() throws {
        let paths = try writeImages([1, 2])
        // "é" as e + combining acute (NFD) and the "ﬁ" ligature (changed by NFKC only).
        let listing = try write("\(paths[0]) cafe\u{301}\n\(paths[1]) \u{FB01}ne\n", to: "n.txt")
        let (nfc, s1) = try build([listing], split: "100,0,0")
        XCTAssertEqual(try allSamples(nfc).map(\.text), ["caf\u{E9}", "\u{FB01}ne"])
        XCTAssertEqual(s1.manifest.normalizedCount, 1)
        let (nfkc, s2) = try build([listing], split: "100,0,0") { $0.validation.normalization = .nfkc }
        XCTAssertEqual(try allSamples(nfkc).map(\.text), ["caf\u{E9}", "fine"])
        XCTAssertEqual(s2.manifest.normalizedCount, 2)
    }
}
