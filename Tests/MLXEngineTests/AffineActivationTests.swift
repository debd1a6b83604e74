// The fused bias → affine → activation → affine kernel against the same arithmetic in MLX ops.

import MLXEngine
import XCTest

final class AffineActivationTests: XCTestCase {
    private func composed(_ x: MLXArray, _ p: [MLXArray], _ act: FusedActivation) -> MLXArray {
        var v = (x + p[0]) * p[1] + p[2]
        switch act {
        case .identity: break
        case .hardSwish: v = v * minimum(maximum(v * (1.0 / 6) + 0.5, v.scalar(0)), v.scalar(1))
        case .relu: v = maximum(v, v.scalar(0))
        case .gelu: v = v * (erf(v * (1 / 2.0.squareRoot())) + 1) * 0.5
        }
        return v * p[3] + p[4]
    }

    private let parameters = [
        randn([24], seed: 2), MLXArray([1.3] as [Float]), MLXArray([-0.2] as [Float]), MLXArray([0.9] as [Float]),
        MLXArray([0.05] as [Float]),
    ]

    func testBitIdenticalToComposedOps() throws {
        // 3·5·7 rows of 24 channels, values spread over hard-swish's three pieces.
        let x = randn([3, 5, 7, 24], seed: 1, scale: 4)
        let p = parameters
        for act in [FusedActivation.identity, .hardSwish, .relu] {
            let fused = affineActivation(
                x, bias: p[0], preScale: p[1], preBias: p[2], activation: act, postScale: p[3], postBias: p[4])
            XCTAssertEqual(fused.shape, x.shape)
            XCTAssertEqual(abs(fused - composed(x, p, act)).max().item(Float.self), 0, "\(act)")
        }
    }

    func testGELUWithinThePolynomialErfOfTheComposedOps() throws {
        // erf by Abramowitz & Stegun 7.1.26: |Δerf| ≤ 1.5e-7, so |ΔGELU| ≤ |v| · 1e-7 or so.
        let x = randn([3, 5, 7, 24], seed: 4, scale: 4)
        let p = parameters
        let fused = affineActivation(
            x, bias: p[0], preScale: p[1], preBias: p[2], activation: .gelu, postScale: p[3], postBias: p[4])
        XCTAssertLessThan(abs(fused - composed(x, p, .gelu)).max().item(Float.self), 2e-6)
        // Its gradient against the composed ops' (autodiff through MLX's erf).
        let g = randn([3, 5, 7, 24], seed: 5)
        let fused1: ArrayFunction.Body = { a in
            [(affineActivation(a[0], bias: p[0], preScale: p[1], preBias: p[2], activation: .gelu, postScale: p[3], postBias: p[4]) * g).sum()]
        }
        let composed1: ArrayFunction.Body = { a in [(self.composed(a[0], p, .gelu) * g).sum()] }
        let dFused = try valueAndGrad(fused1, [x]).gradients[0]
        let dComposed = try valueAndGrad(composed1, [x]).gradients[0]
        XCTAssertLessThan(abs(dFused - dComposed).max().item(Float.self), 1e-5)
    }

    func testMissingOperandsMeanIdentity() throws {
        let x = randn([4, 6], seed: 3)
        let y = affineActivation(x, bias: nil, preScale: nil, preBias: nil, activation: .identity)
        XCTAssertEqual(abs(y - x).max().item(Float.self), 0)
        XCTAssertThrowsError(
            try withEngineErrors {
                try eval(affineActivation(x, bias: MLXArray([1, 2] as [Float]), preScale: nil, preBias: nil, activation: .relu))
            })
    }

    func testGradientsOfEveryOperand() throws {
        // Inputs away from hard-swish's kinks at ±3 (after the affine), where differences are not smooth.
        let x = randn([2, 3, 24], seed: 5, scale: 1.5)
        let p = parameters
        for act in [FusedActivation.hardSwish, .relu, .identity] {
            try assertGradientsMatch("affineActivation \(act)", inputs: [x] + p, eps: 1e-3, tolerance: 3e-2) {
                affineActivation(
                    $0[0], bias: $0[1], preScale: $0[2], preBias: $0[3], activation: act, postScale: $0[4],
                    postBias: $0[5])
            }
        }
    }

    func testOnePassGradientsEqualThoseOfTheComposedOpsInFloat64() throws {
        // Enough rows for the kernel to split them over threads (partial sums added in order).
        let x = randn([4, 33, 24], seed: 7, scale: 4)
        let cotangent = randn([4, 33, 24], seed: 8)
        for act in [FusedActivation.hardSwish, .relu, .identity] {
            let fused = try vjp({ a in
                [affineActivation(a[0], bias: a[1], preScale: a[2], preBias: a[3], activation: act, postScale: a[4], postBias: a[5])]
            }, primals: [x] + parameters, cotangents: [cotangent]).vjps
            // The composed ops in float64: the kernel sums in double, float32 sums of 3k terms drift by 1e-4.
            let reference = try vjp({ a in [self.composed(a[0], Array(a[1...]), act)] },
                                    primals: ([x] + parameters).map { $0.asType(.float64) },
                                    cotangents: [cotangent.asType(.float64)]).vjps.map { $0.asType(.float32) }
            XCTAssertEqual(fused.count, 6)
            for (i, (a, b)) in zip(fused, reference).enumerated() {
                XCTAssertEqual(a.shape, b.shape, "\(act) input \(i)")
                let scale = max(1, abs(b).max().item(Float.self))
                XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), 2e-5 * scale, "\(act) input \(i)")
            }
            XCTAssertGreaterThan(abs(fused[0]).max().item(Float.self), 0)
        }
    }

    func testHalfPrecisionUsesTheComposedPath() throws {
        let x = randn([2, 24], seed: 6).asType(.float16)
        let p = parameters.map { $0.asType(.float16) }
        let y = affineActivation(x, bias: p[0], preScale: p[1], preBias: p[2], activation: .hardSwish, postScale: p[3], postBias: p[4])
        XCTAssertEqual(y.dtype, .float16)
        let want = composed(x.asType(.float32), parameters, .hardSwish)
        XCTAssertLessThan(abs(y.asType(.float32) - want).max().item(Float.self), 2e-2)
    }
}
