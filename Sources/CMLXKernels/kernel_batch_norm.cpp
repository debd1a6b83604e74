// BatchNormTraining: batch normalization in training mode over a channels-last float32 array —
// the batch statistics of each channel, y = (x − mean) / √(var + ε) · weight + bias, and the
// statistics themselves (for the running averages) — and its gradient, each in two passes split
// over the kernel threads. The formulas are PyTorch's `batch_norm` / `batch_norm_backward`
// (the input gradient γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))).
//
// As MLX ops (mean, variance, subtract, rsqrt, multiply, add, and their gradients) a PP-OCRv6
// full fine-tuning step spent about a sixth of its CPU time in single-threaded reductions and
// elementwise passes over each normalized feature map. Sums are accumulated in double per thread
// and added in thread order (deterministic for a given core count); the variance is
// E[x²] − mean², which double keeps exact enough for float inputs.
//
// ChannelAffine, y = x · scale + shift per channel with its gradient (one pass forward, two
// backward), runs a batch norm that keeps its running statistics while training (one folded into
// its convolution by an inference graph), instead of MLX's composed ops.

#include <cmath>
#include <vector>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

// MARK: - Passes

/// Adds Σ x and Σ x² of each channel over rows [begin, end) to s1 and s2 (C each).
OCRTUNE_SIMD_CLONES
void channel_moments(const float* __restrict x, int c, int begin, int end, double* __restrict s1,
                     double* __restrict s2) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    for (int ch = 0; ch < c; ch++) {
      double v = in[ch];
      s1[ch] += v;
      s2[ch] += v * v;
    }
  }
}

/// y = (x − mean) · scale + bias per channel over rows [begin, end): centered first, so that a
/// channel whose mean is far from zero loses no precision (x · scale + shift would cancel).
OCRTUNE_SIMD_CLONES
void normalize_rows(const float* __restrict x, const float* __restrict mean, const float* __restrict scale,
                    const float* __restrict bias, float* __restrict y, int c, int begin, int end) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    float* out = y + size_t(row) * c;
    for (int ch = 0; ch < c; ch++) out[ch] = (in[ch] - mean[ch]) * scale[ch] + bias[ch];
  }
}

/// Adds Σ dy and Σ dy · x̂ (x̂ = (x − mean) · inv) of each channel over rows [begin, end).
OCRTUNE_SIMD_CLONES
void gradient_sums(const float* __restrict x, const float* __restrict dy, const float* __restrict mean,
                   const float* __restrict inv, int c, int begin, int end, double* __restrict sum_dy,
                   double* __restrict sum_dy_xhat) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    const float* g = dy + size_t(row) * c;
    for (int ch = 0; ch < c; ch++) {
      float xhat = (in[ch] - mean[ch]) * inv[ch];
      sum_dy[ch] += g[ch];
      sum_dy_xhat[ch] += double(g[ch]) * xhat;
    }
  }
}

/// dx = a · (dy − b − x̂ · d) + e + f · (x − mean) per channel over rows [begin, end), with
/// a = γ · inv, b = mean(dy), d = mean(dy · x̂), e = dmean / M, f = 2 · dvar / M.
OCRTUNE_SIMD_CLONES
void input_gradient_rows(const float* __restrict x, const float* __restrict dy, const float* __restrict mean,
                         const float* __restrict inv, const float* __restrict a, const float* __restrict b,
                         const float* __restrict d, const float* __restrict e, const float* __restrict f,
                         float* __restrict dx, int c, int begin, int end) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    const float* g = dy + size_t(row) * c;
    float* out = dx + size_t(row) * c;
    for (int ch = 0; ch < c; ch++) {
      float centered = in[ch] - mean[ch];
      float xhat = centered * inv[ch];
      out[ch] = a[ch] * (g[ch] - b[ch] - xhat * d[ch]) + e[ch] + f[ch] * centered;
    }
  }
}

