// Every input format round-trips: what goes in comes out of the Parquet shards byte for byte.

import Foundation
import OCRData
import OCRImaging
import XCTest

final class ImportTests: DataTestCase {
    func testListingKeepsInnerSpacesAndResolvesRelativePaths() throws {
        let paths = try writeImages([1, 2, 3])
        let listing = try write("""
            # a comment
            \(paths[0]) hello  world

            \(paths[1])\tThe tab form: keeps  spaces
            \(root.appendingPathComponent(paths[2]).path) absolute path
            """, to: "list.txt")
        let (out, summary) = try build([listing], split: "100,0,0")
        XCTAssertEqual(summary.manifest.counts["train"], 3)
        XCTAssertEqual(summary.manifest.rejected, 0)
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["The tab form: keeps  spaces", "absolute path", "hello  world"])
        XCTAssertEqual(samples[2].imagePath, paths[0])
        XCTAssertEqual(samples[2].imageBytes, try png(1))
        XCTAssertEqual(samples[2].metadata["source"], "\(listing.path):2")
    }

    func testPaddleTSVRoundTrips() throws {
        let paths = try writeImages([4, 5])
        let tsv = try write("\(paths[0])\t第一 行\n\(paths[1])\tx = 1\n", to: "labels.tsv")
        let (out, _) = try build([tsv], split: "0,0,100")
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["x = 1", "第一 行"])
        XCTAssertEqual(samples.map(\.imageBytes), [try png(5), try png(4)])
    }

    func testJSONLAndJSONArrayKeepOtherFieldsAsMetadata() throws {
        let paths = try writeImages([6, 7])
        let jsonl = try write("""
            {"file": "\(paths[0])", "label": "from jsonl", "page": 3, "lang": "en"}
            """, to: "a.jsonl")
        let array = try write("""
            [{"file": "\(paths[1])", "label": "from array", "lang": "fr"}]
            """, to: "b.json")
        let (out, summary) = try build([jsonl, array], split: "100,0,0") {
            $0.importOptions = ImportOptions(imageField: "file", textField: "label")
        }
        XCTAssertEqual(summary.manifest.columns, ["image", "text", "source", "lang", "page"])
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["from array", "from jsonl"])
        XCTAssertEqual(samples[1].metadata["page"], "3")
        XCTAssertEqual(samples[1].metadata["lang"], "en")
        XCTAssertNil(samples[0].metadata["page"])
        XCTAssertEqual(samples[0].imageBytes, try png(7))
    }

    func testDocumentFormKeptWholeOrCutIntoLines() throws {
        var page = RGBImage(width: 60, height: 40)
        for i in 0..<(20 * 60) { page.pixels[(10 * 60) * 3 + i] = UInt8(i % 256) }
        try ImageCodec.encodePNG(page).write(to: root.appendingPathComponent("page.png"))
        let doc = try write("""
            {"image_path": "page.png", "page": "p1", "annotations": [{"bbox": [0, 10, 30, 20], "text": "left", "category": "title"}, {"bbox": [30, 20, 60, 30], "text": "right", "category": "body"}]}
            """, to: "doc.jsonl")
        let (whole, _) = try build([doc], split: "100,0,0")
        let document = try XCTUnwrap(try allSamples(whole).first)
        XCTAssertEqual(document.text, "left\nright")
        XCTAssertEqual(document.metadata["kind"], "document")
        XCTAssertEqual(document.imageBytes, try Data(contentsOf: root.appendingPathComponent("page.png")))
        let annotations = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.metadata["annotations"]!.utf8)) as? [[String: Any]])
        XCTAssertEqual(annotations.map { $0["category"] as? String }, ["title", "body"])

        let (lines, _) = try build([doc], split: "100,0,0") { $0.importOptions.cropLines = true }
        let crops = try allSamples(lines)
        XCTAssertEqual(crops.map(\.text), ["left", "right"])
        XCTAssertEqual(crops.map { $0.metadata["category"] }, ["title", "body"])
        XCTAssertEqual(crops.map { $0.metadata["page"] }, ["p1", "p1"])
        let left = try ImageCodec.decode(crops[0].imageBytes)
        XCTAssertEqual(left, page.cropped(x: 0, y: 10, width: 30, height: 10))
    }

    func testImageFolderWithGroundTruthSidecars() throws {
        let folder = root.appendingPathComponent("gt")
        let sub = folder.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try png(8).write(to: folder.appendingPathComponent("a.png"))
        try Data("ground truth a\n".utf8).write(to: folder.appendingPathComponent("a.gt.txt"))
        try png(9).write(to: sub.appendingPathComponent("b.png"))
        try Data("plain txt b".utf8).write(to: sub.appendingPathComponent("b.txt"))
        try png(10).write(to: folder.appendingPathComponent("c.png"))  // no sidecar
        let (out, summary) = try build([folder], split: "100,0,0")
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["ground truth a", "plain txt b"])
        XCTAssertEqual(samples.map(\.imagePath), ["a.png", "sub/b.png"])
        XCTAssertEqual(summary.rejectedByReason, [.missingFile: 1])
    }

    func testHuggingFaceParquetStructAndBinaryAreRead() throws {
        let (out, summary) = try build([try fixture("hf_struct.parquet")], split: "100,0,0")
        XCTAssertEqual(summary.manifest.columns, ["image", "text", "source", "page"])
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["hello world", "x = 42", "第一行"])
        XCTAssertEqual(samples.map(\.imagePath), ["line0.png", "line2.png", "line1.png"])
        XCTAssertEqual(samples.map { $0.metadata["page"] }, ["1", "2", "1"])
        XCTAssertEqual(try ImageCodec.probe(samples[0].imageBytes), ImageInfo(format: .png, width: 30, height: 12))

        let (out2, _) = try build([try fixture("hf_binary.parquet")], split: "100,0,0")
        let binary = try allSamples(out2)
        XCTAssertEqual(binary.map(\.text), ["hello world", "x = 42", "第一行"])
        XCTAssertEqual(binary.map { $0.metadata["extra"] }, ["a", "c", "b"])
        XCTAssertEqual(binary.map(\.imageBytes), samples.map(\.imageBytes))
    }

    func testLMDBInTheDeepTextRecognitionLayout() throws {
        let (out, _) = try build([try fixture("lmdb")], split: "100,0,0")
        let samples = try allSamples(out)
        XCTAssertEqual(samples.map(\.text), ["hello world", "x = 42", "第一行"])
        XCTAssertEqual(samples.map(\.imagePath), ["image-000000001", "image-000000003", "image-000000002"])
        XCTAssertEqual(try ImageCodec.probe(samples[2].imageBytes).width, 34)
    }

    func testOurParquetIsReadBackAsInput() throws {
        let paths = try writeImages([11, 12, 13])
        let listing = try write(paths.enumerated().map { "\($0.element) text \($0.offset)" }.joined(separator: "\n"), to: "l.txt")
        let (first, _) = try build([listing], split: "100,0,0")
        let (second, summary) = try build([first.appendingPathComponent("train-00000-of-00001.parquet")], split: "100,0,0")
        XCTAssertEqual(summary.manifest.rejected, 0)
        let a = try allSamples(first), b = try allSamples(second)
        XCTAssertEqual(a.map(\.imageBytes), b.map(\.imageBytes))
        XCTAssertEqual(a.map(\.text), b.map(\.text))
        XCTAssertEqual(a.map(\.imagePath), b.map(\.imagePath))
    }

    /// The fuzzer's input (Fuzz/parquet, oom-e71fe5cd…): 2.6 KB whose one row group declares 185,604,175,485
    /// rows. Arrow reserved and zeroed buffers for all of them (20 GB in 50 s before the fix); the reader's
    /// capped memory pool refuses it with an error naming the file and the row group.
    func testParquetDeclaringMoreRowsThanItHoldsIsRefused() throws {
        let shard = try fixture("row_group_bomb.parquet")
        XCTAssertThrowsError(try build([shard], split: "100,0,0")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("row_group_bomb.parquet: row group 0: it declares 185604175485 rows"), message)
            XCTAssertTrue(message.contains("more than 512 MiB"), message)
        }
    }
}
