// Distillation against forgetting: replay rows keep the base model's output distribution.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
@testable import OCRFineTune
import OCRModels
import OCRTestSupport
import XCTest

final class PPOCRDistillationTests: XCTestCase {
    private func trainable() throws -> PPOCRTrainable {
        let network = PPOCRV5Network(config: tinyPPOCRConfig(classes: 12))
        network.train(false)
        let dictionary = CharacterDictionary(paddleCharacters: (0 ..< 10).map(String.init), useSpaceChar: true)
        return PPOCRTrainable(recognizer: try PPOCRTextRecognizer(network: network, dictionary: dictionary))
    }

    private func batch(_ model: PPOCRTrainable, replay: [Bool]) throws -> CTCBatch {
        let images = (0 ..< 2).map { i in
            RGBImage(width: 96, height: 48, pixels: (0 ..< 96 * 48 * 3).map { UInt8(($0 * (7 + i)) % 251) })
        }
        return try model.collate([(images[0], "12"), (images[1], "305")], replay: replay)
    }

    func testKLIsZeroForTheTeacherItselfAndPositiveAfterExtension() throws {
        let model = try trainable()
        try model.useCurrentNetworkAsTeacher()
        let b = try batch(model, replay: [false, true])
        XCTAssertEqual(b.replayRows, [1])
        let teacher = try XCTUnwrap(model.teacher)
        let replay = MLXArray([Int32(1)])
        let teacherLogits = teacher(b.images.take(replay, axis: 0))
        let logProbs = logSoftmax(model.network(b.images), axis: -1).take(replay, axis: 0)
        XCTAssertEqual(model.distillationLoss(teacherLogits: teacherLogits, logProbs: logProbs).item(Float.self), 0, accuracy: 1e-6)

        // Two new classes: the old classes lose the mass the new rows take, so KL > 0, and it
        // equals the mean over steps of −log(1 − p_new) (the old classes' ratios are unchanged).
        try model.extendVocabulary(with: ["a", "b"], seed: 3)
        let extended = logSoftmax(model.network(b.images), axis: -1).take(replay, axis: 0)
        let kl = model.distillationLoss(teacherLogits: teacherLogits, logProbs: extended).item(Float.self)
        let newMass = exp(extended.sliced(axis: -1, 12 ..< 14)).sum(axis: -1)
        let expected = (-log(1 - newMass)).mean().item(Float.self)
        XCTAssertGreaterThan(kl, 0)
        XCTAssertEqual(kl, expected, accuracy: 1e-5)
    }

    func testLossAddsTheWeightedTermOnlyWithReplayRows() throws {
        let model = try trainable()
        try model.useCurrentNetworkAsTeacher()
        try model.extendVocabulary(with: ["a", "b"], seed: 3)
        let plain = model.loss(try batch(model, replay: [false, false])).item(Float.self)
        let withReplay = try batch(model, replay: [true, true])
        model.distillationWeight = 0
        XCTAssertEqual(model.loss(withReplay).item(Float.self), plain, accuracy: 1e-6)
        model.distillationWeight = 2
        let teacher = try XCTUnwrap(model.teacher)
        let kl = model.distillationLoss(
            teacherLogits: teacher(withReplay.images), logProbs: logSoftmax(model.network(withReplay.images), axis: -1))
        XCTAssertEqual(model.loss(withReplay).item(Float.self), plain + 2 * kl.item(Float.self), accuracy: 1e-5)

        // With the backbone frozen in eval mode the teacher reuses its features: same value.
        _ = model.network.freeze(matching: ["model.backbone"])
        XCTAssertTrue(model.backboneIsFrozen)
        XCTAssertEqual(model.loss(withReplay).item(Float.self), plain + 2 * kl.item(Float.self), accuracy: 1e-5)
        _ = model.network.unfreeze()

        // The gradient of the distillation term lowers the new classes' biases.
        let (_, gradients) = try valueAndGrad(model: model.network) {
            model.distillationLoss(
                teacherLogits: teacher(withReplay.images), logProbs: logSoftmax(model.network(withReplay.images), axis: -1))
        }
        let bias = try XCTUnwrap(gradients["head.head.bias"]).asArray(Float.self)
        XCTAssertGreaterThan(bias[12], 0)
        XCTAssertGreaterThan(bias[13], 0)
    }

