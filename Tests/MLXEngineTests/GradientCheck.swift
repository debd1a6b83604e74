// Central finite-difference gradient checking.

import MLXEngine
import XCTest

/// Checks the gradient of `f` (made scalar by a fixed random projection of its output)
/// at `inputs` against central differences, for every input listed in `wrt`.
func assertGradientsMatch(
    _ name: String, inputs: [MLXArray], wrt: [Int]? = nil, eps: Float = 1e-2, tolerance: Float = 2e-2,
    file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([MLXArray]) -> MLXArray
) throws {
    let probe = MLXRandom.normal(f(inputs).shape, key: MLXRandom.key(99))
    let scalar: ([MLXArray]) -> MLXArray = { (f($0) * probe).sum() }
    let argnums = wrt ?? Array(inputs.indices)
    let analytic = try valueAndGrad({ [scalar($0)] }, inputs, argnums: argnums).gradients

    for (k, index) in argnums.enumerated() {
        let x = inputs[index]
        let values = x.asArray(Float.self)
        var numeric = [Float](repeating: 0, count: values.count)
        for i in values.indices {
            func value(at delta: Float) -> Float {
                var perturbed = values
                perturbed[i] += delta
                var args = inputs
                args[index] = MLXArray(perturbed, x.shape).asType(x.dtype)
                return scalar(args).item(Float.self)
            }
            numeric[i] = (value(at: eps) - value(at: -eps)) / (2 * eps)
        }
        let got = analytic[k].asArray(Float.self)
        XCTAssertEqual(got.count, numeric.count, "\(name): gradient size", file: file, line: line)
        let scale = Swift.max(1, numeric.map(Swift.abs).max() ?? 1)
        let worst = zip(got, numeric).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(
            worst, tolerance * scale,
            "\(name): d/d input \(index) differs from finite differences by \(worst)", file: file, line: line)
    }
}

/// A reproducible normal array.
func randn(_ shape: [Int], seed: UInt64, scale: Float = 1) -> MLXArray {
    MLXRandom.normal(shape, key: MLXRandom.key(seed)) * Double(scale)
}

/// A reproducible array in [low, high).
func randu(_ shape: [Int], seed: UInt64, low: Float = 0, high: Float = 1) -> MLXArray {
    MLXRandom.uniform(shape, low: low, high: high, key: MLXRandom.key(seed))
}
