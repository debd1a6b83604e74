// Gather and scatter.

import CMLXShim

extension MLXArray {
    /// Elements at `indices` along `axis` (over the flattened array when nil).
    public func take(_ indices: MLXArray, axis: Int? = nil) -> MLXArray {
        call("take") { cmlx_take($0, handle, indices.handle, axis.map(Int32.init) ?? Int32.min) }
    }

    public func takeAlong(_ indices: MLXArray, axis: Int) -> MLXArray {
        call("take_along_axis") { cmlx_take_along_axis($0, handle, indices.handle, Int32(axis)) }
    }

    /// A copy with `values` written at `indices` along `axis`.
    public func putAlong(_ indices: MLXArray, values: MLXArray, axis: Int) -> MLXArray {
        call("put_along_axis") { cmlx_put_along_axis($0, handle, indices.handle, values.handle, Int32(axis)) }
    }

    /// A copy with `values` added at `indices` along `axis` (repeated indices accumulate).
    public func scatterAdd(_ indices: MLXArray, values: MLXArray, axis: Int) -> MLXArray {
        call("scatter_add_axis") { cmlx_scatter_add_axis($0, handle, indices.handle, values.handle, Int32(axis)) }
    }

    /// General gather (mlx::core::gather): `indices[i]` index axis `axes[i]`, each result
    /// element being a slice of `sliceSizes`.
    public func gather(_ indices: [MLXArray], axes: [Int], sliceSizes: [Int]) -> MLXArray {
        call("gather") { out in
            withVector(indices) { v in
                withInts(axes) { a, na in withInts(sliceSizes) { s, ns in cmlx_gather(out, handle, v, a, na, s, ns) } }
            }
        }
    }

    /// General scatter-add (mlx::core::scatter_add).
    public func scatterAdd(_ indices: [MLXArray], updates: MLXArray, axes: [Int]) -> MLXArray {
        call("scatter_add") { out in
            withVector(indices) { v in withInts(axes) { cmlx_scatter_add(out, handle, v, updates.handle, $0, $1) } }
        }
    }
}
