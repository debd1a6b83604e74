// The engine array: one owned handle of an mlx::core::array, lazily evaluated.

import CMLXShim

// MARK: - MLXArray

/// An n-dimensional array of the MLX engine. Operations build a lazy graph; data is
/// computed on ``eval()`` or when read. The class owns one engine handle and frees it in
/// `deinit`. Its handle can be swapped in place (``update(_:)``), which is how module
/// parameters are replaced without rebuilding the module tree.
public final class MLXArray {
    private(set) var handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        cmlx_array_free(handle)
    }

    /// Replaces this array's contents by `other`'s (both share the data afterwards).
    public func update(_ other: MLXArray) {
        var copy: OpaquePointer?
        guard cmlx_array_copy_handle(&copy, other.handle) == 0, let copy else {
            reportFailure("update")
            return
        }
        cmlx_array_free(handle)
        handle = copy
    }

    /// Exchanges handles with `other` (used to substitute tracers during transforms).
    func swapHandle(with other: MLXArray) {
        swap(&handle, &other.handle)
    }
}

// MARK: - Creation from Swift values

extension MLXArray {
    /// An array holding `values` with the given shape (1-D when `shape` is nil).
    public convenience init<T: HasDType>(_ values: [T], _ shape: [Int]? = nil) {
        let dims = (shape ?? [values.count]).map(Int32.init)
        precondition(
            dims.reduce(1, { $0 * Int($1) }) == values.count,
            "MLXArray: \(values.count) values do not fill shape \(shape ?? [])")
        var out: OpaquePointer?
        let status = values.withUnsafeBytes { raw in
            dims.withUnsafeBufferPointer { d in
                cmlx_array_from_data(&out, raw.baseAddress, d.baseAddress, Int32(d.count), T.dtype.cValue)
            }
        }
        self.init(checked: status, out, "array(from:)")
    }

    /// An array from raw little-endian bytes of the given dtype and shape.
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) {
        let dims = shape.map(Int32.init)
        var out: OpaquePointer?
        let status = dims.withUnsafeBufferPointer { d in
            cmlx_array_from_data(&out, bytes.baseAddress, d.baseAddress, Int32(d.count), dtype.cValue)
        }
        self.init(checked: status, out, "array(bytes:)")
    }

    /// A scalar of the given dtype.
    public convenience init(_ value: Double, dtype: DType) {
        var out: OpaquePointer?
        let status = cmlx_array_from_double(&out, value, dtype.cValue)
        self.init(checked: status, out, "array(scalar)")
    }

    public convenience init(_ value: Float) { self.init(Double(value), dtype: .float32) }

    public convenience init(_ value: Int32) {
        var out: OpaquePointer?
        let status = cmlx_array_from_int(&out, Int64(value), DType.int32.cValue)
        self.init(checked: status, out, "array(scalar)")
    }

    public convenience init(_ value: Bool) {
        var out: OpaquePointer?
        let status = cmlx_array_from_int(&out, value ? 1 : 0, DType.bool.cValue)
        self.init(checked: status, out, "array(scalar)")
    }

    convenience init(checked status: Int32, _ out: OpaquePointer?, _ operation: String) {
        if status != 0 || out == nil {
            reportFailure(operation)
            var zero: OpaquePointer?
            _ = cmlx_array_from_double(&zero, 0, DType.float32.cValue)
            self.init(handle: zero!)
        } else {
            self.init(handle: out!)
        }
    }
}

// MARK: - Properties

extension MLXArray {
    public var ndim: Int {
        var n: Int32 = 0
        _ = cmlx_array_ndim(handle, &n)
        return Int(n)
    }

    public var shape: [Int] {
        let n = ndim
        var dims = [Int32](repeating: 0, count: n)
        _ = cmlx_array_shape(handle, &dims, Int32(n))
        return dims.map(Int.init)
    }

    /// The size of one axis (negative axes count from the end).
    public func dim(_ axis: Int) -> Int {
        let s = shape
        return s[axis < 0 ? s.count + axis : axis]
    }

    public var dtype: DType {
        var d = cmlx_dtype(rawValue: 0)
        _ = cmlx_array_dtype(handle, &d)
        return DType(d)
    }

    /// Number of elements.
    public var size: Int {
        var n = 0
        _ = cmlx_array_size(handle, &n)
        return n
    }

    public var nbytes: Int {
        var n = 0
        _ = cmlx_array_nbytes(handle, &n)
        return n
    }
}

// MARK: - Reading data

extension MLXArray {
    /// Computes the array now.
    public func eval() {
        if cmlx_array_eval(handle) != 0 { reportFailure("eval") }
    }

    /// The row-major contents as Swift values (converted to `T`'s dtype when it differs).
    public func asArray<T: HasDType>(_ type: T.Type) -> [T] {
        let source = dtype == T.dtype ? self : self.asType(T.dtype)
        var result = [T](unsafeUninitializedCapacity: source.size) { buffer, count in
            count = buffer.count
        }
        let status = result.withUnsafeMutableBytes { raw in
            cmlx_array_copy_to(source.handle, raw.baseAddress, raw.count)
        }
        if status != 0 {
            reportFailure("asArray")
            result = []
        }
        return result
    }

    /// The raw row-major bytes in the array's own dtype.
    public func bytes() -> [UInt8] {
        var result = [UInt8](repeating: 0, count: nbytes)
        let status = result.withUnsafeMutableBytes { raw in
            cmlx_array_copy_to(handle, raw.baseAddress, raw.count)
        }
        if status != 0 { reportFailure("bytes") }
        return result
    }

    /// The single value of a one-element array.
    public func item<T: BinaryFloatingPoint>(_ type: T.Type = Float.self) -> T {
        var v = 0.0
        if cmlx_array_item_double(handle, &v) != 0 { reportFailure("item") }
        return T(v)
    }

    public func item<T: BinaryInteger>(_ type: T.Type) -> T {
        var v: Int64 = 0
        if cmlx_array_item_int(handle, &v) != 0 { reportFailure("item") }
        return T(v)
    }
}

extension MLXArray: CustomStringConvertible {
    public var description: String {
        let values = size <= 16 ? "\(asArray(Float.self))" : "…"
        return "MLXArray(shape: \(shape), dtype: \(dtype), \(values))"
    }
}
