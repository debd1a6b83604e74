// The fused CPU attention kernel (kernel_flash_attention.cpp): forward and gradients against the
// composition in float64 (scale · q kᵀ + mask, softmax, · v) for row blocks that do not divide
// the queries, causal masks with more keys than queries, grouped-query heads and broadcast
// additive masks (whose gradient is a learned bias's); dropout against the dropout kernel applied
// to the composition's probabilities with the same key.

import MLXEngine
import XCTest

final class FusedAttentionKernelTests: XCTestCase {
    // 70 query rows: a full block of 64 and a partial one; 70 × 90 scores take the fused kernel.
    private let q = randn([2, 4, 70, 16], seed: 21)
    private let k = randn([2, 2, 90, 16], seed: 22)
    private let v = randn([2, 2, 90, 12], seed: 23)
    private let scale: Float = 0.3

    /// The composition in float64, grouped heads repeated.
    private func composed(_ q: MLXArray, _ k: MLXArray, _ v: MLXArray, mask: MLXArray?, causal: Bool) -> MLXArray {
        let repeats = q.dim(1) / k.dim(1)
        let keys = k.asType(.float64).expandedDimensions(axis: 2)
        let values = v.asType(.float64).expandedDimensions(axis: 2)
        let kk = concatenated(Array(repeating: keys, count: repeats), axis: 2).reshaped(k.dim(0), q.dim(1), k.dim(2), k.dim(3))
        let vv = concatenated(Array(repeating: values, count: repeats), axis: 2).reshaped(v.dim(0), q.dim(1), v.dim(2), v.dim(3))
        var scores = matmul(q.asType(.float64), kk.transposed(0, 1, 3, 2)) * Double(scale)
        if let mask { scores = scores + mask.asType(.float64) }
        if causal {
            let (ql, kl) = (q.dim(2), k.dim(2))
            let rows = MLXArray(Array(Int32(kl - ql) ..< Int32(kl))).reshaped(ql, 1)
            let cols = MLXArray(Array(Int32(0) ..< Int32(kl))).reshaped(1, kl)
            scores = which(rows .>= cols, scores, MLXArray(-1e30).asType(.float64))
        }
        return matmul(softmax(scores, axis: -1), vv)
    }

    private func maxError(_ a: MLXArray, _ b: MLXArray) -> Double {
        XCTAssertEqual(a.shape, b.shape)
        return abs(a.asType(.float64) - b.asType(.float64)).max().item(Double.self)
    }

    func testForwardAndGradientsMatchTheCompositionInFloat64() throws {
        let biasPerHead = randn([1, 4, 70, 90], seed: 24)
        let padding = which(randn([2, 1, 1, 90], seed: 25) .> MLXArray(Float(-1)), MLXArray(Float(0)), MLXArray(Float(-1e9)))
        let cases: [(String, AttentionMask, MLXArray?, Bool)] = [
            ("none", .none, nil, false), ("causal", .causal, nil, true),
            ("bias per head", .array(biasPerHead), biasPerHead, false), ("padding", .array(padding), padding, false),
        ]
        let cotangent = randn([2, 4, 70, 12], seed: 26)
        for (name, mask, array, causal) in cases {
            let got = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, mask: mask)
            let want = composed(q, k, v, mask: array, causal: causal)
            XCTAssertLessThan(maxError(got, want), 2e-5, name)

            var primals = [q, k, v]
            if let array { primals.append(array) }
            let fused = try vjp({ x in
                [scaledDotProductAttention(queries: x[0], keys: x[1], values: x[2], scale: self.scale,
                                           mask: x.count > 3 ? .array(x[3]) : mask)]
            }, primals: primals, cotangents: [cotangent]).vjps
            let reference = try vjp({ x in
                [self.composed(x[0], x[1], x[2], mask: x.count > 3 ? x[3] : nil, causal: causal)]
            }, primals: primals.map { $0.asType(.float64) }, cotangents: [cotangent.asType(.float64)]).vjps
            for (i, (a, b)) in zip(fused, reference).enumerated() {
                let size = abs(b).max().item(Double.self)
                XCTAssertGreaterThan(size, 0, "\(name) input \(i)")
                XCTAssertLessThan(maxError(a, b) / size, 2e-5, "\(name) gradient of input \(i)")
            }
        }
    }

    func testDropoutDropsWhatTheDropoutKernelDropsWithTheSameKey() throws {
        let key = MLXRandom.key(31)
        let p: Float = 0.25
        // The composition in float32 with the dropout kernel on its probabilities (same key).
        func composedDropout(_ x: [MLXArray]) -> MLXArray {
            let kk = concatenated([x[1].expandedDimensions(axis: 2), x[1].expandedDimensions(axis: 2)], axis: 2)
                .reshaped(2, 4, 90, 16)
            let vv = concatenated([x[2].expandedDimensions(axis: 2), x[2].expandedDimensions(axis: 2)], axis: 2)
                .reshaped(2, 4, 90, 12)
            let probabilities = softmax(matmul(x[0], kk.transposed(0, 1, 3, 2)) * Double(scale), axis: -1, precise: true)
            return matmul(dropout(probabilities, p: p, key: key), vv)
        }
        let got = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: p, key: key)
        let want = composedDropout([q, k, v])
        XCTAssertLessThan(maxError(got, want), 2e-5)
        // Dropout changed the output, and the same key gives the same output.
        let plain = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale)
        XCTAssertGreaterThan(maxError(got, plain), 0.05)
        let again = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: p, key: key)
        XCTAssertEqual(maxError(got, again), 0)

        let cotangent = randn([2, 4, 70, 12], seed: 32)
        let fused = try vjp({ x in
            [scaledDotProductAttention(queries: x[0], keys: x[1], values: x[2], scale: self.scale, dropout: p, key: key)]
        }, primals: [q, k, v], cotangents: [cotangent]).vjps
        let reference = try vjp({ x in [composedDropout(x)] }, primals: [q, k, v], cotangents: [cotangent]).vjps
        for (i, (a, b)) in zip(fused, reference).enumerated() {
            XCTAssertLessThan(maxError(a, b) / abs(b).max().item(Double.self), 2e-5, "gradient of input \(i)")
        }
    }

    func testWithoutAKeyEachCallDrawsTheNextKeyOfTheSeededSequence() throws {
        MLXRandom.seed(9)
        let a = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: 0.5)
        let b = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: 0.5)
        MLXRandom.seed(9)
        let c = scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: 0.5)
        XCTAssertEqual(maxError(a, c), 0)
        XCTAssertGreaterThan(maxError(a, b), 0)
    }

    func testDropoutOutsideZeroToOneIsAnError() {
        XCTAssertThrowsError(try withEngineErrors {
            try eval(scaledDotProductAttention(queries: q, keys: k, values: v, scale: scale, dropout: 1))
        })
    }
}
