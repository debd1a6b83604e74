// ocrtune's sigmoid kernel and the CPU attention composed with its softmax kernel, against MLX's
// own ops in float64.

import Foundation
import MLXEngine
import XCTest

final class SigmoidAttentionKernelTests: XCTestCase {
    func testSigmoidMatchesFloat64AndKeepsTinyTails() throws {
        let x = randn([3, 1001], seed: 7) * 8
        // The reference in Swift's Double (MLX's float64 exp is not accurate to double precision).
        let got = sigmoid(x).asArray(Float.self)
        let relative = zip(got, x.asArray(Float.self)).map { y, v in
            let want = 1 / (1 + Foundation.exp(-Double(v)))
            return Swift.abs(Double(y) - want) / want
        }.max()!
        XCTAssertLessThan(relative, 1e-6)
        let tails = sigmoid(MLXArray([-20, -100, 0, 20, 100, -Float.infinity, Float.infinity] as [Float])).asArray(Float.self)
        XCTAssertEqual(tails[0], 2.0611537e-9, accuracy: 1e-15)  // no cancellation below zero
        XCTAssertEqual(tails[1], 0)
        XCTAssertEqual(tails[2], 0.5)
        XCTAssertEqual(tails[3], 1)
        XCTAssertEqual(tails[4], 1)
        XCTAssertEqual(tails[5], 0)
        XCTAssertEqual(tails[6], 1)
    }

    func testSigmoidGradient() throws {
        let x = randn([64], seed: 8) * 3
        let g = try grad({ a in sigmoid(a).sum() }, at: x)
        for (d, v) in zip(g.asArray(Float.self), x.asArray(Float.self)) {
            let s = 1 / (1 + Foundation.exp(-Double(v)))
            XCTAssertEqual(Double(d), s * (1 - s), accuracy: 1e-6)
        }
    }

    func testAttentionMatchesFloat64WithEachMask() throws {
        try checkAttention(queryHeads: 3, keyHeads: 3)
    }

    func testGroupedQueryAttentionMatchesFloat64WithEachMask() throws {
        try checkAttention(queryHeads: 6, keyHeads: 2)
    }

    private func checkAttention(queryHeads: Int, keyHeads: Int) throws {
        let q = randn([2, queryHeads, 5, 8], seed: 1)
        let k = randn([2, keyHeads, 7, 8], seed: 2)
        let v = randn([2, keyHeads, 7, 8], seed: 3)
        let additive = randn([1, 1, 5, 7], seed: 4)
        let perHead = randn([2, queryHeads, 5, 7], seed: 6)
        let keep = randn([2, 1, 1, 7], seed: 5) .> MLXArray(Float(-0.5))
        for mask in [AttentionMask.none, .causal, .array(additive), .array(perHead), .array(keep)] {
            let wide: AttentionMask =
                switch mask {
                case .array(let m) where m.dtype == .float32: .array(m.asType(.float64))
                default: mask
                }
            let got = scaledDotProductAttention(queries: q, keys: k, values: v, scale: 0.35, mask: mask)
            let want = scaledDotProductAttention(
                queries: q.asType(.float64), keys: k.asType(.float64), values: v.asType(.float64), scale: 0.35,
                mask: wide)
            XCTAssertEqual(got.shape, [2, queryHeads, 5, 8])
            XCTAssertLessThan(abs(got.asType(.float64) - want).max().item(Double.self), 1e-5, "\(mask)")
        }
    }
}
