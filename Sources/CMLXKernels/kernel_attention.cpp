// Scaled dot-product attention on the CPU: MLX's own composition, with ocrtune's softmax kernel.
#include <limits>

#include "kernel_internal.h"

using namespace cmlx;

namespace {

mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
                 const std::optional<mx::array>& mask);

/// Scaled dot-product attention. On the CPU MLX composes it from ops whose softmax runs a scalar
/// exp; for float32 (grouped-query attention included) the same composition (scale · q, qkᵀ,
/// mask as MLX applies it, softmax, · v) uses ocrtune's softmax kernel instead.
mx::array sdpa(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
               const std::optional<mx::array>& mask) {
  bool composed = mx::default_device() == mx::Device::cpu && q.dtype() == mx::float32 && k.dtype() == mx::float32 &&
                  v.dtype() == mx::float32 && q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4 &&
                  k.shape(1) == v.shape(1) && k.shape(1) > 0 && q.shape(1) % k.shape(1) == 0 &&
                  (mode.empty() || mode == "causal") && !(mode == "causal" && mask);
  if (!composed) return mx::fast::scaled_dot_product_attention(q, k, v, scale, mode, mask);
  // Grouped-query attention, as MLX groups it: queries [B, KV heads, repeats, L, D] against keys
  // and values [B, KV heads, 1, S, D]; a mask with a head axis is split the same way.
  int kv_heads = k.shape(1), repeats = q.shape(1) / kv_heads;
  auto queries = q;
  auto keys = k, values = v;
  std::optional<mx::array> grouped_mask = mask;
  if (repeats > 1) {
    queries = mx::reshape(q, {q.shape(0), kv_heads, repeats, q.shape(2), q.shape(3)});
    keys = mx::expand_dims(k, 2);
    values = mx::expand_dims(v, 2);
    if (mask && mask->ndim() >= 3) {
      const auto& m = *mask;
      if (m.shape(-3) == 1) {
        grouped_mask = mx::expand_dims(m, -3);
      } else {
        auto shape = m.shape();
        shape.insert(shape.end() - 2, repeats);
        shape[shape.size() - 4] = kv_heads;
        grouped_mask = mx::reshape(m, shape);
      }
    }
  }
  auto out = attend(queries, keys, values, scale, mode, grouped_mask);
  return repeats > 1 ? mx::reshape(out, q.shape()) : out;
}

/// softmax(scale · q kᵀ + mask) v over the last two axes.
mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
                 const std::optional<mx::array>& mask) {
  auto scores = mx::matmul(mx::multiply(mx::array(scale, mx::float32), q), mx::swapaxes(k, -1, -2));
  auto lowest = mx::array(std::numeric_limits<float>::lowest(), mx::float32);
  if (mode == "causal") {
    int ql = q.shape(-2), kl = k.shape(-2);
    int offset = std::max(0, kl - ql);
    auto rows = mx::expand_dims(mx::arange(offset, offset + ql, mx::int32), 1);
    auto cols = mx::expand_dims(mx::arange(0, kl, mx::int32), 0);
    scores = mx::where(mx::greater_equal(rows, cols), scores, lowest);
  }
  if (mask) {
    scores = mask->dtype() == mx::bool_ ? mx::where(*mask, scores, lowest) : mx::add(scores, *mask);
  }
  return mx::matmul(softmax_last_axis(scores, false), v);
}

} // namespace

extern "C" int cmlx_kernel_sdpa(cmlx_array* out, cmlx_array q, cmlx_array k, cmlx_array v, float scale,
                                const char* mask_mode, cmlx_array mask) {
  CMLX_RESULT(sdpa(q->value, k->value, v->value, scale, mask_mode ? mask_mode : "", optional(mask)))
}
