// Declarations shared by the kernels' translation units (C++ only): each kernel as an mx::array
// function, for use by other kernels (a fused kernel's gradient, attention's softmax).
#pragma once

#include <optional>
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
/// The logistic sigmoid: ocrtune's vectorized kernel for float32 on the CPU, MLX's otherwise.
mx::array sigmoid(const mx::array& x);

} // namespace cmlx
