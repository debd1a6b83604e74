// The training-mode batch normalization kernel against MLX's composed ops (mean, variance,
// normalize, scale, shift): outputs, statistics and gradients, including gradients that reach the
// statistics themselves, on shapes split over the kernel threads and not.

import Foundation
import MLXEngine
import XCTest

final class BatchNormTrainingTests: XCTestCase {
    /// Small (one thread), large (rows split over the threads), odd channel counts.
    private let shapes = [[2, 3, 5, 8], [8, 12, 40, 96], [3, 5, 7, 13]]

    private func composed(_ x: MLXArray, _ w: MLXArray, _ b: MLXArray, eps: Float) -> (MLXArray, MLXArray, MLXArray) {
        let axes = Array(0 ..< x.ndim - 1)
        let mean = x.mean(axes: axes)
        let variance = x.variance(axes: axes)
        return ((x - mean) * rsqrt(variance + Double(eps)) * w + b, mean, variance)
    }

    private func close(_ a: MLXArray, _ b: MLXArray, _ tolerance: Float, _ what: String) {
        XCTAssertEqual(a.shape, b.shape, what)
        let scale = max(1, abs(b).max().item(Float.self))
        XCTAssertLessThanOrEqual(abs(a - b).max().item(Float.self), tolerance * scale, what)
    }

    func testOutputAndStatisticsEqualTheComposedOps() throws {
        for (i, shape) in shapes.enumerated() {
            // An offset mean (3) makes E[x²] − mean² work for its precision.
            let x = randn(shape, seed: UInt64(10 + i), scale: 2) + 3
            let c = shape.last!
            let w = randn([c], seed: UInt64(20 + i)), b = randn([c], seed: UInt64(30 + i))
            let (y, mean, variance) = batchNormTraining(x, weight: w, bias: b, eps: 1e-5)
            let want = composed(x, w, b, eps: 1e-5)
            try eval(y, mean, variance)
            close(y, want.0, 2e-5, "output \(shape)")
            close(mean, want.1, 1e-5, "mean \(shape)")  // ours sums in double, MLX in float
            close(variance, want.2, 1e-5, "variance \(shape)")
            XCTAssertGreaterThan(abs(variance - 4).max().item(Float.self), 0, "a real variance, not a constant")
        }
        // Without affine parameters: weight 1, bias 0.
        let x = randn([4, 9, 16], seed: 3)
        let (y, _, _) = batchNormTraining(x, weight: nil, bias: nil, eps: 1e-3)
        close(y, composed(x, ones([16]), zeros([16]), eps: 1e-3).0, 2e-5, "no affine")
    }

    func testGradientsEqualThoseOfTheComposedOps() throws {
        for (i, shape) in shapes.enumerated() {
            let c = shape.last!
            let primals = [randn(shape, seed: UInt64(40 + i), scale: 1.5) - 1, randn([c], seed: UInt64(50 + i)),
                           randn([c], seed: UInt64(60 + i))]
            // The output's cotangent, and ones for the statistics: a loss that also reads the batch
            // mean and variance (as a regularizer would) sends gradients through them.
            let cotangents = [randn(shape, seed: UInt64(70 + i)), randn([c], seed: UInt64(80 + i)), randn([c], seed: UInt64(90 + i))]
            let kernel = try vjp({ a in
                let r = batchNormTraining(a[0], weight: a[1], bias: a[2], eps: 1e-5)
                return [r.output, r.mean, r.variance]
            }, primals: primals, cotangents: cotangents).vjps
            let reference = try vjp({ a in
                let r = self.composed(a[0], a[1], a[2], eps: 1e-5)
                return [r.0, r.1, r.2]
            }, primals: primals, cotangents: cotangents).vjps
            XCTAssertEqual(kernel.count, 3)
            for (k, name) in ["x", "weight", "bias"].enumerated() {
                close(kernel[k], reference[k], 5e-5, "d\(name) \(shape)")
            }
            XCTAssertGreaterThan(abs(kernel[0]).max().item(Float.self), 0)
            // Only the output's cotangent: the statistics' cotangents count as zeros.
            let outputOnly = try vjp({ a in [batchNormTraining(a[0], weight: a[1], bias: a[2], eps: 1e-5).output] },
                                     primals: primals, cotangents: [cotangents[0]]).vjps
            let referenceOnly = try vjp({ a in [self.composed(a[0], a[1], a[2], eps: 1e-5).0] },
                                        primals: primals, cotangents: [cotangents[0]]).vjps
            for k in 0 ..< 3 { close(outputOnly[k], referenceOnly[k], 5e-5, "output only, input \(k) \(shape)") }
        }
    }

    /// Statistics of a channel whose mean is far from zero, over many rows, against sums in double
    /// on the host: the kernel's double sums keep the mean within float rounding (MLX's float
    /// mean over these 15,360 rows is off by about 1e-4).
    func testStatisticsStayAccurateForMeansFarFromZero() throws {
        let m = 15360, c = 8
        let x = MLXRandom.normal([m, c], key: MLXRandom.key(5)) * 0.5 + 50
        let host = x.asArray(Float.self)
        var mean = [Double](repeating: 0, count: c), variance = [Double](repeating: 0, count: c)
        for i in 0 ..< m { for j in 0 ..< c { mean[j] += Double(host[i * c + j]) } }
        for j in 0 ..< c { mean[j] /= Double(m) }
        for i in 0 ..< m { for j in 0 ..< c { variance[j] += pow(Double(host[i * c + j]) - mean[j], 2) / Double(m) } }
        let r = batchNormTraining(x, weight: nil, bias: nil, eps: 1e-5)
        for (j, v) in r.mean.asArray(Float.self).enumerated() { XCTAssertEqual(Double(v), mean[j], accuracy: 1e-5 * 50) }
        for (j, v) in r.variance.asArray(Float.self).enumerated() { XCTAssertEqual(Double(v), variance[j], accuracy: 1e-6) }
    }

    /// The per-channel affine kernel (a batch norm with kept statistics) against x · scale + shift.
    func testChannelAffineAndItsGradientsEqualTheComposedOps() throws {
        for (i, shape) in shapes.enumerated() {
            let c = shape.last!
            let primals = [randn(shape, seed: UInt64(100 + i), scale: 2), randn([c], seed: UInt64(110 + i)), randn([c], seed: UInt64(120 + i))]
            close(channelAffine(primals[0], scale: primals[1], shift: primals[2]), primals[0] * primals[1] + primals[2], 1e-6, "output \(shape)")
            let cotangent = randn(shape, seed: UInt64(130 + i))
            let kernel = try vjp({ a in [channelAffine(a[0], scale: a[1], shift: a[2])] }, primals: primals, cotangents: [cotangent]).vjps
            let reference = try vjp({ a in [a[0] * a[1] + a[2]] }, primals: primals, cotangents: [cotangent]).vjps
            for (k, name) in ["x", "scale", "shift"].enumerated() { close(kernel[k], reference[k], 2e-5, "d\(name) \(shape)") }
        }
    }

    func testRejectsMismatchedParameters() {
        XCTAssertThrowsError(try withEngineErrors {
            try eval(batchNormTraining(randn([4, 8], seed: 1), weight: randn([7], seed: 2), bias: nil, eps: 1e-5).output)
        })
    }
}
