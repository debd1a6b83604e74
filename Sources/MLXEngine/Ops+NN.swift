// Neural-network kernels: convolutions, normalization, rotary embeddings, attention.

import CMLXKernels
import CMLXShim

// MARK: - Convolution (channels-last, as MLX)

/// 1-D convolution. `input` is [N, L, C_in]; `weight` is [C_out, K, C_in / groups].
public func conv1d(
    _ input: MLXArray, _ weight: MLXArray, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1
) -> MLXArray {
    call("conv1d") {
        cmlx_conv1d($0, input.handle, weight.handle, Int32(stride), Int32(padding), Int32(dilation), Int32(groups))
    }
}

/// 2-D convolution. `input` is [N, H, W, C_in]; `weight` is [C_out, KH, KW, C_in / groups].
public func conv2d(
    _ input: MLXArray, _ weight: MLXArray, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), groups: Int = 1
) -> MLXArray {
    call("conv2d") { out in
        withStrideAndPadding(stride, padding) { s, p in
            withInts([dilation.0, dilation.1]) { d, _ in cmlx_conv2d(out, input.handle, weight.handle, s, p, d, Int32(groups)) }
        }
    }
}

/// The patches of a 2-D convolution (im2col) of `input` [N, H, W, C]: [N, Ho, Wo, KH·KW·C], columns
/// in (ky, kx, c) order (a weight [O, KH, KW, C] reshaped to [O, KH·KW·C] multiplies them), zeros
/// where a tap falls into the padding. float32 on the CPU runs ocrtune's kernel over the cores, its
/// gradient folding the patches back; otherwise strided slices of the padded input, concatenated.
public func unfold2d(
    _ input: MLXArray, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
) -> MLXArray {
    call("unfold2d") { out in
        withStrideAndPadding(stride, padding) { s, p in
            withInts([kernel.0, kernel.1]) { k, _ in cmlx_unfold2d(out, input.handle, k, s, p) }
        }
    }
}

/// Depthwise 2-D convolution (groups == channels): `input` [N, H, W, C], `weight` [C, KH, KW, 1].
/// float32 on the CPU runs ocrtune's own kernel (an MLX custom primitive with its gradients,
/// much faster than the generic grouped path); other dtypes and devices use ``conv2d``.
public func depthwiseConv2d(
    _ input: MLXArray, _ weight: MLXArray, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
) -> MLXArray {
    call("depthwise_conv2d") { out in
        withStrideAndPadding(stride, padding) { s, p in cmlx_depthwise_conv2d(out, input.handle, weight.handle, s, p) }
    }
}

// MARK: - Fused epilogue

/// The activation of ``affineActivation(_:bias:preScale:preBias:activation:postScale:postBias:)``.
public enum FusedActivation: Int32, Sendable {
    case identity = 0
    /// v · clip(v/6 + 1/2, 0, 1)
    case hardSwish = 1
    case relu = 2
    /// v · (1 + erf(v/√2)) / 2 (erf by a polynomial, absolute error ≤ 1.5e-7; not in the
    /// depthwise kernels)
    case gelu = 3
}

/// `postScale · act(preScale · (x + bias) + preBias) + postBias` over a channels-last array in one
/// pass (`bias` [C]; the scales and biases hold one value; nil means 1 or 0). float32 on the CPU
/// runs ocrtune's kernel, bit-identical to the composed ops; it has its gradient.
public func affineActivation(
    _ x: MLXArray, bias: MLXArray?, preScale: MLXArray?, preBias: MLXArray?, activation: FusedActivation,
    postScale: MLXArray? = nil, postBias: MLXArray? = nil
) -> MLXArray {
    call("affine_activation") {
        cmlx_affine_activation(
            $0, x.handle, bias?.handle, preScale?.handle, preBias?.handle, activation.rawValue, postScale?.handle,
            postBias?.handle)
    }
}

/// GELU in its exact form, v · (1 + erf(v/√2)) / 2: float32 on the CPU runs the vectorized
/// epilogue of ``affineActivation(_:bias:preScale:preBias:activation:postScale:postBias:)`` (MLX's
/// CPU erf and exp are scalar), with its one-pass gradient; other dtypes and devices compose MLX's ops.
public func exactGELU(_ x: MLXArray) -> MLXArray {
    call("gelu") { cmlx_kernel_gelu($0, x.handle) }
}

