// Helpers that call a shim entry point and wrap its result handle.

import CMLXShim

/// Calls a shim op producing one array; on failure reports it and returns a placeholder.
@inline(__always)
func call(_ operation: String, _ body: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) -> MLXArray {
    var out: OpaquePointer?
    let status = body(&out)
    return MLXArray(checked: status, out, operation)
}

/// Calls a shim op producing a vector of arrays.
func callVector(_ operation: String, _ body: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) -> [MLXArray] {
    var out: OpaquePointer?
    guard body(&out) == 0, let out else {
        reportFailure(operation)
        return []
    }
    defer { cmlx_vec_free(out) }
    return arrays(of: out)
}

/// The arrays of a shim vector (new handles; the vector stays owned by the caller).
func arrays(of vector: OpaquePointer) -> [MLXArray] {
    var count = 0
    _ = cmlx_vec_size(vector, &count)
    return (0 ..< count).map { i in
        var a: OpaquePointer?
        _ = cmlx_vec_get(&a, vector, i)
        return MLXArray(handle: a!)
    }
}

/// Runs `body` with a temporary shim vector holding `arrays`.
func withVector<R>(_ arrays: [MLXArray], _ body: (OpaquePointer) throws -> R) rethrows -> R {
    var v: OpaquePointer?
    _ = cmlx_vec_new(&v)
    defer { cmlx_vec_free(v) }
    for a in arrays { _ = cmlx_vec_push(v, a.handle) }
    return try body(v!)
}

/// Runs `body` with the int32 buffer of `values`.
@inline(__always)
func withInts<R>(_ values: [Int], _ body: (UnsafePointer<Int32>?, Int32) throws -> R) rethrows -> R {
    let v = values.map(Int32.init)
    return try v.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
}

/// A convolution's stride and padding as the shim's two `int[2]` arguments.
func withStrideAndPadding<R>(
    _ stride: (Int, Int), _ padding: (Int, Int), _ body: (UnsafePointer<Int32>?, UnsafePointer<Int32>?) throws -> R
) rethrows -> R {
    try withInts([stride.0, stride.1]) { s, _ in try withInts([padding.0, padding.1]) { p, _ in try body(s, p) } }
}
