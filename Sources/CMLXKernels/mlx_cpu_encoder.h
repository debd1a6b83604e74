// MLX's CPU command encoder (mlx/backend/cpu/encoder.h), included with libstdc++'s deprecation of
// std::result_of silenced: encoder.h's dispatch() hands each kernel's lambda to std::bind, whose
// libstdc++ 12 implementation still names result_of in C++20, so the warning is the library's,
// raised inside <functional> wherever a kernel dispatches. Clang judges a diagnostic by the pragma
// state where its header was read, so <functional> is read here first, inside the push.
#pragma once

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#include <functional>
#include "mlx/backend/cpu/encoder.h"
#pragma clang diagnostic pop

namespace cmlx {

/// What every one-output kernel's eval_cpu begins with: allocates `out`, registers the arrays
/// with the stream's CPU command encoder and dispatches body(inputs, y) there, on weak copies of
/// the inputs and of `out`.
template <typename Body>
void dispatch_cpu(mlx::core::Stream stream, const std::vector<mlx::core::array>& in, mlx::core::array& out, Body body) {
  out.set_data(mlx::core::allocator::malloc(out.nbytes()));
  auto& encoder = mlx::core::cpu::get_command_encoder(stream);
  for (auto& a : in) encoder.set_input_array(a);
  encoder.set_output_array(out);
  std::vector<mlx::core::array> inputs;
  for (auto& a : in) inputs.push_back(mlx::core::array::unsafe_weak_copy(a));
  encoder.dispatch([inputs = std::move(inputs), y = mlx::core::array::unsafe_weak_copy(out), body]() mutable { body(inputs, y); });
}

/// For a kernel of several outputs that already have their buffers (allocated, or donated by an
/// input): registers the arrays and dispatches body(inputs, outputs) on weak copies.
template <typename Body>
void dispatch_cpu_allocated(mlx::core::Stream stream, const std::vector<mlx::core::array>& in,
                            std::vector<mlx::core::array>& outs, Body body) {
  auto& encoder = mlx::core::cpu::get_command_encoder(stream);
  for (auto& a : in) encoder.set_input_array(a);
  for (auto& o : outs) encoder.set_output_array(o);
  std::vector<mlx::core::array> inputs, outputs;
  for (auto& a : in) inputs.push_back(mlx::core::array::unsafe_weak_copy(a));
  for (auto& o : outs) outputs.push_back(mlx::core::array::unsafe_weak_copy(o));
  encoder.dispatch([inputs = std::move(inputs), outputs = std::move(outputs), body]() mutable { body(inputs, outputs); });
}

/// The same for a kernel of several outputs: allocates each, then as dispatch_cpu_allocated.
template <typename Body>
void dispatch_cpu(mlx::core::Stream stream, const std::vector<mlx::core::array>& in,
                  std::vector<mlx::core::array>& outs, Body body) {
  for (auto& o : outs) o.set_data(mlx::core::allocator::malloc(o.nbytes()));
  dispatch_cpu_allocated(stream, in, outs, body);
}

} // namespace cmlx
