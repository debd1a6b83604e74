// The 1×1-convolution kernel (product + epilogue, rows split over the kernel threads) against
// matmul followed by affine_activation, and the BLAS thread controls it relies on.

import MLXEngine
import XCTest

final class MatmulAffineActivationTests: XCTestCase {
    private func scalars(_ values: [Float]) -> [MLXArray] { values.map { MLXArray([$0]) } }

    /// Row counts that split evenly and unevenly over the threads, one row, and PP-LCNet widths.
    private let cases: [(m: Int, k: Int, n: Int)] = [(3840, 240, 480), (1001, 64, 128), (1, 32, 16), (517, 120, 37)]

    /// Whether the BLAS gives a row the same bits whatever rows share its call. OpenBLAS's kernels
    /// for some CPUs (seen on AMD Zen 3) round rows of a short call differently from those of a long
    /// one; there a kernel that splits rows over threads can only be as close as the BLAS is to itself.
    private func blasIsRowSplitInvariant(_ x: MLXArray, _ w: MLXArray) throws -> Bool {
        try Threads.withSingleThreadedBLAS {
            let m = x.shape[0]
            let whole = matmul(x, w.T)
            let cuts = [0, m / 3, m / 2, m]
            let parts = zip(cuts, cuts.dropFirst()).map { matmul(x.sliced(axis: 0, $0 ..< $1), w.T) }
            let joined = concatenated(parts, axis: 0)
            try eval(whole, joined)
            return abs(whole - joined).max().item(Float.self) == 0
        }
    }

    private func compare(singleThreadedBLAS: Bool) throws {
        for (index, item) in cases.enumerated() {
            let x = randn([item.m, item.k], seed: UInt64(40 + index), scale: 2)
            let w = randn([item.n, item.k], seed: UInt64(50 + index), scale: 0.2)
            let bias = randn([item.n], seed: UInt64(60 + index))
            let p = scalars([1.3, -0.2, 0.7, 0.1])
            for act in [FusedActivation.hardSwish, .relu, .identity] {
                let (fused, composed) = try {
                    let run = {
                        let fused = matmulAffineActivation(
                            x, w, bias: bias, preScale: p[0], preBias: p[1], activation: act, postScale: p[2],
                            postBias: p[3])
                        let composed = affineActivation(
                            matmul(x, w.T), bias: bias, preScale: p[0], preBias: p[1], activation: act,
                            postScale: p[2], postBias: p[3])
                        try eval(fused, composed)
                        return (fused, composed)
                    }
                    return singleThreadedBLAS ? try Threads.withSingleThreadedBLAS(run) : try run()
                }()
                XCTAssertEqual(fused.shape, [item.m, item.n])
                let difference = abs(fused - composed).max().item(Float.self)
                let invariant = try !singleThreadedBLAS || item.m < 3 || blasIsRowSplitInvariant(x, w)
                if invariant {
                    XCTAssertEqual(difference, 0, "\(item) \(act)")
                } else {
                    XCTAssertLessThanOrEqual(difference, 1e-5 * max(1, abs(composed).max().item(Float.self)), "\(item) \(act)")
                }
            }
        }
    }

    func testBitIdenticalToMatmulThenEpilogue() throws {
        try compare(singleThreadedBLAS: false)
    }

    func testRowsSplitOverKernelThreadsAreBitIdenticalToo() throws {
        try XCTSkipIf(Threads.blas == nil, "the BLAS is not OpenBLAS")
        try compare(singleThreadedBLAS: true)
    }

    func testGradientsEqualThoseOfTheComposition() throws {
        try compareGradients(singleThreadedBLAS: false)
    }

    func testGradientsWithRowsSplitOverKernelThreads() throws {
        try XCTSkipIf(Threads.blas == nil, "the BLAS is not OpenBLAS")
        try compareGradients(singleThreadedBLAS: true)
    }

    private func compareGradients(singleThreadedBLAS: Bool) throws {
        // 1037 rows: enough for the products to be split over the threads.
        let inputs = [randn([1037, 24], seed: 1), randn([16, 24], seed: 2, scale: 0.3), randn([16], seed: 3)]
            + scalars([1.1, 0.2, 0.9, -0.3])
        let cotangent = randn([1037, 16], seed: 4)
        func run(_ fused: Bool) throws -> [MLXArray] {
            try vjp({ a in
                [fused
                    ? matmulAffineActivation(
                        a[0], a[1], bias: a[2], preScale: a[3], preBias: a[4], activation: .hardSwish,
                        postScale: a[5], postBias: a[6])
                    : affineActivation(
                        matmul(a[0], a[1].T), bias: a[2], preScale: a[3], preBias: a[4], activation: .hardSwish,
                        postScale: a[5], postBias: a[6])]
            }, primals: inputs, cotangents: [cotangent]).vjps
        }
        let fused = try singleThreadedBLAS
            ? Threads.withSingleThreadedBLAS {
                let g = try run(true)
                try eval(g)
                return g
            } : run(true)
        let composed = try run(false)
        XCTAssertEqual(fused.count, 7)
        for (i, (a, b)) in zip(fused, composed).enumerated() {
            XCTAssertEqual(a.shape, b.shape, "input \(i)")
            XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), 2e-5 * max(1, abs(b).max().item(Float.self)), "input \(i)")
        }
        XCTAssertGreaterThan(abs(fused[1]).max().item(Float.self), 0)
    }

    func testRejectsMismatchedShapes() {
        XCTAssertThrowsError(
            try withEngineErrors {
                try eval(matmulAffineActivation(
                    randn([4, 8], seed: 1), randn([6, 7], seed: 2), bias: nil, preScale: nil, preBias: nil,
                    activation: .relu))
            })
    }

    func testSingleThreadedBLASScopeRestoresTheThreadCount() throws {
        guard let before = Threads.blas else { throw XCTSkip("the BLAS is not OpenBLAS") }
        XCTAssertGreaterThanOrEqual(Threads.kernels, 1)
        let inside = Threads.withSingleThreadedBLAS { Threads.blas }
        XCTAssertEqual(inside, 1)
        XCTAssertEqual(Threads.blas, before)
        XCTAssertThrowsError(try Threads.setBLAS(0))
    }
}
