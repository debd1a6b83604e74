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

final class QLoRATests: XCTestCase {
    func testQLoRAForwardIsCloseToTheUnquantizedOneAndTrainsOnlyAdapters() throws {
        MLXRandom.seed(4)
        let plain = TinyModel(64, layers: 1)
        let quant = TinyModel(64, layers: 1)
        try quant.update(parameters: plain.parameterDictionary())
        let quantized = try quant.quantizeLinears(matching: ["*.q_proj", "*.v_proj"], groupSize: 64, bits: 8)
        XCTAssertEqual(quantized, ["layers.0.self_attn.q_proj", "layers.0.self_attn.v_proj"])
        let config = LoRAConfiguration(r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"])
        try plain.applyLoRA(config, seed: 1)
        try quant.applyLoRA(config, seed: 1)
        XCTAssertEqual(Set(quant.trainableParameters().map(\.key)), Set(plain.trainableParameters().map(\.key)))
        XCTAssertTrue(quant.parameters().contains { $0.key == "layers.0.self_attn.q_proj.scales" })
        plain.train(false)
        quant.train(false)
        let ids = MLXArray([Int32(1), 2, 3, 4], [1, 4])
        let a = plain(ids)
        let b = quant(ids)
        let relative = (abs(a - b).max() / abs(a).max()).item(Float.self)
        XCTAssertLessThan(relative, 0.02, "8-bit QLoRA output within 2% of the unquantized one")
        // Gradients reach the adapters through the quantized matmul.
        let (_, grads) = try valueAndGrad(model: quant) { quant(ids).square().mean() }
        XCTAssertGreaterThan(abs(grads["layers.0.self_attn.q_proj.lora_B.weight"]!).sum().item(Float.self), 0)
    }

    func testMergingLoRALayersRestoresTheBaseLayoutWithTheSameOutputs() throws {
        MLXRandom.seed(5)
        let model = TinyModel(16, layers: 1)
        let baseKeys = Set(model.parameters().map(\.key))
        try model.applyLoRA(LoRAConfiguration(r: 2, alpha: 4, targetModules: ["q_proj"]), seed: 2)
        for (_, p) in model.loraParameters() { p.update(MLXRandom.normal(p.shape, std: 0.2, key: MLXRandom.key(3))) }
        model.train(false)
        let ids = MLXArray([Int32(5), 6], [1, 2])
        let before = model(ids).asArray(Float.self)
        XCTAssertEqual(try model.mergeLoRALayers(), ["layers.0.self_attn.q_proj"])
        XCTAssertEqual(Set(model.parameters().map(\.key)), baseKeys)
        for (x, y) in zip(model(ids).asArray(Float.self), before) { XCTAssertEqual(x, y, accuracy: 1e-5) }
    }
}
