// AffineActivation: y = post_scale · act(pre_scale · (x + bias) + pre_bias) + post_bias in one
// pass over a channels-last float32 array (bias per channel, the rest scalars).
//
// This is the epilogue of PP-LCNet's reparameterized layers (conv bias → learnable affine →
// hard-swish → learnable affine). As separate MLX ops it made ten passes over the feature map and
// cost three times the depthwise convolution before it; fused, it is one vectorized pass split
// across cores. Its gradient is one pass too (AffineActivationGrad).

#include <array>
#include <cstring>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

// MARK: - Kernel

namespace {

/// The rows with the activation known at compile time: a runtime `act` inside the vectorized loop
/// is if-converted, so every value would pay for GELU's erf and exp whatever the activation.
template <int Act>
__attribute__((always_inline)) inline void affine_activation_rows_for(const float* x, const float* bias, float* y, int c,
                                                                      float s1, float b1, float s2, float b2, int begin,
                                                                      int end) {
#pragma clang fp contract(off)
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    float* out = y + size_t(row) * c;
    // Each value is read before it is written, so in place (y == x) is safe to vectorize too.
#pragma clang loop vectorize(assume_safety)
    for (int ch = 0; ch < c; ch++) out[ch] = affine_epilogue(bias ? in[ch] + bias[ch] : in[ch], s1, b1, Act, s2, b2);
  }
}

}  // namespace

/// Rows [begin, end) of C channels, each value through ``affine_epilogue`` (bit-identical to
/// MLXNN's composed ops); y may be x.
OCRTUNE_SIMD_CLONES
void cmlx::affine_activation_rows(const float* x, const float* bias, float* y, int c, float s1, float b1, float s2,
                            float b2, int act, int begin, int end) {
  switch (act) {
    case kHardSwish: return affine_activation_rows_for<kHardSwish>(x, bias, y, c, s1, b1, s2, b2, begin, end);
    case kReLU: return affine_activation_rows_for<kReLU>(x, bias, y, c, s1, b1, s2, b2, begin, end);
    case kGELU: return affine_activation_rows_for<kGELU>(x, bias, y, c, s1, b1, s2, b2, begin, end);
    default: return affine_activation_rows_for<kIdentity>(x, bias, y, c, s1, b1, s2, b2, begin, end);
  }
}

namespace {

/// The backward pass of rows [begin, end): dx = s1 · dpre with dpre = g · s2 · act'(pre), and this
/// part's sums for the bias (per channel, double) and the four scalars (16 float lanes per row,
/// then double). The activation's derivative is the composed gradient's: hard-swish gate + pre/6
/// inside (−3, 3), ReLU pre > 0.
/// With the activation known at compile time, as the forward rows (a runtime `act` in the loop is
/// if-converted: every value would pay for GELU's erf and exp).
template <int Act>
__attribute__((always_inline)) inline void affine_activation_grad_rows_for(const float* x, const float* bias, const float* g,
                                                                           float* dx, int c, float s1, float b1, float s2,
                                                                           int begin, int end, double* dbias, double* sums) {
#pragma clang fp contract(off)
  constexpr int kLanes = 16;
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * c;
    const float* gr = g + size_t(row) * c;
    float* out = dx + size_t(row) * c;
    float lanes[4][kLanes] = {};
    for (int c0 = 0; c0 < c; c0 += kLanes) {
      int width = std::min(kLanes, c - c0);
      for (int l = 0; l < width; l++) {
        int ch = c0 + l;
        float z = in[ch] + bias[ch];
        float pre = z * s1 + b1;
        float h = pre, d = 1.0f;
        if constexpr (Act == kHardSwish) {
          float gate = pre * float(1.0 / 6.0) + 0.5f;
          gate = gate > 0.0f ? gate : 0.0f;
          gate = gate < 1.0f ? gate : 1.0f;
          h = pre * gate;
          d = gate + (pre > -3.0f && pre < 3.0f ? pre * float(1.0 / 6.0) : 0.0f);
        } else if constexpr (Act == kReLU) {
          h = pre > 0.0f ? pre : 0.0f;
          d = pre > 0.0f ? 1.0f : 0.0f;
        } else if constexpr (Act == kGELU) {
          gelu_and_grad_poly(pre, h, d);
        }
        float dpre = gr[ch] * s2 * d;
        out[ch] = dpre * s1;
        dbias[ch] += dpre;
        lanes[0][l] += dpre * z;
        lanes[1][l] += dpre;
        lanes[2][l] += gr[ch] * h;
        lanes[3][l] += gr[ch];
      }
    }
    for (int k = 0; k < 4; k++)
      for (int l = 0; l < kLanes; l++) sums[k] += lanes[k][l];
  }
}

