// Neural-network kernels, quantization and random numbers.
#include <limits>

#include "shim_internal.h"

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

extern "C" {

// MARK: - Convolutions and fast kernels

int cmlx_conv1d(cmlx_array* out, cmlx_array input, cmlx_array weight, int stride, int padding, int dilation,
                int groups) {
  CMLX_RESULT(mx::conv1d(input->value, weight->value, stride, padding, dilation, groups))
}

int cmlx_conv2d(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride, const int* padding,
                const int* dilation, int groups) {
  CMLX_RESULT(mx::conv2d(input->value, weight->value, {stride[0], stride[1]}, {padding[0], padding[1]},
                         {dilation[0], dilation[1]}, groups))
}

int cmlx_rms_norm(cmlx_array* out, cmlx_array x, cmlx_array weight, float eps) {
  CMLX_RESULT(mx::fast::rms_norm(x->value, optional(weight), eps))
}

int cmlx_layer_norm(cmlx_array* out, cmlx_array x, cmlx_array weight, cmlx_array bias, float eps) {
  CMLX_RESULT(mx::fast::layer_norm(x->value, optional(weight), optional(bias), eps))
}

int cmlx_rope(cmlx_array* out, cmlx_array x, int dims, bool traditional, float base, bool has_base, float scale,
              int offset, cmlx_array freqs) {
  CMLX_RESULT(mx::fast::rope(x->value, dims, traditional, has_base ? std::optional<float>(base) : std::nullopt, scale,
                             offset, optional(freqs)))
}

int cmlx_sdpa(cmlx_array* out, cmlx_array q, cmlx_array k, cmlx_array v, float scale, const char* mask_mode,
              cmlx_array mask) {
  CMLX_RESULT(sdpa(q->value, k->value, v->value, scale, mask_mode ? mask_mode : "", optional(mask)))
}

// MARK: - Quantization (affine mode)

int cmlx_quantize(cmlx_array* w_q, cmlx_array* scales, cmlx_array* biases, cmlx_array w, int group_size, int bits) {
  CMLX_GUARD({
    auto parts = mx::quantize(w->value, group_size, bits, "affine");
    if (parts.size() != 3) throw std::runtime_error("affine quantize returned an unexpected number of arrays");
    *w_q = wrap(parts[0]);
    *scales = wrap(parts[1]);
    *biases = wrap(parts[2]);
  })
}

int cmlx_dequantize(cmlx_array* out, cmlx_array w_q, cmlx_array scales, cmlx_array biases, int group_size, int bits) {
  CMLX_RESULT(mx::dequantize(w_q->value, scales->value, optional(biases), group_size, bits, "affine"))
}

int cmlx_quantized_matmul(cmlx_array* out, cmlx_array x, cmlx_array w_q, cmlx_array scales, cmlx_array biases,
                          bool transpose, int group_size, int bits) {
  CMLX_RESULT(mx::quantized_matmul(x->value, w_q->value, scales->value, optional(biases), transpose, group_size, bits,
                                   "affine"))
}

// MARK: - Random

int cmlx_random_seed(uint64_t seed) { CMLX_GUARD(mx::random::seed(seed)) }
int cmlx_random_key(cmlx_array* out, uint64_t seed) { CMLX_RESULT(mx::random::key(seed)) }
int cmlx_random_split(cmlx_array* out, cmlx_array key, int num) { CMLX_RESULT(mx::random::split(key->value, num)) }

int cmlx_random_uniform(cmlx_array* out, const int* shape, int ndim, float low, float high, cmlx_dtype dtype,
                        cmlx_array key) {
  CMLX_RESULT(mx::random::uniform(mx::array(low), mx::array(high), cmlx::shape(shape, ndim), to_mlx(dtype),
                                  optional(key)))
}

int cmlx_random_normal(cmlx_array* out, const int* shape, int ndim, float loc, float scale, cmlx_dtype dtype,
                       cmlx_array key) {
  CMLX_RESULT(mx::random::normal(cmlx::shape(shape, ndim), to_mlx(dtype), loc, scale, optional(key)))
}

int cmlx_random_truncated_normal(cmlx_array* out, const int* shape, int ndim, float lower, float upper,
                                 cmlx_dtype dtype, cmlx_array key) {
  CMLX_RESULT(mx::random::truncated_normal(mx::array(lower), mx::array(upper), cmlx::shape(shape, ndim),
                                           to_mlx(dtype), optional(key)))
}

int cmlx_random_bernoulli(cmlx_array* out, float p, const int* shape, int ndim, cmlx_array key) {
  CMLX_RESULT(mx::random::bernoulli(mx::array(p), cmlx::shape(shape, ndim), optional(key)))
}

int cmlx_random_randint(cmlx_array* out, int low, int high, const int* shape, int ndim, cmlx_dtype dtype,
                        cmlx_array key) {
  CMLX_RESULT(mx::random::randint(mx::array(low), mx::array(high), cmlx::shape(shape, ndim), to_mlx(dtype),
                                  optional(key)))
}

int cmlx_random_categorical(cmlx_array* out, cmlx_array logits, int axis, cmlx_array key) {
  CMLX_RESULT(mx::random::categorical(logits->value, axis, optional(key)))
}

int cmlx_random_permutation(cmlx_array* out, int n, cmlx_array key) {
  CMLX_RESULT(mx::random::permutation(n, optional(key)))
}

} // extern "C"
