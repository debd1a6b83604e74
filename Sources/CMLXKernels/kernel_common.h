// Pieces shared by the kernels (C++ only): the depthwise geometry, the weight
// layout the kernels read, PP-LCNet's epilogue, and the BLAS the engine links.
#pragma once

#include <cstddef>
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

/// The activation codes of cmlx_affine_activation and cmlx_depthwise_affine_activation.
enum Activation : int { kIdentity = 0, kHardSwish = 1, kReLU = 2 };

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
  }
  return v * s2 + b2;
}

/// Rows [begin, end) of C channels through ``affine_epilogue`` (bias per channel, may be null),
/// vectorized (kernel_affine_activation.cpp).
void affine_activation_rows(const float* x, const float* bias, float* y, int c, float s1, float b1, float s2,
                            float b2, int act, int begin, int end);

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
