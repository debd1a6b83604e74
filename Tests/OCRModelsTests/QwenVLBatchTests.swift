// Batched Qwen-VL generation over prompts of different lengths (images of different sizes),
// left-padded, against transformers' batched `generate` (tools/make_qwenvl_fixtures.py,
// expected_batch.json): M-RoPE positions and deltas with padding, greedy ids per row, per-row EOS
// stopping, and equality with one-at-a-time generation (greedy and beam search).

import Foundation
import MLXEngine
import OCRImaging
import XCTest

@testable import OCRModels

struct QwenVLBatchExpected: Decodable {
    let images: [String]
    let text: String
    let max_new_tokens: Int
    let pad_token_id: Int
    let eos_token_id: Int
    let image_grid_thw: [[Int]]
    let input_ids: [[Int]]
    let padded_input_ids: [[Int]]
    let position_ids: [[[Int]]]
    let rope_deltas: [Int]
    let greedy: [[Int]]
    let early_eos: Int
    let greedy_early_eos: [[Int]]
}

final class QwenVLBatchTests: XCTestCase {
    func expected(_ name: String) throws -> QwenVLBatchExpected {
        try JSONDecoder().decode(
            QwenVLBatchExpected.self,
            from: Data(contentsOf: QwenVLFixture.folder(name).appendingPathComponent("expected_batch.json")))
    }

    func images(_ name: String, _ e: QwenVLBatchExpected) throws -> [RGBImage] {
        try e.images.map {
            try ImageCodec.decode(contentsOf: QwenVLFixture.folder(name).appendingPathComponent("images/\($0)"))
        }
    }

    /// The fixture's recognizer: greedy, `max_new_tokens`, the fixture's EOS, no repetition guard.
    func recognizer(_ name: String, _ e: QwenVLBatchExpected, eos: Int? = nil) throws -> QwenVLTextRecognizer {
        let r = try QwenVLTextRecognizer(folder: QwenVLFixture.folder(name))
        r.generation = GenerationOptions(
            maxNewTokens: e.max_new_tokens, eosTokenIDs: [eos ?? e.eos_token_id], padTokenID: e.pad_token_id)
        return r
    }

    func checkPositions(_ name: String) throws {
        let e = try expected(name)
        let model = try QwenVLModel.load(from: QwenVLFixture.folder(name))
        let pads = e.input_ids.map { e.padded_input_ids[0].count - $0.count }
        XCTAssertTrue(pads.contains { $0 > 0 }, "the fixture's rows differ in length")
        let (positions, deltas) = try model.ropePositions(inputIds: e.padded_input_ids, grids: e.image_grid_thw, leftPadding: pads)
        XCTAssertEqual(positions.shape, [3, e.input_ids.count, e.padded_input_ids[0].count])
        XCTAssertEqual(positions.asArray(Int32.self).map(Int.init), e.position_ids.flatMap { $0.flatMap { $0 } })
        XCTAssertEqual(deltas, e.rope_deltas)
        // The session pads as the tokenizer does (left, with the pad token).
        let r = try QwenVLTextRecognizer(folder: QwenVLFixture.folder(name))
        let (pixels, grids) = try r.processor(images(name, e))
        XCTAssertEqual(grids, e.image_grid_thw)
        let session = try model.session(prompts: e.input_ids, pixels: pixels, grids: grids, padTokenID: e.pad_token_id)
        XCTAssertEqual(session.paddedPrompts, e.padded_input_ids)
        XCTAssertEqual(session.leftPadding, pads)
    }

    func checkGreedy(_ name: String) throws {
        let e = try expected(name)
        let images = try images(name, e)
        let r = try recognizer(name, e)
        // Our processor and chat template give transformers' prompt ids for each image.
        for (image, ids) in zip(images, e.input_ids) {
            XCTAssertEqual(try r.inputs(images: [image], prompt: e.text).ids, ids)
        }
        // One left-padded batch in the fixture's order equals transformers' batched greedy.
        XCTAssertEqual(try r.generateBatch(images, prompt: e.text), e.greedy)
        // Through the recognizer's size-sorted batching, and one image at a time.
        r.batchSize = 2
        XCTAssertEqual(try r.generateWithStop(images, prompt: e.text), e.greedy)
        r.batchSize = 1
        XCTAssertEqual(try r.generateWithStop(images, prompt: e.text), e.greedy)
    }

    func checkEarlyStop(_ name: String) throws {
        let e = try expected(name)
        let r = try recognizer(name, e, eos: e.early_eos)
        let got = try r.generateBatch(try images(name, e), prompt: e.text)
        XCTAssertEqual(got, e.greedy_early_eos)
        XCTAssertLessThan(got[0].count, got[1].count, "row 0 stops at its own EOS while the others go on")
    }

    func checkBeams(_ name: String) throws {
        let e = try expected(name)
        let images = try images(name, e)
        let r = try recognizer(name, e)
        r.generation.numBeams = 3
        r.generation.maxNewTokens = 6
        let batched = try r.generateBatch(images, prompt: e.text)
        let single = try images.map { try r.generateBatch([$0], prompt: e.text)[0] }
        XCTAssertEqual(batched, single)
        XCTAssertTrue(batched.allSatisfy { !$0.isEmpty })
    }

    // MARK: Qwen2.5-VL

    func testQwen25LeftPaddedPositions() throws { try checkPositions("qwen2_5_vl") }
    func testQwen25BatchedGreedyEqualsTransformers() throws { try checkGreedy("qwen2_5_vl") }
    func testQwen25RowsStopAtTheirOwnEOS() throws { try checkEarlyStop("qwen2_5_vl") }
    func testQwen25BatchedBeamsEqualOneAtATime() throws { try checkBeams("qwen2_5_vl") }

    // MARK: Qwen3-VL

    func testQwen3LeftPaddedPositions() throws { try checkPositions("qwen3_vl") }
    func testQwen3BatchedGreedyEqualsTransformers() throws { try checkGreedy("qwen3_vl") }
    func testQwen3RowsStopAtTheirOwnEOS() throws { try checkEarlyStop("qwen3_vl") }
    func testQwen3BatchedBeamsEqualOneAtATime() throws { try checkBeams("qwen3_vl") }

    // MARK: Mask

    func testPaddingMaskHidesPaddingAndKeepsPaddedQueriesOnThemselves() {
        // Row 0 unpadded, row 1 with 2 padding positions; 4 prompt positions.
        let m = qwenPaddingMask(queries: 4, keys: 4, leftPadding: [0, 2]).asType(.int32).asArray(Int32.self)
        let row0: [Int32] = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1]
        let row1: [Int32] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1]
        XCTAssertEqual(Array(m[0 ..< 16]), row0)
        XCTAssertEqual(Array(m[16 ..< 32]), row1)
        // A decoding step: one query over 5 keys.
        let step = qwenPaddingMask(queries: 1, keys: 5, leftPadding: [0, 2]).asType(.int32).asArray(Int32.self)
        XCTAssertEqual(step, [1, 1, 1, 1, 1, 0, 0, 1, 1, 1])
    }
}
