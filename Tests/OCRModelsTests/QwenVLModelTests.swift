// Parity of the Qwen2.5-VL and Qwen3-VL models with transformers on tiny random checkpoints
// (tools/make_qwenvl_fixtures.py): M-RoPE positions, logits of the full prompt (two images,
// window attention, DeepStack), greedy tokens with the KV cache, and loading paths.

import Foundation
import MLXEngine
import MLXNN
import XCTest

@testable import OCRModels
import OCRTestSupport

struct QwenVLExpected: Decodable {
    let image_grid_thw: [[Int]]
    let pixel_values_shape: [Int]
    let pixel_values_row_sums: [Double]
    let input_ids: [Int]
    let position_ids: [[Int]]
    let rope_delta: Int
    let logits_last: [Float]
    let logits_rows: [String: [Float]]
    let greedy_new_tokens: [Int]
    let smart_resize_cases: [[Int]]
    let special_ids: [String: Int]
    let prompt: String
}

enum QwenVLFixture {
    static func folder(_ name: String) -> URL { ModelFixtures.qwenVL(name) }

    static func expected(_ name: String) throws -> QwenVLExpected {
        try JSONDecoder().decode(QwenVLExpected.self, from: Data(contentsOf: folder(name).appendingPathComponent("expected.json")))
    }

    static func pixels(_ name: String) throws -> MLXArray { try ModelFixtures.qwenVLPixels(name) }
}

final class QwenVLModelTests: XCTestCase {
    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    func checkPositions(_ name: String) throws {
        let e = try QwenVLFixture.expected(name)
        let model = try QwenVLModel.load(from: QwenVLFixture.folder(name))
        let (positions, deltas) = try model.ropePositions(inputIds: [e.input_ids], grids: e.image_grid_thw)
        XCTAssertEqual(positions.shape, [3, 1, e.input_ids.count])
        XCTAssertEqual(positions.reshaped(3, -1).asArray(Int32.self).map(Int.init), e.position_ids.flatMap { $0 })
        XCTAssertEqual(deltas, [e.rope_delta])
    }

    func checkLogits(_ name: String) throws {
        let e = try QwenVLFixture.expected(name)
        let model = try QwenVLModel.load(from: QwenVLFixture.folder(name))
        let logits = try model(inputIds: [e.input_ids], pixels: try QwenVLFixture.pixels(name), grids: e.image_grid_thw)
        XCTAssertEqual(logits.shape, [1, e.input_ids.count, model.config.textConfig.vocabSize])
        let rows = logits.reshaped(e.input_ids.count, -1)
        for (row, values) in e.logits_rows {
            let got = rows.sliced(axis: 0, from: Int(row)!, to: Int(row)! + 1).asArray(Float.self)
            XCTAssertLessThanOrEqual(maxAbsDiff(got, values), 1e-4, "\(name) logits row \(row)")
        }
        let last = rows.sliced(axis: 0, from: e.input_ids.count - 1).asArray(Float.self)
        XCTAssertLessThanOrEqual(maxAbsDiff(last, e.logits_last), 1e-4, "\(name) last logits")
    }

    func checkGreedy(_ name: String) throws {
        let e = try QwenVLFixture.expected(name)
        let model = try QwenVLModel.load(from: QwenVLFixture.folder(name))
        let ids = try model.generate(
            inputIds: e.input_ids, pixels: try QwenVLFixture.pixels(name), grids: e.image_grid_thw,
            options: .init(maxNewTokens: 10, eosTokenIDs: [e.special_ids["<|im_end|>"]!]))
        XCTAssertEqual(ids, e.greedy_new_tokens)
        // Beam search with one beam is greedy; two beams go through the session's row selection.
        let beams = try model.generate(
            inputIds: e.input_ids, pixels: try QwenVLFixture.pixels(name), grids: e.image_grid_thw,
            options: .init(maxNewTokens: 4, numBeams: 2, eosTokenIDs: [e.special_ids["<|im_end|>"]!]))
        XCTAssertFalse(beams.isEmpty)
        XCTAssertLessThanOrEqual(beams.count, 4)
        // Seeded sampling repeats itself; top-k 1 is greedy.
        let pixels = try QwenVLFixture.pixels(name)
        func sample(_ seed: UInt64, topK: Int = 0) throws -> [Int] {
            try model.generate(
                inputIds: e.input_ids, pixels: pixels, grids: e.image_grid_thw,
                options: .init(maxNewTokens: 10, eosTokenIDs: [e.special_ids["<|im_end|>"]!], doSample: true,
                               temperature: 0.7, topK: topK, topP: 0.9, seed: seed))
        }
        XCTAssertEqual(try sample(3), try sample(3))
        XCTAssertEqual(try sample(5, topK: 1), e.greedy_new_tokens)
    }