OCRTUNE_SIMD_CLONES
void affine_activation_grad_rows(const float* x, const float* bias, const float* g, float* dx, int c, float s1,
                                 float b1, float s2, int act, int begin, int end, double* dbias, double* sums) {
  switch (act) {
    case kHardSwish: return affine_activation_grad_rows_for<kHardSwish>(x, bias, g, dx, c, s1, b1, s2, begin, end, dbias, sums);
    case kReLU: return affine_activation_grad_rows_for<kReLU>(x, bias, g, dx, c, s1, b1, s2, begin, end, dbias, sums);
    case kGELU: return affine_activation_grad_rows_for<kGELU>(x, bias, g, dx, c, s1, b1, s2, begin, end, dbias, sums);
    default: return affine_activation_grad_rows_for<kIdentity>(x, bias, g, dx, c, s1, b1, s2, begin, end, dbias, sums);
  }
}

// MARK: - Primitives

/// The gradients of AffineActivation in one pass. inputs: x [..., C], bias [C], pre_scale, pre_bias,
/// post_scale, post_bias [1], cotangent [..., C]. outputs: dx, dbias [C], d pre_scale, d pre_bias,
/// d post_scale, d post_bias [1]. Per-thread partial sums are added in thread order
/// (deterministic for a given core count).
class AffineActivationGrad : public mx::Primitive {
 public:
  AffineActivationGrad(mx::Stream s, int act) : mx::Primitive(s), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs, [act = act_](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      float s1 = inputs[2].data<float>()[0], b1 = inputs[3].data<float>()[0], s2 = inputs[4].data<float>()[0];
      size_t work = size_t(rows) * c * 4;
      int parts = parallel_parts(rows, work);
      std::vector<std::vector<double>> dbias(parts, std::vector<double>(c, 0.0));
      std::vector<std::array<double, 4>> sums(parts, {0, 0, 0, 0});
      parallel_for_parts(rows, work, [&](int t, int b, int e) {
        affine_activation_grad_rows(x.data<float>(), inputs[1].data<float>(), inputs[6].data<float>(),
                                    outputs[0].data<float>(), c, s1, b1, s2, act, b, e, dbias[t].data(),
                                    sums[t].data());
      });
      float* db = outputs[1].data<float>();
      for (int ch = 0; ch < c; ch++) {
        double total = 0;
        for (int t = 0; t < parts; t++) total += dbias[t][ch];
        db[ch] = float(total * s1);
      }
      for (int k = 0; k < 4; k++) {
        double total = 0;
        for (int t = 0; t < parts; t++) total += sums[t][k];
        outputs[2 + k].data<float>()[0] = float(total);
      }
    });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("affine_activation_grad: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape(), {inputs[0].shape(-1)}, {1}, {1}, {1}, {1}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const AffineActivationGrad*>(&other);
    return o != nullptr && o->act_ == act_;
  }
  DEFINE_NAME(AffineActivationGrad)

 private:
  int act_;
};

