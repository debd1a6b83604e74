// Tiny datasets and base models for the recipe tests: a dataset folder built by OCRData from
// generated images, and each family's smallest model folder.

import Foundation
import MLXEngine
import MLXNN
import OCRData
import OCRFineTune
import OCRImaging
import OCRModels
import OCRTestSupport
import OCRTraining
import XCTest

enum FineTuneFixtures {
    static func temporaryFolder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-finetune-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A deterministic image: stripes whose phase depends on `seed`.
    static func image(width: Int, height: Int, seed: Int) -> RGBImage { TestImages.stripes(width: width, height: height, seed: seed) }

    /// A dataset folder of `texts.count` samples, split by counts (train, val, test).
    static func dataset(
        texts: [String], width: Int, height: Int, split: (Int, Int, Int), metadata: [String: String] = [:]
    ) throws -> URL {
        try dataset(texts: texts, widths: texts.map { _ in width }, height: height, split: split, metadata: metadata)
    }

    /// The same with one width per sample.
    static func dataset(
        texts: [String], widths: [Int], height: Int, split: (Int, Int, Int), metadata: [String: String] = [:]
    ) throws -> URL {
        let root = temporaryFolder("data")
        let images = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var lines: [String] = []
        for (i, text) in texts.enumerated() {
            let file = images.appendingPathComponent("\(i).png")
            try image(width: widths[i], height: height, seed: i).pngData().write(to: file)
            var object: [String: String] = ["image": file.path, "text": text]
            for (k, v) in metadata { object[k] = v }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        let listing = root.appendingPathComponent("data.jsonl")
        try lines.joined(separator: "\n").write(to: listing, atomically: true, encoding: .utf8)
        var options = BuildOptions()
        options.split = .counts(val: split.1, test: split.2)
        precondition(split.0 + split.1 + split.2 == texts.count)
        options.threads = 1
        let out = root.appendingPathComponent("dataset")
        _ = try DatasetBuilder(inputs: [listing], output: out, options: options).run()
        return out
    }

    /// A PP-OCR recognizer folder with random weights and a 12-class head (digits and a space):
    /// tiny, or with PP-OCRv5's own backbone and neck widths (`fullWidth`), wide enough that the
    /// BLAS rounds a row differently depending on the rows beside it.
    static func ppocrModel(fullWidth: Bool = false) throws -> URL {
        let folder = temporaryFolder("ppocr").appendingPathComponent("model")
        MLXRandom.seed(7)
        var config = tinyPPOCRConfig(classes: 12)
        if fullWidth { config = PPOCRRecognizerConfig(headOutChannels: 12) }
        let network = PPOCRV5Network(config: config)
        let dictionary = CharacterDictionary(paddleCharacters: (0 ..< 10).map(String.init), useSpaceChar: true)
        try PPOCRImport(config: config, weights: network.parameterDictionary(), dictionary: dictionary).write(to: folder)
        return folder
    }

    /// A short training configuration: LoRA, batch 2, no warm-up.
    static func configuration(steps: Int, evalEvery: Int, saveEvery: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.maxSteps = steps
        c.batchSize = 2
        c.learningRate = 1e-3
        c.evalEvery = evalEvery
        c.evalSamples = 2
        c.saveEvery = saveEvery
        c.keepLast = 10
        c.seed = 3
        c.logEvery = 1
        return c
    }
}
