// DeepSeek-OCR's smaller pieces: PyTorch-exact position-table resampling (antialiased bicubic,
// linear), the windowed n-gram blocker (vLLM's NoRepeatNGramLogitsProcessor semantics) and its use
// in the shared generation, and the two key layouts' renames.

import Foundation
import MLXEngine
import XCTest

@testable import OCRModels

final class DeepSeekOCRUnitTests: XCTestCase {
    struct Interpolation: Decodable {
        struct Grid: Decodable { let size: [Int]; let values: [Float] }
        struct Table: Decodable { let size: Int; let values: [Float] }
        let grid: [Float]
        let grid_shape: [Int]
        let table: [Float]
        let table_shape: [Int]
        let bicubic: [Grid]
        let linear: [Table]
    }

    func testPositionResamplingMatchesPyTorch() throws {
        let url = DeepSeekFixture.folder(DeepSeekFixture.v1).appendingPathComponent("interpolation.json")
        let e = try JSONDecoder().decode(Interpolation.self, from: Data(contentsOf: url))
        let grid = MLXArray(e.grid, e.grid_shape)
        for c in e.bicubic {
            let got = PositionInterpolation.resizeGrid(grid, height: c.size[0], width: c.size[1]).asArray(Float.self)
            XCTAssertLessThan(DeepSeekFixture.maxAbsDiff(got, c.values), 1e-5, "bicubic \(c.size)")
            XCTAssertEqual(got.count, c.values.count)
        }
        let table = MLXArray(e.table, e.table_shape)
        for c in e.linear {
            let got = PositionInterpolation.resizeLinear(table, to: c.size).asArray(Float.self)
            XCTAssertLessThan(DeepSeekFixture.maxAbsDiff(got, c.values), 1e-5, "linear \(c.size)")
        }
    }

    /// vLLM's rule: the (n−1)-token suffix is searched in the window; whitelisted tokens pass.
    func testNGramBlockerBansRepeatsWithinTheWindow() {
        let blocker = NGramRepetitionBlocker(ngramSize: 3, window: 6, whitelist: [9])
        XCTAssertEqual(blocker.banned(after: [1, 2]), [])
        XCTAssertEqual(blocker.banned(after: [1, 2, 3, 1, 2]), [3])
        XCTAssertEqual(blocker.banned(after: [1, 2, 9, 1, 2]), [])  // whitelisted
        // The earlier 1 2 3 lies outside the last 6 tokens.
        XCTAssertEqual(blocker.banned(after: [1, 2, 3, 7, 7, 7, 7, 1, 2]), [])
        XCTAssertEqual(blocker.banned(after: [5, 5, 5]), [5])
    }

    /// The blocker acts on generated tokens only: a prompt that holds the n-gram bans nothing.
    func testGenerationAppliesTheBlockerToGeneratedTokens() {
        let scores = MLXArray([Float](repeating: 0, count: 2 * 6), [2, 6])
        var options = GenerationOptions(ngramBlocker: NGramRepetitionBlocker(ngramSize: 2, window: 10))
        let sequences = [[4, 1, 4], [1, 4, 1, 4]]
        var out = processScores(scores, sequences: sequences, newTokens: 2, options: options).asArray(Float.self)
        // Two generated tokens per row ([1, 4]): no bigram of them starts with 4, nothing is banned
        // although the prompts hold 4 → 1.
        XCTAssertFalse(out.contains { $0 == -.infinity })
        out = processScores(scores, sequences: sequences, newTokens: 4, options: options).asArray(Float.self)
        XCTAssertEqual(out[6 + 1], -.infinity)  // row 1 generated 1 4 1 4: 4 → 1 seen, 1 banned
        XCTAssertEqual(out.filter { $0 == -.infinity }.count, 2)  // row 0 (all three tokens generated) too
        options.ngramBlocker = nil
        XCTAssertFalse(processScores(scores, sequences: sequences, newTokens: 4, options: options).asArray(Float.self)
            .contains { $0 == -.infinity })
    }

    func testTransformersKeysAreRenamedAndExpertsSplit() throws {
        let fused = MLXArray((0 ..< 2 * 6 * 3).map(Float.init), [2, 6, 3])  // 2 experts, 2·3 rows, 3 columns
        let out = try DeepSeekOCRModel.sanitize([
            "model.vision_tower.sam_encoder.layers.3.layer_norm1.weight": zeros([2]),
            "model.vision_tower.sam_encoder.neck.conv2.weight": zeros([2]),
            "model.vision_tower.sam_encoder.proj.conv1.weight": zeros([2]),
            "model.vision_tower.sam_encoder.patch_embed.projection.bias": zeros([2]),
            "model.vision_tower.vision_encoder.layers.0.self_attn.q_proj.bias": zeros([2]),
            "model.vision_tower.query_768_resolution.weight": zeros([2]),
            "model.multi_modal_projector.weight": zeros([2]),
            "model.view_separator": zeros([2]),
            "model.language_model.layers.1.mlp.experts.gate_up_proj": fused,
            "lm_head.weight": zeros([2]),
        ], tied: false)
        XCTAssertEqual(Set(out.keys), [
            "model.sam_model.blocks.3.norm1.weight", "model.sam_model.neck.2.weight", "model.sam_model.net_2.weight",
            "model.sam_model.patch_embed.proj.bias", "model.qwen2_model.model.model.layers.0.self_attn.q_proj.bias",
            "model.qwen2_model.query_768.weight", "model.projector.layers.weight", "model.view_seperator",
            "model.layers.1.mlp.experts.0.gate_proj.weight", "model.layers.1.mlp.experts.0.up_proj.weight",
            "model.layers.1.mlp.experts.1.gate_proj.weight", "model.layers.1.mlp.experts.1.up_proj.weight", "lm_head.weight",
        ])
        XCTAssertEqual(out["model.layers.1.mlp.experts.1.up_proj.weight"]!.asArray(Float.self), (27 ..< 36).map(Float.init))
    }
}
