// Splits, the output folder's files, interoperability with pyarrow, export, and the loader.

import Foundation
import OCRData
import OCRImaging
import XCTest

final class BuildTests: DataTestCase {
    func listing(_ count: Int, group: Bool = false) throws -> URL {
        let paths = try writeImages(Array(0..<count))
        if group {
            let lines = paths.enumerated().map { "{\"image\": \"\($0.element)\", \"text\": \"t\($0.offset)\", \"page\": \"p\($0.offset / 4)\"}" }
            return try write(lines.joined(separator: "\n"), to: "g.jsonl")
        }
        return try write(paths.enumerated().map { "\($0.element) t\($0.offset)" }.joined(separator: "\n"), to: "l.txt")
    }

    func splitTexts(_ folder: URL) throws -> [Split: [String]] {
        let reader = try DatasetReader(folder: folder)
        var out: [Split: [String]] = [:]
        for s in Split.allCases { out[s] = try reader.samples(in: s).map(\.text) }
        return out
    }

    // MARK: Splits

    func testSplitsAreIdenticalAcrossRunsAndChangeWithTheSeed() throws {
        let input = try listing(30)
        let (a, _) = try build([input], seed: 1)
        let (b, _) = try build([input], seed: 1)
        let (c, _) = try build([input], seed: 2)
        let ta = try splitTexts(a), tb = try splitTexts(b), tc = try splitTexts(c)
        XCTAssertEqual(ta, tb)
        XCTAssertNotEqual(ta[.test]!.sorted() + ta[.val]!.sorted(), tc[.test]!.sorted() + tc[.val]!.sorted())
        XCTAssertEqual(ta.mapValues(\.count), [.train: 24, .val: 3, .test: 3])
        // Same bytes: shard checksums agree across runs.
        XCTAssertEqual(try DatasetReader(folder: a).manifest.shards, try DatasetReader(folder: b).manifest.shards)
        XCTAssertEqual(try assignSplits(count: 10, groupKeys: nil, spec: .counts(val: 1, test: 1), seed: 1),
                       try assignSplits(count: 10, groupKeys: nil, spec: .counts(val: 1, test: 1), seed: 1))
    }

