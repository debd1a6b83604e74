// Declarations shared by the kernels' translation units (C++ only): each kernel as an mx::array
// function, for use by other kernels (a fused kernel's gradient, attention's softmax).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cmlx_kernels.h"
#include "cmlx_shim_internal.hpp"
#include "kernel_common.h"

namespace cmlx {

/// ocrtune's depthwise convolution primitive (float32, CPU), MLX's grouped conv2d otherwise.
mx::array depthwise_conv2d(const mx::array& x, const mx::array& w, const int* stride, const int* padding);
/// post_scale · act(pre_scale · (x + bias) + pre_bias) + post_bias (0 identity, 1 hard-swish, 2 ReLU).
mx::array affine_activation(const mx::array& x, const std::optional<mx::array>& bias,
                            const std::optional<mx::array>& pre_scale, const std::optional<mx::array>& pre_bias,
                            int activation, const std::optional<mx::array>& post_scale,
                            const std::optional<mx::array>& post_bias);
/// The epilogue operands of the fused kernels' C entry points, in their own dtypes: bias
/// flattened (zeros [channels] when NULL), the four scalars as [1] (1, 0, 1, 0 when NULL).
std::vector<mx::array> epilogue_operands(cmlx_array bias, int channels, cmlx_array pre_scale, cmlx_array pre_bias,
                                         cmlx_array post_scale, cmlx_array post_bias);
/// Whether the BLAS-backed kernels apply: every array float32, the default device the CPU, and
/// the BLAS's sgemm found.
inline bool blas_kernel_applies(const std::vector<mx::array>& arrays) {
  if (mx::default_device() != mx::Device::cpu || blas().sgemm == nullptr) return false;
  for (const auto& a : arrays)
    if (a.dtype() != mx::float32) return false;
  return true;
}
/// Softmax (or log-softmax) over the last axis: ocrtune's vectorized kernel for float32 on the CPU.
mx::array softmax_last_axis(const mx::array& x, bool log);
/// Dropout of x with the counter-hash mask of `key` (uint32 [2]): ocrtune's kernel for float32
/// on the CPU, MLX's bernoulli with that key otherwise.
mx::array keyed_dropout(const mx::array& x, float p, const mx::array& key);
/// Whether fused_attention takes these operands: float32 on the CPU with the BLAS, 4-D q
/// [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv] (H a multiple of Hkv), mode "" or
/// "causal", an additive float32 mask (not with causal) broadcastable to [B, H, Lq, Lk].
bool fused_attention_applies(const mx::array& q, const mx::array& k, const mx::array& v, const std::string& mode,
                             const std::optional<mx::array>& mask);
/// dropout(softmax(scale · q kᵀ + mask)) v without the score tensor (kernel_flash_attention.cpp);
/// `key` (uint32 [2]) is used when p > 0.
mx::array fused_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                          const std::string& mode, const std::optional<mx::array>& mask, float p,
                          const std::optional<mx::array>& key);
/// The logistic sigmoid: ocrtune's vectorized kernel for float32 on the CPU, MLX's otherwise.
mx::array sigmoid(const mx::array& x);

} // namespace cmlx
