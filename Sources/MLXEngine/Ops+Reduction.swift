// Reductions, softmax and scans.

import CMLXKernels
import CMLXShim

// MARK: - Reductions

@inline(__always)
func reduce(_ a: MLXArray, _ axes: [Int]?, _ keepDims: Bool, _ op: cmlx_reduce_op, _ name: String) -> MLXArray {
    call(name) { out in
        withInts(axes ?? []) { ptr, n in
            cmlx_reduce(out, a.handle, ptr, axes == nil ? -1 : n, keepDims, op)
        }
    }
}

extension MLXArray {
    /// Sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_SUM, "sum")
    }
    public func sum(axis: Int, keepDims: Bool = false) -> MLXArray { sum(axes: [axis], keepDims: keepDims) }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_MEAN, "mean")
    }
    public func mean(axis: Int, keepDims: Bool = false) -> MLXArray { mean(axes: [axis], keepDims: keepDims) }

    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_MAX, "max")
    }
    public func max(axis: Int, keepDims: Bool = false) -> MLXArray { max(axes: [axis], keepDims: keepDims) }

    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_MIN, "min")
    }
    public func min(axis: Int, keepDims: Bool = false) -> MLXArray { min(axes: [axis], keepDims: keepDims) }

    public func prod(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_PROD, "prod")
    }

    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_LOGSUMEXP, "logsumexp")
    }
    public func logSumExp(axis: Int, keepDims: Bool = false) -> MLXArray {
        logSumExp(axes: [axis], keepDims: keepDims)
    }

    public func all(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_ALL, "all")
    }

    public func any(axes: [Int]? = nil, keepDims: Bool = false) -> MLXArray {
        reduce(self, axes, keepDims, CMLX_ANY, "any")
    }

    /// Variance with `ddof` delta degrees of freedom.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, ddof: Int = 0) -> MLXArray {
        call("var") { out in
            withInts(axes ?? []) { ptr, n in
                cmlx_var(out, handle, ptr, axes == nil ? -1 : n, keepDims, Int32(ddof))
            }
        }
    }

    public func argMax(axis: Int, keepDims: Bool = false) -> MLXArray {
        call("argmax") { cmlx_argreduce($0, handle, Int32(axis), keepDims, true) }
    }

    public func argMin(axis: Int, keepDims: Bool = false) -> MLXArray {
        call("argmin") { cmlx_argreduce($0, handle, Int32(axis), keepDims, false) }
    }
}

// MARK: - Softmax

/// Softmax over `axes`; `precise` computes in float32 for half-precision inputs.
/// Over the last axis of a float32 array on the CPU, ocrtune's vectorized kernel runs (MLX's CPU
/// exp is scalar and dominated inference over large vocabularies).
public func softmax(_ a: MLXArray, axes: [Int] = [-1], precise: Bool = false) -> MLXArray {
    if axes.count == 1, axes[0] == -1 || axes[0] == a.ndim - 1 {
        return call("softmax") { cmlx_softmax_last_axis($0, a.handle, false) }
    }
    return reduce(a, axes, false, precise ? CMLX_PRECISE_SOFTMAX : CMLX_SOFTMAX, "softmax")
}

public func softmax(_ a: MLXArray, axis: Int, precise: Bool = false) -> MLXArray {
    softmax(a, axes: [axis], precise: precise)
}

/// log(softmax(a)) along `axis`, computed stably.
public func logSoftmax(_ a: MLXArray, axis: Int = -1) -> MLXArray {
    if axis == -1 || axis == a.ndim - 1 {
        return call("log_softmax") { cmlx_softmax_last_axis($0, a.handle, true) }
    }
    return a - a.logSumExp(axis: axis, keepDims: true)
}

/// Greedy decoding's two numbers per position of `logits` [..., C], in one pass over them: the first
/// index of the largest logit (uint32) and its softmax probability (float32), each [...]. float32
/// on the CPU runs ocrtune's kernel (its probability is summed as ``softmax(_:axes:precise:)``
/// sums, so it equals the largest softmax output); otherwise argmax and max of the softmax.
public func bestClass(_ logits: MLXArray) -> (classes: MLXArray, probabilities: MLXArray) {
    let out = callVector("best_class") { cmlx_best_class($0, logits.handle) }
    guard out.count == 2 else {
        // The failure is recorded in the enclosing error scope; these placeholders are never read.
        let empty = MLXArray([] as [Float])
        return (empty, empty)
    }
    return (out[0], out[1])
}

// MARK: - Scans

public enum ScanKind: Int32 { case sum = 0, prod = 1, max = 2, logSumExp = 3 }

extension MLXArray {
    public func scan(_ kind: ScanKind, axis: Int, reverse: Bool = false, inclusive: Bool = true) -> MLXArray {
        call("scan") { cmlx_cumulative($0, handle, Int32(axis), reverse, inclusive, kind.rawValue) }
    }

    public func cumsum(axis: Int, reverse: Bool = false, inclusive: Bool = true) -> MLXArray {
        scan(.sum, axis: axis, reverse: reverse, inclusive: inclusive)
    }
}
