// An ONNX model file run by onnxruntime (CONNXRuntime, the library of the `onnxruntime` wheel):
// how `ocrtune export --check` reads an ONNX export the way its deployers' runtimes do.

import CONNXRuntime
import Foundation
import MLXEngine

/// A tensor going into or coming out of onnxruntime: element type (ONNX numbering), shape and
/// the row-major bytes.
public struct ONNXTensor: Sendable, Equatable {
    public enum ElementType: Int32, Sendable {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10

        var size: Int {
            switch self {
            case .uint8, .int8, .bool: 1
            case .float16: 2
            case .float, .int32: 4
            case .int64: 8
            }
        }
    }

    public var elementType: ElementType
    public var shape: [Int]
    public var data: Data

    public init(elementType: ElementType, shape: [Int], data: Data) {
        self.elementType = elementType
        self.shape = shape
        self.data = data
    }

    public init(floats: [Float], shape: [Int]) {
        self.init(elementType: .float, shape: shape, data: floats.withUnsafeBytes { Data($0) })
    }

    public init(int64s: [Int64], shape: [Int]) {
        self.init(elementType: .int64, shape: shape, data: int64s.withUnsafeBytes { Data($0) })
    }

    public init(bool: Bool) {
        self.init(elementType: .bool, shape: [1], data: Data([bool ? 1 : 0]))
    }

    /// A float32 engine array as a tensor of `type` (float or float16).
    public init(_ array: MLXArray, as type: ElementType = .float) {
        let converted = array.asType(type == .float16 ? .float16 : .float32)
        self.init(elementType: type, shape: array.shape, data: Data(converted.bytes()))
    }

    /// The values as Float (float and float16 tensors).
    public var floats: [Float] {
        switch elementType {
        case .float:
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        case .float16:
            return data.withUnsafeBytes { raw in raw.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: $0)) } }
        default:
            return data.withUnsafeBytes { raw in
                switch elementType {
                case .int64: raw.bindMemory(to: Int64.self).map { Float($0) }
                case .int32: raw.bindMemory(to: Int32.self).map { Float($0) }
                case .int8: raw.bindMemory(to: Int8.self).map { Float($0) }
                default: raw.bindMemory(to: UInt8.self).map { Float($0) }
                }
            }
        }
    }

    /// The engine array (float32 for floating types).
    public var array: MLXArray { MLXArray(floats, shape) }
}

public struct ONNXRuntimeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One model loaded by onnxruntime.
public final class ONNXRuntimeSession {
    private let handle: OpaquePointer
    public let path: String
    public let inputNames: [String]
    public let outputNames: [String]

    /// onnxruntime's version, or nil when its library cannot be used.
    public static var version: String? { cort_version().map { String(cString: $0) } }

    /// Loads `path`; `threads` ≤ 0 lets onnxruntime choose.
    public init(path: String, threads: Int = 0) throws {
        var session: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        if cort_session_open(path, Int32(threads), &session, &error) != 0 || session == nil {
            throw ONNXRuntimeError("onnxruntime cannot load \(path): \(Self.message(error))")
        }
        let opened = session!
        handle = opened
        self.path = path
        inputNames = (0 ..< cort_session_input_count(opened)).map { String(cString: cort_session_input_name(opened, $0)) }
        outputNames = (0 ..< cort_session_output_count(opened)).map { String(cString: cort_session_output_name(opened, $0)) }
    }

    deinit { cort_session_close(handle) }

    /// A custom metadata entry (`metadata_props`), nil when absent.
    public func metadata(_ key: String) throws -> String? {
        var value: UnsafeMutablePointer<CChar>?
        var error: UnsafeMutablePointer<CChar>?
        if cort_session_metadata(handle, key, &value, &error) != 0 {
            throw ONNXRuntimeError("\(path): metadata '\(key)': \(Self.message(error))")
        }
        guard let value else { return nil }
        defer { cort_free(value) }
        return String(cString: value)
    }

    /// Runs the graph on named inputs; returns the named outputs (default: all), in that order.
    public func run(_ inputs: [String: ONNXTensor], outputs wanted: [String]? = nil) throws -> [String: ONNXTensor] {
        let names = wanted ?? outputNames
        let inputList = inputs.sorted { $0.key < $1.key }
        var cInputs: [cort_input] = []
        var keep: [Any] = []
        // Pointers stay valid while `keep` holds the buffers (names and shapes as C arrays, data as NSData).
        for (name, tensor) in inputList {
            let cName = strdup(name)!
            let shape = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, tensor.shape.count))
            for (i, d) in tensor.shape.enumerated() { shape[i] = Int64(d) }
            let data = tensor.data as NSData
            keep.append(data)
            keep.append(Deallocation(cName, shape))
            cInputs.append(cort_input(
                name: UnsafePointer(cName), element_type: tensor.elementType.rawValue, shape: UnsafePointer(shape),
                rank: tensor.shape.count, data: data.bytes, byte_count: data.length))
        }
        let cNames = names.map { strdup($0)! }
        defer { cNames.forEach { free($0) } }
        var outputs = [cort_output](repeating: cort_output(), count: names.count)
        var error: UnsafeMutablePointer<CChar>?
        let status = cNames.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer { namePointers in
            cort_session_run(handle, cInputs, cInputs.count, namePointers.baseAddress, names.count, &outputs, &error)
        }
        withExtendedLifetime(keep) {}
        if status != 0 { throw ONNXRuntimeError("onnxruntime: running \(path): \(Self.message(error))") }
        var result: [String: ONNXTensor] = [:]
        for (name, var output) in zip(names, outputs) {
            defer { cort_output_release(&output) }
            guard let type = ONNXTensor.ElementType(rawValue: output.element_type) else {
                throw ONNXRuntimeError("\(path): output \(name) has element type \(output.element_type), which ocrtune does not read")
            }
            let shape = withUnsafeBytes(of: output.shape) { raw in Array(raw.bindMemory(to: Int64.self).prefix(output.rank)).map(Int.init) }
            let count = shape.reduce(1, *) * type.size
            let data = count == 0 ? Data() : Data(bytes: output.data, count: count)
            result[name] = ONNXTensor(elementType: type, shape: shape, data: data)
        }
        return result
    }

    private static func message(_ error: UnsafeMutablePointer<CChar>?) -> String {
        guard let error else { return "unknown error" }
        defer { cort_free(error) }
        return String(cString: error)
    }
}

/// Frees a C string and a shape buffer when the run is over.
private final class Deallocation {
    let name: UnsafeMutablePointer<CChar>
    let shape: UnsafeMutablePointer<Int64>
    init(_ name: UnsafeMutablePointer<CChar>, _ shape: UnsafeMutablePointer<Int64>) {
        self.name = name
        self.shape = shape
    }
    deinit {
        free(name)
        shape.deallocate()
    }
}
