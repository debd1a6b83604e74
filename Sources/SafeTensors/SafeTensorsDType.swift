// SafeTensorsDType.swift — element types of the safetensors format.

// MARK: - DType

/// The element type of a tensor stored in a safetensors file.
///
/// Raw values are the exact strings used in the `"dtype"` field of the JSON
/// header (for example `"F32"` or `"BF16"`). All multi-byte types are stored
/// little-endian.
///
/// This covers every byte-sized type of the reference implementation. Its
/// sub-byte types (`F4`, `F6_E2M3`, `F6_E3M2`) are not supported and are
/// reported as ``SafeTensorsError/Kind/unknownDType(_:)``.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Hashable {
    /// Boolean, one byte per element (0 or 1).
    case bool = "BOOL"
    /// Unsigned 8-bit integer.
    case uint8 = "U8"
    /// Signed 8-bit integer.
    case int8 = "I8"
    /// 8-bit float, 4 exponent bits and 3 mantissa bits.
    case float8E4M3 = "F8_E4M3"
    /// 8-bit float, 5 exponent bits and 2 mantissa bits.
    case float8E5M2 = "F8_E5M2"
    /// 8-bit float, 4 exponent bits and 3 mantissa bits, finite-only with unsigned zero (FNUZ).
    case float8E4M3FNUZ = "F8_E4M3FNUZ"
    /// 8-bit float, 5 exponent bits and 2 mantissa bits, finite-only with unsigned zero (FNUZ).
    case float8E5M2FNUZ = "F8_E5M2FNUZ"
    /// 8-bit exponent-only scale type (MX formats).
    case float8E8M0 = "F8_E8M0"
    /// Unsigned 16-bit integer.
    case uint16 = "U16"
    /// Signed 16-bit integer.
    case int16 = "I16"
    /// IEEE 754 half-precision float.
    case float16 = "F16"
    /// bfloat16 (the upper half of an IEEE 754 single-precision float).
    case bfloat16 = "BF16"
    /// Unsigned 32-bit integer.
    case uint32 = "U32"
    /// Signed 32-bit integer.
    case int32 = "I32"
    /// IEEE 754 single-precision float.
    case float32 = "F32"
    /// Unsigned 64-bit integer.
    case uint64 = "U64"
    /// Signed 64-bit integer.
    case int64 = "I64"
    /// Complex number of two single-precision floats (real, imaginary).
    case complex64 = "C64"
    /// IEEE 754 double-precision float.
    case float64 = "F64"

    /// Size in bytes of one element of this type.
    public var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E4M3, .float8E5M2, .float8E4M3FNUZ, .float8E5M2FNUZ, .float8E8M0:
            return 1
        case .uint16, .int16, .float16, .bfloat16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .complex64: return 8
        }
    }

    /// Whether the type is a real floating-point type (including 8-bit and bfloat16 floats;
    /// not ``complex64``).
    public var isFloatingPoint: Bool {
        switch self {
        case .float8E4M3, .float8E5M2, .float8E4M3FNUZ, .float8E5M2FNUZ, .float8E8M0,
             .float16, .bfloat16, .float32, .float64:
            return true
        default: return false
        }
    }
}

// MARK: - Shape arithmetic

extension SafeTensorsDType {
    /// The number of bytes a tensor of this type and `shape` occupies, or `nil`
    /// if a dimension is negative or the product overflows `Int`.
    ///
    /// An empty shape denotes a scalar (one element). The product is computed
    /// left to right starting from `byteSize`, with overflow checks on every step.
    public func byteCount(forShape shape: [Int]) -> Int? {
        var total = byteSize
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            total = product
        }
        return total
    }
}
