// The one-pass AdamW kernel against the elementwise composition it replaces (MLXOptimizers.AdamW's
// arithmetic): bit-identical for contiguous, transposed and other strided gradients, on the first
// step and later ones, with and without weight decay; moments still held by the caller untouched.

import Foundation
import MLXEngine
import XCTest

final class AdamWKernelTests: XCTestCase {
    private let betas: (Double, Double) = (0.9, 0.999)

    private func scalars(step: Int, lr: Double, weightDecay: Double?) -> AdamWStepScalars {
        let (b1, b2) = betas
        return AdamWStepScalars(
            learningRate: Float(lr), beta1: Float(b1), oneMinusBeta1: Float(1 - b1), beta2: Float(b2),
            oneMinusBeta2: Float(1 - b2), eps: 1e-8, correction1: Float(1 - Foundation.pow(b1, Double(step))),
            correction2: Float(1 - Foundation.pow(b2, Double(step))), decay: weightDecay.map { Float(1 - lr * $0) } ?? 1)
    }

    /// MLXOptimizers.AdamW's composition, op for op.
    private func composed(
        _ p: MLXArray, _ g: MLXArray, _ m: MLXArray?, _ v: MLXArray?, step: Int, lr: Double, weightDecay: Double?
    ) -> (MLXArray, MLXArray, MLXArray) {
        let (b1, b2) = betas
        let mNew = (m ?? zeros(like: g)) * b1 + g * (1 - b1)
        let vNew = (v ?? zeros(like: g)) * b2 + g.square() * (1 - b2)
        let c1 = 1 - Foundation.pow(b1, Double(step)), c2 = 1 - Foundation.pow(b2, Double(step))
        let direction = (mNew / c1) / (sqrt(vNew / c2) + Double(Float(1e-8)))
        var weights = p
        if let weightDecay { weights = weights * (1 - lr * weightDecay) }
        return (weights - direction * lr, mNew, vNew)
    }

    private func assertIdentical(_ a: MLXArray, _ b: MLXArray, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let (x, y) = (a.asArray(Float.self), b.asArray(Float.self))
        let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(what): \(differing) of \(x.count) values differ", file: file, line: line)
    }

    /// Two steps through the kernel and through the composition from the same state.
    private func check(shape: [Int], gradient: (MLXArray) -> MLXArray, weightDecay: Double?, what: String) throws {
        let p0 = MLXRandom.normal(shape, key: MLXRandom.key(1))
        var (pk, mk, vk): (MLXArray, MLXArray?, MLXArray?) = (p0, nil, nil)
        var (pc, mc, vc): (MLXArray, MLXArray?, MLXArray?) = (p0, nil, nil)
        for step in 1 ... 2 {
            let g = gradient(MLXRandom.normal(shape, std: 0.1, key: MLXRandom.key(UInt64(10 + step))))
            let lr = 1e-3 * Double(step)
            let fused = try XCTUnwrap(adamWStep(parameter: pk, gradient: g, expAvg: mk, expAvgSq: vk,
                                                scalars(step: step, lr: lr, weightDecay: weightDecay)))
            let reference = composed(pc, g, mc, vc, step: step, lr: lr, weightDecay: weightDecay)
            try eval([fused.parameter, fused.expAvg, fused.expAvgSq, reference.0, reference.1, reference.2])
            assertIdentical(fused.parameter, reference.0, "\(what), step \(step): parameter")
            assertIdentical(fused.expAvg, reference.1, "\(what), step \(step): exp_avg")
            assertIdentical(fused.expAvgSq, reference.2, "\(what), step \(step): exp_avg_sq")
            (pk, mk, vk) = (fused.parameter, fused.expAvg, fused.expAvgSq)
            (pc, mc, vc) = reference
        }
        XCTAssertNotEqual(pk.asArray(Float.self), p0.asArray(Float.self), "\(what): the update moved nothing")
    }

    func testContiguousGradientMatchesTheComposition() throws {
        // 300 × 200 spans several of the kernel's chunks; the 70 × 3 one is smaller than one.
        try check(shape: [300, 200], gradient: { $0 }, weightDecay: 0.01, what: "contiguous")
        try check(shape: [70, 3], gradient: { $0 }, weightDecay: nil, what: "small, no decay")
    }

