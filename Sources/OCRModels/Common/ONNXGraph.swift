// A read-only view of an ONNX graph for weight import: nodes in order, producers and
// consumers by tensor name, and constant tensors (initializers, `Constant` nodes, and what
// folds from them through Reshape / Squeeze / Unsqueeze / Cast / Identity).
//
// Reference: the ONNX IR spec (onnx/onnx.proto, docs/IR.md) and operator docs (Operators.md).

import Foundation
import ONNXProto
import SwiftProtobuf

// MARK: - Errors

/// A graph that is not what an importer expects; the message names the node or tensor.
public struct ONNXImportError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Constant tensors

/// A constant tensor's dims and values (floating types as Float, integer types as Int64).
public struct ONNXConstant {
    public var dims: [Int]
    public var floats: [Float]
    public var isInteger: Bool

    public var count: Int { floats.count }
    /// The values as integers (NaN as 0, values beyond Int64 clamped: never a trap; the folding
    /// that reads shapes and axes checks them with `integers(_:)` first).
    public var ints: [Int64] {
        floats.map { $0.isNaN ? 0 : $0 >= 0x1p63 ? .max : $0 < -0x1p63 ? .min : Int64($0) }
    }

    /// The values as Ints for a shape or axes input, or an error naming `what` when one is not a
    /// whole number within ±2^53 (a float32 value beyond that cannot be an exact size or axis anyway).
    func integers(_ what: String) throws -> [Int] {
        try floats.map { v in
            guard v.isFinite, v == v.rounded(.towardZero), abs(v) <= 0x1p53 else {
                throw ONNXImportError("\(what): \(v) is not an integer shape or axis value")
            }
            return Int(v)
        }
    }

    /// The single value of a one-element tensor.
    public var scalar: Float? { floats.count == 1 ? floats[0] : nil }
}

// MARK: - Graph

public struct ONNXGraph {
    public let nodes: [Onnx_NodeProto]
    public let metadata: [String: String]
    public let opsetVersion: Int
    public let inputNames: [String]
    public let outputNames: [String]
    public private(set) var constants: [String: ONNXConstant] = [:]
    /// Node index producing each tensor.
    public private(set) var producer: [String: Int] = [:]
    /// Node indices consuming each tensor, in graph order.
    public private(set) var consumers: [String: [Int]] = [:]