/// The per-thread double sums of `pass` over [0, rows), added in thread order into two [C] arrays.
template <typename Pass>
void summed(int rows, int c, Pass pass, std::vector<double>& first, std::vector<double>& second) {
  size_t work = size_t(rows) * c * 2;
  int parts = parallel_parts(rows, work);
  std::vector<std::vector<double>> a(parts, std::vector<double>(c, 0.0)), b(parts, std::vector<double>(c, 0.0));
  parallel_for_parts(rows, work, [&](int t, int begin, int end) { pass(begin, end, a[t].data(), b[t].data()); });
  first.assign(c, 0.0);
  second.assign(c, 0.0);
  for (int t = 0; t < parts; t++)
    for (int ch = 0; ch < c; ch++) {
      first[ch] += a[t][ch];
      second[ch] += b[t][ch];
    }
}

// MARK: - Gradient

/// inputs: x [..., C], weight [C], mean [C], var [C], dy [..., C], dmean [C], dvar [C].
/// outputs: dx [..., C], dweight [C], dbias [C].
class BatchNormTrainingGrad : public mx::Primitive {
 public:
  BatchNormTrainingGrad(mx::Stream s, float eps) : mx::Primitive(s), eps_(eps) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs, [eps = eps_](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      const float* xp = x.data<float>();
      const float* w = inputs[1].data<float>();
      const float* mean = inputs[2].data<float>();
      const float* var = inputs[3].data<float>();
      const float* dy = inputs[4].data<float>();
      const float* dmean = inputs[5].data<float>();
      const float* dvar = inputs[6].data<float>();
      std::vector<float> inv(c), a(c), b(c), d(c), e(c), f(c);
      for (int ch = 0; ch < c; ch++) inv[ch] = 1.0f / std::sqrt(var[ch] + eps);
      std::vector<double> sum_dy, sum_dy_xhat;
      summed(rows, c, [&](int begin, int end, double* s1, double* s2) {
        gradient_sums(xp, dy, mean, inv.data(), c, begin, end, s1, s2);
      }, sum_dy, sum_dy_xhat);
      double m = std::max(rows, 1);
      float* dw = outputs[1].data<float>();
      float* db = outputs[2].data<float>();
      for (int ch = 0; ch < c; ch++) {
        dw[ch] = float(sum_dy_xhat[ch]);
        db[ch] = float(sum_dy[ch]);
        a[ch] = w[ch] * inv[ch];
        b[ch] = float(sum_dy[ch] / m);
        d[ch] = float(sum_dy_xhat[ch] / m);
        e[ch] = float(dmean[ch] / m);
        f[ch] = float(2.0 * dvar[ch] / m);
      }
      float* dx = outputs[0].data<float>();
      parallel_for(rows, size_t(rows) * c * 2, [&](int begin, int end) {
        input_gradient_rows(xp, dy, mean, inv.data(), a.data(), b.data(), d.data(), e.data(), f.data(), dx, c, begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("batch_norm_training_grad: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {in[0].shape(), {in[0].shape(-1)}, {in[0].shape(-1)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const BatchNormTrainingGrad*>(&other);
    return o != nullptr && o->eps_ == eps_;
  }
  DEFINE_NAME(BatchNormTrainingGrad)

 private:
  float eps_;
};

// MARK: - Forward

/// inputs: x [..., C], weight [C], bias [C]. outputs: y [..., C], mean [C], var [C] (biased).
class BatchNormTraining : public mx::Primitive {
 public:
  BatchNormTraining(mx::Stream s, float eps) : mx::Primitive(s), eps_(eps) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs, [eps = eps_](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      const float* xp = x.data<float>();
      const float* w = inputs[1].data<float>();
      const float* bias = inputs[2].data<float>();
      std::vector<double> s1, s2;
      summed(rows, c, [&](int begin, int end, double* a, double* b) { channel_moments(xp, c, begin, end, a, b); }, s1, s2);
      float* mean = outputs[1].data<float>();
      float* var = outputs[2].data<float>();
      std::vector<float> scale(c);
      double m = std::max(rows, 1);
      for (int ch = 0; ch < c; ch++) {
        double mu = s1[ch] / m;
        double v = std::max(s2[ch] / m - mu * mu, 0.0);
        mean[ch] = float(mu);
        var[ch] = float(v);
        scale[ch] = float(double(w[ch]) / std::sqrt(v + double(eps)));
      }
      float* y = outputs[0].data<float>();
      parallel_for(rows, size_t(rows) * c, [&](int begin, int end) {
        normalize_rows(xp, mean, scale.data(), bias, y, c, begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("batch_norm_training: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>& outputs) override {
    auto s = stream();
    int c = primals[0].shape(-1);
    // A cotangent MLX leaves out (an output the loss does not use) counts as zeros.
    auto cotangent = [&](size_t i, const mx::Shape& shape) {
      return i < cotangents.size() ? mx::contiguous(mx::astype(cotangents[i], mx::float32, s), false, s)
                                   : mx::zeros(shape, mx::float32, s);
    };
    std::vector<mx::array> inputs{primals[0], primals[1], outputs[1], outputs[2], cotangent(0, primals[0].shape()),
                                  cotangent(1, {c}), cotangent(2, {c})};
    auto grads = mx::array::make_arrays({primals[0].shape(), {c}, {c}}, {mx::float32, mx::float32, mx::float32},
                                        std::make_shared<BatchNormTrainingGrad>(s, eps_), inputs);
    std::vector<mx::array> selected;
    for (int arg : argnums) selected.push_back(grads[arg]);
    return selected;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {in[0].shape(), {in[0].shape(-1)}, {in[0].shape(-1)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const BatchNormTraining*>(&other);
    return o != nullptr && o->eps_ == eps_;
  }
  DEFINE_NAME(BatchNormTraining)

 private:
  float eps_;
};

// MARK: - Per-channel affine

/// Adds Σ g and Σ g · x of each channel over rows [begin, end).
OCRTUNE_SIMD_CLONES
void affine_sums(const float* __restrict x, const float* __restrict g, int c, int begin, int end, double* __restrict sum_g,
                 double* __restrict sum_gx) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    const float* gr = g + size_t(row) * c;
    for (int ch = 0; ch < c; ch++) {
      sum_g[ch] += gr[ch];
      sum_gx[ch] += double(gr[ch]) * in[ch];
    }
  }
}

/// y = x · scale + shift per channel over rows [begin, end) (dx = g · scale with shift null).
OCRTUNE_SIMD_CLONES
void affine_rows(const float* __restrict x, const float* __restrict scale, const float* __restrict shift,
                 float* __restrict y, int c, int begin, int end) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    float* out = y + size_t(row) * c;
    if (shift) {
      for (int ch = 0; ch < c; ch++) out[ch] = in[ch] * scale[ch] + shift[ch];
    } else {
      for (int ch = 0; ch < c; ch++) out[ch] = in[ch] * scale[ch];
    }
  }
}

/// inputs: x [..., C], scale [C], g [..., C]. outputs: dx [..., C], dscale [C], dshift [C].
class ChannelAffineGrad : public mx::Primitive {
 public:
  explicit ChannelAffineGrad(mx::Stream s) : mx::Primitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs, [](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      const float* xp = x.data<float>();
      const float* scale = inputs[1].data<float>();
      const float* g = inputs[2].data<float>();
      std::vector<double> sum_g, sum_gx;
      summed(rows, c, [&](int begin, int end, double* a, double* b) { affine_sums(xp, g, c, begin, end, a, b); },
             sum_g, sum_gx);
      for (int ch = 0; ch < c; ch++) {
        outputs[1].data<float>()[ch] = float(sum_gx[ch]);
        outputs[2].data<float>()[ch] = float(sum_g[ch]);
      }
      float* dx = outputs[0].data<float>();
      parallel_for(rows, size_t(rows) * c, [&](int begin, int end) { affine_rows(g, scale, nullptr, dx, c, begin, end); });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("channel_affine_grad: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {in[0].shape(), {in[0].shape(-1)}, {in[0].shape(-1)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    return dynamic_cast<const ChannelAffineGrad*>(&other) != nullptr;
  }
  DEFINE_NAME(ChannelAffineGrad)
};

/// inputs: x [..., C], scale [C], shift [C]. output: x · scale + shift.
class ChannelAffine : public mx::UnaryPrimitive {
 public:
  explicit ChannelAffine(mx::Stream s) : mx::UnaryPrimitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      const float* xp = x.data<float>();
      const float* scale = inputs[1].data<float>();
      const float* shift = inputs[2].data<float>();
      float* yp = y.data<float>();
      parallel_for(rows, size_t(rows) * c, [&](int begin, int end) { affine_rows(xp, scale, shift, yp, c, begin, end); });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("channel_affine: the custom kernel is CPU-only");
  }
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    auto s = stream();
    int c = primals[0].shape(-1);
    auto g = mx::contiguous(mx::astype(cotangents[0], mx::float32, s), false, s);
    auto grads = mx::array::make_arrays({primals[0].shape(), {c}, {c}}, {mx::float32, mx::float32, mx::float32},
                                        std::make_shared<ChannelAffineGrad>(s), {primals[0], primals[1], g});
    std::vector<mx::array> selected;
    for (int arg : argnums) selected.push_back(grads[arg]);
    return selected;
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override { return {in[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    return dynamic_cast<const ChannelAffine*>(&other) != nullptr;
  }
  DEFINE_NAME(ChannelAffine)
};

} // namespace

extern "C" int cmlx_channel_affine(cmlx_array* out, cmlx_array x, cmlx_array scale, cmlx_array shift) {
  CMLX_GUARD({
    const auto& a = x->value;
    if (a.ndim() < 1 || a.shape(-1) == 0) throw std::invalid_argument("channel_affine: expects channels on the last axis");
    int c = a.shape(-1);
    auto k = mx::reshape(scale->value, {-1});
    auto t = mx::reshape(shift->value, {-1});
    if (k.size() != size_t(c) || t.size() != size_t(c)) {
      throw std::invalid_argument("channel_affine: scale and shift must have one value per channel");
    }
    bool fast = a.dtype() == mx::float32 && k.dtype() == mx::float32 && t.dtype() == mx::float32 &&
                mx::default_device() == mx::Device::cpu;
    if (!fast) {
      *out = wrap(mx::add(mx::multiply(a, k), t));
      return 0;
    }
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array(a.shape(), mx::float32, std::make_shared<ChannelAffine>(stream),
                          {mx::contiguous(a), mx::contiguous(k), mx::contiguous(t)}));
  })
}

extern "C" int cmlx_batch_norm_training(cmlx_vec* out, cmlx_array x, cmlx_array weight, cmlx_array bias, float eps) {
  CMLX_GUARD({
    const auto& a = x->value;
    if (a.ndim() < 1 || a.shape(-1) == 0) throw std::invalid_argument("batch_norm_training: expects channels on the last axis");
    int c = a.shape(-1);
    auto w = weight ? mx::reshape(weight->value, {-1}) : mx::ones({c}, a.dtype());
    auto b = bias ? mx::reshape(bias->value, {-1}) : mx::zeros({c}, a.dtype());
    if (w.size() != size_t(c) || b.size() != size_t(c)) {
      throw std::invalid_argument("batch_norm_training: weight and bias must have one value per channel");
    }
    bool fast = a.dtype() == mx::float32 && w.dtype() == mx::float32 && b.dtype() == mx::float32 &&
                mx::default_device() == mx::Device::cpu;
    if (!fast) {
      // Other dtypes and devices: MLX's ops (MLXNN's BatchNorm as composed).
      std::vector<int> axes(a.ndim() - 1);
      for (size_t i = 0; i < axes.size(); i++) axes[i] = int(i);
      auto mean = mx::mean(a, axes);
      auto var = mx::var(a, axes);
      auto y = mx::add(mx::multiply(mx::multiply(mx::subtract(a, mean), mx::rsqrt(mx::add(var, mx::array(eps, var.dtype())))), w), b);
      *out = wrap(std::vector<mx::array>{y, mean, var});
      return 0;
    }
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array::make_arrays({a.shape(), {c}, {c}}, {mx::float32, mx::float32, mx::float32},
                                       std::make_shared<BatchNormTraining>(stream, eps),
                                       {mx::contiguous(a), mx::contiguous(w), mx::contiguous(b)}));
  })
}
