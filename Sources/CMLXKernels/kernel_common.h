// Pieces shared by the kernels (C++ only): the depthwise geometry, the weight
// layout the kernels read, PP-LCNet's epilogue, and the BLAS the engine links.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace cmlx {

/// Kernel size, stride and padding of a depthwise convolution.
struct DepthwiseParams {
  int kh, kw, sh, sw, ph, pw;
  bool operator==(const DepthwiseParams& o) const {
    return kh == o.kh && kw == o.kw && sh == o.sh && sw == o.sw && ph == o.ph && pw == o.pw;
  }
};

/// Weights [C, KH, KW, 1] → taps [KH·KW][C] (channel innermost).
inline std::vector<float> depthwise_taps(const float* w, int c, int kh, int kw) {
  std::vector<float> t(size_t(kh) * kw * c);
  for (int ch = 0; ch < c; ch++)
    for (int k = 0; k < kh * kw; k++) t[size_t(k) * c + ch] = w[size_t(ch) * kh * kw + k];
  return t;
}

/// The activation codes of cmlx_affine_activation and cmlx_depthwise_affine_activation
/// (GELU: affine_activation and matmul_affine_activation only).
enum Activation : int { kIdentity = 0, kHardSwish = 1, kReLU = 2, kGELU = 3 };

/// exp(x) for x ≤ 88: x = n·ln2 + r, exp(r) by a degree-6 polynomial (Cephes expf), 2^n by
/// building the exponent bits. Inputs below −87.3 (where the result would be subnormal) give 0.
inline float exp_poly(float x) {
  bool underflow = x < -87.3f;
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.3f ? -87.3f : x;
  const float magic = 12582912.0f;  // 1.5 · 2^23: adding it rounds to an integer
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  int32_t tbits, mbits;
  std::memcpy(&tbits, &t, 4);
  std::memcpy(&mbits, &magic, 4);
  int32_t ni = tbits - mbits;
  float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  int32_t ebits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &ebits, 4);
  return underflow ? 0.0f : p * scale;
}

/// Chris Wellons's "lowbias32" integer mixer.
inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/// Whether dropout keeps element i (its flat index, modulo 2³²) under key (k0, k1): a counter
/// hash at least `threshold` = p · 2³². The dropout kernel and fused attention's dropout share it,
/// so the same key drops the same attention probabilities in both.
inline bool dropout_keeps(uint32_t i, uint32_t k0, uint32_t k1, uint32_t threshold) {
  return lowbias32(lowbias32(i * 0x9e3779b9u + k0) ^ k1) >= threshold;
}

/// p · 2³², the threshold of ``dropout_keeps``.
inline uint32_t dropout_threshold(float p) {
  double t = double(p) * 4294967296.0;
  return t >= 4294967295.0 ? 4294967295u : uint32_t(t);
}

/// The largest of x[0, n) (−∞ when n is 0), in 16 independent lanes: vectorizable without
/// reassociating floats.
__attribute__((always_inline)) inline float lanes_max(const float* x, int n) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  for (int l = 0; l < kLanes; l++) lanes[l] = -__builtin_inff();
  int k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int l = 0; l < kLanes; l++) lanes[l] = x[k + l] > lanes[l] ? x[k + l] : lanes[l];
  float m = -__builtin_inff();
  for (int l = 0; l < kLanes; l++) m = lanes[l] > m ? lanes[l] : m;
  for (; k < n; k++) m = x[k] > m ? x[k] : m;
  return m;
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), vectorizable.
inline float erf_poly(float x) {
  float a = x < 0.0f ? -x : x;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  y = 1.0f - y * exp_poly(-a * a);
  return x < 0.0f ? -y : y;
}

/// GELU with the exact (erf) form: v · (1 + erf(v / √2)) / 2.
inline float gelu_poly(float v) { return 0.5f * v * (1.0f + erf_poly(v * 0.70710678118654752f)); }

/// GELU(v) and its derivative Φ(v) + v · φ(v) together, sharing one exp: erf_poly(v/√2) needs
/// exp(−v²/2), which is also the normal density's φ(v)·√(2π) (computing them apart took two exps
/// and two erfs per value, a tenth of a PP-OCRv6 full fine-tuning step).
inline void gelu_and_grad_poly(float v, float& value, float& grad) {
  float x = v * 0.70710678118654752f;
  float a = x < 0.0f ? -x : x;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  float e = exp_poly(-a * a);
  float erf = 1.0f - y * e;
  float cdf = 0.5f * (1.0f + (x < 0.0f ? -erf : erf));
  value = v * cdf;
  grad = cdf + v * 0.39894228040143268f * e;
}

/// post_scale · act(pre_scale · v + pre_bias) + post_bias of one value whose bias is already
/// added, rounded as MLXNN's composed ops round (hardSwish(v) = v · min(max(v · (1/6) + 0.5, 0), 1)).
inline float affine_epilogue(float v, float s1, float b1, int act, float s2, float b2) {
#pragma clang fp contract(off)  // no fused multiply-adds: round as the separate MLX ops do
  v = v * s1 + b1;
  if (act == kHardSwish) {
    float g = v * float(1.0 / 6.0) + 0.5f;
    g = g > 0.0f ? g : 0.0f;
    g = g < 1.0f ? g : 1.0f;
    v = v * g;
  } else if (act == kReLU) {
    v = v > 0.0f ? v : 0.0f;
  } else if (act == kGELU) {
    v = gelu_poly(v);
  }
  return v * s2 + b2;
}

/// Rows [begin, end) of C channels through ``affine_epilogue`` (bias per channel, may be null),
/// vectorized (kernel_affine_activation.cpp).
void affine_activation_rows(const float* x, const float* bias, float* y, int c, float s1, float b1, float s2,
                            float b2, int act, int begin, int end);

/// out[j] = exp(in[j] − m) for j in [0, n) (in place when out is in), returning their sum,
/// accumulated in 16 lanes of Acc (double where a float sum over many terms would drift).
template <typename Acc>
__attribute__((always_inline)) inline Acc exp_shifted_sum(const float* in, float* out, int n, float m) {
  constexpr int kLanes = 16;
  Acc sums[kLanes];
  for (int l = 0; l < kLanes; l++) sums[l] = Acc(0);
  int k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int l = 0; l < kLanes; l++) {
      float e = exp_poly(in[k + l] - m);
      out[k + l] = e;
      sums[l] += e;
    }
  Acc total = Acc(0);
  for (int l = 0; l < kLanes; l++) total += sums[l];
  for (; k < n; k++) {
    float e = exp_poly(in[k] - m);
    out[k] = e;
    total += e;
  }
  return total;
}

// MARK: - BLAS

/// The BLAS that libmlx resolves, looked up at run time (kernel_threads.cpp): cblas_sgemm, and
/// OpenBLAS's thread count where the BLAS is OpenBLAS (null otherwise).
struct Blas {
  using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                         int lda, const float* b, int ldb, float beta, float* c, int ldc);
  Sgemm sgemm = nullptr;
  int (*get_threads)() = nullptr;
  void (*set_threads)(int) = nullptr;
  static constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
};
const Blas& blas();
/// OpenBLAS's thread count, 0 when the BLAS is not OpenBLAS.
int blas_threads();

} // namespace cmlx
