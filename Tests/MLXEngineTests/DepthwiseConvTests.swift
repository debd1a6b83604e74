// ocrtune's depthwise-convolution kernel against MLX's grouped conv2d and finite differences.

import MLXEngine
import XCTest

final class DepthwiseConvTests: XCTestCase {
    private func maxDiff(_ a: MLXArray, _ b: MLXArray) -> Float { abs(a - b).max().item(Float.self) }

    func testMatchesGroupedConv2dForwardAndBackward() throws {
        let configs: [(shape: [Int], k: (Int, Int), stride: (Int, Int), pad: (Int, Int))] = [
            ([2, 8, 12, 16], (3, 3), (1, 1), (1, 1)),
            ([3, 9, 20, 8], (3, 3), (2, 1), (1, 1)),
            ([1, 12, 16, 24], (5, 5), (1, 2), (2, 2)),
            ([2, 6, 7, 4], (3, 3), (2, 2), (0, 0)),
            ([1, 4, 40, 12], (1, 3), (1, 1), (0, 1)),
        ]
        for (i, c) in configs.enumerated() {
            let channels = c.shape[3]
            let x = randn(c.shape, seed: UInt64(100 + i))
            let w = randn([channels, c.k.0, c.k.1, 1], seed: UInt64(200 + i), scale: 0.3)
            let ours = depthwiseConv2d(x, w, stride: c.stride, padding: c.pad)
            let reference = conv2d(x, w, stride: c.stride, padding: c.pad, groups: channels)
            XCTAssertEqual(ours.shape, reference.shape, "config \(i)")
            XCTAssertLessThan(maxDiff(ours, reference), 1e-5, "forward, config \(i)")

            let probe = randn(reference.shape, seed: UInt64(300 + i))
            let g1 = try valueAndGrad({ [(depthwiseConv2d($0[0], $0[1], stride: c.stride, padding: c.pad) * probe).sum()] }, [x, w]).gradients
            let g2 = try valueAndGrad({ [(conv2d($0[0], $0[1], stride: c.stride, padding: c.pad, groups: channels) * probe).sum()] }, [x, w]).gradients
            XCTAssertLessThan(maxDiff(g1[0], g2[0]), 1e-4, "d input, config \(i)")
            XCTAssertLessThan(maxDiff(g1[1], g2[1]), 1e-3, "d weight, config \(i)")
        }
    }

    func testGradientsMatchFiniteDifferences() throws {
        let x = randn([1, 5, 6, 3], seed: 7)
        let w = randn([3, 3, 3, 1], seed: 8, scale: 0.5)
        try assertGradientsMatch("depthwise conv", inputs: [x, w]) {
            depthwiseConv2d($0[0], $0[1], stride: (2, 1), padding: (1, 1))
        }
    }

    func testOtherDTypesFallBackToMLX() {
        let x = randn([1, 6, 6, 4], seed: 9).asType(.float16)
        let w = randn([4, 3, 3, 1], seed: 10, scale: 0.3).asType(.float16)
        let y = depthwiseConv2d(x, w, padding: (1, 1))
        XCTAssertEqual(y.dtype, .float16)
        XCTAssertLessThan(maxDiff(y.asType(.float32), conv2d(x, w, padding: (1, 1), groups: 4).asType(.float32)), 1e-2)
    }

    func testBadShapesAreEngineErrors() {
        XCTAssertThrowsError(try withEngineErrors { depthwiseConv2d(zeros([1, 4, 4, 3]), zeros([4, 3, 3, 1])).eval() }) { error in
            XCTAssertTrue("\(error)".contains("weight [C, KH, KW, 1]"), "\(error)")
        }
    }
}
