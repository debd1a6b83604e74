// checkpointedCall: a layer's live weights as explicit inputs of a checkpointed function.

import MLXEngine
import XCTest

final class CheckpointedCallTests: XCTestCase {
    func testGradientsReachTheLiveParametersAndTheBodyIsRecomputed() throws {
        let w = randn([4, 4], seed: 40, scale: 0.5)
        let b = randn([4], seed: 41)
        let x = randn([3, 4], seed: 42)
        var calls = 0
        let layer: ([MLXArray]) -> [MLXArray] = { inputs in
            calls += 1
            return [tanh(matmul(inputs[0], w) + b)]
        }
        let parameters = [(name: "w", array: w), (name: "b", array: b)]
        let plain = try valueAndGrad(parameters: parameters) { layer([x])[0].square().sum() }
        calls = 0
        let checkpointed = try valueAndGrad(parameters: parameters) {
            checkpointedCall([x], parameters: [w, b], layer)[0].square().sum()
        }
        try eval([checkpointed.value] + Array(checkpointed.gradients.values))
        XCTAssertEqual(calls, 2, "run once forward and once again in the backward pass")
        XCTAssertEqual(plain.value.item(Float.self), checkpointed.value.item(Float.self), accuracy: 1e-6)
        for name in ["w", "b"] {
            let (p, c) = (plain.gradients[name]!.asArray(Float.self), checkpointed.gradients[name]!.asArray(Float.self))
            XCTAssertGreaterThan(p.map(abs).max()!, 0)
            XCTAssertEqual(p.count, c.count)
            for (u, v) in zip(p, c) { XCTAssertEqual(u, v, accuracy: 1e-6, name) }
        }
        // The live arrays hold their own values again afterwards.
        XCTAssertEqual(w.asArray(Float.self), randn([4, 4], seed: 40, scale: 0.5).asArray(Float.self))
    }
}
