// Fixtures of the DeepSeek-OCR parity tests (tools/make_deepseek_ocr_fixtures.py): the tiny
// folders, their expected.json, and the checksum the script writes for pixel values.

import Foundation
import MLXEngine
import OCRImaging
import XCTest

@testable import OCRModels

struct DeepSeekViewRecord: Decodable {
    let shape: [Int]
    let checksum: String
    let sum: Double
}

struct DeepSeekLogitRecord: Decodable {
    let rows: [String: [Float]]
    let sum: Double
    let abs_sum: Double
}

struct DeepSeekCase: Decodable {
    let image: String
    let size: [Int]
    let input_ids: [Int]
    let image_tokens: Int
    let num_local_patches: Int?
    let crop_grid: [Int]?
    let global: DeepSeekViewRecord
    let local: [DeepSeekViewRecord]
    let logits: DeepSeekLogitRecord
    let loss_last4: Float
    let greedy: [Int]
}

struct DeepSeekModeCases: Decodable {
    let cases: [DeepSeekCase]
    let batch_greedy: [[Int]]
}

struct DeepSeekExpected: Decodable {
    let prompt: String
    let image_token_id: Int
    let eos_token_id: Int
    let pad_token_id: Int
    let max_new_tokens: Int
    /// v2.
    let cases: [DeepSeekCase]?
    let batch_greedy: [[Int]]?
    /// v1: "base", "gundam".
    let modes: [String: DeepSeekModeCases]?
}

enum DeepSeekFixture {
    static let v1 = "deepseek_ocr-tiny"
    static let v2 = "deepseek_ocr2-tiny"

    static func folder(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)")
    }

    static func expected(_ name: String) throws -> DeepSeekExpected {
        try JSONDecoder().decode(DeepSeekExpected.self, from: Data(contentsOf: folder(name).appendingPathComponent("expected.json")))
    }

    static func image(_ name: String, _ path: String) throws -> RGBImage {
        try ImageCodec.decode(contentsOf: folder(name).appendingPathComponent(path))
    }

    /// Σ bits[i]·(i·0x9E3779B97F4A7C15 + 1) mod 2⁶⁴ over the float32 bits of a view in CHW order.
    static func checksum(hwc view: MLXArray) -> String {
        let values = view.transposed(2, 0, 1).asType(.float32).asArray(Float.self)
        var sum: UInt64 = 0
        for (i, v) in values.enumerated() {
            sum = sum &+ UInt64(v.bitPattern) &* (UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        }
        return String(sum)
    }

    /// The greedy output of the reference cut after its first EOS (transformers pads finished rows).
    static func cut(_ ids: [Int], eos: Int) -> [Int] {
        if let i = ids.firstIndex(of: eos) { return Array(ids[...i]) }
        return ids
    }

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    /// Greedy settings equal to the fixture's (no blocker, no guard).
    static func greedy(_ e: DeepSeekExpected) -> GenerationOptions {
        GenerationOptions(maxNewTokens: e.max_new_tokens, eosTokenIDs: [e.eos_token_id], padTokenID: e.pad_token_id)
    }
}
