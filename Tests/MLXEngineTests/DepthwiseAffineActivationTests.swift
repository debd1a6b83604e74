// The one-pass depthwise convolution + epilogue kernel against the two kernels composed.

import MLXEngine
import XCTest

final class DepthwiseAffineActivationTests: XCTestCase {
    private func scalars(_ values: [Float]) -> [MLXArray] { values.map { MLXArray([$0]) } }

    /// Geometries of PP-LCNet's depthwise layers (3×3 and 5×5, strides 1, (2, 1) and 2), with
    /// channel counts that fill register blocks (48) and leave a remainder (20), and widths that are
    /// not multiples of the 4-column block.
    private let cases: [(shape: [Int], kernel: Int, stride: (Int, Int))] = [
        ([2, 6, 11, 48], 3, (1, 1)), ([2, 6, 11, 20], 5, (1, 1)), ([1, 8, 10, 48], 3, (2, 1)),
        ([2, 7, 9, 36], 5, (2, 2)), ([1, 3, 5, 16], 3, (1, 1)),
    ]

    func testBitIdenticalToTheComposedKernels() throws {
        for (n, item) in cases.enumerated() {
            let c = item.shape[3]
            let x = randn(item.shape, seed: UInt64(10 + n), scale: 2)
            let w = randn([c, item.kernel, item.kernel, 1], seed: UInt64(20 + n), scale: 0.5)
            let bias = randn([c], seed: UInt64(30 + n))
            let pad = (item.kernel / 2, item.kernel / 2)
            let p = scalars([1.2, -0.1, 0.8, 0.05])
            for act in [FusedActivation.hardSwish, .relu, .identity] {
                let fused = depthwiseAffineActivation(
                    x, w, stride: item.stride, padding: pad, bias: bias, preScale: p[0], preBias: p[1],
                    activation: act, postScale: p[2], postBias: p[3])
                let composed = affineActivation(
                    depthwiseConv2d(x, w, stride: item.stride, padding: pad), bias: bias, preScale: p[0],
                    preBias: p[1], activation: act, postScale: p[2], postBias: p[3])
                XCTAssertEqual(fused.shape, composed.shape)
                XCTAssertEqual(abs(fused - composed).max().item(Float.self), 0, "\(item) \(act)")
            }
        }
    }

    func testGradientsEqualThoseOfTheComposition() throws {
        let x = randn([2, 5, 9, 20], seed: 3)
        let w = randn([20, 3, 3, 1], seed: 4, scale: 0.5)
        let inputs = [x, w, randn([20], seed: 5)] + scalars([1.1, 0.2, 0.9, -0.3])
        let cotangent = randn([2, 3, 9, 20], seed: 6)
        func run(_ fused: Bool) throws -> [MLXArray] {
            try vjp({ a in
                [fused
                    ? depthwiseAffineActivation(
                        a[0], a[1], stride: (2, 1), padding: (1, 1), bias: a[2], preScale: a[3], preBias: a[4],
                        activation: .hardSwish, postScale: a[5], postBias: a[6])
                    : affineActivation(
                        depthwiseConv2d(a[0], a[1], stride: (2, 1), padding: (1, 1)), bias: a[2], preScale: a[3],
                        preBias: a[4], activation: .hardSwish, postScale: a[5], postBias: a[6])]
            }, primals: inputs, cotangents: [cotangent]).vjps
        }
        let (fused, composed) = (try run(true), try run(false))
        XCTAssertEqual(fused.count, 7)
        for (i, (a, b)) in zip(fused, composed).enumerated() {
            XCTAssertEqual(a.shape, b.shape, "input \(i)")
            XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), 1e-5 * max(1, abs(b).max().item(Float.self)), "input \(i)")
        }
        XCTAssertGreaterThan(abs(fused[0]).max().item(Float.self), 0)
    }

    func testRejectsMismatchedShapes() {
        XCTAssertThrowsError(
            try withEngineErrors {
                try eval(depthwiseAffineActivation(
                    randn([1, 4, 4, 8], seed: 1), randn([6, 3, 3, 1], seed: 2), stride: (1, 1), padding: (1, 1),
                    bias: nil, preScale: nil, preBias: nil, activation: .relu))
            })
    }
}
