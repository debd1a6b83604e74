// Loading and saving engine arrays as safetensors (validated by the SafeTensors target).

import Foundation
import SafeTensors

// MARK: - DType mapping

extension DType {
    init?(_ st: SafeTensorsDType) {
        switch st {
        case .bool: self = .bool
        case .uint8: self = .uint8
        case .int8: self = .int8
        case .uint16: self = .uint16
        case .int16: self = .int16
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .uint32: self = .uint32
        case .int32: self = .int32
        case .float32: self = .float32
        case .uint64: self = .uint64
        case .int64: self = .int64
        case .float64: self = .float64
        case .complex64: self = .complex64
        default: return nil
        }
    }

    var safeTensors: SafeTensorsDType {
        switch self {
        case .bool: .bool
        case .uint8: .uint8
        case .uint16: .uint16
        case .uint32: .uint32
        case .uint64: .uint64
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .float16: .float16
        case .float32: .float32
        case .float64: .float64
        case .bfloat16: .bfloat16
        case .complex64: .complex64
        }
    }
}

// MARK: - Load and save

/// Loads every tensor of a safetensors file. The header is validated (lengths, dtypes,
/// offsets, sizes) before any tensor byte is read; errors name the file and tensor.
public func loadSafeTensors(path: String) throws -> (arrays: [String: MLXArray], metadata: [String: String]) {
    let file = try SafeTensorsFile(path: path)
    var arrays = [String: MLXArray](minimumCapacity: file.entries.count)
    for entry in file.entries {
        guard let dtype = DType(entry.dtype) else {
            throw EngineError(
                operation: "load \(path)",
                message: "tensor '\(entry.name)' has dtype \(entry.dtype.rawValue), which the engine cannot hold")
        }
        arrays[entry.name] = file.withBytes(of: entry) { MLXArray(bytes: $0, shape: entry.shape, dtype: dtype) }
    }
    return (arrays, file.metadata)
}

/// Writes `arrays` (evaluated now) as a safetensors file, atomically (temporary name, then rename).
public func saveSafeTensors(_ arrays: [String: MLXArray], metadata: [String: String] = [:], to path: String) throws {
    try eval(Array(arrays.values))
    let tensors = arrays.keys.sorted().map { name -> SafeTensorsTensor in
        let a = arrays[name]!
        return SafeTensorsTensor(name: name, dtype: a.dtype.safeTensors, shape: a.shape, bytes: a.bytes())
    }
    try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
}
