// The shared generation's sampling warpers (transformers' temperature → top-k → top-p) and the
// repetition guard on the greedy path.

import Foundation
import MLXEngine
import XCTest

@testable import OCRModels

final class GenerationSamplingTests: XCTestCase {
    /// Which tokens survive the warpers on one row of scores [1, 2, 3, 4] (probabilities
    /// 0.032, 0.087, 0.237, 0.644): as transformers' TopK/TopP warpers keep them.
    func kept(topK: Int = 0, topP: Double = 1, temperature: Double = 1) -> [Bool] {
        let scores = MLXArray([Float(1), 2, 3, 4], [1, 4])
        let options = GenerationOptions(doSample: true, temperature: temperature, topK: topK, topP: topP)
        return warpScores(scores, options: options).asArray(Float.self).map { $0.isFinite }
    }

    func testTopKAndTopPMasks() {
        XCTAssertEqual(kept(topK: 2), [false, false, true, true])
        XCTAssertEqual(kept(topP: 0.8), [false, false, true, true])  // 0.644 < 0.8 ≤ 0.881
        XCTAssertEqual(kept(topP: 0.5), [false, false, false, true])
        XCTAssertEqual(kept(topP: 0.95), [false, true, true, true])
        XCTAssertEqual(kept(topK: 3, topP: 0.5), [false, false, false, true])
        XCTAssertEqual(kept(topP: 0.01), [false, false, false, true])  // at least one token
        // Temperature 2 flattens: probabilities 0.10, 0.17, 0.28, 0.45 → 0.7 needs two tokens, 0.8 three.
        XCTAssertEqual(kept(topP: 0.7, temperature: 2), [false, false, true, true])
        XCTAssertEqual(kept(topP: 0.8, temperature: 2), [false, true, true, true])
        let scaled = warpScores(MLXArray([Float(1), 2], [1, 2]), options: .init(doSample: true, temperature: 0.5))
        XCTAssertEqual(scaled.asArray(Float.self), [2, 4])
    }

    func testInvalidSamplingOptionsAreRefused() {
        let decoder = CountingDecoder()
        XCTAssertThrowsError(try generate(decoder, prompts: [[0]], options: .init(numBeams: 2, doSample: true)))
        XCTAssertThrowsError(try generate(decoder, prompts: [[0]], options: .init(doSample: true, temperature: 0)))
        XCTAssertThrowsError(try generate(decoder, prompts: [[0]], options: .init(doSample: true, topP: 0)))
    }

    func testRepetitionGuardEndsALoop() throws {
        // The decoder always predicts "previous token + 1 mod 3": 1 2 0 1 2 0 …
        let out = try generate(CountingDecoder(), prompts: [[0]], options: .init(
            maxNewTokens: 40, repetitionGuard: RepetitionGuard(maxPeriod: 4, minRepeats: 3)))
        XCTAssertEqual(out, [[1, 2, 0]])
        let unguarded = try generate(CountingDecoder(), prompts: [[0]], options: .init(maxNewTokens: 7))
        XCTAssertEqual(unguarded, [[1, 2, 0, 1, 2, 0, 1]])
    }
}

/// One row; the logits favour (last token + 1) mod 3 over a vocabulary of 3.
final class CountingDecoder: IncrementalDecoder {
    var rows: Int { 1 }
    func step(_ tokens: MLXArray) -> MLXArray {
        let last = Int(tokens.sliced(axis: 1, from: tokens.dim(1) - 1).reshaped(-1).item(Int32.self))
        return MLXArray((0 ..< 3).map { Float($0 == (last + 1) % 3 ? 5 : 0) }, [1, 3])
    }
    func selectRows(_ indices: MLXArray) {}
}