/// ``depthwiseConv2d(_:_:stride:padding:)`` followed by the epilogue of
/// ``affineActivation(_:bias:preScale:preBias:activation:postScale:postBias:)`` in one pass: float32
/// on the CPU runs ocrtune's register-blocked kernel, bit-identical to the two composed; its gradient
/// is theirs.
public func depthwiseAffineActivation(
    _ input: MLXArray, _ weight: MLXArray, stride: (Int, Int), padding: (Int, Int), bias: MLXArray?,
    preScale: MLXArray?, preBias: MLXArray?, activation: FusedActivation, postScale: MLXArray? = nil,
    postBias: MLXArray? = nil
) -> MLXArray {
    call("depthwise_affine_activation") { out in
        withStrideAndPadding(stride, padding) { s, p in
            cmlx_depthwise_affine_activation(
                out, input.handle, weight.handle, s, p, bias?.handle, preScale?.handle, preBias?.handle,
                activation.rawValue, postScale?.handle, postBias?.handle)
        }
    }
}

/// `x · scale + shift` per channel of a channels-last `x` [..., C] (`scale`, `shift` [C]): a batch
/// norm with fixed statistics folded into a scale and shift. float32 on the CPU runs ocrtune's
/// kernel (one pass over the cores; the gradient two); MLX's ops otherwise.
public func channelAffine(_ x: MLXArray, scale: MLXArray, shift: MLXArray) -> MLXArray {
    call("channel_affine") { cmlx_channel_affine($0, x.handle, scale.handle, shift.handle) }
}

/// Batch normalization in training mode over a channels-last `x` [..., C]: the normalized output
/// `(x − mean) / √(variance + eps) · weight + bias` and each channel's batch mean and biased
/// variance over all other axes (for the running averages). float32 on the CPU runs ocrtune's
/// kernel (statistics and output in two passes over the cores, the gradient in two more); other
/// dtypes and devices MLX's ops. The gradient flows through the statistics as through the
/// composed ops.
public func batchNormTraining(_ x: MLXArray, weight: MLXArray?, bias: MLXArray?, eps: Float)
    -> (output: MLXArray, mean: MLXArray, variance: MLXArray)
{
    let out = callVector("batch_norm_training") { cmlx_batch_norm_training($0, x.handle, weight?.handle, bias?.handle, eps) }
    guard out.count == 3 else {
        // The failure is recorded in the enclosing error scope; these placeholders are never read.
        let empty = MLXArray([] as [Float])
        return (empty, empty, empty)
    }
    return (out[0], out[1], out[2])
}

/// `x · weightᵀ` (x [M, K], weight [N, K]) followed by the epilogue of
/// ``affineActivation(_:bias:preScale:preBias:activation:postScale:postBias:)``: a 1×1 convolution
/// with PP-LCNet's epilogue. float32 on the CPU runs ocrtune's kernel, bit-identical to the two
/// composed; with OpenBLAS single-threaded (``Threads/withSingleThreadedBLAS(_:)``) it splits the
/// rows over the kernel threads itself. Its gradient is that of the composition.
public func matmulAffineActivation(
    _ x: MLXArray, _ weight: MLXArray, bias: MLXArray?, preScale: MLXArray?, preBias: MLXArray?,
    activation: FusedActivation, postScale: MLXArray? = nil, postBias: MLXArray? = nil
) -> MLXArray {
    call("matmul_affine_activation") {
        cmlx_matmul_affine_activation(
            $0, x.handle, weight.handle, bias?.handle, preScale?.handle, preBias?.handle, activation.rawValue,
            postScale?.handle, postBias?.handle)
    }
}

/// A dense convolution (groups 1; input [N, H, W, C], weight [O, KH, KW, C]) followed by the
/// epilogue of ``affineActivation(_:bias:preScale:preBias:activation:postScale:postBias:)``.
/// float32 on the CPU runs ocrtune's kernel: with OpenBLAS single-threaded it splits the output
/// positions over the kernel threads, unfolding and multiplying a tile at a time. Equal to
/// `conv2d` then the epilogue up to the BLAS's summation order; its gradient is theirs.
public func conv2dAffineActivation(
    _ input: MLXArray, _ weight: MLXArray, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    bias: MLXArray?, preScale: MLXArray? = nil, preBias: MLXArray? = nil, activation: FusedActivation,
    postScale: MLXArray? = nil, postBias: MLXArray? = nil
) -> MLXArray {
    call("conv2d_affine_activation") { out in
        withStrideAndPadding(stride, padding) { s, p in
            cmlx_conv2d_affine_activation(
                out, input.handle, weight.handle, s, p, bias?.handle, preScale?.handle, preBias?.handle,
                activation.rawValue, postScale?.handle, postBias?.handle)
        }
    }
}

