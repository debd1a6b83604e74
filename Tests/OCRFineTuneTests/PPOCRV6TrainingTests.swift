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

    /// The batch norms the ONNX graph had folded (identity statistics) keep their statistics in
    /// training; the others train with the batch's. A training step leaves the folded ones' output
    /// as inference computes it.
    func testFoldedBatchNormsKeepTheirStatistics() throws {
        let imported = try importTiny()
        let recognizer = try PPOCRTextRecognizer(network: try imported.makeNetwork(), dictionary: imported.dictionary)
        let norms = recognizer.network.namedModules().compactMap { $0.1 as? BatchNorm }
        let folded = norms.filter(\.hasFoldedStatistics)
        XCTAssertFalse(folded.isEmpty, "the tiny graph folds some batch norms")
        let trainable = PPOCRTrainable(recognizer: recognizer)
        for norm in norms { XCTAssertEqual(norm.keepsRunningStatistics, norm.hasFoldedStatistics) }
        _ = try trainable.extendVocabulary(with: ["a"])
        let grown = trainable.network.namedModules().compactMap { $0.1 as? BatchNorm }
        XCTAssertEqual(grown.filter(\.keepsRunningStatistics).count, folded.count, "kept after vocabulary extension")
    }

    /// `--freeze early-backbone` freezes the stem and every stage but the last; the last stage,
    /// the neck and the head train.
    func testEarlyBackboneGroupLeavesTheLastStageTraining() throws {
        let imported = try importTiny()
        let recognizer = try PPOCRTextRecognizer(network: try imported.makeNetwork(), dictionary: imported.dictionary)
        let trainable = PPOCRTrainable(recognizer: recognizer)
        let keys = Array(trainable.network.parameterDictionary().keys)
        let stages = Set(keys.compactMap { key -> Int? in
            guard key.hasPrefix("model.backbone.encoder.blocks.") else { return nil }
            return Int(key.split(separator: ".")[4])
        })
        let last = try XCTUnwrap(stages.max())
        XCTAssertGreaterThan(stages.count, 1)
        let patterns = try XCTUnwrap(trainable.parameterGroups["early-backbone"]).map(KeyPattern.init)
        for key in keys {
            let frozen = patterns.contains { $0.matches(key) }
            let inLastStage = key.hasPrefix("model.backbone.encoder.blocks.\(last).")
            XCTAssertEqual(frozen, key.hasPrefix("model.backbone.") && !inLastStage, key)
        }
    }

    /// With the backbone frozen, a batch without features gets them before the step
    /// (prepareStep); the loss and the gradients are those of the step computing them itself.
    /// A training backbone leaves the batch as it is.
    func testFrozenBackboneFeaturesComputedBeforeTheStep() throws {
        let imported = try importTiny()
        let recognizer = try PPOCRTextRecognizer(network: try imported.makeNetwork(), dictionary: imported.dictionary)
        let trainable = PPOCRTrainable(recognizer: recognizer)
        let network = trainable.network
        let lines = ["0", "01", "10"].enumerated().map { i, text in
            (RGBImage(width: 70 + 20 * i, height: 32, pixels: (0 ..< (70 + 20 * i) * 32 * 3).map { UInt8(($0 * (7 + i)) % 251) }), text)
        }
        _ = network.freeze(matching: ["model.backbone"])
        network.trainWithFrozenLayersInEvalMode()
        let batch = try trainable.collate(lines)
        XCTAssertNil(batch.features)
        let prepared = try trainable.prepareStep(batch)
        let features = try XCTUnwrap(prepared.features)
        XCTAssertEqual(features.shape, network.pooledFeatures(batch.images).shape)
        // The step computing them itself, and the prepared one; the same dropout draws in both.
        MLXRandom.seed(7)
        let (lossA, gradsA) = try valueAndGrad(model: network) { trainable.loss(batch) }
        try eval([lossA] + Array(gradsA.values))
        MLXRandom.seed(7)
        let (lossB, gradsB) = try valueAndGrad(model: network) { trainable.loss(prepared) }
        XCTAssertEqual(lossA.item(Float.self), lossB.item(Float.self), accuracy: 1e-5 * max(1, abs(lossA.item(Float.self))))
        XCTAssertEqual(Set(gradsA.keys), Set(gradsB.keys))
        XCTAssertFalse(gradsA.keys.contains { $0.hasPrefix("model.backbone") })
        // The features equal the backbone's up to the products' rounding (the BLAS threads differ).
        let inline = network.pooledFeatures(batch.images)
        XCTAssertLessThanOrEqual(abs(inline - features).max().item(Float.self), 1e-6 * max(1, abs(inline).max().item(Float.self)))
        // Gradients within 1e-3 of each tensor's largest: a convolution feeding a batch norm that
        // trains on three lines has a gradient of nearly cancelling terms, which turns the
        // features' last-bit differences into ~3e-4 of its scale (the rest agree to ~1e-6).
        for (key, a) in gradsA {
            let b = try XCTUnwrap(gradsB[key])
            XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), 1e-3 * abs(a).max().item(Float.self), key)
        }
        // A backbone that trains: nothing to compute ahead.
        _ = network.unfreeze()
        network.trainWithFrozenLayersInEvalMode()
        XCTAssertNil(try trainable.prepareStep(batch).features)
    }
}