    // MARK: Qwen2.5-VL

    func testQwen25PositionIds() throws { try checkPositions("qwen2_5_vl") }
    func testQwen25Logits() throws { try checkLogits("qwen2_5_vl") }
    func testQwen25Greedy() throws { try checkGreedy("qwen2_5_vl") }

    // MARK: Qwen3-VL

    func testQwen3PositionIds() throws { try checkPositions("qwen3_vl") }
    func testQwen3Logits() throws { try checkLogits("qwen3_vl") }
    func testQwen3Greedy() throws { try checkGreedy("qwen3_vl") }

    // MARK: Loading

    func testShardedFolderListsItsShards() throws {
        let files = try ModelFolder.weightFiles(in: QwenVLFixture.folder("qwen3_vl")).map(\.lastPathComponent)
        XCTAssertEqual(files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(try ModelFolder.weightFiles(in: QwenVLFixture.folder("qwen2_5_vl")).map(\.lastPathComponent), ["model.safetensors"])
    }

    func testLegacyKeysAreMapped() {
        let a = MLXArray([Float(1)], [1])
        let out = QwenVLModel.sanitize(
            ["visual.blocks.0.norm1.weight": a, "model.layers.0.mlp.up_proj.weight": a, "model.norm.weight": a,
             "lm_head.weight": a, "model.visual.merger.norm.weight": a], tied: true)
        XCTAssertEqual(
            out.keys.sorted(),
            ["model.language_model.layers.0.mlp.up_proj.weight", "model.language_model.norm.weight",
             "model.visual.blocks.0.norm1.weight", "model.visual.merger.norm.weight"])
    }

    func testBFloat16AndQuantizedLoadingStayClose() throws {
        let e = try QwenVLFixture.expected("qwen2_5_vl")
        let folder = QwenVLFixture.folder("qwen2_5_vl")
        let bf16 = try QwenVLModel.load(from: folder, options: .init(dtype: .bfloat16))
        XCTAssertEqual(bf16.model.languageModel.embedTokens.weight.dtype, .bfloat16)
        let q8 = try QwenVLModel.load(from: folder, options: .init(quantizationBits: 8, quantizationGroupSize: 32))
        XCTAssertTrue(q8.model.languageModel.layers[0].selfAttention.qProj is QuantizedLinear)
        XCTAssertTrue(q8.model.languageModel.layers[1].mlp.downProj is QuantizedLinear)
        let pixels = try QwenVLFixture.pixels("qwen2_5_vl")
        let last = { (m: QwenVLModel) -> [Float] in
            try m(inputIds: [e.input_ids], pixels: pixels, grids: e.image_grid_thw)
                .sliced(axis: 1, from: e.input_ids.count - 1).asType(.float32).reshaped(-1).asArray(Float.self)
        }
        let scale = e.logits_last.map { Swift.abs($0) }.max()!
        XCTAssertLessThan(maxAbsDiff(try last(q8), e.logits_last), 0.05 * scale)
        XCTAssertLessThan(maxAbsDiff(try last(bf16), e.logits_last), 0.1 * scale)
    }

    func testHalfPrecisionCheckpointComputesInFloat32OnTheCPU() throws {
        // A bf16 copy of the fixture folder: default options widen it to float32 on the CPU
        // (MLX's CPU matmul is BLAS-backed only in float32); an explicit dtype is kept.
        let source = QwenVLFixture.folder("qwen2_5_vl")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qwen-bf16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !name.hasSuffix(".safetensors") && !name.hasSuffix(".index.json") {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let weights = try loadSafeTensors(path: source.appendingPathComponent("model.safetensors").path).arrays
        try saveSafeTensors(weights.mapValues { $0.asType(.bfloat16) }, to: folder.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(Device.defaultDevice, .cpu)
        let widened = try QwenVLModel.load(from: folder)
        XCTAssertEqual(widened.model.languageModel.embedTokens.weight.dtype, .float32)
        let kept = try QwenVLModel.load(from: folder, options: .init(dtype: .bfloat16))
        XCTAssertEqual(kept.model.languageModel.embedTokens.weight.dtype, .bfloat16)
    }
}
