// CTC loss against brute-force path enumeration, and its gradient against finite differences.

import Foundation
import MLXEngine
import MLXNN
import XCTest

final class CTCTests: XCTestCase {
    /// −log Σ over all length-T paths that collapse (merge repeats, drop blanks) to `target`.
    private func bruteForce(_ logProbs: [[Double]], target: [Int], blank: Int = 0) -> Double {
        let t = logProbs.count
        let c = logProbs[0].count
        var total = 0.0
        var path = [Int](repeating: 0, count: t)
        func collapse(_ p: [Int]) -> [Int] {
            var out: [Int] = []
            var previous = -1
            for x in p {
                if x != previous && x != blank { out.append(x) }
                previous = x
            }
            return out
        }
        func visit(_ i: Int) {
            if i == t {
                if collapse(path) == target {
                    total += Foundation.exp(path.enumerated().reduce(0.0) { $0 + logProbs[$1.offset][$1.element] })
                }
                return
            }
            for k in 0 ..< c {
                path[i] = k
                visit(i + 1)
            }
        }
        visit(0)
        return -Foundation.log(total)
    }

    private func randomLogProbs(_ b: Int, _ t: Int, _ c: Int, seed: UInt64) -> MLXArray {
        logSoftmax(MLXRandom.normal([b, t, c], key: MLXRandom.key(seed)), axis: -1)
    }

    private func rows(_ lp: MLXArray, sample: Int, steps: Int) -> [[Double]] {
        let c = lp.dim(2)
        let flat = lp.asArray(Float.self)
        let t = lp.dim(1)
        return (0 ..< steps).map { s in (0 ..< c).map { Double(flat[(sample * t + s) * c + $0]) } }
    }

    func testSingleStepSingleLabelIsMinusLogProbability() {
        let lp = log(MLXArray([0.2, 0.5, 0.3] as [Float], [1, 1, 3]))
        let loss = ctcLoss(logProbs: lp, targets: MLXArray([Int32(1)], [1, 1]), inputLengths: [1], targetLengths: [1], reduction: .sum)
        XCTAssertEqual(loss.item(Float.self), -Foundation.log(0.5), accuracy: 1e-6)
    }

    func testMatchesBruteForceEnumerationIncludingRepeatsAndEmptyTargets() {
        let lp = randomLogProbs(4, 5, 3, seed: 1)
        let targets = MLXArray([Int32(1), 2, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0], [4, 3])
        let targetLengths = [2, 2, 1, 0]
        let inputLengths = [5, 5, 3, 4]
        let losses = ctcLoss(logProbs: lp, targets: targets, inputLengths: inputLengths, targetLengths: targetLengths, reduction: .none).asArray(Float.self)
        let expectedTargets = [[1, 2], [1, 1], [2], []]
        for i in 0 ..< 4 {
            let expected = bruteForce(rows(lp, sample: i, steps: inputLengths[i]), target: expectedTargets[i])
            XCTAssertEqual(Double(losses[i]), expected, accuracy: 1e-4, "sample \(i)")
        }
    }

    func testMeanReductionDividesByTargetLength() {
        let lp = randomLogProbs(2, 6, 4, seed: 2)
        let targets = MLXArray([Int32(1), 2, 3, 3, 0, 0], [2, 3])
        let none = ctcLoss(logProbs: lp, targets: targets, inputLengths: [6, 6], targetLengths: [3, 1], reduction: .none).asArray(Float.self)
        let mean = ctcLoss(logProbs: lp, targets: targets, inputLengths: [6, 6], targetLengths: [3, 1]).item(Float.self)
        XCTAssertEqual(mean, (none[0] / 3 + none[1] / 1) / 2, accuracy: 1e-5)
    }

    func testGradientWithRespectToLogitsMatchesFiniteDifferences() throws {
        let logits = MLXRandom.normal([2, 4, 3], key: MLXRandom.key(3))
        let targets = MLXArray([Int32(1), 2, 2, 0], [2, 2])
        func loss(_ x: MLXArray) -> MLXArray {
            ctcLoss(logProbs: logSoftmax(x, axis: -1), targets: targets, inputLengths: [4, 3], targetLengths: [2, 1])
        }
        let analytic = try grad(loss, at: logits).asArray(Float.self)
        let values = logits.asArray(Float.self)
        let eps: Float = 1e-2
        for i in values.indices {
            var plus = values
            var minus = values
            plus[i] += eps
            minus[i] -= eps
            let numeric = (loss(MLXArray(plus, [2, 4, 3])).item(Float.self) - loss(MLXArray(minus, [2, 4, 3])).item(Float.self)) / (2 * eps)
            XCTAssertEqual(analytic[i], numeric, accuracy: 2e-3, "logit \(i)")
        }
        // Time steps past a sample's input length get no gradient.
        let pastEnd = analytic[(1 * 4 + 3) * 3 ..< (1 * 4 + 4) * 3]
        XCTAssertTrue(pastEnd.allSatisfy { $0 == 0 })
    }
}

/// Parity with torch.nn.functional.ctc_loss on the committed fixture (tools/make_ctc_fixtures.py).
final class CTCTorchParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let logits: [Double]
            let shape: [Int]
            let targets: [Int32]
            let max_target: Int
            let input_lengths: [Int]
            let target_lengths: [Int]
            let loss_none: [Double]
            let grad_none: [Double]
            let loss_mean: [Double]
            let grad_mean: [Double]
        }
        let cases: [Case]
    }

    func testLossAndGradientMatchPyTorch() throws {
        let url = Bundle.module.url(forResource: "ctc_torch", withExtension: "json", subdirectory: "Fixtures")!
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 4)
        for (i, c) in fixture.cases.enumerated() {
            let logits = MLXArray(c.logits.map(Float.init), c.shape)
            let targets = MLXArray(c.targets, [c.shape[0], c.max_target])
            for (reduction, expectedLoss, expectedGrad) in [(CTCReduction.none, c.loss_none, c.grad_none), (.mean, c.loss_mean, c.grad_mean)] {
                let f: ArrayFunction.Body = { x in
                    [ctcLoss(logProbs: logSoftmax(x[0], axis: -1), targets: targets, inputLengths: c.input_lengths,
                             targetLengths: c.target_lengths, reduction: reduction).sum()]
                }
                let loss = ctcLoss(logProbs: logSoftmax(logits, axis: -1), targets: targets, inputLengths: c.input_lengths,
                                   targetLengths: c.target_lengths, reduction: reduction)
                for (a, b) in zip(loss.asArray(Float.self), expectedLoss) {
                    XCTAssertEqual(Double(a), b, accuracy: 1e-4 * Swift.max(1, Swift.abs(b)), "case \(i) \(reduction) loss")
                }
                let grad = try valueAndGrad(f, [logits]).gradients[0].asArray(Float.self)
                let worst = zip(grad, expectedGrad).map { Swift.abs(Double($0) - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4, "case \(i) \(reduction) gradient")
            }
        }
    }
}
