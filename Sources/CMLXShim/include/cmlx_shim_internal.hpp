// The shim's C++ internals (handle structs, error capture), shared by its translation units and by
// CMLXKernels, which builds ocrtune's own kernels on the same handles. Not part of the Swift module
// (see module.modulemap): C++ stays out of the Swift targets.
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
