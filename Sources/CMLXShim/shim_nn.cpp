// Neural-network kernels, quantization and random numbers.
#include <limits>

#include "cmlx_shim_internal.hpp"

using namespace cmlx;

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
  CMLX_RESULT(mx::fast::scaled_dot_product_attention(q->value, k->value, v->value, scale, mask_mode ? mask_mode : "",
                                                     optional(mask)))
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
