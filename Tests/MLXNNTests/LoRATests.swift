// LoRA: frozen base, gradients only on adapters, merge/unmerge equivalence.

import MLXEngine
import MLXNN
import MLXOptimizers
import XCTest

final class LoRATests: XCTestCase {
    private func makeModel() throws -> (TinyModel, [String]) {
        MLXRandom.seed(0)
        let model = TinyModel()
        let wrapped = try model.applyLoRA(LoRAConfiguration(r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"]), seed: 1)
        return (model, wrapped)
    }

    private func loss(_ model: TinyModel) -> MLXArray {
        let ids = MLXArray([Int32(1), 2, 3, 4, 5, 6], [2, 3])
        return model(ids).square().mean()
    }

    func testOnlyLoRAParametersAreTrainableAndGetGradients() throws {
        let (model, wrapped) = try makeModel()
        XCTAssertEqual(wrapped, ["layers.0.self_attn.q_proj", "layers.0.self_attn.v_proj", "layers.1.self_attn.q_proj", "layers.1.self_attn.v_proj"])
        let trainable = model.trainableParameters().map(\.key)
        XCTAssertEqual(trainable.count, 8)
        XCTAssertTrue(trainable.allSatisfy { $0.hasSuffix("lora_A.weight") || $0.hasSuffix("lora_B.weight") })
        let (_, grads) = try valueAndGrad(model: model) { self.loss(model) }
        XCTAssertEqual(Set(grads.keys), Set(trainable))
        // B starts at zero, so A gets no gradient at first but B does.
        XCTAssertGreaterThan(abs(grads["layers.0.self_attn.q_proj.lora_B.weight"]!).sum().item(Float.self), 0)
    }

    func testBaseWeightsStayBitIdenticalThroughTraining() throws {
        let (model, _) = try makeModel()
        let base = model.parameters().filter { !$0.key.contains("lora_") }.map { ($0.key, $0.array.bytes()) }
        let optimizer = AdamW(learningRate: 1e-2)
        var first: Float = 0
        var last: Float = 0
        for step in 0 ..< 20 {
            let (l, grads) = try valueAndGrad(model: model) { self.loss(model) }
            try optimizer.update(model: model, gradients: grads)
            if step == 0 { first = l.item() }
            last = l.item()
        }
        XCTAssertLessThan(last, first)
        let after = Dictionary(uniqueKeysWithValues: model.parameters().map { ($0.key, $0.array) })
        for (key, bytes) in base { XCTAssertEqual(after[key]!.bytes(), bytes, "base weight \(key) changed") }
    }

    func testMergedAndUnmergedOutputsAgree() throws {
        let (model, _) = try makeModel()
        for (_, p) in model.loraParameters() { p.update(MLXRandom.normal(p.shape, std: 0.1, key: MLXRandom.key(9))) }
        model.train(false)
        let ids = MLXArray([Int32(3), 1, 4], [1, 3])
        let unmerged = model(ids).asArray(Float.self)
        let q = model.layers[0].attention.queryProjection as! LoRALinear
        let baseBefore = q.weight.asArray(Float.self)
        model.setLoRAMerged(true)
        XCTAssertTrue(q.isMerged)
        let merged = model(ids).asArray(Float.self)
        for (a, b) in zip(unmerged, merged) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        model.setLoRAMerged(false)
        for (a, b) in zip(q.weight.asArray(Float.self), baseBefore) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(model(ids).asArray(Float.self), unmerged) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testRSLoRAScaling() {
        XCTAssertEqual(LoRAConfiguration(r: 16, alpha: 32).scale, 2)
        XCTAssertEqual(LoRAConfiguration(r: 16, alpha: 32, rsLoRA: true).scale, 8)
    }
}