/// inputs: x [..., C], bias [C], pre_scale [1], pre_bias [1], post_scale [1], post_bias [1].
class AffineActivation : public mx::UnaryPrimitive {
 public:
  AffineActivation(mx::Stream s, int act) : mx::UnaryPrimitive(s), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [act = act_](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& x = inputs[0];
      int c = x.shape(-1);
      int rows = c == 0 ? 0 : int(x.size() / c);
      const float* xp = x.data<float>();
      const float* bp = inputs[1].data<float>();
      float s1 = inputs[2].data<float>()[0], b1 = inputs[3].data<float>()[0];
      float s2 = inputs[4].data<float>()[0], b2 = inputs[5].data<float>()[0];
      float* yp = y.data<float>();
      parallel_for(rows, size_t(rows) * c * 4, [&](int begin, int end) {
        affine_activation_rows(xp, bp, yp, c, s1, b1, s2, b2, act, begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("affine_activation: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& p, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    auto s = stream();
    const auto& g = cotangents[0];
    if (g.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu) {
      // One pass for every gradient (the composed form below made ten over the feature map).
      std::vector<mx::array> inputs(p.begin(), p.end());
      inputs.push_back(mx::contiguous(g, false, s));
      auto c = p[0].shape(-1);
      auto grads = mx::array::make_arrays({p[0].shape(), {c}, {1}, {1}, {1}, {1}}, std::vector<mx::Dtype>(6, mx::float32),
                                          std::make_shared<AffineActivationGrad>(s, act_), inputs);
      std::vector<mx::array> selected;
      for (int arg : argnums) selected.push_back(grads[arg]);
      return selected;
    }
    auto pre = mx::add(mx::multiply(mx::add(p[0], p[1], s), p[2], s), p[3], s);  // the activation's input
    mx::array h = pre, dact = mx::ones_like(pre, s);
    if (act_ == kHardSwish) {
      auto gate = mx::clip(mx::add(mx::multiply(pre, mx::array(float(1.0 / 6.0)), s), mx::array(0.5f), s),
                           mx::array(0.0f), mx::array(1.0f), s);
      h = mx::multiply(pre, gate, s);
      // d/dv [v · clip(v/6 + 1/2, 0, 1)] = gate + v/6 inside (−3, 3), else gate.
      auto inside = mx::logical_and(mx::greater(pre, mx::array(-3.0f), s), mx::less(pre, mx::array(3.0f), s), s);
      dact = mx::add(gate, mx::where(inside, mx::multiply(pre, mx::array(float(1.0 / 6.0)), s), mx::array(0.0f), s), s);
    } else if (act_ == kReLU) {
      h = mx::maximum(pre, mx::array(0.0f), s);
      dact = mx::astype(mx::greater(pre, mx::array(0.0f), s), mx::float32, s);
    } else if (act_ == kGELU) {
      auto cdf = mx::multiply(mx::add(mx::erf(mx::multiply(pre, mx::array(0.70710678118654752f), s), s), mx::array(1.0f), s),
                              mx::array(0.5f), s);
      h = mx::multiply(pre, cdf, s);
      auto pdf = mx::multiply(mx::exp(mx::multiply(mx::square(pre, s), mx::array(-0.5f), s), s), mx::array(0.39894228040143268f), s);
      dact = mx::add(cdf, mx::multiply(pre, pdf, s), s);
    }
    auto dpre = mx::multiply(mx::multiply(g, p[4], s), dact, s);  // d loss / d pre
    auto all = [&](const mx::array& a) { return mx::reshape(mx::sum(a, s), {1}, s); };
    std::vector<int> leading(p[0].ndim() - 1);
    for (size_t i = 0; i < leading.size(); i++) leading[i] = int(i);
    std::vector<mx::array> grads;
    for (int arg : argnums) {
      switch (arg) {
        case 0: grads.push_back(mx::multiply(dpre, p[2], s)); break;
        case 1: grads.push_back(mx::multiply(mx::sum(dpre, leading, false, s), p[2], s)); break;
        case 2: grads.push_back(all(mx::multiply(dpre, mx::add(p[0], p[1], s), s))); break;
        case 3: grads.push_back(all(dpre)); break;
        case 4: grads.push_back(all(mx::multiply(g, h, s))); break;
        default: grads.push_back(all(g)); break;
      }
    }
    return grads;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const AffineActivation*>(&other);
    return o != nullptr && o->act_ == act_;
  }
  DEFINE_NAME(AffineActivation)

 private:
  int act_;
};

} // namespace

namespace cmlx {

/// GELU in MLX's ops, in v's dtype: v · (1 + erf(v/√2)) / 2 (for other dtypes and devices).
static mx::array composed_gelu(const mx::array& v) {
  auto k = [t = v.dtype()](float c) { return mx::array(c, t); };
  return mx::multiply(mx::multiply(v, mx::add(mx::erf(mx::multiply(v, k(0.70710678118654752f))), k(1.0f))), k(0.5f));
}

mx::array affine_activation(const mx::array& a, const std::optional<mx::array>& bias,
                            const std::optional<mx::array>& pre_scale, const std::optional<mx::array>& pre_bias,
                            int activation, const std::optional<mx::array>& post_scale,
                            const std::optional<mx::array>& post_bias) {
  if (a.ndim() == 0) throw std::invalid_argument("affine_activation: expects a channels-last array");
  if (activation < kIdentity || activation > kGELU) throw std::invalid_argument("affine_activation: unknown activation");
  int c = a.shape(-1);
  auto scalar = [](const std::optional<mx::array>& v, float fallback) {
    return v ? mx::reshape(mx::astype(*v, mx::float32), {1}) : mx::array({fallback});
  };
  auto b = bias ? *bias : mx::zeros({c}, mx::float32);
  if (b.size() != size_t(c)) throw std::invalid_argument("affine_activation: bias must have one value per channel");
  std::vector<mx::array> inputs{a, mx::reshape(b, {c}), scalar(pre_scale, 1), scalar(pre_bias, 0),
                                scalar(post_scale, 1), scalar(post_bias, 0)};
  bool fast = a.dtype() == mx::float32 && b.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu;
  for (auto& v : inputs) if (v.size() == 1 && v.dtype() != mx::float32) fast = false;
  if (!fast) {
    // Other dtypes and devices: the same arithmetic in MLX ops, in the input's dtype.
    auto t = a.dtype();
    auto k = [t](float v) { return mx::array(v, t); };
    for (size_t i = 1; i < inputs.size(); i++) inputs[i] = mx::astype(inputs[i], t);
    auto v = mx::add(mx::multiply(mx::add(a, inputs[1]), inputs[2]), inputs[3]);
    if (activation == kHardSwish) {
      v = mx::multiply(v, mx::minimum(mx::maximum(mx::add(mx::multiply(v, k(float(1.0 / 6.0))), k(0.5f)), k(0.0f)), k(1.0f)));
    } else if (activation == kReLU) {
      v = mx::maximum(v, k(0.0f));
    } else if (activation == kGELU) {
      v = composed_gelu(v);
    }
    return mx::add(mx::multiply(v, inputs[4]), inputs[5]);
  }
  for (auto& v : inputs) v = mx::contiguous(v);
  auto stream = mx::default_stream(mx::Device::cpu);
  return mx::array(a.shape(), mx::float32, std::make_shared<AffineActivation>(stream, activation), inputs);
}

std::vector<mx::array> epilogue_operands(cmlx_array bias, int channels, cmlx_array pre_scale, cmlx_array pre_bias,
                                         cmlx_array post_scale, cmlx_array post_bias) {
  auto scalar = [](cmlx_array v, float fallback) { return v ? mx::reshape(v->value, {1}) : mx::array({fallback}); };
  return {bias ? mx::reshape(bias->value, {-1}) : mx::zeros({channels}, mx::float32), scalar(pre_scale, 1),
          scalar(pre_bias, 0), scalar(post_scale, 1), scalar(post_bias, 0)};
}

} // namespace cmlx

extern "C" int cmlx_affine_activation(cmlx_array* out, cmlx_array x, cmlx_array bias, cmlx_array pre_scale,
                                      cmlx_array pre_bias, int activation, cmlx_array post_scale,
                                      cmlx_array post_bias) {
  CMLX_RESULT(affine_activation(x->value, optional(bias), optional(pre_scale), optional(pre_bias), activation,
                                optional(post_scale), optional(post_bias)))
}

extern "C" int cmlx_kernel_gelu(cmlx_array* out, cmlx_array x) {
  CMLX_GUARD({
    const auto& a = x->value;
    if (a.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu && a.ndim() > 0) {
      *out = wrap(affine_activation(a, std::nullopt, std::nullopt, std::nullopt, kGELU, std::nullopt, std::nullopt));
    } else {
      *out = wrap(composed_gelu(a));
    }
  })
}