    /// Parses an ONNX model file.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw ONNXImportError("cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(serialized: data, source: path)
    }

    /// Parses the bytes of an ONNX model file (`source` names it in errors).
    public init(serialized data: Data, source: String = "model") throws {
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 200
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw ONNXImportError("\(source) is not an ONNX model (protobuf decoding failed: \(error))")
        }
        try self.init(model: model, source: source)
    }

    public init(model: Onnx_ModelProto, source: String = "model") throws {
        guard model.hasGraph else { throw ONNXImportError("\(source): the model has no graph") }
        let graph = model.graph
        nodes = graph.node
        metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        opsetVersion = Int(model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" })?.version ?? 0)
        inputNames = graph.input.map(\.name)
        outputNames = graph.output.map(\.name)
        for tensor in graph.initializer {
            constants[tensor.name] = try Self.decode(tensor, what: "initializer '\(tensor.name)'")
        }
        for (i, node) in nodes.enumerated() {
            for output in node.output where !output.isEmpty { producer[output] = i }
            for input in node.input where !input.isEmpty { consumers[input, default: []].append(i) }
            if node.opType == "Constant", let out = node.output.first {
                guard let attribute = node.attribute.first(where: { $0.name == "value" }) else {
                    throw ONNXImportError("Constant node '\(node.name)' has no tensor 'value' (only tensor constants are supported)")
                }
                constants[out] = try Self.decode(attribute.t, what: "Constant node '\(node.name)'")
            } else {
                try fold(node)
            }
        }
    }

    // MARK: Queries

    public func constant(_ name: String) -> ONNXConstant? { constants[name] }

    public func isConstant(_ name: String) -> Bool { constants[name] != nil }

    /// The nodes consuming `tensor`.
    public func consumerNodes(of tensor: String) -> [Onnx_NodeProto] {
        (consumers[tensor] ?? []).map { nodes[$0] }
    }

    /// The node producing `tensor`, if any.
    public func producerNode(of tensor: String) -> Onnx_NodeProto? {
        producer[tensor].map { nodes[$0] }
    }

    /// Inputs of `node` that are not constants.
    public func dynamicInputs(of node: Onnx_NodeProto) -> [String] {
        node.input.filter { !$0.isEmpty && !isConstant($0) }
    }

    /// The constant inputs of `node`.
    public func constantInputs(of node: Onnx_NodeProto) -> [ONNXConstant] {
        node.input.compactMap { constants[$0] }
    }

    // MARK: Constant folding

    /// Folds shape-only ops over constants (Reshape of a bias to [1, C, 1, 1], Cast of a shape...).
    private mutating func fold(_ node: Onnx_NodeProto) throws {
        guard let out = node.output.first, let first = node.input.first, var c = constants[first] else { return }
        switch node.opType {
        case "Identity":
            constants[out] = c
        case "Cast":
            let to = node.attribute.first(where: { $0.name == "to" })?.i ?? 1
            c.isInteger = ![1, 10, 11, 16].contains(to)
            if c.isInteger { c.floats = c.floats.map { $0.rounded(.towardZero) } }
            constants[out] = c
        case "Reshape":
            guard node.input.count > 1, let shape = constants[node.input[1]] else { return }
            var dims = try shape.integers("\(node.label): shape")
            for (i, d) in dims.enumerated() where d == 0 && i < c.dims.count { dims[i] = c.dims[i] }
            guard dims.allSatisfy({ $0 >= -1 }), dims.filter({ $0 == -1 }).count <= 1 else {
                throw ONNXImportError("\(node.label): shape \(dims) has a negative size or more than one -1")
            }
            if let unknown = dims.firstIndex(of: -1) {
                let known = try Self.product(dims.enumerated().filter { $0.offset != unknown }.map(\.element), "\(node.label): shape")
                dims[unknown] = known == 0 ? 0 : c.count / known
            }
            guard try Self.product(dims, "\(node.label): shape") == c.count else {
                throw ONNXImportError("Reshape node '\(node.name)': constant of \(c.count) values cannot take shape \(dims)")
            }
            c.dims = dims
            constants[out] = c
        case "Squeeze", "Unsqueeze":
            var axes = node.attribute.first(where: { $0.name == "axes" })?.ints.map(Int.init) ?? []
            if axes.isEmpty, node.input.count > 1, let a = constants[node.input[1]] { axes = try a.integers("\(node.label): axes") }
            let rank = node.opType == "Squeeze" ? c.dims.count : c.dims.count + axes.count
            let resolved = axes.map { $0 < 0 ? $0 &+ rank : $0 }
            guard resolved.allSatisfy({ (0 ..< rank).contains($0) }), Set(resolved).count == resolved.count else {
                throw ONNXImportError("\(node.label): axes \(axes) are not distinct axes of a rank-\(rank) result")
            }
            if node.opType == "Squeeze" {
                let drop = Set(axes.isEmpty ? c.dims.indices.filter { c.dims[$0] == 1 } : resolved)
                guard drop.allSatisfy({ c.dims[$0] == 1 }) else {
                    throw ONNXImportError("\(node.label): squeezes axes \(axes.sorted()) of \(c.dims), not all of size 1")
                }
                c.dims = c.dims.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            } else {
                for a in resolved.sorted() { c.dims.insert(1, at: a) }
            }
            constants[out] = c
        default:
            return
        }
    }

    // MARK: Tensor decoding

    /// The product of non-negative sizes, or an error naming `what` when it exceeds Int.
    static func product(_ sizes: [Int], _ what: String) throws -> Int {
        try sizes.reduce(1) { total, size in
            let (p, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow else { throw ONNXImportError("\(what) \(sizes): the element count overflows") }
            return p
        }
    }

    static func decode(_ t: Onnx_TensorProto, what: String) throws -> ONNXConstant {
        let dims = t.dims.map(Int.init)
        guard dims.allSatisfy({ $0 >= 0 }) else { throw ONNXImportError("\(what): negative dims \(dims)") }
        let count = try product(dims, "\(what): dims")
        if t.dataLocation == .external {
            throw ONNXImportError("\(what): tensor data is stored externally, which is not supported")
        }
        let type = Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) ?? .undefined
        var floats: [Float]
        var isInteger = false
        let raw = t.rawData
        func fromRaw<T>(_: T.Type, _ convert: (T) -> Float) throws -> [Float] {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
            guard !overflow, raw.count == bytes else {
                throw ONNXImportError("\(what): raw data holds \(raw.count) bytes, dims \(dims) need \(count) values of \(MemoryLayout<T>.size) bytes")
            }
            return raw.withUnsafeBytes { buffer in
                (0 ..< count).map { convert(buffer.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
        }
        switch type {
        case .float:
            floats = raw.isEmpty ? t.floatData : try fromRaw(UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
        case .double:
            floats = raw.isEmpty ? t.doubleData.map(Float.init) : try fromRaw(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
        case .int64:
            isInteger = true
            floats = raw.isEmpty ? t.int64Data.map(Float.init) : try fromRaw(Int64.self) { Float(Int64(littleEndian: $0)) }
        case .int32, .int16, .int8, .uint8, .uint16, .bool:
            isInteger = true
            if raw.isEmpty {
                floats = t.int32Data.map(Float.init)
            } else {
                switch type {
                case .int32: floats = try fromRaw(Int32.self) { Float(Int32(littleEndian: $0)) }
                case .int16: floats = try fromRaw(Int16.self) { Float(Int16(littleEndian: $0)) }
                case .int8: floats = try fromRaw(Int8.self) { Float($0) }
                case .uint16: floats = try fromRaw(UInt16.self) { Float(UInt16(littleEndian: $0)) }
                default: floats = try fromRaw(UInt8.self) { Float($0) }
                }
            }
        default:
            throw ONNXImportError("\(what): tensor data type \(t.dataType) is not supported")
        }
        guard floats.count == count else {
            throw ONNXImportError("\(what): \(floats.count) values do not fill dims \(dims)")
        }
        return ONNXConstant(dims: dims, floats: floats, isInteger: isInteger)
    }
}

// MARK: - Node attributes

extension Onnx_NodeProto {
    public func attribute(_ name: String) -> Onnx_AttributeProto? {
        attribute.first { $0.name == name }
    }

    public func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map(Int.init) } }

    public func int(_ name: String) -> Int? { attribute(name).map { Int($0.i) } }

    public func float(_ name: String) -> Float? { attribute(name).map(\.f) }

    /// "OpType 'name'" for error messages.
    public var label: String { "\(opType) node '\(name.isEmpty ? output.first ?? "?" : name)'" }
}
