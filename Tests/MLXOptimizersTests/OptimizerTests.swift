// Optimizers fit a small regression; decay rule; schedules; clipping.

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers
import XCTest

final class MLP: Module {
    let fc1: Linear
    let fc2: Linear
    init(key: UInt64) {
        let keys = MLXRandom.split(MLXRandom.key(key), count: 2)
        fc1 = Linear(1, 32, key: keys[0])
        fc2 = Linear(32, 1, key: keys[1])
        super.init()
    }
    func callAsFunction(_ x: MLXArray) -> MLXArray { fc2(tanh(fc1(x))) }
}

final class OptimizerTests: XCTestCase {
    /// y = sin(3x) + noise(σ = 0.05) on x ∈ [−1, 1].
    private func data() -> (MLXArray, MLXArray) {
        let x = MLXRandom.uniform([256, 1], low: -1, high: 1, key: MLXRandom.key(1))
        let noise = MLXRandom.normal([256, 1], std: 0.05, key: MLXRandom.key(2))
        return (x, sin(x * 3) + noise)
    }

    private func fit(_ optimizer: Optimizer, schedule: LearningRateSchedule, steps: Int) throws -> (Float, Float) {
        let (x, y) = data()
        let model = MLP(key: 3)
        var first: Float = 0
        var last: Float = 0
        for step in 0 ..< steps {
            optimizer.learningRate = schedule(step)
            let (loss, grads) = try valueAndGrad(model: model) { mseLoss(model(x), y) }
            let (clipped, _) = try clipGradientNorm(grads, maxNorm: 1)
            try optimizer.update(model: model, gradients: clipped)
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        return (first, last)
    }

    func testAdamWWithCosineFitsNoisyRegression() throws {
        let (first, last) = try fit(AdamW(learningRate: 0.03), schedule: Schedules.cosine(0.03, warmup: 10, totalSteps: 300), steps: 300)
        XCTAssertGreaterThan(first, 0.2)
        XCTAssertLessThan(last, 0.01, "noise variance is 0.0025")
    }

    func testSGDWithMomentumFitsNoisyRegression() throws {
        let (first, last) = try fit(SGD(learningRate: 0.1, momentum: 0.9), schedule: Schedules.constant(0.1, warmup: 5), steps: 400)
        XCTAssertGreaterThan(first, 0.2)
        XCTAssertLessThan(last, 0.02)
    }

    func testWeightDecaySkipsBiasesAndNorms() throws {
        let model = Linear(weight: ones([2, 2]), bias: ones([2]))
        let optimizer = AdamW(learningRate: 0.1, weightDecay: 0.5)
        let zeroGrads = ["weight": zeros([2, 2]), "bias": zeros([2])]
        try optimizer.update(model: model, gradients: zeroGrads)
        XCTAssertEqual(model.weight.asArray(Float.self), Array(repeating: 0.95, count: 4))
        XCTAssertEqual(model.bias!.asArray(Float.self), [1, 1])
    }

    func testAdamWFirstStepMatchesHandComputation() throws {
        // Step 1: m̂ = g, v̂ = g², so p ← p − lr·g/(|g| + ε) = p − lr·sign(g).
        let model = Linear(weight: MLXArray([1, 2] as [Float], [1, 2]), bias: nil)
        let optimizer = AdamW(learningRate: 0.1, weightDecay: 0)
        try optimizer.update(model: model, gradients: ["weight": MLXArray([0.5, -3] as [Float], [1, 2])])
        let w = model.weight.asArray(Float.self)
        XCTAssertEqual(w[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(w[1], 2.1, accuracy: 1e-6)
        let state = optimizer.stateDictionary()
        XCTAssertEqual(Set(state.keys), ["step", "exp_avg.weight", "exp_avg_sq.weight"])
        let restored = AdamW(learningRate: 0.1)
        try restored.load(stateDictionary: state)
        XCTAssertEqual(restored.step, 1)
    }

    func testSchedules() {
        let cosine = Schedules.cosine(1, warmup: 10, totalSteps: 110, minimum: 0.1)
        XCTAssertEqual(cosine(0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosine(9), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine(60), 0.55, accuracy: 1e-5)
        XCTAssertEqual(cosine(110), 0.1, accuracy: 1e-6)
        let linear = Schedules.linear(1, warmup: 0, totalSteps: 100)
        XCTAssertEqual(linear(50), 0.5, accuracy: 1e-6)
        XCTAssertEqual(Schedules.constant(0.3, warmup: 3)(0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(Schedules.constant(0.3, warmup: 3)(7), 0.3)
    }

    func testGlobalNormClipping() throws {
        let grads = ["a": MLXArray([3, 0] as [Float]), "b": MLXArray([4] as [Float])]
        let (clipped, norm) = try clipGradientNorm(grads, maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-5)
        XCTAssertEqual(clipped["a"]!.asArray(Float.self)[0], 0.6, accuracy: 1e-4)
        XCTAssertEqual(clipped["b"]!.asArray(Float.self)[0], 0.8, accuracy: 1e-4)
        let (same, _) = try clipGradientNorm(grads, maxNorm: 10)
        XCTAssertEqual(same["b"]!.asArray(Float.self), [4])
    }
}
