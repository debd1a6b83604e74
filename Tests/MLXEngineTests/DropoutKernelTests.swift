// The keyed dropout kernel: keep rate, scale, determinism per key, its gradient (the same mask),
// the fallback for other dtypes, and bad arguments.

import MLXEngine
import XCTest

final class DropoutKernelTests: XCTestCase {
    private let x = MLXRandom.uniform([1000, 1000], low: 1, high: 2, key: MLXRandom.key(3))

    func testKeepsOneMinusPAndScalesTheRest() throws {
        for p: Float in [0.1, 0.5] {
            let y = dropout(x, p: p, key: MLXRandom.key(7))
            let kept = (y .!= 0).asType(.float32)
            let rate = kept.mean().item(Float.self)
            XCTAssertEqual(rate, 1 - p, accuracy: 0.003, "p \(p)")
            // Kept values are x / (1 − p) exactly.
            let expected = which(y .!= 0, x * (1 / Double(1 - p)), y)
            XCTAssertEqual(abs(y - expected).max().item(Float.self), 0)
            // Rows and columns are not correlated: every row keeps about as many.
            let perRow = kept.sum(axis: 1)
            XCTAssertLessThan(abs(perRow - Double(1000 * (1 - p))).max().item(Float.self), 80)
        }
    }

    func testSameKeySameMaskOtherKeyAnother() throws {
        let a = dropout(x, p: 0.3, key: MLXRandom.key(11))
        let b = dropout(x, p: 0.3, key: MLXRandom.key(11))
        let c = dropout(x, p: 0.3, key: MLXRandom.key(12))
        XCTAssertEqual(abs(a - b).max().item(Float.self), 0)
        let agree = ((a .!= 0) .== (c .!= 0)).asType(.float32).mean().item(Float.self)
        XCTAssertEqual(agree, 0.7 * 0.7 + 0.3 * 0.3, accuracy: 0.005)  // independent masks
        // Without a key, each call draws the next one of the seeded sequence.
        MLXRandom.seed(5)
        let d1 = dropout(x, p: 0.3)
        let d2 = dropout(x, p: 0.3)
        MLXRandom.seed(5)
        let e1 = dropout(x, p: 0.3)
        XCTAssertEqual(abs(d1 - e1).max().item(Float.self), 0)
        XCTAssertGreaterThan(abs(d1 - d2).max().item(Float.self), 0)
    }

    func testGradientIsTheSameMaskScaled() throws {
        let key = MLXRandom.key(21)
        let input = MLXRandom.normal([300, 257], key: MLXRandom.key(4))
        let cotangent = MLXRandom.normal([300, 257], key: MLXRandom.key(5))
        let (outputs, grads) = try vjp({ [dropout($0[0], p: 0.25, key: key)] }, primals: [input], cotangents: [cotangent])
        let kept = outputs[0] .!= 0
        let expected = which(kept, cotangent * (1 / 0.75), zeros([300, 257]))
        XCTAssertLessThanOrEqual(abs(grads[0] - expected).max().item(Float.self), 1e-6)
    }

    func testOtherDtypesUseTheEngineAndBadArgumentsFail() throws {
        let half = x.asType(.float16)
        let y = dropout(half, p: 0.5, key: MLXRandom.key(1))
        XCTAssertEqual(y.dtype, .float16)
        XCTAssertEqual((y .!= 0).asType(.float32).mean().item(Float.self), 0.5, accuracy: 0.01)
        XCTAssertThrowsError(try withEngineErrors { try eval(dropout(x, p: 1)) })
        XCTAssertThrowsError(try withEngineErrors { try eval(dropout(x, p: 0.1, key: MLXArray([Int32(1)]))) })
    }
}
