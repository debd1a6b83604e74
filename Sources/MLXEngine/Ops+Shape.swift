// Reshaping, transposition, joining, splitting, slicing and padding.

import CMLXShim

// MARK: - Shape

extension MLXArray {
    public func reshaped(_ shape: [Int]) -> MLXArray {
        call("reshape") { out in withInts(shape) { cmlx_reshape(out, handle, $0, $1) } }
    }

    public func reshaped(_ shape: Int...) -> MLXArray { reshaped(shape) }

    /// Permutes axes (reverses them when `axes` is nil).
    public func transposed(_ axes: [Int]? = nil) -> MLXArray {
        call("transpose") { out in
            withInts(axes ?? []) { cmlx_transpose(out, handle, $0, axes == nil ? -1 : $1) }
        }
    }

    public func transposed(_ axes: Int...) -> MLXArray { transposed(axes) }

    /// The transpose of the last two axes.
    public var T: MLXArray { transposed() }

    public func swappedAxes(_ a: Int, _ b: Int) -> MLXArray {
        var axes = Array(0 ..< ndim)
        let n = ndim
        axes.swapAt(a < 0 ? n + a : a, b < 0 ? n + b : b)
        return transposed(axes)
    }

    public func broadcast(to shape: [Int]) -> MLXArray {
        call("broadcast_to") { out in withInts(shape) { cmlx_broadcast_to(out, handle, $0, $1) } }
    }

    public func expandedDimensions(axes: [Int]) -> MLXArray {
        call("expand_dims") { out in withInts(axes) { cmlx_expand_dims(out, handle, $0, $1) } }
    }

    public func expandedDimensions(axis: Int) -> MLXArray { expandedDimensions(axes: [axis]) }

    /// Removes size-1 axes (all of them when `axes` is nil).
    public func squeezed(axes: [Int]? = nil) -> MLXArray {
        call("squeeze") { out in
            withInts(axes ?? []) { cmlx_squeeze(out, handle, $0, axes == nil ? -1 : $1) }
        }
    }

    public func squeezed(axis: Int) -> MLXArray { squeezed(axes: [axis]) }

    public func flattened(start: Int = 0, end: Int = -1) -> MLXArray {
        call("flatten") { cmlx_flatten($0, handle, Int32(start), Int32(end)) }
    }
}

// MARK: - Joining and splitting

public func concatenated(_ arrays: [MLXArray], axis: Int = 0) -> MLXArray {
    call("concatenate") { out in withVector(arrays) { cmlx_concatenate(out, $0, Int32(axis)) } }
}

public func stacked(_ arrays: [MLXArray], axis: Int = 0) -> MLXArray {
    call("stack") { out in withVector(arrays) { cmlx_stack(out, $0, Int32(axis)) } }
}

extension MLXArray {
    /// Splits at the given indices along `axis`.
    public func split(indices: [Int], axis: Int = 0) -> [MLXArray] {
        callVector("split") { out in
            withInts(indices) { cmlx_split_indices(out, handle, $0, $1, Int32(axis)) }
        }
    }

    /// Splits into `parts` equal parts along `axis`.
    public func split(parts: Int, axis: Int = 0) -> [MLXArray] {
        callVector("split") { cmlx_split_sections($0, handle, Int32(parts), Int32(axis)) }
    }
}

// MARK: - Slicing

extension MLXArray {
    /// The strided slice `start ..< stop` per axis (all axes given).
    public func sliced(start: [Int], stop: [Int], strides: [Int]? = nil) -> MLXArray {
        let strides = strides ?? Array(repeating: 1, count: start.count)
        return call("slice") { out in
            withInts(start) { s, n in
                withInts(stop) { e, _ in
                    withInts(strides) { st, _ in cmlx_slice(out, handle, s, e, st, n) }
                }
            }
        }
    }

