// PP-OCRv6's fine-tuning surface: vocabulary extension keeps the old classes' logits, and a
// collated batch gives a finite CTC loss. The tiny random graph is OCRModelsTests' fixture
// (tools/ppocrv6_make_fixtures.py).

import Foundation
import MLXEngine
import MLXNN
import OCRFineTune
import OCRImaging
import OCRModels
import XCTest

final class PPOCRV6TrainingTests: XCTestCase {
    func importTiny() throws -> PPOCRV6Import {
        let onnx = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OCRModelsTests/Fixtures/ppocrv6/tiny-rec.onnx").path
        let imported = try PPOCRONNXImporter.importModel(onnxPath: onnx, dictionaryPath: nil)
        return try XCTUnwrap(imported as? PPOCRV6Import, "the tiny graph is read as PP-OCRv6")
    }

    func testVocabularyExtensionKeepsOldClasses() throws {
        let network = try importTiny().makeNetwork()
        let recognizer = try PPOCRTextRecognizer(network: network, dictionary: try importTiny().dictionary)
        let trainable = PPOCRTrainable(recognizer: recognizer)
        let pixels = MLXRandom.uniform([1, 48, 64, 3], key: MLXRandom.key(3))
        let before = network(pixels)
        let added = try trainable.extendVocabulary(with: ["a", "b", "0"])
        XCTAssertEqual(added, ["a", "b"])
        XCTAssertEqual(trainable.network.classCount, 14)
        XCTAssertTrue(trainable.network is PPOCRV6Network)
        let after = trainable.network(pixels)
        let d = (after.sliced(axis: -1, 0 ..< 12) - before).abs().max().item(Float.self)
        XCTAssertEqual(d, 0, "old logits unchanged")
        let batch = try trainable.collate([(RGBImage(width: 90, height: 30), "a0b")])
        let loss = trainable.loss(batch).item(Float.self)
        XCTAssertTrue(loss.isFinite && loss > 0)
    }
}
