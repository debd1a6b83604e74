// QuantizedLinear's CPU path (dequantize + float32 matmul for many rows) against MLX's quantized
// matmul kernel: same outputs, same LoRA gradients, no gradient into the frozen base, and the
// row rule that picks the path.

import MLXEngine
import MLXNN
import XCTest

/// One replaceable linear, as LoRA finds it in a model.
private final class OneLinear: Module {
    @ModuleInfo(key: "proj") var proj: Linear

    init(_ linear: Linear) {
        _proj.wrappedValue = linear
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { proj(x) }
}

final class QuantizedLinearTests: XCTestCase {
    /// A 4-bit layer 128 → 48 with a bias, and a copy of it.
    private func layers() throws -> (QuantizedLinear, QuantizedLinear) {
        MLXRandom.seed(11)
        let linear = Linear(128, 48, bias: true)
        linear.bias!.update(MLXRandom.normal([48], key: MLXRandom.key(3)))
        return (try QuantizedLinear(from: linear, groupSize: 64, bits: 4), try QuantizedLinear(from: linear, groupSize: 64, bits: 4))
    }

    func testRowRuleOnTheCPU() throws {
        let (q, _) = try layers()
        XCTAssertEqual(Device.defaultDevice, .cpu)
        q.cpuDequantizeMinRows = 8
        XCTAssertFalse(q.usesDequantizedMatmul(rows: 1))
        XCTAssertFalse(q.usesDequantizedMatmul(rows: 7))
        XCTAssertTrue(q.usesDequantizedMatmul(rows: 8))
        q.cpuDequantizeMinRows = nil
        XCTAssertFalse(q.usesDequantizedMatmul(rows: 4096))
    }

    func testDequantizedPathEqualsTheQuantizedKernel() throws {
        let (kernel, blas) = try layers()
        kernel.cpuDequantizeMinRows = nil
        blas.cpuDequantizeMinRows = 1
        for shape in [[1, 128], [3, 5, 128], [2, 40, 128]] {
            let x = MLXRandom.normal(shape, key: MLXRandom.key(UInt64(shape.count)))
            let a = kernel(x)
            let b = blas(x)
            XCTAssertEqual(b.shape, a.shape)
            XCTAssertEqual(b.dtype, a.dtype)
            let scale = Double(abs(a).max().item(Float.self))
            XCTAssertLessThan((abs(a - b).max() / scale).item(Float.self), 1e-5, "\(shape)")
        }
        // A bfloat16 input gives the kernel's result dtype (promoted with the float32 scales).
        let xb = MLXRandom.normal([4, 128], key: MLXRandom.key(9)).asType(.bfloat16)
        XCTAssertEqual(blas(xb).dtype, kernel(xb).dtype)
        XCTAssertLessThan(abs(blas(xb) - kernel(xb)).max().item(Float.self), 1e-3 * abs(kernel(xb)).max().item(Float.self))
    }

    func testQLoRAGradientsAreTheKernelsAndReachOnlyTheAdapters() throws {
        let (kernel, blas) = try layers()  // one base, quantized twice
        func model(minRows: Int?) throws -> OneLinear {
            let q = minRows == nil ? kernel : blas
            q.cpuDequantizeMinRows = minRows
            let m = OneLinear(q)
            try m.applyLoRA(LoRAConfiguration(r: 4, alpha: 8, targetModules: ["proj"]), seed: 2)
            // Non-zero B so that both adapters get gradients.
            for (key, p) in m.trainableParameters() where key.hasSuffix("lora_B.weight") {
                p.update(MLXRandom.normal(p.shape, std: 0.1, key: MLXRandom.key(4)))
            }
            return m
        }
        let x = MLXRandom.normal([2, 16, 128], key: MLXRandom.key(5))
        var results: [[String: MLXArray]] = []
        var losses: [Float] = []
        for minRows in [nil, 1] as [Int?] {
            let m = try model(minRows: minRows)
            XCTAssertEqual(Set(m.trainableParameters().map(\.key)), ["proj.lora_A.weight", "proj.lora_B.weight"])
            let (loss, grads) = try valueAndGrad(model: m) { m(x).square().mean() }
            XCTAssertEqual(Set(grads.keys), ["proj.lora_A.weight", "proj.lora_B.weight"], "no gradient into the packed base")
            results.append(grads)
            losses.append(loss.item(Float.self))
        }
        XCTAssertEqual(losses[1], losses[0], accuracy: 1e-5 * Swift.abs(losses[0]))
        for (key, g) in results[0] {
            let other = results[1][key]!
            let scale = Double(abs(g).max().item(Float.self))
            XCTAssertGreaterThan(scale, 0, key)
            XCTAssertLessThan((abs(g - other).max() / scale).item(Float.self), 1e-4, key)
        }
    }
}
