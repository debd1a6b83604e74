// Conv2dAffineActivation: a dense 2-D convolution (groups 1, channels-last) followed by the
// epilogue of affine_activation, for the stems of PP-LCNetV4 and the DB detector's convolutions.
//
// MLX's CPU convolution unfolds the whole input first (im2col, one thread), then multiplies the
// unfolded matrix with the weight in one BLAS call, which inference runs single-threaded (see
// kernel_threads.cpp); the epilogue is another pass. Here the output positions are split over the
// kernel threads, and each thread unfolds a tile of its positions into its own buffer, multiplies
// the tile with the weight (one BLAS call, the shape MLX's explicit GEMM convolution uses) and
// applies the epilogue while the tile's outputs are in cache. The gradient is that of mx::conv2d
// then affine_activation.
//
// Unfold2d is that unfolding as an op of its own (im2col: [N, H, W, C] → [N, Ho, Wo, KH·KW·C]),
// for convolutions trained as patches · weightᵀ (MLXNN's Conv2d), with its gradient Fold2d
// (col2im: each patch value added back to the input position it came from). Both split the images
// over the kernel threads; as strided slices, a concatenation and their gradients they were MLX's
// single-threaded copies, one pass per kernel offset.

#include <algorithm>
#include <cstring>
#include <string>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

struct ConvGeometry {
  int n, h, w, c;   // input
  int o, kh, kw;    // weight [O, KH, KW, C]
  int sh, sw, ph, pw;
  int ho, wo;       // output

  int rows() const { return n * ho * wo; }
  int depth() const { return kh * kw * c; }

  /// Sets the output size from the rest; throws (naming `op`) when the kernel is larger than the
  /// padded input.
  void set_output_size(const char* op) {
    ho = (h + 2 * ph - kh) / sh + 1;
    wo = (w + 2 * pw - kw) / sw + 1;
    if (ho < 1 || wo < 1) throw std::invalid_argument(std::string(op) + ": the kernel is larger than the padded input");
  }
};

/// Rows [begin, end) of the unfolded input (row = output position, columns (ky, kx, c)), zeros
/// where a tap falls into the padding.
void unfold_rows(const float* x, const ConvGeometry& g, int begin, int end, float* patches) {
  const size_t k = size_t(g.depth());
  for (int r = begin; r < end; r++) {
    int ox = r % g.wo, oy = (r / g.wo) % g.ho, b = r / (g.wo * g.ho);
    float* row = patches + size_t(r - begin) * k;
    for (int ky = 0; ky < g.kh; ky++) {
      int iy = oy * g.sh - g.ph + ky;
      float* dst = row + size_t(ky) * g.kw * g.c;
      if (iy < 0 || iy >= g.h) {
        std::memset(dst, 0, sizeof(float) * g.kw * g.c);
        continue;
      }
      const float* line = x + (size_t(b) * g.h + iy) * g.w * g.c;
      int ix0 = ox * g.sw - g.pw;
      if (ix0 >= 0 && ix0 + g.kw <= g.w) {  // the kernel row lies inside: one contiguous copy
        std::memcpy(dst, line + size_t(ix0) * g.c, sizeof(float) * g.kw * g.c);
        continue;
      }
      for (int kx = 0; kx < g.kw; kx++) {
        int ix = ix0 + kx;
        if (ix < 0 || ix >= g.w) std::memset(dst + size_t(kx) * g.c, 0, sizeof(float) * g.c);
        else std::memcpy(dst + size_t(kx) * g.c, line + size_t(ix) * g.c, sizeof(float) * g.c);
      }
    }
  }
}

/// The composition the kernel computes, with MLX's ops (the gradient, and other dtypes/devices).
mx::array conv_then_epilogue(const std::vector<mx::array>& in, const ConvGeometry& g, int act, mx::StreamOrDevice s = {}) {
  auto z = mx::conv2d(in[0], in[1], {g.sh, g.sw}, {g.ph, g.pw}, {1, 1}, 1, s);
  return affine_activation(z, in[2], in[3], in[4], act, in[5], in[6]);
}

// MARK: - Unfold and fold

/// Adds each row of `patches` (rows [begin, end) of the unfolded input, columns (ky, kx, c)) back
/// into x [N, H, W, C] at the positions ``unfold_rows`` took them from (taps in the padding are
/// dropped). Rows of different images never touch the same input values.
void fold_rows(const float* patches, const ConvGeometry& g, int begin, int end, float* x) {
  const size_t k = size_t(g.depth());
  for (int r = begin; r < end; r++) {
    int ox = r % g.wo, oy = (r / g.wo) % g.ho, b = r / (g.wo * g.ho);
    const float* row = patches + size_t(r) * k;
    for (int ky = 0; ky < g.kh; ky++) {
      int iy = oy * g.sh - g.ph + ky;
      if (iy < 0 || iy >= g.h) continue;
      float* line = x + (size_t(b) * g.h + iy) * g.w * g.c;
      for (int kx = 0; kx < g.kw; kx++) {
        int ix = ox * g.sw - g.pw + kx;
        if (ix < 0 || ix >= g.w) continue;
        const float* src = row + (size_t(ky) * g.kw + kx) * g.c;
        float* dst = line + size_t(ix) * g.c;
        for (int ch = 0; ch < g.c; ch++) dst[ch] += src[ch];
      }
    }
  }
}

