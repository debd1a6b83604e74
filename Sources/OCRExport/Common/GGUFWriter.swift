// GGUF files (version 3), as llama.cpp reads them: "GGUF", version, tensor and metadata counts,
// typed key–value metadata, tensor infos (name, dimensions innermost first, ggml type, offset),
// then the tensor data, each tensor aligned to 32 bytes. Tensors are stored as F32, F16, BF16
// or Q8_0 (ggml's rounding: Quantizers.q8_0).
//
// Reference: ggml/docs/gguf.md (file layout, value types), ggml/include/ggml.h (type numbers),
// gguf-py gguf/constants.py (key names).

import Foundation
import MLXEngine

/// A GGUF metadata value.
public enum GGUFValue: Equatable, Sendable {
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case uint64(UInt64)
    case strings([String])
    case int32s([Int32])
    case float32s([Float])
    case bools([Bool])

    /// GGUF's value type numbers.
    var type: UInt32 {
        switch self {
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .uint64: 10
        case .strings, .int32s, .float32s, .bools: 9
        }
    }
}

/// ggml tensor types the writer stores.
public enum GGMLType: UInt32, Sendable {
    case f32 = 0
    case f16 = 1
    case q8_0 = 8
    case bf16 = 30

    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q8_0: "Q8_0"
        case .bf16: "BF16"
        }
    }
}

public final class GGUFWriter {
    public static let alignment = 32
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [(name: String, shape: [Int], type: GGMLType, data: Data)] = []

    public init() {}

    public func set(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// Adds a tensor (shape as the checkpoint gives it, outermost first), converted to `type`.
    public func add(_ name: String, _ array: MLXArray, as type: GGMLType) throws {
        let data: Data
        switch type {
        case .f32: data = Data(array.asType(.float32).bytes())
        case .f16: data = Data(array.asType(.float16).bytes())
        case .bf16: data = Data(array.asType(.bfloat16).bytes())
        case .q8_0: data = try Quantizers.q8_0(array)
        }
        precondition(!tensors.contains { $0.name == name }, "GGUF tensor \(name) added twice")
        tensors.append((name, array.shape, type, data))
    }

    public var tensorNames: [String] { tensors.map(\.name) }

    /// The file's bytes.
    public func serialized() -> Data {
        var out = header()
        for t in tensors {
            out.append(t.data)
            pad(&out)
        }
        return out
    }

    /// Writes the file tensor by tensor (a model's GGUF is not held twice in memory).
    public func write(to url: URL) throws {
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: header()) else {
            throw ExportError("cannot write \(partial.path)")
        }
        let handle = try FileHandle(forWritingTo: partial)
        try handle.seekToEnd()
        for t in tensors {
            var block = t.data
            pad(&block)
            try handle.write(contentsOf: block)
        }
        try handle.close()
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: partial, to: url)
    }

    /// Magic, version, counts, metadata and tensor infos, padded to the alignment.
    private func header() -> Data {
        var out = Data()
        out.append(contentsOf: Array("GGUF".utf8))
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            append(key, to: &out)
            append(value.type, to: &out)
            append(value, to: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        for (t, o) in zip(tensors, offsets) {
            append(t.name, to: &out)
            append(UInt32(t.shape.count), to: &out)
            for d in t.shape.reversed() { append(UInt64(d), to: &out) }
            append(t.type.rawValue, to: &out)
            append(UInt64(o), to: &out)
        }
        pad(&out)
        return out
    }

    // MARK: Encoding (little-endian)

    private func pad(_ out: inout Data) {
        let extra = (Self.alignment - out.count % Self.alignment) % Self.alignment
        out.append(contentsOf: [UInt8](repeating: 0, count: extra))
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout Data) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private func append(_ s: String, to out: inout Data) {
        let bytes = Array(s.utf8)
        append(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private func append(_ value: GGUFValue, to out: inout Data) {
        switch value {
        case let .uint32(v): append(v, to: &out)
        case let .int32(v): append(v, to: &out)
        case let .float32(v): append(v.bitPattern, to: &out)
        case let .bool(v): out.append(v ? 1 : 0)
        case let .string(v): append(v, to: &out)
        case let .uint64(v): append(v, to: &out)
        case let .strings(v):
            append(UInt32(8), to: &out)
            append(UInt64(v.count), to: &out)
            for s in v { append(s, to: &out) }
        case let .int32s(v):
            append(UInt32(5), to: &out)
            append(UInt64(v.count), to: &out)
            for x in v { append(x, to: &out) }
        case let .float32s(v):
            append(UInt32(6), to: &out)
            append(UInt64(v.count), to: &out)
            for x in v { append(x.bitPattern, to: &out) }
        case let .bools(v):
            append(UInt32(7), to: &out)
            append(UInt64(v.count), to: &out)
            for x in v { out.append(x ? 1 : 0) }
        }
    }
}
