// What onnx.checker verifies that the Swift side can: single assignment, topological order,
// every input defined, outputs produced, known operators of the imported opsets, initializer
// sizes that fit their dims and type, unique node names. `Onnx_ModelProto.write(to:)` refuses a
// graph with problems; the tests assert none.
//
// Reference: onnx/onnx.proto and docs/IR.md (graph rules), onnx/checker.cc (what it checks).

import Foundation
import ONNXProto

public enum ONNXGraphCheck {
    /// The operators ocrtune's graphs may use, by domain ("" is ONNX's own).
    public static let knownOperators: [String: Set<String>] = [
        "": [
            "Add", "AveragePool", "BatchNormalization", "Cast", "Concat", "Conv", "Div", "DynamicQuantizeLinear",
            "Equal", "Erf", "Expand", "Gather", "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity", "If",
            "LayerNormalization", "MatMul", "MatMulInteger", "Mul", "Range", "Relu", "Reshape", "Shape", "Sigmoid",
            "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Trilu", "Unsqueeze", "Where",
            "ConstantOfShape", "Less", "Not", "Neg", "ReduceMean", "Pad", "MaxPool",
        ],
        "com.microsoft": ["MatMulNBits"],
    ]

    /// Problems found, empty when the graph is well-formed.
    public static func problems(_ model: Onnx_ModelProto) -> [String] {
        var problems: [String] = []
        let imported = Dictionary(model.opsetImport.map { ($0.domain, $0.version) }, uniquingKeysWith: { a, _ in a })
        if imported[""] == nil { problems.append("no opset imported for the ONNX domain") }
        if model.irVersion < 3 { problems.append("IR version \(model.irVersion) is too old for opset imports") }
        problems += graphProblems(model.graph, outer: [], imported: imported)
        return problems
    }

    static func graphProblems(_ graph: Onnx_GraphProto, outer: Set<String>, imported: [String: Int64]) -> [String] {
        var problems: [String] = []
        var defined = outer
        func define(_ name: String, _ what: String) {
            if name.isEmpty { return }
            if defined.contains(name) && !outer.contains(name) { problems.append("\(what): '\(name)' is assigned twice") }
            defined.insert(name)
        }
        for input in graph.input { define(input.name, "graph input") }
        for t in graph.initializer {
            define(t.name, "initializer")
            if let problem = sizeProblem(t) { problems.append(problem) }
        }
        var nodeNames = Set<String>()
        for node in graph.node {
            let label = "\(node.opType) node '\(node.name)'"
            if !node.name.isEmpty && !nodeNames.insert(node.name).inserted { problems.append("\(label): name used twice") }
            if imported[node.domain] == nil {
                problems.append("\(label): domain '\(node.domain)' is not imported")
            } else if !(knownOperators[node.domain]?.contains(node.opType) ?? false) {
                problems.append("\(label): not an operator ocrtune writes for domain '\(node.domain)'")
            }
            for input in node.input where !input.isEmpty && !defined.contains(input) {
                problems.append("\(label): input '\(input)' is not defined before it")
            }
            for attribute in node.attribute where attribute.type == .graph {
                problems += graphProblems(attribute.g, outer: defined, imported: imported).map { "\(label) \(attribute.name): \($0)" }
            }
            for output in node.output { define(output, label) }
        }
        for output in graph.output where !defined.contains(output.name) {
            problems.append("graph output '\(output.name)' is never produced")
        }
        return problems
    }

    static func sizeProblem(_ t: Onnx_TensorProto) -> String? {
        let count = t.dims.reduce(Int64(1), *)
        let bits: Int64
        switch t.dataType {
        case 1, 6: bits = 32
        case 2, 3, 9: bits = 8
        case 10, 16: bits = 16
        case 7, 11: bits = 64
        default: return nil
        }
        guard !t.rawData.isEmpty else { return nil }
        if Int64(t.rawData.count) * 8 != count * bits {
            return "initializer '\(t.name)': \(t.rawData.count) bytes for dims \(t.dims) of type \(t.dataType)"
        }
        return nil
    }
}
