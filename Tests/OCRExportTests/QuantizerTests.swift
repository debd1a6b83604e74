// The quantizers against hand-computed values: ggml's Q8_0 blocks (scale as float16, roundf's
// halves away from zero), ONNX per-column 8-bit weights and MatMulNBits' packed 4-bit blocks.

import Foundation
import MLXEngine
import MLXNN
import OCRExport
import XCTest

final class QuantizerTests: XCTestCase {
    func testQ8_0BlocksAsGGMLRoundsThem() throws {
        // Block 0: (j − 16) / 4, max |x| = 4: d = 4/127, q = roundf(x · 127/4).
        // Block 1: max |x| = 127, so d = 1 and the halves show the rounding: 2.5 → 3, −2.5 → −3, 0.5 → 1.
        var values = (0 ..< 32).map { Float($0 - 16) / 4 }
        values += [127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.49] + [Float](repeating: 0, count: 25)
        let data = try Quantizers.q8_0(MLXArray(values, [2, 32]))
        XCTAssertEqual(data.count, 2 * 34)
        let bytes = [UInt8](data)
        let d0 = Float16(Float(4) / 127).bitPattern
        XCTAssertEqual(bytes[0], UInt8(d0 & 0xFF))
        XCTAssertEqual(bytes[1], UInt8(d0 >> 8))
        let q0 = bytes[2 ..< 34].map { Int8(bitPattern: $0) }
        XCTAssertEqual(q0[0], -127)
        XCTAssertEqual(q0[2], -111)  // −3.5 · 31.75 = −111.125
        XCTAssertEqual(q0[16], 0)
        XCTAssertEqual(q0[17], 8)  // 0.25 · 31.75 = 7.9375
        XCTAssertEqual(q0[18], 16)  // 15.875
        XCTAssertEqual(q0[31], 119)  // 3.75 · 31.75 = 119.0625
        XCTAssertEqual(bytes[34], 0x00)
        XCTAssertEqual(bytes[35], 0x3C)  // float16 1.0
        XCTAssertEqual(bytes[36 ..< 43].map { Int8(bitPattern: $0) }, [127, 3, -3, 1, -1, 2, -1])
        XCTAssertThrowsError(try Quantizers.q8_0(MLXArray([Float](repeating: 1, count: 48), [48])))
    }

    func testColumnQuantization() {
        // Columns of a [K=2, N=2] weight: [1, −0.25] and [3, 1].
        let w = MLXArray([1, 3, -0.25, 1] as [Float], [2, 2])
        let signed = Quantizers.columns(w, signed: true)
        XCTAssertEqual(signed.values.asArray(Int8.self), [63, 63, -16, 21])  // −15.75 → −16, 21
        XCTAssertEqual(signed.scales.asArray(Float.self), [Float(1) / 63, Float(3) / 63])
        let unsigned = Quantizers.columns(w, signed: false)
        // Column 0: range [−0.25, 1], scale 1.25/255, zero point 51; column 1: [0, 3], zero point 0.
        XCTAssertEqual(unsigned.zeroPoints.asArray(UInt8.self), [51, 0])
        XCTAssertEqual(unsigned.values.asArray(UInt8.self), [255, 255, 0, 85])
    }

    /// onnxruntime's MatMulNBits computes x · Wᵀ with exactly the weights the blocks dequantize to.
    func testMatMulNBitsReadsTheBlocksAsWritten() throws {
        MLXRandom.seed(3)
        let w = MLXRandom.normal([24, 40])
        let (packed, scales) = Quantizers.blocks4(w)
        let low = packed.asType(.float32) - floor(packed.asType(.float32) / 16) * 16
        let high = floor(packed.asType(.float32) / 16)
        let q = concatenated([low.expandedDimensions(axis: -1), high.expandedDimensions(axis: -1)], axis: -1).reshaped(24, 2, 32) - 8
        let dequantized = (q * scales.reshaped(24, 2, 1)).reshaped(24, 64).sliced(axis: 1, from: 0, to: 40)
        let x = MLXRandom.normal([3, 40])
        for mode in [ONNXLinearQuantization.q4, .none] {
            let g = ONNXGraphBuilder(name: "t")
            g.linearQuantization = mode
            g.input("x", .float, [.fixed(3), .fixed(40)])
            g.output(g.linear("x", Linear(weight: mode == .q4 ? w : dequantized), key: "l"), as: "y", .float, [.fixed(3), .fixed(24)])
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("ocrtune-nbits-\(mode.rawValue)-\(UUID().uuidString.prefix(6)).onnx")
            try g.model().write(to: url)
            let y = try ONNXRuntimeSession(path: url.path).run(["x": ONNXTensor(x)])["y"]!.array
            XCTAssertLessThan(abs(y - matmul(x, dequantized.T)).max().item(Float.self), 1e-4, mode.rawValue)
        }
    }

    func testFourBitBlocks() {
        // One row, K = 40 (padded to two blocks of 32): max |x| of block 0 is 7 → scale 1.
        var row = [Float](repeating: 0, count: 40)
        row[0] = 7
        row[1] = -7
        row[2] = 2.5
        row[33] = 14  // block 1: scale 2, 14 → 7
        let (packed, scales) = Quantizers.blocks4(MLXArray(row, [1, 40]))
        XCTAssertEqual(packed.shape, [1, 2, 16])
        XCTAssertEqual(scales.asArray(Float.self), [1, 2])
        let bytes = packed.asArray(UInt8.self)
        XCTAssertEqual(bytes[0], 15 | (1 << 4))  // 7 + 8 = 15 (low), −7 + 8 = 1 (high)
        XCTAssertEqual(bytes[1], 11 | (8 << 4))  // roundf(2.5) = 3 → 11; 0 → 8
        XCTAssertEqual(bytes[16], 8 | (15 << 4))  // block 1: x32 = 0, x33 = 14/2 = 7 → 15
        XCTAssertEqual(bytes[31], 8 | (8 << 4))  // padding
    }
}
