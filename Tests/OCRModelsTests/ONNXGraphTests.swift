// ONNXGraph and the PP-OCR role finder on malformed graphs (the inputs Fuzz/onnx found or that
// were found while writing it): each is a typed ONNXImportError naming the tensor, node or field,
// never a trap. Reference: the ONNX IR spec (TensorProto dims, Reshape / Squeeze / Unsqueeze / Conv).

import Foundation
import ONNXProto
@testable import OCRModels
import XCTest

final class ONNXGraphTests: XCTestCase {
    // MARK: Building graphs

    func tensor(_ name: String, dims: [Int64], floats: [Float] = [], int64s: [Int64]? = nil) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        if let int64s {
            t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            t.int64Data = int64s
        } else {
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.floatData = floats
        }
        return t
    }

    func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String? = nil, ints: [String: [Int64]] = [:], int: [String: Int64] = [:]) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name ?? "\(op.lowercased())0"
        n.input = inputs
        n.output = outputs
        func attribute(_ name: String, _ type: Onnx_AttributeProto.AttributeType, _ set: (inout Onnx_AttributeProto) -> Void) {
            var a = Onnx_AttributeProto()
            a.name = name
            a.type = type
            set(&a)
            n.attribute.append(a)
        }
        for (key, values) in ints { attribute(key, .ints) { $0.ints = values } }
        for (key, value) in int { attribute(key, .int) { $0.i = value } }
        return n
    }

    func graph(_ initializers: [Onnx_TensorProto], _ nodes: [Onnx_NodeProto]) throws -> ONNXGraph {
        var model = Onnx_ModelProto()
        model.graph.initializer = initializers
        model.graph.node = nodes
        // Through the bytes, as `ocrtune import ppocr --onnx` reads a file.
        return try ONNXGraph(serialized: try model.serializedData(), source: "bad.onnx")
    }

    func assertImportError(_ expected: String, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is ONNXImportError, "\(type(of: error)): \(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(expected), "\(error) does not say \(expected)", file: file, line: line)
        }
    }

    // MARK: Tensors

    func testTensorDimsWhoseProductOverflowsAreAnError() {
        assertImportError("initializer 'w': dims") { _ = try self.graph([self.tensor("w", dims: [1 << 40, 1 << 40])], []) }
        assertImportError("the element count overflows") { _ = try self.graph([self.tensor("w", dims: [1 << 40, 1 << 40])], []) }
    }

    func testNegativeTensorDimsAreAnError() {
        // [-1, -1] multiplies to 1: it would pass the value count with one float.
        assertImportError("initializer 'w': negative dims [-1, -1]") { _ = try self.graph([self.tensor("w", dims: [-1, -1], floats: [1])], []) }
    }

    func testRawDataOfTooManyValuesIsAnError() {
        var t = tensor("w", dims: [Int64(Int.max / 2)])
        t.rawData = Data(count: 8)
        assertImportError("initializer 'w': raw data holds 8 bytes") { _ = try self.graph([t], []) }
    }

    // MARK: Constant folding

    func testReshapeToANonIntegerShapeIsAnError() {
        let data = tensor("c", dims: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        let nan = tensor("s", dims: [2], floats: [.nan, 2])
        assertImportError("Reshape node 'r': shape: nan is not an integer") {
            _ = try self.graph([data, nan], [self.node("Reshape", ["c", "s"], ["y"], name: "r")])
        }
        let huge = tensor("s", dims: [2], floats: [1e30, 2])
        assertImportError("Reshape node 'r': shape") {
            _ = try self.graph([data, huge], [self.node("Reshape", ["c", "s"], ["y"], name: "r")])
        }
    }

    func testReshapeToNegativeSizesIsAnError() {
        // [-2, -3] multiplies to the 6 values: it must not become a constant of negative dims.
        let data = tensor("c", dims: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        let shape = tensor("s", dims: [2], int64s: [-2, -3])
        assertImportError("Reshape node 'r': shape [-2, -3] has a negative size") {
            _ = try self.graph([data, shape], [self.node("Reshape", ["c", "s"], ["y"], name: "r")])
        }
        let overflow = tensor("s", dims: [3], int64s: [1 << 40, 1 << 40, -1])
        assertImportError("the element count overflows") {
            _ = try self.graph([data, overflow], [self.node("Reshape", ["c", "s"], ["y"], name: "r")])
        }
    }

    func testReshapeStillFolds() throws {
        let data = tensor("c", dims: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        let shape = tensor("s", dims: [3], int64s: [0, -1, 1])
        let g = try graph([data, shape], [node("Reshape", ["c", "s"], ["y"])])
        XCTAssertEqual(g.constant("y")?.dims, [2, 3, 1])
    }

    func testUnsqueezeAndSqueezeAxesOutOfRangeAreAnError() throws {
        let data = tensor("c", dims: [3], floats: [1, 2, 3])
        assertImportError("Unsqueeze node 'u': axes [-100]") {
            _ = try self.graph([data], [self.node("Unsqueeze", ["c"], ["y"], name: "u", ints: ["axes": [-100]])])
        }
        assertImportError("Unsqueeze node 'u': axes [1, 1]") {
            _ = try self.graph([data], [self.node("Unsqueeze", ["c"], ["y"], name: "u", ints: ["axes": [1, 1]])])
        }
        assertImportError("Squeeze node 'q': squeezes axes [0] of [3]") {
            _ = try self.graph([data], [self.node("Squeeze", ["c"], ["y"], name: "q", ints: ["axes": [0]])])
        }
        let axes = tensor("a", dims: [1], floats: [.infinity])
        assertImportError("Unsqueeze node 'u': axes: inf") {
            _ = try self.graph([data, axes], [self.node("Unsqueeze", ["c", "a"], ["y"], name: "u")])
        }
        let g = try graph([data], [node("Unsqueeze", ["c"], ["y"], ints: ["axes": [-1, 0]]), node("Squeeze", ["y"], ["z"], ints: ["axes": [0]])])
        XCTAssertEqual(g.constant("y")?.dims, [1, 3, 1])
        XCTAssertEqual(g.constant("z")?.dims, [3, 1])
    }

    func testIntsOfNonIntegerValuesDoNotTrap() {
        let c = ONNXConstant(dims: [4], floats: [.nan, .infinity, -.infinity, 2.5], isInteger: false)
        XCTAssertEqual(c.ints, [0, .max, .min, 2])
    }

    // MARK: Roles

    func testConvolutionsWithoutOutputsOrWithAHugeGroupAreAnError() throws {
        let weight = tensor("w", dims: [2, 1, 1, 1], floats: [1, 2])
        let noOutput = try graph([weight], [node("Conv", ["x", "w"], [], name: "c", ints: ["pads": [0, 0, 0, 0]])])
        assertImportError("Conv node 'c': no output") { _ = try GraphRoles(noOutput) }
        let group = try graph([weight], [node("Conv", ["x", "w"], ["y"], name: "c", ints: ["pads": [0, 0, 0, 0]], int: ["group": .max])])
        assertImportError("Conv node 'c': group 9223372036854775807") { _ = try GraphRoles(group) }
        let zero = try graph([weight], [node("Conv", ["x", "w"], ["y"], name: "c", ints: ["pads": [0, 0, 0, 0]], int: ["group": 0])])
        assertImportError("Conv node 'c': group 0") { _ = try GraphRoles(zero) }
    }

    func testPatternsWithMissingInputsOrOutputsAreSkipped() throws {
        // A Div over a Sqrt without input, a MatMul and a Mul without outputs: not a LayerNorm, linear
        // or affine (and no trap); the graph then has no recognizer roles.
        let w = tensor("w", dims: [2, 2], floats: [1, 2, 3, 4])
        let s = tensor("s", dims: [], floats: [0.5])
        let g = try graph([w, s], [
            node("Sqrt", [], ["r"]), node("Div", ["x", "r"], ["d"]), node("MatMul", ["x", "w"], []), node("Mul", ["x", "s"], []),
        ])
        assertImportError("not a PP-OCR recognizer") { _ = try GraphRoles(g) }
    }
}
