// Builds ONNX graphs (opset 17) from ocrtune's module trees, on the swift-protobuf `ONNXProto`
// messages the importer reads: named inputs and outputs with symbolic dimensions, weights as
// initializers under their checkpoint keys, nodes in topological order, and the small
// compositions every family needs (Linear, LayerNorm, activations, attention). A weight can be
// stored as float16 (cast back to float32 in the graph) for half-size files.
//
// Reference: the ONNX IR spec (onnx/onnx.proto, docs/IR.md) and Operators.md (opset 17).

import Foundation
import MLXEngine
import MLXNN
import ONNXProto
import SwiftProtobuf

// MARK: - Pieces

/// A tensor dimension: a number, or a name shared by every tensor with that dynamic size.
public enum ONNXDimension: Equatable, Sendable {
    case fixed(Int)
    case named(String)
}

/// A node attribute.
public enum ONNXAttribute: Sendable {
    case int(String, Int)
    case ints(String, [Int])
    case float(String, Float)
    case string(String, String)
    case graph(String, Onnx_GraphProto)

    var proto: Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        switch self {
        case let .int(name, v):
            a.name = name
            a.type = .int
            a.i = Int64(v)
        case let .ints(name, v):
            a.name = name
            a.type = .ints
            a.ints = v.map(Int64.init)
        case let .float(name, v):
            a.name = name
            a.type = .float
            a.f = v
        case let .string(name, v):
            a.name = name
            a.type = .string
            a.s = Data(v.utf8)
        case let .graph(name, g):
            a.name = name
            a.type = .graph
            a.g = g
        }
        return a
    }
}

/// How weights are stored in the file.
public enum ONNXWeightStorage: String, Sendable {
    /// float32 initializers.
    case float32
    /// float16 initializers, each cast to float32 by a node (half the file; computed in float32).
    case float16
}

/// How Linear layers' products are written.
public enum ONNXLinearQuantization: String, Sendable {
    /// MatMul with float weights.
    case none
    /// Dynamic 8-bit: activations quantized per call (DynamicQuantizeLinear, uint8), weights int8
    /// per output column, MatMulInteger, then the scales (onnxruntime's dynamic quantization).
    case int8
    /// The same with uint8 weights (a zero point per column).
    case uint8
    /// com.microsoft MatMulNBits: 4-bit weights in blocks of 32, float activations.
    case q4
}

// MARK: - Builder

public final class ONNXGraphBuilder {
    /// The ONNX opset the graphs are written for.
    public static let opset = 17
    /// IR version 8 (ONNX 1.13+, the first with opset 17 … 18).
    public static let irVersion: Int64 = 8

    public var storage: ONNXWeightStorage
    /// How ``linear(_:_:key:)`` writes products (embeddings and attention stay float).
    public var linearQuantization = ONNXLinearQuantization.none
    private var graph = Onnx_GraphProto()
    private var used = Set<String>()
    private var nodeNames = Set<String>()
    private var counters: [String: Int] = [:]
    private var constants: [String: String] = [:]
    private var domains: [String: Int] = [:]

    public init(name: String, storage: ONNXWeightStorage = .float32) {
        graph.name = name
        self.storage = storage
    }

    // MARK: Names

    /// A tensor name not used yet: `hint`, or `hint_N`.
    public func fresh(_ hint: String) -> String {
        if !used.contains(hint) {
            used.insert(hint)
            return hint
        }
        var n = counters[hint, default: 0]
        var name: String
        repeat {
            n += 1
            name = "\(hint)_\(n)"
        } while used.contains(name)
        counters[hint] = n
        used.insert(name)
        return name
    }

    // MARK: Inputs, outputs, initializers

    public func input(_ name: String, _ type: ONNXTensor.ElementType, _ dims: [ONNXDimension]) {
        used.insert(name)
        graph.input.append(Self.valueInfo(name, type, dims))
    }

    /// Declares `tensor` a graph output named `name` (an Identity renames it when they differ).
    public func output(_ tensor: String, as name: String, _ type: ONNXTensor.ElementType, _ dims: [ONNXDimension]) {
        if tensor != name {
            precondition(!used.contains(name), "ONNX output name \(name) already used")
            used.insert(name)
            appendNode("Identity", [tensor], [name], name: "\(name)/Identity", attributes: [], domain: "")
        }
        graph.output.append(Self.valueInfo(name, type, dims))
    }

    /// A weight under its checkpoint key (float16 storage: the initializer `key` holds float16
    /// and a Cast gives the float32 tensor the graph uses).
    public func weight(_ key: String, _ array: MLXArray) -> String {
        switch storage {
        case .float32:
            let name = fresh(key)
            graph.initializer.append(Self.tensor(name, array, as: .float))
            return name
        case .float16:
            let stored = fresh(key)
            graph.initializer.append(Self.tensor(stored, array, as: .float16))
            return node("Cast", [stored], name: "\(key)/Cast", attributes: [.int("to", 1)])
        }
    }

    /// A float32 initializer regardless of the storage (small tensors, scales).
    public func floatInitializer(_ hint: String, _ array: MLXArray) -> String {
        let name = fresh(hint)
        graph.initializer.append(Self.tensor(name, array, as: .float))
        return name
    }

    /// A raw initializer (quantized weights: int8, uint8, packed 4-bit).
    public func rawInitializer(_ hint: String, type: Int32, dims: [Int], data: Data) -> String {
        let name = fresh(hint)
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = type
        t.dims = dims.map(Int64.init)
        t.rawData = data
        graph.initializer.append(t)
        return name
    }

