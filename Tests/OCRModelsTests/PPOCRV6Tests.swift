// PP-OCRv6 recognizer: a tiny random transformers model (tools/ppocrv6_make_fixtures.py)
// exported to ONNX with its BatchNorms folded, imported by role and compared with transformers'
// own probabilities; parameter names against transformers' state dict; model folders and CTC
// steps (the fine-tuning surface is tested in OCRFineTuneTests/PPOCRV6TrainingTests).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRModels
import XCTest

final class PPOCRV6Tests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ppocrv6")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func importTiny() throws -> PPOCRV6Import {
        let imported = try PPOCRONNXImporter.importModel(onnxPath: fixture("tiny-rec.onnx"), dictionaryPath: nil)
        return try XCTUnwrap(imported as? PPOCRV6Import, "the tiny graph is read as PP-OCRv6")
    }

    // MARK: Import

    func testTinyGraphImportsWithTransformersConfigAndNames() throws {
        let imported = try importTiny()
        let c = imported.config
        XCTAssertEqual(c.modelType, "pp_ocrv6_small_rec")
        XCTAssertEqual(c.backboneConfig.stemChannels, [3, 8, 16])
        XCTAssertEqual(c.backboneConfig.blockConfigs.map(\.count), [1, 1, 2, 2])
        XCTAssertEqual(c.backboneConfig.blockConfigs[2][0].stride, [2, 1])
        XCTAssertEqual(c.backboneConfig.blockConfigs.flatMap { $0 }.map(\.useSqueezeExcitation), [true, false, false, true, false, true])
        XCTAssertEqual(c.backboneConfig.stemStrides, [2, 1, 1, 2, 1])
        XCTAssertEqual(c.hiddenSize, 32)
        XCTAssertEqual(c.numAttentionHeads, 4)
        XCTAssertEqual(c.convKernelSize, [1, 7])
        XCTAssertEqual(c.headOutChannels, 12)
        XCTAssertEqual(imported.dictionary.labels, Array("0123456789").map(String.init) + [" "], "embedded dictionary + space")
        let keys = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: fixture("tiny-rec-keys.json"))))
        let network = try imported.makeNetwork()
        XCTAssertEqual(Set(network.parameters().map(\.key)), Set(keys), "parameter names are transformers'")
    }

    func testTinyGraphMatchesTransformers() throws {
        let network = try importTiny().makeNetwork()
        let expected = try loadSafeTensors(path: fixture("tiny-expected.safetensors")).arrays
        let pixels = try XCTUnwrap(expected["rec.pixels"])
        let probabilities = network.probabilities(pixels)
        XCTAssertEqual(probabilities.shape, expected["rec.probabilities"]!.shape)
        XCTAssertEqual(network.steps(forWidth: pixels.dim(2)), probabilities.dim(1))
        let d = (probabilities - expected["rec.probabilities"]!).abs().max().item(Float.self)
        XCTAssertLessThan(d, 1e-5, "max |probability − transformers'|")
    }

    func testStepsMatchTheNetworkForOddWidths() throws {
        let network = try importTiny().makeNetwork()
        for width in [17, 64, 99, 320, 333] {
            let logits = network(MLXRandom.uniform([1, 48, width, 3], key: MLXRandom.key(UInt64(width))))
            XCTAssertEqual(logits.dim(1), network.steps(forWidth: width), "width \(width)")
        }
    }

    func testModelFolderRoundTripRecognizes() throws {
        let imported = try importTiny()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppocrv6-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try imported.write(to: dir)
        let recognizer = try PPOCRTextRecognizer(folder: dir)
        XCTAssertEqual(recognizer.name, "PP-OCRv6 small rec")
        let config = try ModelFolder.readConfig(PPOCRV6RecognizerConfig.self, at: dir)
        XCTAssertEqual(config, imported.config)
        let images = [RGBImage(width: 60, height: 20, fill: (10, 200, 30)), RGBImage(width: 300, height: 30)]
        let greedy = try recognizer.recognize(images, options: .init(batchSize: 2))
        let beam = try recognizer.recognize(images, options: .init(batchSize: 2, decoder: .beamSearch(width: 4)))
        XCTAssertEqual(greedy.count, 2)
        // Greedy and beam agree on the best path's text when the beam keeps it (tiny vocabulary).
        XCTAssertEqual(Set(greedy.map(\.text)).count <= 2, true)
        XCTAssertEqual(beam.count, 2)
        let direct = try imported.makeNetwork()
        let pixels = recognizer.preprocessor.batch([images[0]])
        let d = (recognizer.network.probabilities(pixels) - direct.probabilities(pixels)).abs().max().item(Float.self)
        XCTAssertEqual(d, 0, "the folder holds the imported weights")
    }

    func testV5GraphsStillImportAsV5() throws {
        let v5 = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ppocr/tiny-v5.onnx").path
        let dict = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ppocr/tiny-dict.txt").path
        let imported = try PPOCRONNXImporter.importModel(onnxPath: v5, dictionaryPath: dict)
        XCTAssertTrue(imported is PPOCRImport)
    }
}