    func testFeatureDistillationIsTheRelativeDriftOfTheNeck() throws {
        let model = try trainable()
        try model.useCurrentNetworkAsTeacher()
        try model.extendVocabulary(with: ["a", "b"], seed: 3)
        let replay = try batch(model, replay: [true, true])
        let plain = try batch(model, replay: [false, false])
        model.distillationWeight = 0
        model.featureDistillationWeight = 5
        // The extension changed only the head: the neck still equals the teacher's.
        XCTAssertEqual(model.loss(replay).item(Float.self), model.loss(plain).item(Float.self), accuracy: 1e-6)

        let key = "head.encoder.conv_block.4.convolution.weight"
        let weight = try XCTUnwrap(model.network.parameterDictionary()[key])
        try model.network.update(parameters: [key: weight + 0.05], verify: [.noUnexpected, .shapesMatch], source: "test")
        let teacher = try XCTUnwrap(model.teacher)
        let neck = { (n: any PPOCRNetwork) in n.neck(n.pooledFeatures(replay.images)) }
        let (s, t) = (neck(model.network), neck(teacher))
        let drift = (((s - t) * (s - t)).sum() / (t * t).sum()).item(Float.self)
        XCTAssertGreaterThan(drift, 0)
        let ctc = model.loss(plain).item(Float.self)
        XCTAssertEqual(model.loss(replay).item(Float.self), ctc + 5 * drift, accuracy: 1e-4 * max(1, ctc))
    }

    func testFrozenBackboneFeaturesAreKeptPerSampleAndGiveTheSameLoss() throws {
        let model = try trainable()
        try model.useCurrentNetworkAsTeacher()
        try model.extendVocabulary(with: ["a", "b"], seed: 3)
        _ = model.network.freeze(matching: ["model.backbone"])
        model.network.trainWithFrozenLayersInEvalMode()  // as the trainer does
        XCTAssertTrue(model.network.backboneModule.training)  // a parameter-free container
        XCTAssertTrue(model.backboneIsFrozen)
        model.featureDistillationWeight = 1
        let images = (0 ..< 2).map { i in
            RGBImage(width: 96 + 40 * i, height: 48, pixels: (0 ..< (96 + 40 * i) * 48 * 3).map { UInt8(($0 * (5 + i)) % 251) })
        }
        let samples = [(images[0], "12"), (images[1], "305")]
        let cached = try model.collate(samples, replay: [false, true], keys: ["first", "second"])
        let features = try XCTUnwrap(cached.features)
        XCTAssertEqual(cached.images.dim(2), model.maxTrainingWidth)  // padded to the training width
        XCTAssertEqual(features.dim(0), 2)
        XCTAssertEqual(model.featureCacheUsed, features.size * 4)
        var live = cached
        live.features = nil
        XCTAssertEqual(model.loss(cached).item(Float.self), model.loss(live).item(Float.self), accuracy: 1e-5)

        // Kept: the same features come back (in another order) and nothing is added.
        let again = try model.collate([samples[1], samples[0]], replay: [true, false], keys: ["second", "first"])
        XCTAssertEqual(abs(try XCTUnwrap(again.features) - features.take(MLXArray([Int32(1), 0]), axis: 0)).max().item(Float.self), 0)
        XCTAssertEqual(model.featureCacheUsed, features.size * 4)

        // A backbone that trains gets no features, and the kept ones are dropped.
        _ = model.network.unfreeze()
        model.network.trainWithFrozenLayersInEvalMode()
        XCTAssertFalse(model.backboneIsFrozen)
        let trainingBackbone = try model.collate(samples, keys: ["first", "second"])
        XCTAssertNil(trainingBackbone.features)
        XCTAssertEqual(model.featureCacheUsed, 0)
    }
}
