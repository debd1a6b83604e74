// Qwen-VL training surface: answer-only loss equal to transformers' (labels −100 outside the
// answer), collation masks, and LoRA steps on q/k/v/o that lower the loss.

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import XCTest

@testable import OCRFineTune
import OCRModels
import OCRTestSupport

final class QwenVLTrainingTests: XCTestCase {
    /// The fields of the fixture's expected.json this test reads.
    struct LossExpected: Decodable {
        let loss_last8: Double
        let input_ids: [Int]
        let image_grid_thw: [[Int]]
    }

    func checkLoss(_ name: String) throws {
        let e = try JSONDecoder().decode(
            LossExpected.self, from: Data(contentsOf: ModelFixtures.qwenVL(name).appendingPathComponent("expected.json")))
        let loss = e
        let recognizer = try QwenVLTextRecognizer(folder: ModelFixtures.qwenVL(name))
        let n = e.input_ids.count
        let labels = e.input_ids.enumerated().map { Int32($0.offset >= n - 8 ? $0.element : qwenIgnoreIndex) }
        let batch = QwenVLBatch(
            inputIds: [e.input_ids], labels: MLXArray(labels, [1, n]), pixels: try ModelFixtures.qwenVLPixels(name),
            grids: e.image_grid_thw)
        let got = try QwenVLTrainable(recognizer: recognizer).loss(batch).item(Float.self)
        XCTAssertEqual(Double(got), loss.loss_last8, accuracy: 1e-4)
    }

    func testQwen25AnswerOnlyLoss() throws { try checkLoss("qwen2_5_vl") }
    func testQwen3AnswerOnlyLoss() throws { try checkLoss("qwen3_vl") }

    func samples() throws -> [(image: RGBImage, prompt: String?, answer: String)] {
        let folder = ModelFixtures.qwenVL("qwen3_vl").appendingPathComponent("images")
        let a = try ImageCodec.decode(contentsOf: folder.appendingPathComponent("image0.png"))
        return [(a, "Free OCR.", "Invoice number 42"), (a, "Free OCR.", "total 17.30 EUR and more text here")]
    }

    func testCollateMasksPromptImageAndPadding() throws {
        let trainable = QwenVLTrainable(recognizer: try QwenVLTextRecognizer(folder: ModelFixtures.qwenVL("qwen3_vl")))
        let tokenizer = trainable.recognizer.tokenizer
        let s = try samples()
        let batch = try trainable.collate(s)
        let labels = batch.labels.asArray(Int32.self).map(Int.init)
        let length = batch.inputIds[0].count
        XCTAssertEqual(batch.inputIds.map(\.count), [length, length])
        let end = tokenizer.tokenToID("<|im_end|>")!
        for (row, sample) in s.enumerated() {
            let rowLabels = Array(labels[row * length ..< (row + 1) * length])
            let kept = rowLabels.filter { $0 != qwenIgnoreIndex }
            XCTAssertEqual(kept, tokenizer.encode(sample.answer, addSpecialTokens: false) + [end])
            // Kept labels sit exactly at the answer positions, equal to the input there.
            for (i, l) in rowLabels.enumerated() where l != qwenIgnoreIndex { XCTAssertEqual(batch.inputIds[row][i], l) }
            XCTAssertFalse(zip(batch.inputIds[row], rowLabels).contains { $0 == trainable.model.config.imageTokenID && $1 != qwenIgnoreIndex })
        }
        // Right padding changes nothing for the shorter row: the batch loss is the token-weighted
        // mean of the single-sample losses.
        let single = try s.map { try trainable.loss(trainable.collate([$0])).item(Float.self) }
        let counts = try s.map { Float(try trainable.encode(image: $0.image, prompt: $0.prompt, answer: $0.answer).answer.count) }
        let expected = (single[0] * counts[0] + single[1] * counts[1]) / (counts[0] + counts[1])
        XCTAssertEqual(try trainable.loss(batch).item(Float.self), expected, accuracy: 1e-4)
    }

    func testLoRAStepsLowerTheLoss() throws {
        let trainable = QwenVLTrainable(recognizer: try QwenVLTextRecognizer(folder: ModelFixtures.qwenVL("qwen2_5_vl")))
        let wrapped = try trainable.module.applyLoRA(
            LoRAConfiguration(r: 4, alpha: 8, targetModules: trainable.defaultLoRATargets), seed: 1)
        XCTAssertEqual(wrapped.count, 4 * trainable.model.config.textConfig.numHiddenLayers)
        XCTAssertTrue(wrapped.allSatisfy { $0.hasPrefix("model.language_model.layers.") })
        let batch = try trainable.collate(try samples())
        var losses: [Float] = []
        for _ in 0 ..< 4 {
            let (loss, grads) = try valueAndGrad(model: trainable.module) { try trainable.loss(batch) }
            losses.append(loss.item(Float.self))
            for (key, array) in trainable.module.trainableParameters() {
                array.update(array - grads[key]! * 0.05)
            }
            try eval(trainable.module.trainableParameters().map(\.array))
        }
        XCTAssertLessThan(losses.last!, losses.first!)
    }
}
