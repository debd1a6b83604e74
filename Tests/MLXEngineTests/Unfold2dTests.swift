// The im2col kernel (unfold2d) against strided slices of the padded input, concatenated: the
// same values exactly, and the same gradient (the patches folded back), on batches split over the
// kernel threads and not.

import MLXEngine
import XCTest

final class Unfold2dTests: XCTestCase {
    private let cases: [(input: [Int], k: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
        ([2, 9, 11, 5], (3, 3), (2, 2), (1, 1)),
        ([8, 24, 40, 16], (3, 3), (2, 2), (1, 1)),  // PP-OCRv6's stem3 shape, smaller: images split over the threads
        ([3, 13, 41, 6], (2, 2), (1, 1), (0, 0)),
        ([1, 7, 9, 3], (3, 2), (2, 1), (2, 1)),
        ([4, 5, 6, 2], (1, 1), (1, 1), (0, 0)),
    ]

    /// The composition unfold2d replaces (MLXNN's Conv2d before it).
    private func sliced(_ x: MLXArray, _ k: (Int, Int), _ stride: (Int, Int), _ padding: (Int, Int)) -> MLXArray {
        let input = x.padded(low: [0, padding.0, padding.1, 0], high: [0, padding.0, padding.1, 0])
        let (n, h, w, c) = (input.dim(0), input.dim(1), input.dim(2), input.dim(3))
        let (ho, wo) = ((h - k.0) / stride.0 + 1, (w - k.1) / stride.1 + 1)
        var columns: [MLXArray] = []
        for i in 0 ..< k.0 {
            for j in 0 ..< k.1 {
                columns.append(input.sliced(
                    start: [0, i, j, 0], stop: [n, i + stride.0 * (ho - 1) + 1, j + stride.1 * (wo - 1) + 1, c],
                    strides: [1, stride.0, stride.1, 1]))
            }
        }
        return concatenated(columns, axis: -1)
    }

    func testPatchesEqualTheStridedSlices() throws {
        for (i, item) in cases.enumerated() {
            let x = MLXRandom.normal(item.input, key: MLXRandom.key(UInt64(10 + i)))
            let patches = unfold2d(x, kernel: item.k, stride: item.stride, padding: item.padding)
            let want = sliced(x, item.k, item.stride, item.padding)
            XCTAssertEqual(patches.shape, want.shape, "\(item)")
            XCTAssertEqual(abs(patches - want).max().item(Float.self), 0, "\(item)")
        }
    }

    func testGradientFoldsThePatchesBack() throws {
        for (i, item) in cases.enumerated() {
            let x = MLXRandom.normal(item.input, key: MLXRandom.key(UInt64(20 + i)))
            let shape = sliced(x, item.k, item.stride, item.padding).shape
            let cotangent = MLXRandom.normal(shape, key: MLXRandom.key(UInt64(30 + i)))
            let kernel = try vjp({ [unfold2d($0[0], kernel: item.k, stride: item.stride, padding: item.padding)] },
                                 primals: [x], cotangents: [cotangent]).vjps[0]
            let reference = try vjp({ [self.sliced($0[0], item.k, item.stride, item.padding)] },
                                    primals: [x], cotangents: [cotangent]).vjps[0]
            XCTAssertEqual(kernel.shape, x.shape, "\(item)")
            // The same values added in another order.
            XCTAssertLessThanOrEqual(abs(kernel - reference).max().item(Float.self), 1e-5, "\(item)")
            XCTAssertGreaterThan(abs(kernel).max().item(Float.self), 0)
        }
    }

    func testRejectsAKernelLargerThanThePaddedInput() {
        XCTAssertThrowsError(try withEngineErrors {
            try eval(unfold2d(MLXRandom.normal([1, 2, 2, 3], key: MLXRandom.key(1)), kernel: (3, 3)))
        })
    }
}
