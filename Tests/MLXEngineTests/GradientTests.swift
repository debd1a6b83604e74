// Every differentiable op family: analytic gradient vs central finite differences.

import MLXEngine
import XCTest

final class GradientTests: XCTestCase {
    // MARK: Elementwise

    func testUnaryOps() throws {
        let x = randn([2, 5], seed: 1)
        let positive = randu([2, 5], seed: 2, low: 0.5, high: 2)
        let unit = randu([2, 5], seed: 3, low: -0.8, high: 0.8)
        let cases: [(String, MLXArray, (MLXArray) -> MLXArray)] = [
            ("exp", x, { exp($0) }), ("expm1", x, { expm1($0) }), ("tanh", x, { tanh($0) }),
            ("sigmoid", x, { sigmoid($0) }), ("erf", x, { erf($0) }), ("sin", x, { sin($0) }),
            ("cos", x, { cos($0) }), ("square", x, { square($0) }), ("abs", x, { abs($0) }),
            ("negative", x, { -$0 }), ("log", positive, { log($0) }), ("log1p", positive, { log1p($0) }),
            ("sqrt", positive, { sqrt($0) }), ("rsqrt", positive, { rsqrt($0) }),
            ("reciprocal", positive, { reciprocal($0) }), ("erfinv", unit, { erfInverse($0) }),
        ]
        for (name, input, f) in cases {
            try assertGradientsMatch(name, inputs: [input]) { f($0[0]) }
        }
    }

    func testBinaryOps() throws {
        let a = randn([3, 4], seed: 4)
        let b = randn([3, 4], seed: 5) + 3  // away from a: max/min have no ties
        let positive = randu([3, 4], seed: 6, low: 0.5, high: 2)
        let row = randn([1, 4], seed: 7)
        let cases: [(String, [MLXArray], ([MLXArray]) -> MLXArray)] = [
            ("add broadcast", [a, row], { $0[0] + $0[1] }), ("subtract", [a, b], { $0[0] - $0[1] }),
            ("multiply broadcast", [a, row], { $0[0] * $0[1] }), ("divide", [a, positive], { $0[0] / $0[1] }),
            ("power", [positive, a], { pow($0[0], $0[1]) }), ("maximum", [a, b], { maximum($0[0], $0[1]) }),
            ("minimum", [a, b], { minimum($0[0], $0[1]) }), ("logaddexp", [a, b], { logAddExp($0[0], $0[1]) }),
            ("arctan2", [a, positive], { arctan2($0[0], $0[1]) }),
            ("where", [a, b], { which($0[0] .> 0, $0[0] * 2, $0[1]) }),
            ("clip", [MLXArray([-1.3, -0.2, 0.1, 0.9, 0.3, -0.7] as [Float])], { clip($0[0], min: MLXArray(Float(-0.5)), max: MLXArray(Float(0.5))) }),
        ]
        for (name, inputs, f) in cases {
            try assertGradientsMatch(name, inputs: inputs, f)
        }
    }

    func testMatmulFamily() throws {
        let a = randn([2, 3, 4], seed: 8)
        let b = randn([4, 5], seed: 9)
        let c = randn([2, 3, 5], seed: 10)
        try assertGradientsMatch("matmul", inputs: [a, b]) { matmul($0[0], $0[1]) }
        try assertGradientsMatch("addmm", inputs: [c, a, b]) { addMM($0[0], $0[1], $0[2], alpha: 0.5, beta: 2) }
    }

    // MARK: Reductions

    func testReductions() throws {
        let x = randn([3, 4], seed: 11)
        let positive = randu([3, 4], seed: 12, low: 0.5, high: 1.5)
        let cases: [(String, MLXArray, (MLXArray) -> MLXArray)] = [
            ("sum", x, { $0.sum(axis: 1) }), ("mean", x, { $0.mean(axes: [0, 1]) }),
            ("max", x, { $0.max(axis: 0) }), ("min", x, { $0.min(axis: 1, keepDims: true) }),
            ("prod", positive, { $0.prod(axes: [1]) }), ("logsumexp", x, { $0.logSumExp(axis: -1) }),
            ("variance", x, { $0.variance(axes: [1], ddof: 1) }), ("softmax", x, { softmax($0, axis: -1) }),
            ("logSoftmax", x, { logSoftmax($0, axis: 0) }), ("logSoftmax last axis", x, { logSoftmax($0, axis: -1) }),
            ("cumsum", x, { $0.cumsum(axis: 1) }),
            ("cumulative logsumexp", x, { $0.scan(.logSumExp, axis: 1) }),
        ]
        for (name, input, f) in cases {
            try assertGradientsMatch(name, inputs: [input]) { f($0[0]) }
        }
    }

    // MARK: Shape

