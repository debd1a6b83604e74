// The dense-convolution kernel (tiles unfolded, multiplied and finished per thread) against MLX's
// conv2d followed by affine_activation: values, gradients and bad arguments.

import MLXEngine
import XCTest

final class Conv2dAffineActivationTests: XCTestCase {
    private struct Case {
        let input: [Int]  // N, H, W, C
        let kernel: (Int, Int), out: Int, stride: (Int, Int), padding: (Int, Int)
    }

    /// PP-LCNetV4's stem convolutions (3×3 stride 2 from RGB, 2×2 unpadded, 3×3 stride 2 on the
    /// concatenation), a DB-detector-like 3×3 stride-1 convolution, and an odd non-square case
    /// whose tiles end unevenly.
    private let cases = [
        Case(input: [2, 48, 40, 3], kernel: (3, 3), out: 24, stride: (2, 2), padding: (1, 1)),
        Case(input: [2, 13, 41, 24], kernel: (2, 2), out: 12, stride: (1, 1), padding: (0, 0)),
        Case(input: [1, 12, 40, 48], kernel: (3, 3), out: 24, stride: (2, 2), padding: (1, 1)),
        Case(input: [1, 20, 24, 16], kernel: (3, 3), out: 16, stride: (1, 1), padding: (1, 1)),
        Case(input: [3, 7, 9, 5], kernel: (3, 2), out: 7, stride: (2, 1), padding: (2, 1)),
    ]

    private func composed(_ x: MLXArray, _ w: MLXArray, _ c: Case, bias: MLXArray, act: FusedActivation) -> MLXArray {
        affineActivation(conv2d(x, w, stride: c.stride, padding: c.padding), bias: bias, preScale: nil, preBias: nil, activation: act)
    }

    private func compare(singleThreadedBLAS: Bool) throws {
        for (index, c) in cases.enumerated() {
            let x = randn(c.input, seed: UInt64(10 + index), scale: 2)
            let w = randn([c.out, c.kernel.0, c.kernel.1, c.input[3]], seed: UInt64(20 + index), scale: 0.3)
            let bias = randn([c.out], seed: UInt64(30 + index))
            for act in [FusedActivation.gelu, .hardSwish, .relu, .identity] {
                let run = {
                    let fused = conv2dAffineActivation(x, w, stride: c.stride, padding: c.padding, bias: bias, activation: act)
                    let reference = self.composed(x, w, c, bias: bias, act: act)
                    try eval(fused, reference)
                    return (fused, reference)
                }
                let (fused, reference) = singleThreadedBLAS ? try Threads.withSingleThreadedBLAS(run) : try run()
                XCTAssertEqual(fused.shape, reference.shape, "case \(index) \(act)")
                let scale = max(1, abs(reference).max().item(Float.self))
                XCTAssertLessThanOrEqual(abs(fused - reference).max().item(Float.self), 2e-5 * scale, "case \(index) \(act)")
            }
        }
    }

    func testEqualsConv2dThenEpilogue() throws {
        try compare(singleThreadedBLAS: false)
    }

    func testEqualsConv2dThenEpilogueWithPositionsSplitOverKernelThreads() throws {
        try XCTSkipIf(Threads.blas == nil, "the BLAS is not OpenBLAS")
        try compare(singleThreadedBLAS: true)
    }

    func testGradientsAreThoseOfTheComposition() throws {
        let c = cases[2]
        let inputs = [
            randn(c.input, seed: 1), randn([c.out, 3, 3, c.input[3]], seed: 2, scale: 0.2), randn([c.out], seed: 3),
        ]
        let cotangent = randn([1, 6, 20, c.out], seed: 4)
        func run(_ fused: Bool) throws -> [MLXArray] {
            try vjp({ a in
                [fused
                    ? conv2dAffineActivation(a[0], a[1], stride: c.stride, padding: c.padding, bias: a[2], activation: .gelu)
                    : self.composed(a[0], a[1], c, bias: a[2], act: .gelu)]
            }, primals: inputs, cotangents: [cotangent]).vjps
        }
        let (fused, reference) = (try run(true), try run(false))
        XCTAssertEqual(fused.count, 3)
        for (i, (a, b)) in zip(fused, reference).enumerated() {
            XCTAssertEqual(a.shape, b.shape, "input \(i)")
            XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), 1e-5 * max(1, abs(b).max().item(Float.self)), "input \(i)")
        }
        XCTAssertGreaterThan(abs(fused[1]).max().item(Float.self), 0)
    }

    func testRejectsMismatchedChannelsAndOversizedKernels() {
        XCTAssertThrowsError(
            try withEngineErrors {
                try eval(conv2dAffineActivation(randn([1, 8, 8, 4], seed: 1), randn([2, 3, 3, 5], seed: 2), bias: nil, activation: .relu))
            })
        XCTAssertThrowsError(
            try withEngineErrors {
                try eval(conv2dAffineActivation(randn([1, 2, 2, 4], seed: 1), randn([2, 3, 3, 4], seed: 2), bias: nil, activation: .relu))
            })
    }
}
