// Layer outputs against hand-computed values.

import Foundation
import MLXEngine
import MLXNN
import XCTest

final class LayerTests: XCTestCase {
    func testActivationsAtKnownPoints() {
        let x = MLXArray([-1, 0, 1, 4] as [Float])
        func close(_ a: MLXArray, _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
            for (u, v) in zip(a.asArray(Float.self), b) { XCTAssertEqual(u, v, accuracy: 1e-5, file: file, line: line) }
        }
        close(gelu(x), [-0.158655, 0, 0.841345, 3.999873])
        close(geluApproximate(x), [-0.158808, 0, 0.841192, 3.999930])
        close(silu(x), [-0.268941, 0, 0.731059, 3.928055])
        close(relu(x), [0, 0, 1, 4])
        close(hardSigmoid(x), [1.0 / 3, 0.5, 2.0 / 3, 1])
        close(hardSwish(x), [-1.0 / 3, 0, 2.0 / 3, 4])
        close(quickGELU(x), [-0.154204, 0, 0.845796, 3.995585])
    }

    func testActivationNamesParseOnceAndUnknownOnesAreErrors() throws {
        XCTAssertEqual(try Activation(parsing: "gelu_new"), .geluTanh)
        XCTAssertEqual(try Activation(parsing: "swish"), .silu)
        XCTAssertEqual(try Activation(parsing: "hardswish"), .hardSwish)
        let x = MLXArray([-1, 0, 1, 4] as [Float])
        XCTAssertEqual(Activation.geluTanh(x).asArray(Float.self), geluApproximate(x).asArray(Float.self))
        XCTAssertEqual(Activation.identity(x).asArray(Float.self), [-1, 0, 1, 4])
        XCTAssertThrowsError(try Activation(parsing: "mish")) { error in
            XCTAssertEqual(
                "\(error)",
                "unknown value \"mish\" (allowed: identity, gelu, gelu_pytorch_tanh, quick_gelu, relu, silu, tanh, hardswish, gelu_new, hard_swish, linear, swish)")
        }
        struct Config: Codable { let hidden_act: Activation }
        XCTAssertEqual(try JSONDecoder().decode(Config.self, from: Data(#"{"hidden_act": "quick_gelu"}"#.utf8)).hidden_act, .quickGELU)
        XCTAssertThrowsError(try JSONDecoder().decode(Config.self, from: Data(#"{"hidden_act": "mish"}"#.utf8))) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["hidden_act"])
            XCTAssertTrue(context.debugDescription.hasPrefix("unknown value \"mish\""))
        }
        XCTAssertEqual(String(data: try JSONEncoder().encode(Config(hidden_act: .geluTanh)), encoding: .utf8), #"{"hidden_act":"gelu_pytorch_tanh"}"#)
    }

    func testLinearIsAffineMap() {
        let layer = Linear(weight: MLXArray([1, 2, 3, 4, 5, 6] as [Float], [2, 3]), bias: MLXArray([0.5, -1] as [Float]))
        XCTAssertEqual(layer(MLXArray([1, 1, 1] as [Float], [1, 3])).asArray(Float.self), [6.5, 14])
    }

    func testLayerNormAndRMSNorm() {
        let x = MLXArray([1, 2, 3, 4] as [Float], [1, 4])
        let y = LayerNorm(dimensions: 4)(x).asArray(Float.self)
        // mean 2.5, var 1.25 ⇒ (x − 2.5)/√1.25
        for (a, b) in zip(y, [-1.341640, -0.447213, 0.447213, 1.341640] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        let r = RMSNorm(dimensions: 4, eps: 0)(x).asArray(Float.self)
        // rms = √7.5
        for (a, b) in zip(r, [0.365148, 0.730297, 1.095445, 1.460593] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testBatchNormUsesBatchStatisticsInTrainingAndRunningOnesInEval() {
        let bn = BatchNorm(features: 1, momentum: 0.5)
        let x = MLXArray([1, 3] as [Float], [2, 1])
        XCTAssertEqual(bn(x).asArray(Float.self).map { ($0 * 1000).rounded() / 1000 }, [-1, 1])
        // running: mean 0.5·0 + 0.5·2 = 1; var 0.5·1 + 0.5·2 (unbiased) = 1.5
        XCTAssertEqual(bn.runningMean.asArray(Float.self), [1])
        XCTAssertEqual(bn.runningVar.asArray(Float.self), [1.5])
        XCTAssertEqual(Set(bn.trainableParameters().map(\.key)), ["weight", "bias"])
        bn.train(false)
        let y = bn(MLXArray([1] as [Float], [1, 1])).item(Float.self)
        XCTAssertEqual(y, 0, accuracy: 1e-6)
    }

    /// A batch norm folded into its convolution (identity statistics, as the PP-OCRv6 import
    /// writes them) is recognized; told to keep its running statistics it normalizes with them in
    /// training mode too, leaves them as they are, and its scale and shift still get gradients.
    func testBatchNormCanKeepItsRunningStatisticsWhileTraining() throws {
        let bn = BatchNorm(features: 2, momentum: 0.5)
        XCTAssertFalse(bn.hasFoldedStatistics, "a fresh layer (variance 1) is not a folded one")
        bn.runningVar.update(full([2], value: Double(1 - bn.eps)))
        XCTAssertTrue(bn.hasFoldedStatistics)
        bn.keepsRunningStatistics = true
        bn.weight!.update(MLXArray([2, 3] as [Float]))
        bn.bias!.update(MLXArray([1, -1] as [Float]))
        let x = MLXArray([1, 2, 3, 6] as [Float], [2, 2])
        XCTAssertTrue(bn.training)
        XCTAssertEqual(bn(x).asArray(Float.self), [3, 5, 7, 17], "x · weight + bias: the identity statistics")
        XCTAssertEqual(bn.runningMean.asArray(Float.self), [0, 0])
        let (_, grads) = try valueAndGrad(model: bn) { bn(x).sum() }
        XCTAssertEqual(grads["weight"]?.asArray(Float.self), [4, 8])
        XCTAssertEqual(grads["bias"]?.asArray(Float.self), [2, 2])
    }

    func testFrozenLayersRunInEvalModeDuringTraining() {
        let model = TinyModel()
        model.freeze(matching: ["layers.0"])
        model.trainWithFrozenLayersInEvalMode()
        let modes = Dictionary(uniqueKeysWithValues: model.namedModules().map { ($0.path, $0.module.training) })
        XCTAssertEqual(modes["layers.0.layer_norm"], false)
        XCTAssertEqual(modes["layers.0.self_attn.q_proj"], false)
        XCTAssertEqual(modes["layers.1.layer_norm"], true)
        XCTAssertEqual(modes["layers.0.mlp.1"], true, "a layer without parameters (GELU) keeps the tree's mode")
        // BatchNorm: frozen weight and bias, so eval mode — the running statistics stay put.
        let bn = BatchNorm(features: 2)
        bn.freeze()
        bn.trainWithFrozenLayersInEvalMode()
        _ = bn(MLXArray([1, 2, 3, 4] as [Float], [2, 2]))
        XCTAssertEqual(bn.runningMean.asArray(Float.self), [0, 0])
    }

    func testDropoutIsIdentityInEvalAndRescalesInTraining() {
        let d = Dropout(p: 0.5)
        let x = ones([1000])
        let kept = d(x).asArray(Float.self)
        XCTAssertTrue(kept.allSatisfy { $0 == 0 || $0 == 2 })
        XCTAssertEqual(Float(kept.filter { $0 == 2 }.count) / 1000, 0.5, accuracy: 0.08)
        d.train(false)
        XCTAssertEqual(d(x).asArray(Float.self), Array(repeating: 1, count: 1000))
    }

    func testConvolutionShapes() {
        let conv = Conv2d(inputChannels: 3, outputChannels: 8, kernelSize: (3, 3), stride: (2, 1), padding: (1, 1))
        XCTAssertEqual(conv(zeros([2, 48, 20, 3])).shape, [2, 24, 20, 8])
        let depthwise = Conv2d(inputChannels: 8, outputChannels: 8, kernelSize: (3, 3), padding: (1, 1), groups: 8)
        XCTAssertEqual(depthwise.weight.shape, [8, 3, 3, 1])
        XCTAssertEqual(Conv1d(inputChannels: 4, outputChannels: 6, kernelSize: 3)(zeros([1, 10, 4])).shape, [1, 8, 6])
    }

    func testConv2dFastPathsEqualTheGenericConvolution() {
        let x = MLXRandom.normal([2, 6, 10, 8], key: MLXRandom.key(21))
        let pointwise = Conv2d(inputChannels: 8, outputChannels: 12, kernelSize: (1, 1), key: MLXRandom.key(22))
        let depthwise = Conv2d(inputChannels: 8, outputChannels: 8, kernelSize: (3, 3), stride: (2, 1), padding: (1, 1), groups: 8, key: MLXRandom.key(23))
        for layer in [pointwise, depthwise] {
            let generic = conv2d(x, layer.weight, stride: layer.stride, padding: layer.padding, groups: layer.groups) + layer.bias!
            XCTAssertLessThan(abs(layer(x) - generic).max().item(Float.self), 1e-5)
        }
    }

    /// Training's unfolded convolution: the output and the gradients of the input and the weight
    /// as MLX's conv2d gives them, for odd and even kernels, strides 1 and 2, with and without padding.
    func testUnfoldedConvolutionMatchesConv2dAndItsGradients() throws {
        let cases: [(k: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
            ((3, 3), (2, 2), (1, 1)), ((2, 2), (1, 1), (0, 0)), ((3, 1), (2, 1), (1, 0)), ((1, 3), (1, 1), (0, 1)),
        ]
        for (index, item) in cases.enumerated() {
            let x = MLXRandom.normal([2, 9, 11, 5], key: MLXRandom.key(UInt64(30 + index)))
            let w = MLXRandom.normal([7, item.k.0, item.k.1, 5], key: MLXRandom.key(UInt64(40 + index)))
            let probe = MLXRandom.normal(conv2d(x, w, stride: item.stride, padding: item.padding).shape, key: MLXRandom.key(50))
            func loss(_ f: @escaping (MLXArray, MLXArray) -> MLXArray) throws -> [MLXArray] {
                let r = try valueAndGrad({ a in [(f(a[0], a[1]) * probe).sum()] }, [x, w])
                return r.values + r.gradients
            }
            let reference = try loss { conv2d($0, $1, stride: item.stride, padding: item.padding) }
            let unfolded = try loss { Conv2d.unfoldedConv2d($0, $1, stride: item.stride, padding: item.padding) }
            XCTAssertEqual(unfolded[1].shape, x.shape)
            XCTAssertEqual(unfolded[2].shape, w.shape)
            for (name, (a, b)) in zip(["loss", "input gradient", "weight gradient"], zip(unfolded, reference)) {
                let scale = max(1, abs(b).max().item(Float.self))
                XCTAssertLessThan(abs(a - b).max().item(Float.self), 1e-5 * scale, "\(item) \(name)")
            }
        }
        // The layer takes this path in training only.
        let layer = Conv2d(inputChannels: 5, outputChannels: 4, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), key: MLXRandom.key(60))
        let x = MLXRandom.normal([1, 8, 8, 5], key: MLXRandom.key(61))
        let generic = conv2d(x, layer.weight, stride: layer.stride, padding: layer.padding) + layer.bias!
        XCTAssertLessThan(abs(layer(x) - generic).max().item(Float.self), 1e-5)
        layer.train(false)
        XCTAssertLessThan(abs(layer(x) - generic).max().item(Float.self), 1e-5)
    }

    func testIncrementalDecodingWithKVCacheEqualsCausalAttention() {
        let attention = MultiHeadAttention(dimensions: 8, heads: 2)
        let x = MLXRandom.normal([1, 5, 8], key: MLXRandom.key(3))
        let full = attention(x, mask: .causal).asArray(Float.self)
        let cache = KVCache()
        var steps: [Float] = []
        for t in 0 ..< 5 {
            steps += attention(x.sliced(axis: 1, t ..< t + 1), cache: cache).asArray(Float.self)
        }
        XCTAssertEqual(cache.offset, 5)
        for (a, b) in zip(full, steps) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testCrossEntropyIgnoresPaddingAndMatchesHandValue() {
        let logits = MLXArray([0, 0, 0, 2, 0, 0] as [Float], [2, 3])
        let targets = MLXArray([Int32(1), -100], [2])
        // log-softmax of a uniform row = −ln 3; only the first row counts.
        XCTAssertEqual(crossEntropy(logits: logits, targets: targets, ignoreIndex: -100).item(Float.self), 1.098612, accuracy: 1e-5)
    }
}
