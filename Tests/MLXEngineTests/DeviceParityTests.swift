// The same ops and gradients computed on the GPU and on the CPU, compared element by element.
// Skipped where the installed MLX has no GPU backend (the mlx-cpu wheel of `make test`);
// tools/gpu/run.sh runs this suite with MLX's CUDA build on the GPU machine. Inputs are made
// once on the CPU; every op then runs with each device as the default, so the CPU side also
// takes ocrtune's own kernels (fused activations, depthwise, softmax) and the GPU side MLX's.

import MLXEngine
import XCTest

final class DeviceParityTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Device.gpu.isAvailable, "the installed MLX build has no GPU backend")
    }

    // MARK: Helpers

    /// Evaluates `f` with `device` as the default device, as float32 values.
    func run(on device: Device, _ f: () throws -> [MLXArray]) throws -> [[Float]] {
        let previous = Device.defaultDevice
        try Device.setDefault(device)
        defer { try? Device.setDefault(previous) }
        let outputs = try f()
        try eval(outputs)
        return outputs.map { $0.asType(.float32).asArray(Float.self) }
    }

    /// Largest difference relative to the CPU result's largest magnitude (at least 1).
    func relativeDifference(_ gpu: [Float], _ cpu: [Float]) -> Float {
        let scale = Swift.max(1, cpu.map { Swift.abs($0) }.max() ?? 1)
        return zip(gpu, cpu).map { Swift.abs($0 - $1) }.max().map { $0 / scale } ?? .infinity
    }

    func assertSameOnBothDevices(
        _ name: String, tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line,
        _ f: () throws -> [MLXArray]
    ) throws {
        let cpu = try run(on: .cpu, f)
        let gpu = try run(on: .gpu, f)
        XCTAssertEqual(cpu.count, gpu.count, name, file: file, line: line)
        for (i, (c, g)) in zip(cpu, gpu).enumerated() {
            XCTAssertEqual(c.count, g.count, "\(name) output \(i) size", file: file, line: line)
            XCTAssertFalse(g.contains { !$0.isFinite } && !c.contains { !$0.isFinite }, "\(name) output \(i): GPU not finite",
                           file: file, line: line)
            let d = relativeDifference(g, c)
            XCTAssertLessThanOrEqual(d, tolerance, "\(name) output \(i): relative difference \(d)", file: file, line: line)
        }
    }

    // MARK: Forward

    func testMatrixAndConvolutionOps() throws {
        let a = randn([96, 256], seed: 1), b = randn([256, 160], seed: 2, scale: 0.1)
        let image = randn([2, 12, 40, 16], seed: 3)
        let kernel = randn([24, 3, 3, 16], seed: 4, scale: 0.1)
        let depthwise = randn([16, 3, 3, 1], seed: 5, scale: 0.3)
        let pointwise = randn([32, 1, 1, 16], seed: 6, scale: 0.2)
        let w = randn([128, 256], seed: 7, scale: 0.05)
        try eval([a, b, image, kernel, depthwise, pointwise, w])
        let q = try quantized(w, groupSize: 64, bits: 4)
        try assertSameOnBothDevices("matmul", tolerance: 1e-3) { [matmul(a, b)] }
        try assertSameOnBothDevices("conv2d 3x3 stride 1 and 2", tolerance: 1e-3) {
            [conv2d(image, kernel, padding: (1, 1)), conv2d(image, kernel, stride: (2, 1), padding: (1, 1))]
        }
        try assertSameOnBothDevices("depthwise conv2d", tolerance: 1e-4) {
            [depthwiseConv2d(image, depthwise, padding: (1, 1)), depthwiseConv2d(image, depthwise, stride: (2, 2), padding: (1, 1))]
        }
        try assertSameOnBothDevices("pointwise conv2d", tolerance: 1e-3) { [conv2d(image, pointwise)] }
        try assertSameOnBothDevices("quantized matmul 4-bit", tolerance: 1e-3) { [quantizedMatmul(a, q)] }
    }

    func testNormalizationSoftmaxAndAttention() throws {
        let x = randn([4, 33, 64], seed: 11)
        let gamma = randu([64], seed: 12, low: 0.5, high: 1.5), beta = randn([64], seed: 13, scale: 0.1)
        let queries = randn([2, 4, 17, 32], seed: 14), keys = randn([2, 2, 17, 32], seed: 15)
        let values = randn([2, 2, 17, 32], seed: 16)
        let mask = randn([1, 1, 17, 17], seed: 17)
        try eval([x, gamma, beta, queries, keys, values, mask])
        try assertSameOnBothDevices("softmax and log-softmax") { [softmax(x, axis: -1), logSoftmax(x, axis: -1)] }
        try assertSameOnBothDevices("logsumexp and sums") { [x.logSumExp(axis: -1), x.sum(axis: 1), x.mean(axes: [0, 2])] }
        try assertSameOnBothDevices("layer and RMS norm") {
            [layerNorm(x, weight: gamma, bias: beta, eps: 1e-5), rmsNorm(x, weight: gamma, eps: 1e-6)]
        }
        try assertSameOnBothDevices("element-wise activations") { [sigmoid(x), tanh(x), erf(x), exp(x * 0.5)] }
        try assertSameOnBothDevices("attention: none, causal, additive mask (grouped heads)", tolerance: 1e-3) {
            [
                scaledDotProductAttention(queries: queries, keys: keys, values: values, scale: 0.18),
                scaledDotProductAttention(queries: queries, keys: keys, values: values, scale: 0.18, mask: .causal),
                scaledDotProductAttention(queries: queries, keys: keys, values: values, scale: 0.18, mask: .array(mask)),
            ]
        }
        try assertSameOnBothDevices("rope") {
            [rope(queries, dimensions: 32, traditional: false, base: 10_000, offset: 3)]
        }
    }

    // MARK: Gradients

    func testGradientsOfAConvolutionAttentionStack() throws {
        let image = randn([2, 8, 24, 8], seed: 21)
        let kernel = randn([16, 3, 3, 8], seed: 22, scale: 0.2)
        let depthwise = randn([16, 3, 3, 1], seed: 23, scale: 0.3)
        let projection = randn([16, 48], seed: 24, scale: 0.2)
        let gamma = randu([16], seed: 25, low: 0.5, high: 1.5)
        try eval([image, kernel, depthwise, projection, gamma])
        try assertSameOnBothDevices("value and gradients", tolerance: 1e-3) {
            let (values, gradients) = try valueAndGrad({ p in
                var h = conv2d(p[0], p[1], padding: (1, 1))
                h = depthwiseConv2d(h * sigmoid(h), p[2], padding: (1, 1))
                let tokens = h.reshaped(2, -1, 16)  // [N, L, C]
                let normed = layerNorm(tokens, weight: p[4], bias: nil, eps: 1e-5)
                let qkv = matmul(normed, p[3]).reshaped(2, -1, 3, 1, 16).transposed(2, 0, 3, 1, 4)
                let q = qkv.sliced(axis: 0, from: 0, to: 1).squeezed(axis: 0)
                let k = qkv.sliced(axis: 0, from: 1, to: 2).squeezed(axis: 0)
                let v = qkv.sliced(axis: 0, from: 2, to: 3).squeezed(axis: 0)
                let attended = scaledDotProductAttention(queries: q, keys: k, values: v, scale: 0.25)
                return [logSoftmax(attended, axis: -1).mean()]
            }, [image, kernel, depthwise, projection, gamma])
            return values + gradients
        }
    }
}
