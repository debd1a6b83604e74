// DeepSeek-OCR training surface: answer-only labels, default LoRA targets (decoder projections,
// dense MLP, shared and routed experts, never the OCR-2 encoder), the MoE dispatch's gradients,
// and a tiny run that learns: the loss falls and the trained model emits the training answer.

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import OCRImaging
import XCTest

import OCRFineTune
import OCRModels
import OCRTestSupport

final class DeepSeekOCRTrainingTests: XCTestCase {
    /// The tiny fixtures of tools/make_deepseek_ocr_fixtures.py.
    enum DeepSeekFixture {
        static let v1 = "deepseek_ocr-tiny"
        static let v2 = "deepseek_ocr2-tiny"
        static func folder(_ name: String) -> URL { ModelFixtures.url(name) }
        static func image(_ name: String, _ path: String) throws -> RGBImage {
            try ImageCodec.decode(contentsOf: folder(name).appendingPathComponent(path))
        }
    }

    func trainable(_ name: String, mode: DeepSeekOCRMode? = nil) throws -> DeepSeekOCRTrainable {
        let r = try DeepSeekOCRTextRecognizer(folder: DeepSeekFixture.folder(name), mode: mode)
        return DeepSeekOCRTrainable(recognizer: r)
    }

    func testCollateMasksEverythingButTheAnswer() throws {
        let t = try trainable(DeepSeekFixture.v2)
        let image = try DeepSeekFixture.image(DeepSeekFixture.v2, "images/image0.png")
        let samples: [(image: RGBImage, prompt: String?, answer: String)] = [(image, nil, "Invoice 42"), (image, nil, "total due 17.30 EUR")]
        let batch = try t.collate(samples)
        let length = batch.inputIds[0].count
        let labels = batch.labels.asArray(Int32.self).map(Int.init)
        for (row, sample) in samples.enumerated() {
            let kept = labels[row * length ..< (row + 1) * length].filter { $0 != deepSeekIgnoreIndex }
            XCTAssertEqual(kept, t.recognizer.tokenizer.encode(sample.answer, addSpecialTokens: false) + [1])
        }
        XCTAssertFalse(zip(batch.inputIds.flatMap { $0 }, labels).contains { $0 == t.model.imageTokenID && $1 != deepSeekIgnoreIndex })
    }

    func testDefaultLoRATargetsTheDecoderOnly() throws {
        let t = try trainable(DeepSeekFixture.v2)
        let wrapped = try t.module.applyLoRA(LoRAConfiguration(r: 4, alpha: 4, targetModules: t.defaultLoRATargets), seed: 1)
        let c = t.model.config.text
        let sparse = c.sparseLayers.filter { $0 }.count
        // 4 attention projections per layer; 3 per dense MLP, shared MLP and routed expert.
        XCTAssertEqual(wrapped.count, 4 * c.numHiddenLayers + 3 * (c.numHiddenLayers - sparse) + 3 * sparse * (1 + c.routedExperts))
        XCTAssertTrue(wrapped.allSatisfy { $0.hasPrefix("model.layers.") })
        XCTAssertTrue(wrapped.contains("model.layers.1.mlp.experts.7.down_proj"))
        XCTAssertTrue(wrapped.contains("model.layers.2.mlp.shared_experts.gate_proj"))
    }

    /// A few AdamW steps of LoRA on one (image, answer): the loss falls and greedy decoding then
    /// reads the answer back.
    func testTinyLoRARunLearnsTheAnswer() throws {
        let t = try trainable(DeepSeekFixture.v1, mode: .base)
        let image = try DeepSeekFixture.image(DeepSeekFixture.v1, "images/image0.png")
        let answer = "Invoice 42, total due 17.30 EUR."
        try t.module.applyLoRA(LoRAConfiguration(r: 8, alpha: 16, targetModules: t.defaultLoRATargets), seed: 3)
        let batch = try t.collate([(image, nil, answer)])
        XCTAssertNotNil(batch.features, "frozen vision: features computed once")
        let optimizer = AdamW(learningRate: 2e-2, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0 ..< 12 {
            let (loss, grads) = try valueAndGrad(model: t.module) { try t.loss(batch) }
            losses.append(loss.item(Float.self))
            try optimizer.update(model: t.module, gradients: grads)
        }
        XCTAssertLessThan(losses.last!, losses.first! * 0.2, "\(losses)")
        var options = t.recognizer.generation
        options.maxNewTokens = 40
        t.recognizer.generation = options
        XCTAssertEqual(try t.recognizer.recognize([image], prompt: nil), [answer])
    }
}
