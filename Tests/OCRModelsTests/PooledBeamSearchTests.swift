// The shared generation module in latex-ocr-junia's manner (pooled beam search, tokens
// suppressed on the raw logits, length normalization counting the prompt) against the
// package's own `_beam_search_one` / `_greedy_generate` on scripted logits: a random table
// per case gives the logits of (position, last token). Fixture by
// tools/make_pooled_beam_fixtures.py.

import Foundation
import MLXEngine
@testable import OCRModels
import XCTest

final class PooledBeamSearchTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let table: [Float]
            let num_beams: Int
            let length_penalty: Double
            let beam_ids: [Int]
            let beam3_ids: [Int]
            let greedy_ids: [Int]
        }
        let vocab: Int
        let max_length: Int
        let bos: Int
        let eos: Int
        let pad: Int
        let cases: [Case]
    }

    /// Rows decode with their case's table: logits = table[case][position][last token].
    final class ScriptedDecoder: IncrementalDecoder {
        let tables: MLXArray  // [cases · positions · V, V]
        let positions: Int
        let vocabulary: Int
        var caseOfRow: [Int]
        var fed = 0

        init(_ fixture: Fixture, cases: [Int]) {
            tables = MLXArray(cases.flatMap { fixture.cases[$0].table }, [cases.count * fixture.max_length * fixture.vocab, fixture.vocab])
            positions = fixture.max_length
            vocabulary = fixture.vocab
            caseOfRow = Array(cases.indices)
        }

        var rows: Int { caseOfRow.count }

        func step(_ tokens: MLXArray) -> MLXArray {
            fed += tokens.dim(1)
            let last = tokens.sliced(axis: 1, from: tokens.dim(1) - 1).reshaped(-1).asArray(Int32.self).map(Int.init)
            let index = zip(caseOfRow, last).map { Int32(($0 * positions + fed - 1) * vocabulary + $1) }
            return tables.take(MLXArray(index, [index.count]), axis: 0)
        }

        func selectRows(_ indices: MLXArray) {
            caseOfRow = indices.asArray(Int32.self).map { caseOfRow[Int($0)] }
        }
    }

    func fixture() throws -> Fixture {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/generation/pooled-beam.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func options(_ f: Fixture, beams: Int, penalty: Double, strategy: GenerationOptions.BeamStrategy = .pooled) -> GenerationOptions {
        GenerationOptions(maxNewTokens: f.max_length - 1, numBeams: beams, lengthPenalty: penalty, eosTokenIDs: [f.eos],
                          padTokenID: f.pad, suppressTokenIDs: [f.pad, f.bos], beamStrategy: strategy)
    }

    func testPooledBeamSearchEqualsThePackage() throws {
        let f = try fixture()
        for (i, c) in f.cases.enumerated() {
            let ids = try generate(ScriptedDecoder(f, cases: [i]), prompts: [[f.bos]], options: options(f, beams: c.num_beams, penalty: c.length_penalty))
            XCTAssertEqual(ids, [c.beam_ids], "case \(i): \(c.num_beams) beams, length penalty \(c.length_penalty)")
        }
    }

    func testBatchedPooledBeamSearchEqualsThePackageImageByImage() throws {
        let f = try fixture()
        let all = Array(f.cases.indices)
        let ids = try generate(ScriptedDecoder(f, cases: all), prompts: all.map { _ in [f.bos] }, options: options(f, beams: 3, penalty: 0.6))
        XCTAssertEqual(ids, f.cases.map(\.beam3_ids))
        XCTAssertEqual(Set(ids.map(\.count)).count, 4, "rows finish at different steps")
    }

    func testGreedyWithSuppressedTokensEqualsThePackage() throws {
        let f = try fixture()
        let all = Array(f.cases.indices)
        let ids = try generate(ScriptedDecoder(f, cases: all), prompts: all.map { _ in [f.bos] }, options: options(f, beams: 1, penalty: 1))
        XCTAssertEqual(ids, f.cases.map(\.greedy_ids))
        var unsuppressed = options(f, beams: 1, penalty: 1)
        unsuppressed.suppressTokenIDs = []
        let raw = try generate(ScriptedDecoder(f, cases: all), prompts: all.map { _ in [f.bos] }, options: unsuppressed)
        XCTAssertTrue(raw.flatMap { $0 }.contains(f.pad), "the tables favour the pad token, so suppression matters")
    }

    func testTransformersStrategyDiffersOnTheseCases() throws {
        // The fixture separates the two strategies, so the parity above is not a coincidence.
        let f = try fixture()
        let all = Array(f.cases.indices)
        let ids = try generate(ScriptedDecoder(f, cases: all), prompts: all.map { _ in [f.bos] },
                               options: options(f, beams: 3, penalty: 0.6, strategy: .transformers))
        XCTAssertNotEqual(ids, f.cases.map(\.beam3_ids))
    }
}
