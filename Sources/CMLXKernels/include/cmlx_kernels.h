// cmlx_kernels.h — ocrtune's own CPU kernels for MLX, as MLX custom primitives with their gradients.
//
// The engine binding (cmlx_shim.h) stays generic; what MLX's CPU backend does slowly for ocrtune's
// models lives here: depthwise convolution, PP-LCNet's fused epilogues, the 1×1 convolution with
// its epilogue, softmax / log-softmax / sigmoid with a vectorized exp, greedy decoding's best class,
// and CPU attention composed with that softmax. Each entry point falls back to MLX's own op where
// the kernel does not apply (another dtype, another device). The kernels run on one persistent
// thread pool; the BLAS thread switch they rely on is here too. Plain C, same conventions as the shim.

#ifndef CMLX_KERNELS_H
#define CMLX_KERNELS_H

#include "cmlx_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Threads

/// OpenBLAS's thread count (0 when the linked BLAS is not OpenBLAS).
int cmlx_blas_threads(int* out);
/// Sets OpenBLAS's thread count (an error when the BLAS is not OpenBLAS).
int cmlx_set_blas_threads(int threads);
/// Makes OpenBLAS's idle workers spin for about 2^log2_cycles cycles after a threaded call before they
/// sleep (OpenBLAS's OPENBLAS_THREAD_TIMEOUT, clamped by it to 4...30; its default is 28, ~0.1 s): sets
/// the variable, has OpenBLAS read it again and restarts its workers. Call while no BLAS work runs.
/// *applied is 0 when the BLAS is not OpenBLAS or lacks the entry points (nothing changed).
int cmlx_set_blas_idle_spin(int log2_cycles, int* applied);
/// Threads of ocrtune's CPU kernels (the calling thread included).
int cmlx_kernel_threads(int* out);

// MARK: - Kernels

/// Depthwise 2-D convolution (groups == channels): input [N, H, W, C], weight [C, KH, KW, 1].
/// float32 on the CPU runs ocrtune's kernel (with its gradients); otherwise MLX's conv2d.
int cmlx_depthwise_conv2d(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride, const int* padding);
/// Softmax (log = false) or log-softmax (log = true) over the last axis. float32 on the CPU runs
/// ocrtune's vectorized kernel (with its gradient); otherwise MLX's ops.
int cmlx_softmax_last_axis(cmlx_array* out, cmlx_array x, bool log);
/// Greedy decoding's two numbers per position of logits [..., C], in one pass: the first index of
/// the largest logit (uint32) and its softmax probability (float32), as a vector of two arrays.
int cmlx_best_class(cmlx_vec* out, cmlx_array logits);
/// y = post_scale · act(pre_scale · (x + bias) + pre_bias) + post_bias over a channels-last array in
/// one pass (bias [C], the scales and biases one value each; any may be NULL). activation:
/// 0 identity, 1 hard-swish, 2 ReLU. float32 on the CPU runs ocrtune's kernel.
int cmlx_affine_activation(cmlx_array* out, cmlx_array x, cmlx_array bias, cmlx_array pre_scale, cmlx_array pre_bias,
                           int activation, cmlx_array post_scale, cmlx_array post_bias);
/// The depthwise convolution followed by affine_activation's epilogue, in one pass (float32 on the
/// CPU; bit-identical to the two composed; its gradient is theirs). bias may be NULL.
int cmlx_depthwise_affine_activation(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride,
                                     const int* padding, cmlx_array bias, cmlx_array pre_scale, cmlx_array pre_bias,
                                     int activation, cmlx_array post_scale, cmlx_array post_bias);
/// x [M, K] · weightᵀ (weight [N, K]) followed by affine_activation's epilogue: PP-LCNet's 1×1
/// convolution. float32 on the CPU: rows split over the kernel threads when the BLAS is
/// single-threaded (see cmlx_set_blas_threads), each part's product (BLAS) and epilogue done by one
/// thread; bit-identical to matmul then affine_activation; its gradient is theirs. bias may be NULL.
int cmlx_matmul_affine_activation(cmlx_array* out, cmlx_array x, cmlx_array weight, cmlx_array bias,
                                  cmlx_array pre_scale, cmlx_array pre_bias, int activation, cmlx_array post_scale,
                                  cmlx_array post_bias);