/// Dropout as training applies it: `x · keep / (1 − p)` with `keep` drawn per element from `key`
/// (nil: the next key of the engine's random sequence). float32 on the CPU runs ocrtune's kernel
/// (a counter hash, no mask array, split over the kernel threads; its gradient recomputes the
/// mask); other dtypes and devices MLX's bernoulli.
public func dropout(_ x: MLXArray, p: Float, key: MLXArray? = nil) -> MLXArray {
    call("dropout") { cmlx_kernel_dropout($0, x.handle, p, key?.handle) }
}

/// The scalars of one AdamW step, as float32 (the composition's roundings): the moments' decay
/// rates and their complements, the bias corrections, and the weight-decay factor 1 − lr·wd.
public struct AdamWStepScalars: Sendable {
    public var learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, correction1, correction2, decay: Float
    public init(learningRate: Float, beta1: Float, oneMinusBeta1: Float, beta2: Float, oneMinusBeta2: Float, eps: Float,
                correction1: Float, correction2: Float, decay: Float) {
        (self.learningRate, self.beta1, self.oneMinusBeta1, self.beta2, self.oneMinusBeta2) =
            (learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2)
        (self.eps, self.correction1, self.correction2, self.decay) = (eps, correction1, correction2, decay)
    }
}

/// One AdamW step of a float32 parameter in one pass (ocrtune's CPU kernel): the new parameter and
/// moments, bit-identical to the elementwise composition; `expAvg`/`expAvgSq` nil on the first step.
/// Takes float32 arrays of the parameter's shape with the CPU as the default device (the caller
/// composes the update otherwise); nil when the engine refused them.
public func adamWStep(
    parameter: MLXArray, gradient: MLXArray, expAvg: MLXArray?, expAvgSq: MLXArray?, _ s: AdamWStepScalars
) -> (parameter: MLXArray, expAvg: MLXArray, expAvgSq: MLXArray)? {
    let out = callVector("adamw") {
        cmlx_kernel_adamw(
            $0, parameter.handle, gradient.handle, expAvg?.handle, expAvgSq?.handle, s.learningRate, s.beta1,
            s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.eps, s.correction1, s.correction2, s.decay)
    }
    guard out.count == 3 else { return nil }
    return (out[0], out[1], out[2])
}

// MARK: - Fused kernels (mlx::core::fast)

public func rmsNorm(_ x: MLXArray, weight: MLXArray?, eps: Float) -> MLXArray {
    call("rms_norm") { cmlx_rms_norm($0, x.handle, weight?.handle, eps) }
}

public func layerNorm(_ x: MLXArray, weight: MLXArray?, bias: MLXArray?, eps: Float) -> MLXArray {
    call("layer_norm") { cmlx_layer_norm($0, x.handle, weight?.handle, bias?.handle, eps) }
}

/// Rotary position embedding over the first `dimensions` features of the last axis.
public func rope(
    _ x: MLXArray, dimensions: Int, traditional: Bool, base: Float?, scale: Float = 1, offset: Int = 0,
    freqs: MLXArray? = nil
) -> MLXArray {
    call("rope") {
        cmlx_rope(
            $0, x.handle, Int32(dimensions), traditional, base ?? 0, base != nil, scale, Int32(offset),
            freqs?.handle)
    }
}

/// Attention mask for ``scaledDotProductAttention(queries:keys:values:scale:mask:)``.
public enum AttentionMask {
    case none
    case causal
    /// Additive (float) or boolean mask broadcastable to [B, H, Lq, Lk].
    case array(MLXArray)
}

/// softmax(Q Kᵀ · scale + mask) V with Q [B, H, Lq, D], K and V [B, H_kv, Lk, D]; in training,
/// `dropout` > 0 drops out the probabilities as ``dropout(_:p:key:)`` would (the same mask for
/// the same key; nil: the engine's next key). On the CPU in float32 a fused kernel computes it
/// without the [B, H, Lq, Lk] scores, and its gradient recomputes them block by block.
public func scaledDotProductAttention(
    queries: MLXArray, keys: MLXArray, values: MLXArray, scale: Float, mask: AttentionMask = .none,
    dropout: Float = 0, key: MLXArray? = nil
) -> MLXArray {
    call("scaled_dot_product_attention") { out in
        switch mask {
        case .none:
            cmlx_kernel_sdpa(out, queries.handle, keys.handle, values.handle, scale, "", nil, dropout, key?.handle)
        case .causal:
            cmlx_kernel_sdpa(out, queries.handle, keys.handle, values.handle, scale, "causal", nil, dropout, key?.handle)
        case .array(let m):
            cmlx_kernel_sdpa(out, queries.handle, keys.handle, values.handle, scale, "", m.handle, dropout, key?.handle)
        }
    }
}