    /// An int64 constant (shapes, axes, indices), shared between nodes.
    public func int64s(_ values: [Int64], scalar: Bool = false) -> String {
        sharedConstant(
            key: "i64:\(scalar):\(values)", hint: "const_i64", type: .int64, dims: scalar ? [] : [values.count],
            data: values.withUnsafeBytes { Data($0) })
    }

    /// A float32 scalar constant, shared between nodes.
    public func scalar(_ value: Float) -> String {
        sharedConstant(key: "f32:\(value.bitPattern)", hint: "const_f32", type: .float, dims: [], data: withUnsafeBytes(of: value) { Data($0) })
    }

    /// One initializer per distinct constant.
    private func sharedConstant(key: String, hint: String, type: ONNXTensor.ElementType, dims: [Int], data: Data) -> String {
        if let name = constants[key] { return name }
        let name = rawInitializer(hint, type: type.rawValue, dims: dims, data: data)
        constants[key] = name
        return name
    }

    // MARK: Nodes

    /// Appends a node; returns its outputs (fresh names from `name`).
    @discardableResult
    public func nodes(
        _ op: String, _ inputs: [String], name: String, attributes: [ONNXAttribute] = [], outputs: Int = 1, domain: String = ""
    ) -> [String] {
        let outs = (0 ..< outputs).map { fresh(outputs == 1 ? "\(name)_output" : "\(name)_output_\($0)") }
        appendNode(op, inputs, outs, name: name, attributes: attributes, domain: domain)
        return outs
    }

    /// Appends a one-output node; returns its output.
    @discardableResult
    public func node(_ op: String, _ inputs: [String], name: String, attributes: [ONNXAttribute] = [], domain: String = "") -> String {
        nodes(op, inputs, name: name, attributes: attributes, domain: domain)[0]
    }

    /// A subgraph (an `If` branch): the nodes `body` appends go into it, the initializers it makes
    /// stay in the main graph (a branch reads outer names); `body` returns the tensors it outputs.
    public func branch(_ name: String, _ body: () -> [String]) -> Onnx_GraphProto {
        let saved = graph.node
        graph.node = []
        let outputs = body()
        var sub = Onnx_GraphProto()
        sub.name = name
        // Outputs are fresh names: an Identity of each result (a branch may only pass outer names through).
        for tensor in outputs {
            let out = fresh("\(name)_\(tensor)")
            appendNode("Identity", [tensor], [out], name: "\(name)/\(tensor)/Identity", attributes: [], domain: "")
            var v = Onnx_ValueInfoProto()
            v.name = out
            var t = Onnx_TypeProto.Tensor()
            t.elemType = ONNXTensor.ElementType.float.rawValue
            var type = Onnx_TypeProto()
            type.tensorType = t
            v.type = type
            sub.output.append(v)
        }
        sub.node = graph.node
        graph.node = saved
        return sub
    }

    /// Registers an operator domain other than ONNX's own (com.microsoft for MatMulNBits).
    public func use(domain: String, version: Int) { domains[domain] = version }

    private func appendNode(_ op: String, _ inputs: [String], _ outputs: [String], name: String, attributes: [ONNXAttribute], domain: String) {
        var n = Onnx_NodeProto()
        n.opType = op
        var unique = name
        var k = 1
        while nodeNames.contains(unique) {
            unique = "\(name)_\(k)"
            k += 1
        }
        nodeNames.insert(unique)
        n.name = unique
        n.input = inputs
        n.output = outputs
        n.domain = domain
        n.attribute = attributes.map(\.proto)
        graph.node.append(n)
    }

    // MARK: Model

    /// The model: opset 17 (and the extra domains used), producer ocrtune, metadata entries in order.
    public func model(metadata: [(String, String)] = [], docString: String = "") -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = Self.irVersion
        m.producerName = "ocrtune"
        m.producerVersion = "0.1.0"
        m.docString = docString
        var core = Onnx_OperatorSetIdProto()
        core.domain = ""
        core.version = Int64(Self.opset)
        m.opsetImport = [core] + domains.sorted { $0.key < $1.key }.map { domain, version in
            var o = Onnx_OperatorSetIdProto()
            o.domain = domain
            o.version = Int64(version)
            return o
        }
        m.graph = graph
        m.metadataProps = metadata.map { key, value in
            var p = Onnx_StringStringEntryProto()
            p.key = key
            p.value = value
            return p
        }
        return m
    }

    // MARK: Protos

    static func valueInfo(_ name: String, _ type: ONNXTensor.ElementType, _ dims: [ONNXDimension]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = type.rawValue
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case let .fixed(n): dim.dimValue = Int64(n)
            case let .named(s): dim.dimParam = s
            }
            return dim
        }
        t.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = t
        v.type = type
        return v
    }

    static func tensor(_ name: String, _ array: MLXArray, as type: ONNXTensor.ElementType) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = type.rawValue
        t.dims = array.shape.map(Int64.init)
        t.rawData = Data(array.asType(type == .float16 ? .float16 : .float32).bytes())
        return t
    }
}

// MARK: - Writing

extension Onnx_ModelProto {
    /// Serializes the model to `url` (problems found by ``ONNXGraphCheck`` are an error first).
    public func write(to url: URL) throws {
        let problems = ONNXGraphCheck.problems(self)
        guard problems.isEmpty else {
            throw ExportError("the ONNX graph for \(url.lastPathComponent) is not well-formed: \(problems.prefix(5).joined(separator: "; "))")
        }
        try serializedData().write(to: url, options: .atomic)
    }
}