/// A dense 2-D convolution (groups 1; input [N, H, W, C], weight [O, KH, KW, C], symmetric padding)
/// followed by affine_activation's epilogue (GELU too). float32 on the CPU: output positions split
/// over the kernel threads when the BLAS is single-threaded, each thread unfolding a tile of them
/// and multiplying it (BLAS) before its epilogue; its gradient is that of conv2d then the epilogue.
int cmlx_conv2d_affine_activation(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride,
                                  const int* padding, cmlx_array bias, cmlx_array pre_scale, cmlx_array pre_bias,
                                  int activation, cmlx_array post_scale, cmlx_array post_bias);
/// Dropout in training: x · keep / (1 − p), keep drawn per element from a counter hash of `key`
/// (uint32 [2]; NULL: the next key of the engine's sequence, as MLX's bernoulli takes one). float32
/// on the CPU runs ocrtune's kernel (no mask array; its gradient recomputes the mask from the key);
/// otherwise MLX's bernoulli with that key.
int cmlx_kernel_dropout(cmlx_array* out, cmlx_array x, float p, cmlx_array key);
/// The patches of a 2-D convolution (im2col): input [N, H, W, C] → [N, Ho, Wo, KH·KW·C], columns in
/// (ky, kx, c) order, zeros where a tap falls into the symmetric padding. float32 on the CPU runs
/// ocrtune's kernel (images split over the kernel threads; its gradient folds the patches back the
/// same way); otherwise strided slices of the padded input, concatenated.
int cmlx_unfold2d(cmlx_array* out, cmlx_array input, const int* kernel, const int* stride, const int* padding);
/// x · scale + shift per channel over a channels-last array x [..., C] (scale, shift [C]): for
/// float32 on the CPU one pass over the cores, its gradient two (dx, and the channels' sums for
/// scale and shift); MLX's ops otherwise.
int cmlx_channel_affine(cmlx_array* out, cmlx_array x, cmlx_array scale, cmlx_array shift);
/// Batch normalization in training mode over a channels-last array x [..., C]: a vector of y
/// ((x − mean) / √(var + eps) · weight + bias), mean [C] and the biased variance [C] of each channel
/// over all other axes. float32 on the CPU runs ocrtune's kernel (two passes split over the kernel
/// threads; its gradient two more); MLX's ops otherwise. weight and bias may be NULL (1 and 0).
int cmlx_batch_norm_training(cmlx_vec* out, cmlx_array x, cmlx_array weight, cmlx_array bias, float eps);
/// GELU, exact (erf) form: for float32 on the CPU affine_activation's vectorized GELU (erf by a
/// polynomial, absolute error ≤ 1.5e-7) with its one-pass gradient; MLX's erf composition otherwise.
int cmlx_kernel_gelu(cmlx_array* out, cmlx_array x);
/// The logistic sigmoid: ocrtune's vectorized kernel for float32 on the CPU, MLX's otherwise.
int cmlx_kernel_sigmoid(cmlx_array* out, cmlx_array x);
/// Scaled dot-product attention, dropout(softmax(scale · q kᵀ + mask)) v: for float32 on the CPU
/// (grouped-query attention included) ocrtune's fused kernel (no score tensor; its gradient
/// recomputes the scores per block) or, for small score matrices without dropout, MLX's
/// composition with ocrtune's softmax; MLX's otherwise. mask_mode: "" or "causal"; mask array
/// nullable (additive float, or boolean). dropout in [0, 1): the probabilities dropped out as
/// cmlx_kernel_dropout would drop them under `key` (NULL: the engine's next key).
int cmlx_kernel_sdpa(cmlx_array* out, cmlx_array q, cmlx_array k, cmlx_array v, float scale, const char* mask_mode,
                     cmlx_array mask, float dropout, cmlx_array key);
/// One AdamW step of a float32 parameter on the CPU, in one pass (kernel_adamw.cpp): out = [p', m', v']
/// with m' = m·beta1 + g·one_minus_beta1, v' = v·beta2 + g²·one_minus_beta2,
/// p' = p·decay − lr · (m' / correction1) / (√(v' / correction2) + eps); exp_avg and exp_avg_sq
/// NULL on the first step (zero). The gradient may have any layout; all four arrays the
/// parameter's shape.
int cmlx_kernel_adamw(cmlx_vec* out, cmlx_array parameter, cmlx_array gradient, cmlx_array exp_avg,
                      cmlx_array exp_avg_sq, float lr, float beta1, float one_minus_beta1, float beta2,
                      float one_minus_beta2, float eps, float correction1, float correction2, float decay);

#ifdef __cplusplus
}
#endif

#endif // CMLX_KERNELS_H
