// Element types of engine arrays, and the Swift scalar types that map onto them.

import CMLXShim

// MARK: - DType

/// The element type of an ``MLXArray``.
public enum DType: Int, Sendable, CaseIterable, CustomStringConvertible, Codable {
    case bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64
    case float16, float32, float64, bfloat16, complex64

    var cValue: cmlx_dtype { cmlx_dtype(rawValue: UInt32(rawValue)) }

    init(_ c: cmlx_dtype) { self = DType(rawValue: Int(c.rawValue)) ?? .float32 }

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .complex64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .float32, .float64, .bfloat16: true
        default: false
        }
    }

    public var isInteger: Bool { !isFloatingPoint && self != .bool && self != .complex64 }

    public var description: String {
        switch self {
        case .bool: "bool"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .bfloat16: "bfloat16"
        case .complex64: "complex64"
        }
    }
}

// MARK: - Swift scalars

/// A Swift scalar type with an engine dtype of the same memory layout.
public protocol HasDType {
    static var dtype: DType { get }
}

extension Bool: HasDType { public static var dtype: DType { .bool } }
extension UInt8: HasDType { public static var dtype: DType { .uint8 } }
extension UInt16: HasDType { public static var dtype: DType { .uint16 } }
extension UInt32: HasDType { public static var dtype: DType { .uint32 } }
extension UInt64: HasDType { public static var dtype: DType { .uint64 } }
extension Int8: HasDType { public static var dtype: DType { .int8 } }
extension Int16: HasDType { public static var dtype: DType { .int16 } }
extension Int32: HasDType { public static var dtype: DType { .int32 } }
extension Int64: HasDType { public static var dtype: DType { .int64 } }
extension Float: HasDType { public static var dtype: DType { .float32 } }
extension Double: HasDType { public static var dtype: DType { .float64 } }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: HasDType { public static var dtype: DType { .float16 } }
#endif
