// latex-ocr-junia's training surface against the package: teacher-forced batches, the masked
// loss, and LoRA on the decoder (fixtures: OCRModelsTests/Fixtures/latex-junia-tiny, made by
// tools/convert_latex_ocr_junia.py).

import Foundation
import MLXEngine
import MLXNN
import OCRFineTune
import OCRImaging
import OCRModels
import OCRTestSupport
import XCTest

final class LatexJuniaTrainableTests: XCTestCase {
    static let fixtures = ModelFixtures.url("latex-junia-tiny")

    struct Summary: Decodable {
        let images: [String]
        let train_texts: [String]
        let train_loss: Double
    }

    func expected() throws -> [String: MLXArray] {
        try loadSafeTensors(path: Self.fixtures.appendingPathComponent("expected.safetensors").path).arrays
    }

    func summary() throws -> Summary {
        try JSONDecoder().decode(Summary.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("expected.json")))
    }

    func images() throws -> [RGBImage] {
        try summary().images.map { try ImageCodec.decode(contentsOf: Self.fixtures.appendingPathComponent($0)) }
    }

    func recognizer() throws -> LatexJuniaTextRecognizer {
        try LatexJuniaTextRecognizer(folder: Self.fixtures.appendingPathComponent("model"))
    }

    func maxDifference(_ a: MLXArray, _ b: MLXArray) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return abs(a.asType(.float32) - b.asType(.float32)).max().item(Float.self)
    }

    func testTrainingBatchAndLossMatchThePackage() throws {
        let r = try recognizer()
        let e = try expected()
        let s = try summary()
        let trainable = LatexJuniaTrainable(recognizer: r)
        trainable.lengthMultiple = 1
        let batch = trainable.collate(Array(zip(try images(), s.train_texts)).map { (image: $0.0, text: $0.1) })
        XCTAssertEqual(batch.decoderInputIDs.asArray(Int32.self), try XCTUnwrap(e["train_decoder_input_ids"]).asArray(Int32.self))
        XCTAssertEqual(batch.labels.asArray(Int32.self), try XCTUnwrap(e["train_labels"]).asArray(Int32.self))
        let logits = r.model(batch.pixels, decoderInputIds: batch.decoderInputIDs)
        XCTAssertLessThanOrEqual(maxDifference(logits, try XCTUnwrap(e["train_logits"])), 1e-4, "pads masked as keys")
        XCTAssertEqual(Double(trainable.loss(batch).item(Float.self)), s.train_loss, accuracy: 1e-4)

        // Longer padding changes nothing (pad keys are masked, pad labels ignored).
        trainable.lengthMultiple = 16
        let padded = trainable.collate(Array(zip(try images(), s.train_texts)).map { (image: $0.0, text: $0.1) })
        XCTAssertEqual(padded.labels.dim(1), 16)
        XCTAssertEqual(Double(trainable.loss(padded).item(Float.self)), s.train_loss, accuracy: 1e-4)
    }

    func testLoRATargetsTheDecoderAndTrains() throws {
        let r = try recognizer()
        let trainable = LatexJuniaTrainable(recognizer: r)
        let wrapped = try r.model.applyLoRA(LoRAConfiguration(r: 4, alpha: 8, targetModules: trainable.defaultLoRATargets), seed: 1)
        XCTAssertEqual(wrapped.count, 2 * 6, "2 decoder layers × (self/cross in_proj, out_proj, ffn.0, ffn.3)")
        XCTAssertTrue(wrapped.contains("decoder_blocks.1.cross_attn.in_proj"))
        XCTAssertTrue(r.model.trainableParameters().allSatisfy { $0.key.contains("lora_") })
        let s = try summary()
        let batch = trainable.collate(Array(zip(try images(), s.train_texts)).map { (image: $0.0, text: $0.1) })
        r.model.train(true)
        let (loss, grads) = try valueAndGrad(model: r.model) { trainable.loss(batch) }
        XCTAssertTrue(loss.item(Float.self).isFinite)
        XCTAssertEqual(grads.count, 2 * 6 * 2)
        let norm = grads.values.reduce(Float(0)) { $0 + ($1 * $1).sum().item(Float.self) }
        XCTAssertGreaterThan(norm, 0, "lora_A gets gradients through lora_B = 0 only after a step; lora_B gets them now")
    }

}
