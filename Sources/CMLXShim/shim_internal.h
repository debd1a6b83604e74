// Internal helpers shared by the shim's translation units (C++ only).
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "mlx/mlx.h"
#include "cmlx_shim.h"

struct cmlx_array_s {
  mlx::core::array value;
};

struct cmlx_vec_s {
  std::vector<mlx::core::array> value;
};

namespace cmlx {

namespace mx = mlx::core;

void set_error(const std::string& message);

inline cmlx_array wrap(mx::array a) {
  return new cmlx_array_s{std::move(a)};
}

inline cmlx_vec wrap(std::vector<mx::array> v) {
  return new cmlx_vec_s{std::move(v)};
}

inline std::optional<mx::array> optional(cmlx_array a) {
  if (a == nullptr) return std::nullopt;
  return a->value;
}

inline mx::Shape shape(const int* dims, int ndim) {
  return mx::Shape(dims, dims + ndim);
}

inline std::vector<int> ints(const int* values, int count) {
  if (count <= 0) return {};
  return std::vector<int>(values, values + count);
}

mx::Dtype to_mlx(cmlx_dtype dtype);

// Custom kernels, for use by other kernels (e.g. in a gradient).

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
/// Softmax (or log-softmax) over the last axis: ocrtune's vectorized kernel for float32 on the CPU.
mx::array softmax_last_axis(const mx::array& x, bool log);
/// The logistic sigmoid: ocrtune's vectorized kernel for float32 on the CPU, MLX's otherwise.
mx::array sigmoid(const mx::array& x);
cmlx_dtype from_mlx(mx::Dtype dtype);

} // namespace cmlx

/// Runs `body`, turning any C++ exception into a status code and a per-thread message.
#define CMLX_GUARD(...)                                         \
  try {                                                         \
    __VA_ARGS__;                                                \
    return 0;                                                   \
  } catch (const std::exception& e) {                           \
    cmlx::set_error(e.what());                                  \
    return 1;                                                   \
  } catch (...) {                                               \
    cmlx::set_error("unknown C++ exception in the MLX engine"); \
    return 1;                                                   \
  }

/// Shorthand for an op with one array result.
#define CMLX_RESULT(...) CMLX_GUARD(*out = cmlx::wrap(__VA_ARGS__))