    func testShapeOps() throws {
        let x = randn([2, 3, 4], seed: 13)
        let y = randn([2, 3, 4], seed: 14)
        let cases: [(String, [MLXArray], ([MLXArray]) -> MLXArray)] = [
            ("reshape", [x], { $0[0].reshaped(6, 4) }), ("transpose", [x], { $0[0].transposed(2, 0, 1) }),
            ("broadcast", [randn([1, 4], seed: 15)], { $0[0].broadcast(to: [3, 4]) }),
            ("concatenate", [x, y], { concatenated($0, axis: 1) }), ("stack", [x, y], { stacked($0, axis: 0) }),
            ("split", [x], { $0[0].split(indices: [1], axis: 2)[1] }),
            ("slice", [x], { $0[0].sliced(start: [0, 1, 0], stop: [2, 3, 4], strides: [1, 1, 2]) }),
            ("slice update", [x, randn([2, 1, 4], seed: 16)], {
                $0[0].sliceUpdated($0[1], start: [0, 1, 0], stop: [2, 2, 4])
            }),
            ("pad", [x], { $0[0].padded(low: [0, 1, 2], high: [1, 0, 1], value: 0.5) }),
            ("squeeze/expand", [x], { $0[0].expandedDimensions(axis: 1).squeezed(axis: 1) }),
            ("flatten", [x], { $0[0].flattened(start: 1) }), ("tril", [randn([4, 4], seed: 17)], { $0[0].tril(-1) }),
        ]
        for (name, inputs, f) in cases {
            try assertGradientsMatch(name, inputs: inputs, f)
        }
    }

    // MARK: Indexing

    func testIndexingOps() throws {
        let x = randn([4, 5], seed: 18)
        let idx = MLXArray([Int32(3), 0, 0, 2], [4])
        let along = MLXArray([Int32(1), 4, 0, 4], [4, 1])
        let cases: [(String, [MLXArray], ([MLXArray]) -> MLXArray)] = [
            ("take", [x], { $0[0].take(idx, axis: 0) }),
            ("take along", [x], { $0[0].takeAlong(along, axis: 1) }),
            ("put along", [x, randn([4, 1], seed: 19)], { $0[0].putAlong(along, values: $0[1], axis: 1) }),
            ("scatter add", [x, randn([4, 1], seed: 20)], { $0[0].scatterAdd(along, values: $0[1], axis: 1) }),
            ("gather", [x], { $0[0].gather([idx], axes: [0], sliceSizes: [1, 5]) }),
        ]
        for (name, inputs, f) in cases {
            try assertGradientsMatch(name, inputs: inputs, f)
        }
    }

    // MARK: Neural-network kernels

    func testConvolutions() throws {
        let x1 = randn([2, 7, 4], seed: 21)
        let w1 = randn([6, 3, 2], seed: 22, scale: 0.5)  // groups 2: C_in/groups = 2
        try assertGradientsMatch("conv1d grouped", inputs: [x1, w1]) {
            conv1d($0[0], $0[1], stride: 2, padding: 1, groups: 2)
        }
        let x2 = randn([1, 5, 6, 4], seed: 23)
        let depthwise = randn([4, 3, 3, 1], seed: 24, scale: 0.5)
        try assertGradientsMatch("conv2d depthwise", inputs: [x2, depthwise]) {
            conv2d($0[0], $0[1], stride: (1, 2), padding: (1, 1), groups: 4)
        }
        let pointwise = randn([3, 1, 1, 4], seed: 25, scale: 0.5)
        try assertGradientsMatch("conv2d pointwise", inputs: [x2, pointwise]) { conv2d($0[0], $0[1]) }
    }

    func testNormalizationRopeAttention() throws {
        let x = randn([2, 3, 8], seed: 26)
        let w = randu([8], seed: 27, low: 0.5, high: 1.5)
        let b = randn([8], seed: 28)
        try assertGradientsMatch("layer norm", inputs: [x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) }
        try assertGradientsMatch("rms norm", inputs: [x, w]) { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }
        let heads = randn([1, 2, 4, 8], seed: 29)
        try assertGradientsMatch("rope", inputs: [heads]) {
            rope($0[0], dimensions: 8, traditional: false, base: 10000, offset: 3)
        }
        let q = randn([1, 2, 3, 4], seed: 30)
        let k = randn([1, 2, 5, 4], seed: 31)
        let v = randn([1, 2, 5, 4], seed: 32)
        try assertGradientsMatch("attention", inputs: [q, k, v]) {
            scaledDotProductAttention(queries: $0[0], keys: $0[1], values: $0[2], scale: 0.5)
        }
        let qc = randn([1, 2, 5, 4], seed: 33)
        try assertGradientsMatch("causal attention", inputs: [qc, k, v]) {
            scaledDotProductAttention(queries: $0[0], keys: $0[1], values: $0[2], scale: 0.5, mask: .causal)
        }
    }

    func testQuantizedMatmulInputGradient() throws {
        let w = randn([32, 64], seed: 34, scale: 0.2)
        let q = try quantized(w, groupSize: 32, bits: 8)
        let x = randn([2, 64], seed: 35)
        try assertGradientsMatch("quantized matmul", inputs: [x], tolerance: 3e-2) { quantizedMatmul($0[0], q) }
    }

    func testCheckpointedFunctionHasSameGradient() throws {
        let x = randn([3, 4], seed: 36)
        let f: ArrayFunction.Body = { [tanh($0[0] * 2).sum()] }
        let plain = try valueAndGrad(f, [x]).gradients[0].asArray(Float.self)
        let ckpt = try checkpointed(f)
        let viaCheckpoint = try valueAndGrad({ try ckpt($0) }, [x]).gradients[0].asArray(Float.self)
        XCTAssertEqual(plain, viaCheckpoint)
    }
}
