// Scaled dot-product attention (with dropout of the probabilities in training) on the CPU:
// ocrtune's fused kernel (kernel_flash_attention.cpp) for float32 attention over more than a few
// keys, else MLX's own composition with ocrtune's softmax (and dropout) kernels.
#include <limits>

#include "mlx/random.h"
#include "kernel_internal.h"

using namespace cmlx;

namespace {

/// Score matrices at least this large (query rows × keys) go through the fused kernel when no
/// dropout asks for it: below, the composition's few small products cost no more.
constexpr int64_t kFusedScores = 4096;

mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
                 const std::optional<mx::array>& mask, float p, const std::optional<mx::array>& key);

/// Scaled dot-product attention, the probabilities dropped out with p (keyed) when p > 0. On the
/// CPU, float32: the fused kernel, or for small score matrices MLX's composition (scale · q,
/// qkᵀ, mask as MLX applies it, softmax, · v) with ocrtune's softmax kernel — MLX's own softmax
/// runs a scalar exp. Elsewhere MLX's fast attention, or the composition when there is dropout.
mx::array sdpa(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
               const std::optional<mx::array>& mask, float p, const std::optional<mx::array>& key) {
  if (fused_attention_applies(q, k, v, mode, mask) &&
      (p > 0 || int64_t(q.shape(2)) * k.shape(2) >= kFusedScores)) {
    return fused_attention(q, k, v, scale, mode, mask, p, key);
  }
  bool cpu32 = mx::default_device() == mx::Device::cpu && q.dtype() == mx::float32 && k.dtype() == mx::float32 &&
               v.dtype() == mx::float32;
  bool composed = (cpu32 || p > 0) && q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4 &&
                  k.shape(1) == v.shape(1) && k.shape(1) > 0 && q.shape(1) % k.shape(1) == 0 &&
                  (mode.empty() || mode == "causal") && !(mode == "causal" && mask);
  if (!composed) {
    if (p > 0) throw std::invalid_argument("scaled_dot_product_attention: dropout needs 4-D queries, keys and values");
    return mx::fast::scaled_dot_product_attention(q, k, v, scale, mode, mask);
  }
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
  auto out = attend(queries, keys, values, scale, mode, grouped_mask, p, key);
  return repeats > 1 ? mx::reshape(out, q.shape()) : out;
}

/// dropout(softmax(scale · q kᵀ + mask)) v over the last two axes.
mx::array attend(const mx::array& q, const mx::array& k, const mx::array& v, float scale, const std::string& mode,
                 const std::optional<mx::array>& mask, float p, const std::optional<mx::array>& key) {
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
  auto probabilities = softmax_last_axis(scores, false);
  if (p > 0) probabilities = keyed_dropout(probabilities, p, *key);
  return mx::matmul(probabilities, v);
}

} // namespace

extern "C" int cmlx_kernel_sdpa(cmlx_array* out, cmlx_array q, cmlx_array k, cmlx_array v, float scale,
                                const char* mask_mode, cmlx_array mask, float dropout, cmlx_array key) {
  CMLX_GUARD({
    if (!(dropout >= 0.0f && dropout < 1.0f)) {
      throw std::invalid_argument("scaled_dot_product_attention: dropout must be in [0, 1)");
    }
    std::optional<mx::array> dropout_key;
    if (dropout > 0) {
      dropout_key = key ? key->value : mx::random::KeySequence::default_().next();
      if (dropout_key->dtype() != mx::uint32 || dropout_key->size() != 2) {
        throw std::invalid_argument("scaled_dot_product_attention: the dropout key must be uint32 [2]");
      }
    }
    *out = wrap(sdpa(q->value, k->value, v->value, scale, mask_mode ? mask_mode : "", optional(mask), dropout, dropout_key));
  })
}