    func testSplitByCountsAndEverythingInTest() throws {
        let input = try listing(12)
        let (all, _) = try build([input], split: "0,0,100")
        XCTAssertEqual(try splitTexts(all).mapValues(\.count), [.train: 0, .val: 0, .test: 12])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: all.path).filter { $0.hasSuffix(".parquet") }, ["test-00000-of-00001.parquet"])
        let (counts, _) = try build([input], split: "val=4,test=3")
        XCTAssertEqual(try splitTexts(counts).mapValues(\.count), [.train: 5, .val: 4, .test: 3])
        let (validation, _) = try build([input], split: "validation=2 test=0")
        XCTAssertEqual(try splitTexts(validation).mapValues(\.count), [.train: 10, .val: 2, .test: 0])
        XCTAssertThrowsError(try SplitSpec(parsing: "80,20"))
    }

    /// What a user typed in the first hour, and what each now means (#16).
    func testSplitSpecificationsSayWhatTheyMean() throws {
        XCTAssertEqual(try SplitSpec(parsing: "80,10,10"), try .percentages(80, 10, 10))
        XCTAssertEqual(try SplitSpec(parsing: "80%/10%/10%").description, "80,10,10")
        // 80,10,5 used to be read as counts (train 106 of 121): percentages must add up to 100.
        XCTAssertThrowsError(try SplitSpec(parsing: "80,10,5")) {
            XCTAssertEqual("\($0)", "--split 80,10,5: the percentages add up to 95, not 100 (for sample counts write val=N,test=N; train takes the rest)")
        }
        XCTAssertThrowsError(try SplitSpec(parsing: "200,10,10"))
        XCTAssertThrowsError(try SplitSpec(parsing: "-10,60,50")) { XCTAssertTrue("\($0)".contains("negative"), "\($0)") }
        XCTAssertThrowsError(try SplitSpec(parsing: "train=100,val=10"))
        XCTAssertThrowsError(try SplitSpec(parsing: "val=10,dev=5")) { XCTAssertTrue("\($0)".contains("unknown split \"dev\""), "\($0)") }
        XCTAssertEqual(try SplitSpec(parsing: "val=10,test=5").counts(total: 121).train, 106)
        XCTAssertThrowsError(try SplitSpec(parsing: "val=60,test=61").counts(total: 121))
        XCTAssertEqual(try SplitSpec(parsing: "val=10,test=5").description, "val=10,test=5")
        XCTAssertEqual(Split(name: "validation"), .val)
    }

    func testGroupByKeepsGroupsInOneSplit() throws {
        let (out, summary) = try build([try listing(40, group: true)], seed: 3) { $0.groupBy = "page" }
        XCTAssertEqual(summary.manifest.groupBy, "page")
        let reader = try DatasetReader(folder: out)
        var splitOfPage: [String: Set<Split>] = [:]
        for s in Split.allCases { for sample in try reader.samples(in: s) { splitOfPage[sample.metadata["page"]!, default: []].insert(s) } }
        XCTAssertEqual(splitOfPage.count, 10)
        XCTAssertTrue(splitOfPage.values.allSatisfy { $0.count == 1 })
        XCTAssertEqual(summary.manifest.counts, ["train": 32, "val": 4, "test": 4])
    }

    func testLeakageCheckFindsSharedTexts() {
        let report = checkLeakage(trainTexts: ["a", "b"], trainHashes: [0x0F0F_0F0F_0F0F_0F0F, 1],
                                  testTexts: ["b", "c", "d"], testHashes: [7, 0x0F0F_0F0F_0F0F_0F0F, 0x0F0F_0F0F_0F0F_0F0E],
                                  hashDistance: 0)
        XCTAssertEqual(report.sameText, 1)
        XCTAssertEqual(report.similarImage, 1)
        let near = checkLeakage(trainTexts: [], trainHashes: [0x0F0F_0F0F_0F0F_0F0F], testTexts: ["x"], testHashes: [0x0F0F_0F0F_0F0F_0F0E], hashDistance: 2)
        XCTAssertEqual(near.similarImage, 1)
    }

    // MARK: Output files

    func testManifestChecksumsCardCharsetAndStats() throws {
        let paths = try writeImages([1, 2, 3])
        let input = try write("\(paths[0]) aab\n\(paths[1]) b\\c\n\(paths[2]) 日本\n", to: "x.txt")
        let (out, summary) = try build([input], seed: 9, split: "100,0,0")
        let m = try DatasetReader(folder: out).manifest
        XCTAssertEqual(m, summary.manifest)
        XCTAssertEqual(m.seed, 9)
        XCTAssertEqual(m.normalization, .nfc)
        XCTAssertEqual(m.charsetSize, 6)
        XCTAssertEqual(m.shards.map(\.file), ["train-00000-of-00001.parquet"])
        XCTAssertEqual(try DatasetReader(folder: out).verifyChecksums(), [])
        XCTAssertEqual(m.shards[0].sha256, try SHA256Digest.hex(fileAt: out.appendingPathComponent(m.shards[0].file)))
        let charset = try String(contentsOf: out.appendingPathComponent("charset.txt"), encoding: .utf8)
        XCTAssertEqual(charset, "a\t2\nb\t2\n\\\\\t1\nc\t1\n日\t1\n本\t1\n")
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: train-*.parquet\n"))
        XCTAssertTrue(card.contains("  - name: image\n    dtype: image\n"))
        let stats = try JSONDecoder().decode(DatasetStats.self, from: Data(contentsOf: out.appendingPathComponent("stats.json")))
        XCTAssertEqual(stats.splits["train"]?.count, 3)
        XCTAssertEqual(stats.splits["train"]?.textLength.max, 3)
        XCTAssertEqual(stats.splits["train"]?.height.min, 16)
        XCTAssertEqual(SHA256Digest.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testAHalfWrittenDatasetNeverLooksComplete() throws {
        let input = try listing(3)
        let (out, _) = try build([input])
        // Building again into the same folder without overwrite fails and leaves it intact.
        var options = BuildOptions()
        XCTAssertThrowsError(try DatasetBuilder(inputs: [input], output: out, options: options).run())
        XCTAssertNoThrow(try DatasetReader(folder: out))
        // A failing build (unreadable input) leaves no output folder and no partial folder.
        options.overwrite = true
        let target = root.appendingPathComponent("never")
        XCTAssertThrowsError(try DatasetBuilder(inputs: [root.appendingPathComponent("nope.txt")], output: target, options: options).run())
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [])
        // A build killed mid-way (SIGKILL: no clean-up) left `.NAME.partial-PID`; the next build removes it.
        let killed = root.appendingPathComponent(".never.partial-999999999")  // above Linux's pid_max
        try FileManager.default.createDirectory(at: killed, withIntermediateDirectories: true)
        try Data([1]).write(to: killed.appendingPathComponent("images.spool"))
        _ = try DatasetBuilder(inputs: [input], output: target, options: options).run()
        XCTAssertNoThrow(try DatasetReader(folder: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [])
    }

    /// Our shards read by pyarrow (from the wheel in .deps/python); skipped where it is not installed.
    func testOurParquetIsReadByPyarrow() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = repo.appendingPathComponent(".deps/python")
        guard FileManager.default.fileExists(atPath: python.appendingPathComponent("pyarrow/parquet").path) else {
            throw XCTSkip("pyarrow is not installed in .deps/python")
        }
        let paths = try writeImages([1, 2])
        let (out, _) = try build([try write("\(paths[0]) first\n\(paths[1]) 第二\n", to: "p.txt")], split: "100,0,0")
        let script = """
            import json, sys, pyarrow.parquet as pq
            f = pq.ParquetFile(sys.argv[1])
            t = f.read()
            print(json.dumps({"schema": str(t.schema.field("image").type), "rows": t.num_rows,
                              "compression": f.metadata.row_group(0).column(0).compression,
                              "texts": sorted(t.column("text").to_pylist()),
                              "sizes": sorted(len(r["bytes"]) for r in t.column("image").to_pylist())}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, out.appendingPathComponent("train-00000-of-00001.parquet").path]
        process.environment = ["PYTHONPATH": python.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("python3 could not import pyarrow") }
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: pipe.fileHandleForReading.readDataToEndOfFile()) as? [String: Any])
        XCTAssertEqual(result["schema"] as? String, "struct<bytes: binary, path: string>")
        XCTAssertEqual(result["rows"] as? Int, 2)
        XCTAssertEqual(result["compression"] as? String, "SNAPPY")
        XCTAssertEqual(result["texts"] as? [String], ["first", "第二"])
        XCTAssertEqual(result["sizes"] as? [Int], [try png(1).count, try png(2).count].sorted())
    }

    // MARK: Export

    func testExportListingRoundTrips() throws {
        let (out, _) = try build([try listing(5)])
        let exported = root.appendingPathComponent("exported")
        XCTAssertEqual(try exportDataset(try DatasetReader(folder: out), format: .listing, to: exported), 5)
        let (again, _) = try build([exported.appendingPathComponent("listing.txt")])
        XCTAssertEqual(try allSamples(again).map(\.imageBytes), try allSamples(out).map(\.imageBytes))
        let folder = root.appendingPathComponent("exported-folder")
        try exportDataset(try DatasetReader(folder: out), format: .folder, to: folder)
        let (fromFolder, _) = try build([folder])
        XCTAssertEqual(try allSamples(fromFolder).map(\.text), try allSamples(out).map(\.text))
    }
}
