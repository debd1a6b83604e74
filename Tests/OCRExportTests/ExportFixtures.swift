// Tiny models and samples for the export tests: a PP-OCR recognizer with random weights (a
// PP-OCRv5-shaped config at a quarter of the width), images of stripes, and temporary folders.

import Foundation
import MLXEngine
import MLXNN
import OCRExport
import OCREvaluation
import OCRImaging
import OCRModels
import OCRTestSupport

enum ExportFixtures {
    static func temporaryFolder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-export-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A deterministic image: stripes whose phase depends on `seed`.
    static func image(width: Int, height: Int, seed: Int) -> RGBImage { TestImages.stripes(width: width, height: height, seed: seed) }

    /// Samples of images of several widths, with references.
    static func samples(count: Int, height: Int = 48, texts: [String] = ["12", "3 4", "567", "0", "89 1"]) -> [EvalSample] {
        (0 ..< count).map { i in
            let width = 60 + (i * 53) % 260
            let image = image(width: width, height: height, seed: i)
            return EvalSample(id: "s\(i)", reference: texts[i % texts.count], width: width, height: height) { image }
        }
    }

    /// A PP-OCR model folder with random weights; `labels` are its dictionary (blank excluded).
    /// The tiny random PP-OCRv6 graph of OCRModelsTests' fixtures (tools/ppocrv6_make_fixtures.py),
    /// imported into a model folder; its batch norms get random statistics so every one matters.
    static func ppocrV6Model(seed: UInt64 = 7) throws -> URL {
        let onnx = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OCRModelsTests/Fixtures/ppocrv6/tiny-rec.onnx").path
        guard var imported = try PPOCRONNXImporter.importModel(onnxPath: onnx, dictionaryPath: nil) as? PPOCRV6Import else {
            throw ExportError("\(onnx) is not read as PP-OCRv6")
        }
        MLXRandom.seed(seed)
        for (key, value) in imported.weights where key.hasSuffix("running_var") {
            imported.weights[key] = MLXRandom.uniform(value.shape, low: 0.5, high: 1.5)
        }
        for (key, value) in imported.weights where key.hasSuffix("running_mean") {
            imported.weights[key] = MLXRandom.uniform(value.shape, low: -0.2, high: 0.2)
        }
        let folder = temporaryFolder("ppocrv6").appendingPathComponent("model")
        try imported.write(to: folder)
        return folder
    }

    static func ppocrModel(labels: [String] = (0 ..< 10).map(String.init) + [" "], seed: UInt64 = 7) throws -> URL {
        let folder = temporaryFolder("ppocr").appendingPathComponent("model")
        MLXRandom.seed(seed)
        let config = tinyPPOCRConfig(classes: labels.count + 1)
        let network = PPOCRV5Network(config: config)
        // Random BatchNorm statistics and affines, so that every parameter matters.
        var weights = network.parameterDictionary()
        for (key, value) in weights where key.hasSuffix("running_var") { weights[key] = MLXRandom.uniform(value.shape, low: 0.5, high: 1.5) }
        for (key, value) in weights where key.hasSuffix("running_mean") || key.hasSuffix("lab.bias") {
            weights[key] = MLXRandom.uniform(value.shape, low: -0.2, high: 0.2)
        }
        try PPOCRImport(config: config, weights: weights, dictionary: CharacterDictionary(labels: labels)).write(to: folder)
        return folder
    }
}
