// Helpers: a scratch folder per test, distinct generated PNGs, and building a dataset quietly.

import Foundation
import OCRData
import OCRImaging
import XCTest

class DataTestCase: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ocrdata-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    }

    /// A distinct 40×16 PNG for each `seed` (a black bar whose position and length encode it).
    func png(_ seed: Int, width: Int = 40, height: Int = 16) throws -> Data {
        var image = RGBImage(width: width, height: height)
        for y in 4..<min(height, 12) {
            for x in 0..<width where (x + seed) % 7 < 3 + seed % 4 || x == seed % width {
                let i = (y * width + x) * 3
                image.pixels[i] = UInt8(seed * 3 % 200)
                image.pixels[i + 1] = 0
                image.pixels[i + 2] = UInt8(seed * 7 % 250)
            }
        }
        return try ImageCodec.encodePNG(image)
    }

    /// Writes `images/NAME.png` files for the seeds and returns their relative paths.
    @discardableResult
    func writeImages(_ seeds: [Int], in folder: URL? = nil) throws -> [String] {
        let dir = (folder ?? root).appendingPathComponent("images")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try seeds.map { seed in
            try png(seed).write(to: dir.appendingPathComponent("img\(seed).png"))
            return "images/img\(seed).png"
        }
    }

    func write(_ text: String, to name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func build(_ inputs: [URL], seed: UInt64 = 0, split: String = "80,10,10", configure: (inout BuildOptions) -> Void = { _ in }) throws -> (URL, BuildSummary) {
        var options = BuildOptions()
        options.seed = seed
        options.split = try SplitSpec(parsing: split)
        options.threads = 2
        configure(&options)
        let out = root.appendingPathComponent("ds-\(UUID().uuidString.prefix(8))")
        let summary = try DatasetBuilder(inputs: inputs, output: out, options: options).run()
        return (out, summary)
    }

    /// Every sample of every split, sorted by text.
    func allSamples(_ folder: URL) throws -> [DatasetSample] {
        let reader = try DatasetReader(folder: folder)
        return try Split.allCases.flatMap { try reader.samples(in: $0) }.sorted { $0.text < $1.text }
    }

    func rejections(_ folder: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: folder.appendingPathComponent("rejected.jsonl"))
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
