// Parameter naming, loading reports, freezing, modes and safetensors round trips.

import Foundation
import MLXEngine
import MLXNN
import XCTest

/// A tiny model with Hugging Face style keys.
final class TinyBlock: Module {
    @ModuleInfo(key: "self_attn") var attention: MultiHeadAttention
    @ModuleInfo(key: "layer_norm") var norm: LayerNorm
    let mlp: Sequential

    init(_ d: Int) {
        _attention.wrappedValue = MultiHeadAttention(dimensions: d, heads: 2)
        _norm.wrappedValue = LayerNorm(dimensions: d)
        mlp = Sequential([Linear(d, 2 * d), GELU(), Linear(2 * d, d)])
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = x + attention(norm(x))
        return h + mlp(h)
    }
}

final class TinyModel: Module {
    let layers: [TinyBlock]
    @ModuleInfo(key: "embed_tokens") var embedding: Embedding
    var _scratch = MLXArray(Float(0))  // underscore: not a parameter

    init(_ d: Int = 8, layers n: Int = 2) {
        layers = (0 ..< n).map { _ in TinyBlock(d) }
        _embedding.wrappedValue = Embedding(count: 11, dimensions: d)
        super.init()
    }

    func callAsFunction(_ ids: MLXArray) -> MLXArray {
        layers.reduce(embedding(ids)) { $1($0) }
    }
}

final class ModuleTests: XCTestCase {
    func testParameterKeysAreCheckpointNames() {
        let keys = Set(TinyModel().parameters().map(\.key))
        for k in [
            "layers.0.self_attn.q_proj.weight", "layers.1.self_attn.out_proj.bias", "layers.0.layer_norm.weight",
            "layers.1.mlp.2.weight", "embed_tokens.weight",
        ] {
            XCTAssertTrue(keys.contains(k), "missing \(k) in \(keys.sorted())")
        }
        XCTAssertFalse(keys.contains { $0.contains("scratch") })
        XCTAssertEqual(keys.count, 2 * (8 + 2 + 4) + 1)
    }

    func testLoadReportsMissingUnexpectedAndMismatchedKeysByName() throws {
        let model = TinyModel()
        var weights = model.parameterDictionary().mapValues { zeros(like: $0) }
        weights["layers.0.self_attn.q_proj.weight"] = nil
        weights["layers.9.extra.weight"] = zeros([2])
        weights["embed_tokens.weight"] = zeros([12, 8])
        let before = model.parameterDictionary()["layers.0.layer_norm.weight"]!.asArray(Float.self)

        XCTAssertThrowsError(try model.update(parameters: weights, source: "ckpt.safetensors")) { error in
            guard let e = error as? ParameterLoadError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.report.missing, ["layers.0.self_attn.q_proj.weight"])
            XCTAssertEqual(e.report.unexpected, ["layers.9.extra.weight"])
            XCTAssertEqual(e.report.shapeMismatches, [.init(key: "embed_tokens.weight", expected: [11, 8], found: [12, 8])])
            XCTAssertTrue(e.description.contains("ckpt.safetensors"))
            XCTAssertTrue(e.description.contains("layers.9.extra.weight"))
        }
        // A failed verified load touches nothing.
        XCTAssertEqual(model.parameterDictionary()["layers.0.layer_norm.weight"]!.asArray(Float.self), before)

        let report = try model.update(parameters: weights, verify: .none)
        XCTAssertFalse(report.isClean)
        XCTAssertEqual(model.parameterDictionary()["layers.0.layer_norm.weight"]!.asArray(Float.self), Array(repeating: 0, count: 8))
    }

    func testFreezeAndUnfreezeByPattern() {
        let model = TinyModel()
        let total = model.parameters().count
        model.freeze(matching: ["layers.0"])
        XCTAssertEqual(model.trainableParameters().count, total - 14)
        model.freeze()
        model.unfreeze(matching: ["*.q_proj.*", "embed_tokens"])
        XCTAssertEqual(
            Set(model.trainableParameters().map(\.key)),
            ["layers.0.self_attn.q_proj.weight", "layers.0.self_attn.q_proj.bias",
             "layers.1.self_attn.q_proj.weight", "layers.1.self_attn.q_proj.bias", "embed_tokens.weight"])
    }

    func testSafeTensorsRoundTripOfAModule() throws {
        let a = TinyModel()
        let b = TinyModel()
        let path = NSTemporaryDirectory() + "tiny-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.saveParameters(to: path, metadata: ["format": "mlx"])
        let report = try b.loadParameters(from: [path])
        XCTAssertTrue(report.isClean)
        let ids = MLXArray([Int32(1), 5, 7], [1, 3])
        a.train(false)
        b.train(false)
        XCTAssertEqual(a(ids).asArray(Float.self), b(ids).asArray(Float.self))
    }

    func testTrainAndEvalModesReachEveryModule() {
        let model = TinyModel()
        model.train(false)
        XCTAssertTrue(model.namedModules().allSatisfy { !$0.module.training })
        XCTAssertTrue(model.namedModules().map(\.path).contains("layers.1.mlp.0"))
    }
}