/// inputs: patches [N, Ho, Wo, KH·KW·C]. output: x [N, H, W, C] (the gradient of Unfold2d).
class Fold2d : public mx::UnaryPrimitive {
 public:
  Fold2d(mx::Stream s, ConvGeometry g) : mx::UnaryPrimitive(s), g_(g) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [g = g_](std::vector<mx::array>& inputs, mx::array& x) {
      float* xp = x.data<float>();
      const float* pp = inputs[0].data<float>();
      size_t image = size_t(g.h) * g.w * g.c;
      int per_image = g.ho * g.wo;
      // Whole images per thread: rows of different images never add into the same values.
      parallel_for(g.n, size_t(g.rows()) * g.depth(), [&](int b0, int b1) {
        std::memset(xp + b0 * image, 0, (b1 - b0) * image * sizeof(float));
        fold_rows(pp, g, b0 * per_image, b1 * per_image, xp);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("fold2d: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>&) override { return {{g_.n, g_.h, g_.w, g_.c}}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const Fold2d*>(&other);
    return o != nullptr && std::memcmp(&o->g_, &g_, sizeof(ConvGeometry)) == 0;
  }
  DEFINE_NAME(Fold2d)

 private:
  ConvGeometry g_;
};

/// inputs: x [N, H, W, C]. output: patches [N, Ho, Wo, KH·KW·C] (zeros where a tap falls into the padding).
class Unfold2d : public mx::UnaryPrimitive {
 public:
  Unfold2d(mx::Stream s, ConvGeometry g) : mx::UnaryPrimitive(s), g_(g) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [g = g_](std::vector<mx::array>& inputs, mx::array& y) {
      const float* xp = inputs[0].data<float>();
      float* yp = y.data<float>();
      int per_image = g.ho * g.wo;
      parallel_for(g.n, size_t(g.rows()) * g.depth(), [&](int b0, int b1) {
        unfold_rows(xp, g, b0 * per_image, b1 * per_image, yp + size_t(b0) * per_image * g.depth());
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("unfold2d: the custom kernel is CPU-only");
  }
  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>&) override {
    auto s = stream();
    auto g = mx::contiguous(mx::astype(cotangents[0], mx::float32, s), false, s);
    return {mx::array({g_.n, g_.h, g_.w, g_.c}, mx::float32, std::make_shared<Fold2d>(s, g_), {g})};
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>&) override {
    return {{g_.n, g_.ho, g_.wo, g_.depth()}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const Unfold2d*>(&other);
    return o != nullptr && std::memcmp(&o->g_, &g_, sizeof(ConvGeometry)) == 0;
  }
  DEFINE_NAME(Unfold2d)

 private:
  ConvGeometry g_;
};

/// inputs: x [N, H, W, C], w [O, KH, KW, C], bias [O], pre_scale, pre_bias, post_scale, post_bias [1].
class Conv2dAffineActivation : public mx::UnaryPrimitive {
 public:
  Conv2dAffineActivation(mx::Stream s, ConvGeometry g, int act) : mx::UnaryPrimitive(s), g_(g), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [g = g_, act = act_](std::vector<mx::array>& inputs, mx::array& y) {
      int m = g.rows(), k = g.depth(), n = g.o;
      if (m == 0 || n == 0) return;
      const float* xp = inputs[0].data<float>();
      const float* wp = inputs[1].data<float>();
      const float* bp = inputs[2].data<float>();
      float s1 = inputs[3].data<float>()[0], b1 = inputs[4].data<float>()[0];
      float s2 = inputs[5].data<float>()[0], b2 = inputs[6].data<float>()[0];
      float* yp = y.data<float>();
      // A tile's unfolded rows stay within about 256 KB (the L2 cache of one core).
      int tile = std::clamp(65536 / std::max(k, 1), 16, 512);
      auto rows = [&](int begin, int end) {
        std::vector<float> patches(size_t(std::min(tile, end - begin)) * k);
        for (int t = begin; t < end; t += tile) {
          int u = std::min(end, t + tile);
          unfold_rows(xp, g, t, u, patches.data());
          blas().sgemm(Blas::kRowMajor, Blas::kNoTrans, Blas::kTrans, u - t, n, k, 1.0f, patches.data(), k, wp, k,
                       0.0f, yp + size_t(t) * n, n);
          affine_activation_rows(yp, bp, yp, n, s1, b1, s2, b2, act, t, u);
        }
      };
      size_t flops = size_t(m) * n * k;
      if (blas_threads() == 1) parallel_for(m, flops, rows); else rows(0, m);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("conv2d_affine_activation: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    auto g = g_;
    int act = act_;
    auto s = stream();
    auto composed = [g, act, s](const std::vector<mx::array>& in) {
      return std::vector<mx::array>{conv_then_epilogue(in, g, act, s)};
    };
    auto grads = mx::vjp(composed, primals, cotangents).second;
    std::vector<mx::array> selected;
    for (int arg : argnums) selected.push_back(grads[arg]);
    return selected;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>&) override {
    return {{g_.n, g_.ho, g_.wo, g_.o}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const Conv2dAffineActivation*>(&other);
    return o != nullptr && o->act_ == act_ && std::memcmp(&o->g_, &g_, sizeof(ConvGeometry)) == 0;
  }
  DEFINE_NAME(Conv2dAffineActivation)

 private:
  ConvGeometry g_;
  int act_;
};

} // namespace

extern "C" int cmlx_conv2d_affine_activation(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride,
                                             const int* padding, cmlx_array bias, cmlx_array pre_scale,
                                             cmlx_array pre_bias, int activation, cmlx_array post_scale,
                                             cmlx_array post_bias) {
  CMLX_GUARD({
    const auto& x = input->value;
    const auto& w = weight->value;
    if (x.ndim() != 4 || w.ndim() != 4 || x.shape(3) != w.shape(3)) {
      throw std::invalid_argument("conv2d_affine_activation: expects input [N, H, W, C] and weight [O, KH, KW, C]");
    }
    if (activation < kIdentity || activation > kGELU) {
      throw std::invalid_argument("conv2d_affine_activation: unknown activation");
    }
    if (stride[0] < 1 || stride[1] < 1 || padding[0] < 0 || padding[1] < 0) {
      throw std::invalid_argument("conv2d_affine_activation: strides must be positive and paddings non-negative");
    }
    ConvGeometry g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), w.shape(0), w.shape(1), w.shape(2),
                   stride[0],  stride[1],  padding[0], padding[1], 0,          0};
    g.set_output_size("conv2d_affine_activation");
    auto rest = epilogue_operands(bias, g.o, pre_scale, pre_bias, post_scale, post_bias);
    if (rest[0].size() != size_t(g.o)) {
      throw std::invalid_argument("conv2d_affine_activation: bias must have one value per output channel");
    }
    std::vector<mx::array> inputs{x, w};
    for (auto& v : rest) inputs.push_back(v);
    if (!blas_kernel_applies(inputs)) {
      *out = wrap(conv_then_epilogue(inputs, g, activation));
      return 0;
    }
    for (auto& v : inputs) v = mx::contiguous(v);
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array({g.n, g.ho, g.wo, g.o}, mx::float32,
                          std::make_shared<Conv2dAffineActivation>(stream, g, activation), inputs));
  })
}

extern "C" int cmlx_unfold2d(cmlx_array* out, cmlx_array input, const int* kernel, const int* stride, const int* padding) {
  CMLX_GUARD({
    const auto& x = input->value;
    if (x.ndim() != 4) throw std::invalid_argument("unfold2d: expects input [N, H, W, C]");
    if (kernel[0] < 1 || kernel[1] < 1 || stride[0] < 1 || stride[1] < 1 || padding[0] < 0 || padding[1] < 0) {
      throw std::invalid_argument("unfold2d: kernel sizes and strides must be positive, paddings non-negative");
    }
    ConvGeometry g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), 0, kernel[0], kernel[1],
                   stride[0],  stride[1],  padding[0], padding[1], 0, 0};
    g.set_output_size("unfold2d");
    if (x.dtype() != mx::float32 || mx::default_device() != mx::Device::cpu) {
      // Other dtypes and devices: one strided slice of the padded input per kernel offset.
      auto padded = g.ph == 0 && g.pw == 0 ? x : mx::pad(x, {{0, 0}, {g.ph, g.ph}, {g.pw, g.pw}, {0, 0}});
      std::vector<mx::array> columns;
      for (int i = 0; i < g.kh; i++)
        for (int j = 0; j < g.kw; j++)
          columns.push_back(mx::slice(padded, {0, i, j, 0},
                                      {g.n, i + g.sh * (g.ho - 1) + 1, j + g.sw * (g.wo - 1) + 1, g.c},
                                      {1, g.sh, g.sw, 1}));
      *out = wrap(columns.size() == 1 ? columns[0] : mx::concatenate(columns, -1));
      return 0;
    }
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array({g.n, g.ho, g.wo, g.depth()}, mx::float32, std::make_shared<Unfold2d>(stream, g),
                          {mx::contiguous(x)}));
  })
}
