// Greedy decoding's one-pass best class and probability against argmax and max of the softmax.

import MLXEngine
import XCTest

final class BestClassTests: XCTestCase {
    func testEqualsArgmaxAndMaxOfTheSoftmax() throws {
        // Widths below, at and above the 16-lane blocks, and PP-OCRv5's class count.
        for (i, classes) in [5, 16, 37, 18_385].enumerated() {
            let logits = randn([3, 7, classes], seed: UInt64(40 + i), scale: 6)
            let (best, probability) = bestClass(logits)
            XCTAssertEqual(best.shape, [3, 7])
            XCTAssertEqual(best.dtype, .uint32)
            XCTAssertEqual(probability.shape, [3, 7])
            let p = softmax(logits, axis: -1)
            XCTAssertEqual(best.asType(.int32).asArray(Int32.self), logits.argMax(axis: -1).asType(.int32).asArray(Int32.self))
            // Summed as the softmax kernel sums: the same float.
            XCTAssertEqual(probability.asArray(Float.self), p.max(axis: -1).asArray(Float.self), "\(classes) classes")
        }
    }

    func testTiesTakeTheFirstIndex() throws {
        // The maximum 2 appears at indices 3, 19 and 35 (different lanes and blocks).
        var values = [Float](repeating: 0, count: 40)
        for k in [19, 3, 35] { values[k] = 2 }
        let (best, probability) = bestClass(MLXArray(values, [1, 40]))
        XCTAssertEqual(best.asType(.int32).asArray(Int32.self), [3])
        let expected = Float(exp(2.0) / (3 * exp(2.0) + 37))
        XCTAssertEqual(probability.asArray(Float.self)[0], expected, accuracy: 1e-7)
    }

    func testHalfPrecisionFallsBackToMLX() throws {
        let logits = randn([2, 4, 50], seed: 7, scale: 3)
        let (best, probability) = bestClass(logits.asType(.float16))
        XCTAssertEqual(best.asType(.int32).asArray(Int32.self), logits.asType(.float16).argMax(axis: -1).asType(.int32).asArray(Int32.self))
        let want = softmax(logits.asType(.float16).asType(.float32), axis: -1).max(axis: -1)
        XCTAssertLessThan(abs(probability.asType(.float32) - want).max().item(Float.self), 1e-6)
    }
}