    /// The slice `range` (with `stride`) along one axis; negative bounds count from the end.
    public func sliced(axis: Int, _ range: Range<Int>, stride: Int = 1) -> MLXArray {
        let s = shape
        let ax = axis < 0 ? s.count + axis : axis
        var start = Array(repeating: 0, count: s.count)
        var stop = s
        var strides = Array(repeating: 1, count: s.count)
        start[ax] = range.lowerBound
        stop[ax] = range.upperBound
        strides[ax] = stride
        return sliced(start: start, stop: stop, strides: strides)
    }

    /// Elements `from ..< to` along one axis, with negative bounds counting from the end.
    public func sliced(axis: Int, from: Int = 0, to: Int? = nil) -> MLXArray {
        let n = dim(axis)
        let lo = from < 0 ? n + from : from
        let hi = to.map { $0 < 0 ? n + $0 : $0 } ?? n
        return sliced(axis: axis, lo ..< hi)
    }

    /// A copy of `self` whose slice `start ..< stop` is replaced by `update`.
    public func sliceUpdated(_ update: MLXArray, start: [Int], stop: [Int], strides: [Int]? = nil) -> MLXArray {
        let strides = strides ?? Array(repeating: 1, count: start.count)
        return call("slice_update") { out in
            withInts(start) { s, n in
                withInts(stop) { e, _ in
                    withInts(strides) { st, _ in cmlx_slice_update(out, handle, update.handle, s, e, st, n) }
                }
            }
        }
    }

    /// Constant padding with `low[i]` before and `high[i]` after axis i.
    public func padded(low: [Int], high: [Int], value: Double = 0) -> MLXArray {
        let v = scalar(value)
        return call("pad") { out in
            withInts(low) { l, n in withInts(high) { h, _ in cmlx_pad(out, handle, l, h, n, v.handle) } }
        }
    }

    public func tril(_ k: Int = 0) -> MLXArray { call("tril") { cmlx_tril($0, handle, Int32(k)) } }
    public func triu(_ k: Int = 0) -> MLXArray { call("triu") { cmlx_triu($0, handle, Int32(k)) } }

    public func sorted(axis: Int = -1) -> MLXArray { call("sort") { cmlx_sort($0, handle, Int32(axis), false) } }
    public func argSort(axis: Int = -1) -> MLXArray { call("argsort") { cmlx_sort($0, handle, Int32(axis), true) } }
    /// The `k` largest values along `axis` (unordered).
    public func topK(_ k: Int, axis: Int = -1) -> MLXArray {
        call("topk") { cmlx_topk($0, handle, Int32(k), Int32(axis)) }
    }
}

// MARK: - Creation

public func full(_ shape: [Int], value: Double, dtype: DType = .float32) -> MLXArray {
    let v = MLXArray(value, dtype: dtype)
    return call("full") { out in withInts(shape) { cmlx_full(out, $0, $1, v.handle, dtype.cValue) } }
}

public func zeros(_ shape: [Int], dtype: DType = .float32) -> MLXArray { full(shape, value: 0, dtype: dtype) }
public func ones(_ shape: [Int], dtype: DType = .float32) -> MLXArray { full(shape, value: 1, dtype: dtype) }
public func zeros(like a: MLXArray) -> MLXArray { zeros(a.shape, dtype: a.dtype) }
public func ones(like a: MLXArray) -> MLXArray { ones(a.shape, dtype: a.dtype) }

public func arange(_ start: Double, _ stop: Double, step: Double = 1, dtype: DType = .float32) -> MLXArray {
    call("arange") { cmlx_arange($0, start, stop, step, dtype.cValue) }
}

public func arange(_ stop: Int, dtype: DType = .int32) -> MLXArray {
    arange(0, Double(stop), dtype: dtype)
}

public func eye(_ n: Int, m: Int? = nil, k: Int = 0, dtype: DType = .float32) -> MLXArray {
    call("eye") { cmlx_eye($0, Int32(n), Int32(m ?? n), Int32(k), dtype.cValue) }
}
