// Gradient checkpointing of the SVTR neck blocks: the same loss and gradients as without it.

import Foundation
import MLXEngine
import MLXNN
@testable import OCRFineTune
import OCRModels
import OCRTestSupport
import XCTest

final class PPOCRGradientCheckpointingTests: XCTestCase {
    /// Loss and gradients of the CTC loss of a fixed batch, with or without checkpointing.
    /// One random initialization for every network of a test (layers draw unseeded keys).
    private let weights = PPOCRV5Network(config: tinyPPOCRConfig()).parameterDictionary()

    private func lossAndGradients(lora: Bool, checkpointing: Bool) throws -> (Float, [String: [Float]]) {
        let network = PPOCRV5Network(config: tinyPPOCRConfig())
        try network.update(parameters: weights, source: "test")
        let dictionary = CharacterDictionary(labels: (0 ..< 11).map { String(UnicodeScalar(UInt8(97 + $0))) })
        let trainable = PPOCRTrainable(recognizer: try PPOCRTextRecognizer(network: network, dictionary: dictionary))
        if lora {
            try network.applyLoRA(LoRAConfiguration(r: 4, alpha: 8, targetModules: trainable.defaultLoRATargets), seed: 3)
            // LoRA B starts at zero; give it values so every adapter gradient is non-trivial.
            for (key, p) in network.trainableParameters() where key.contains("lora_B") {
                p.update(MLXRandom.normal(p.shape, key: MLXRandom.key(UInt64(key.count))) * 0.1)
            }
        }
        XCTAssertTrue(trainable.setGradientCheckpointing(checkpointing))
        network.trainWithFrozenLayersInEvalMode()
        let width = 64
        let batch = CTCBatch(
            images: MLXRandom.uniform([2, 48, width, 3], low: -1, high: 1, key: MLXRandom.key(9)),
            targets: MLXArray([Int32(1), 2, 3, 4, 5, 0], [2, 3]), inputLengths: Array(repeating: network.steps(forWidth: width), count: 2),
            targetLengths: [3, 2])
        let (loss, gradients) = try valueAndGrad(model: network) { trainable.loss(batch) }
        try eval([loss] + Array(gradients.values))
        return (loss.item(Float.self), gradients.mapValues { $0.asArray(Float.self) })
    }

    private func assertSameGradients(lora: Bool) throws {
        let (plainLoss, plain) = try lossAndGradients(lora: lora, checkpointing: false)
        let (checkpointedLoss, checkpointed) = try lossAndGradients(lora: lora, checkpointing: true)
        XCTAssertEqual(plainLoss, checkpointedLoss, accuracy: 1e-6)
        XCTAssertEqual(Set(plain.keys), Set(checkpointed.keys))
        let blockKeys = plain.keys.filter { $0.contains("svtr_block") }
        XCTAssertFalse(blockKeys.isEmpty)
        for key in plain.keys {
            let (a, b) = (plain[key]!, checkpointed[key]!)
            let scale = max(a.map(abs).max() ?? 0, 1e-6)
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff / scale, 1e-5, key)
        }
        XCTAssertGreaterThan(blockKeys.map { plain[$0]!.map(abs).reduce(0, +) }.reduce(0, +), 0)
    }

    func testCheckpointedNeckGivesTheSameGradientsInFullFineTuning() throws {
        try assertSameGradients(lora: false)
    }

    func testCheckpointedNeckGivesTheSameGradientsWithLoRA() throws {
        try assertSameGradients(lora: true)
    }

    func testCheckpointingOnlyInTrainingModeAndKeptByVocabularyExtension() throws {
        let network = PPOCRV5Network(config: tinyPPOCRConfig())
        let dictionary = CharacterDictionary(labels: (0 ..< 11).map { String(UnicodeScalar(UInt8(97 + $0))) })
        let trainable = PPOCRTrainable(recognizer: try PPOCRTextRecognizer(network: network, dictionary: dictionary))
        XCTAssertTrue(trainable.setGradientCheckpointing(true))
        try trainable.extendVocabulary(with: ["z"])
        XCTAssertTrue(trainable.network.gradientCheckpointing)
        // Evaluation mode runs the blocks plainly: same outputs either way.
        let x = MLXRandom.uniform([1, 48, 64, 3], low: -1, high: 1, key: MLXRandom.key(4))
        trainable.network.train(false)
        let on = trainable.network(x)
        trainable.network.gradientCheckpointing = false
        XCTAssertEqual(on.asArray(Float.self), trainable.network(x).asArray(Float.self))
    }
}
