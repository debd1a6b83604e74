// ocrtune's softmax kernel (last axis, float32, CPU) against MLX's own ops.

import MLXEngine
import XCTest

final class SoftmaxKernelTests: XCTestCase {
    /// exp(x − logsumexp(x)) with MLX's ops in float64, the reference.
    private func reference(_ x: MLXArray) -> MLXArray {
        let wide = x.asType(.float64)
        return exp(wide - wide.logSumExp(axis: -1, keepDims: true)).asType(.float32)
    }

    func testMatchesMLXOnWideAndOddRows() throws {
        // 18,385 columns (PP-OCRv5's classes) and 37 (a tail shorter than the kernel's lanes).
        for (shape, seed) in [([3, 5, 18385], 1), ([4, 37], 2), ([2, 1], 3)] {
            let x = randn(shape, seed: UInt64(seed)) * 6
            let got = softmax(x, axis: -1)
            let want = reference(x)
            let diff = abs(got - want).max().item(Float.self)
            XCTAssertLessThan(diff, 2e-6, "softmax \(shape)")
            let rowSums = got.asType(.float64).sum(axis: -1).asArray(Double.self)
            for s in rowSums { XCTAssertEqual(s, 1, accuracy: 1e-5) }
            let logDiff = abs(logSoftmax(x, axis: -1) - log(want)).max().item(Float.self)
            XCTAssertLessThan(logDiff, 1e-4, "logSoftmax \(shape)")
        }
    }

    func testExtremeValuesAndInfinities() throws {
        let x = MLXArray([1000, 0, -1000, -Float.infinity, 3, 3, 3, 3] as [Float], [2, 4])
        let got = softmax(x, axis: -1).asArray(Float.self)
        XCTAssertEqual(got[0], 1, accuracy: 1e-7)
        XCTAssertEqual(got[1], 0, accuracy: 1e-30)
        XCTAssertEqual(got[3], 0)
        for v in got[4...] { XCTAssertEqual(v, 0.25, accuracy: 1e-7) }
        let logs = logSoftmax(x, axis: -1).asArray(Float.self)
        XCTAssertEqual(logs[1], -1000, accuracy: 1e-3)
        XCTAssertEqual(logs[3], -Float.infinity)
        XCTAssertEqual(logs[4], log(0.25), accuracy: 1e-6)
    }

    func testNaNPropagates() throws {
        let x = MLXArray([1, .nan, 2, 0] as [Float], [1, 4])
        XCTAssertTrue(softmax(x, axis: -1).asArray(Float.self).allSatisfy { $0.isNaN })
        XCTAssertTrue(logSoftmax(x, axis: -1).asArray(Float.self).allSatisfy { $0.isNaN })
    }

    func testHalfPrecisionFallsBackToMLX() throws {
        let x = (randn([2, 50], seed: 4) * 3).asType(.float16)
        let got = softmax(x, axis: -1, precise: true)
        XCTAssertEqual(got.dtype, .float16)
        let diff = abs(got.asType(.float32) - reference(x.asType(.float32))).max().item(Float.self)
        XCTAssertLessThan(diff, 2e-3)
    }
}