    func testTransposedGradientMatchesTheComposition() throws {
        // A Linear weight's gradient arrives as the transpose of a matmul: column-major, read in
        // 64 × 64 tiles; 130 × 197 leaves partial tiles on both axes.
        try check(shape: [130, 197], gradient: { contiguous($0.transposed()).transposed() }, weightDecay: 0.01,
                  what: "transposed")
    }

    func testOtherStridedGradientMatchesTheComposition() throws {
        // A 3-D gradient with permuted axes takes the gathering path.
        try check(shape: [5, 6, 7], gradient: { contiguous($0.transposed(2, 0, 1)).transposed(1, 2, 0) },
                  weightDecay: 0.01, what: "permuted 3-D")
        // A broadcast row (stride 0 along the rows).
        try check(shape: [40, 50], gradient: { $0.mean(axis: 0, keepDims: true).broadcast(to: [40, 50]) },
                  weightDecay: 0.01, what: "broadcast")
    }

    func testMomentsHeldByTheCallerAreNotOverwritten() throws {
        let p = MLXRandom.normal([64, 64], key: MLXRandom.key(3))
        let g = MLXRandom.normal([64, 64], key: MLXRandom.key(4))
        let m = MLXRandom.normal([64, 64], std: 0.01, key: MLXRandom.key(5))
        let v = MLXRandom.uniform([64, 64], low: 0, high: 0.01, key: MLXRandom.key(6))
        try eval([p, g, m, v])
        let before = (p.asArray(Float.self), m.asArray(Float.self), v.asArray(Float.self))
        let step = try XCTUnwrap(adamWStep(parameter: p, gradient: g, expAvg: m, expAvgSq: v,
                                           scalars(step: 3, lr: 1e-2, weightDecay: 0.01)))
        try eval([step.parameter, step.expAvg, step.expAvgSq])
        XCTAssertEqual(p.asArray(Float.self), before.0)
        XCTAssertEqual(m.asArray(Float.self), before.1)
        XCTAssertEqual(v.asArray(Float.self), before.2)
        XCTAssertNotEqual(step.expAvg.asArray(Float.self), before.1)
    }

    func testUnheldStateIsUpdatedInPlaceWithTheSameValues() throws {
        // The optimizer drops its references to p, m and v before evaluating: the kernel then writes
        // into their buffers (no new 1 MB arrays: the step's peak stays near the state it had) and the
        // values are still the composition's.
        let shape = [512, 512]
        let bytes = 512 * 512 * 4
        let p0 = MLXRandom.normal(shape, key: MLXRandom.key(7))
        var pk = p0 + 0, mk: MLXArray? = nil, vk: MLXArray? = nil
        var (pc, mc, vc): (MLXArray, MLXArray?, MLXArray?) = (p0, nil, nil)
        try eval([pk, p0])
        for step in 1 ... 3 {
            let g = MLXRandom.normal(shape, std: 0.1, key: MLXRandom.key(UInt64(20 + step)))
            let reference = composed(pc, g, mc, vc, step: step, lr: 1e-3, weightDecay: 0.01)
            try eval([g, reference.0, reference.1, reference.2])
            (pc, mc, vc) = reference
            let fused = try XCTUnwrap(adamWStep(parameter: pk, gradient: g, expAvg: mk, expAvgSq: vk,
                                                scalars(step: step, lr: 1e-3, weightDecay: 0.01)))
            (pk, mk, vk) = (fused.parameter, fused.expAvg, fused.expAvgSq)  // the inputs' last holders go
            let held = Memory.activeBytes
            Memory.resetPeak()
            try eval([pk, mk!, vk!])
            // The first step has no moments to reuse: two new arrays; later steps none.
            let grown = Memory.peakBytes - held
            XCTAssertLessThan(grown, (step == 1 ? 2 : 0) * bytes + bytes / 2, "step \(step): \(grown) bytes allocated")
            assertIdentical(pk, reference.0, "step \(step): parameter")
            assertIdentical(mk!, reference.1, "step \(step): exp_avg")
            assertIdentical(vk!, reference.2, "step \(step): exp_avg_sq")
        }
    }
}
