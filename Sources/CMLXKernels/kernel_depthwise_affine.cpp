// DepthwiseAffineActivation: a depthwise convolution followed by the PP-LCNet epilogue
// (conv bias → learnable affine → activation → learnable affine) in one pass, for inference.
//
// The separate kernels (shim_kernels.cpp's depthwise conv, then shim_fused.cpp's epilogue) load
// and store each output channel once per tap and then walk the feature map again. Here a block
// of 16 channels × 8 output columns is accumulated in vector registers over all taps (each
// kernel row's input columns loaded once), the epilogue is applied to the registers, and the
// block is stored once. The arithmetic is the same, in the
// same order and without fused multiply-adds, so the result is bit-identical to the two kernels
// composed. The gradient is that of the composition (the two primitives' own gradients).

#include <algorithm>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

struct Epilogue {
  const float* bias;  // [C]
  float s1, b1, s2, b2;
  int act;
};

// MARK: - Kernel

constexpr int kChannels = 16;  // channels per register block
constexpr int kColumns = 8;    // output columns per register block

/// 16 floats, loaded and stored unaligned; a 512-bit register with AVX-512, two or four narrower
/// ones otherwise (clang's vector extension: element-wise operators, no fused multiply-adds here).
typedef float Lanes __attribute__((vector_size(64), aligned(4)));
#define LOAD_LANES(p) (*reinterpret_cast<const Lanes*>(p))
#define STORE_LANES(p, v) (*reinterpret_cast<Lanes*>(p) = (v))

/// One kernel row's taps into a block's accumulators: the (kColumns − 1)·SW + KW input columns
/// the block reads are loaded once into registers (a padding column points at zeros), then each
/// tap multiplies the KW·kColumns pairs. `columns[t]` is input column t of the block.
template <int KW, int SW>
__attribute__((always_inline)) inline void accumulate_kernel_row(const float* const* columns, const float* taps,
                                                                 size_t c, Lanes* acc) {
#pragma clang fp contract(off)
  constexpr int kInputs = (kColumns - 1) * SW + KW;
  Lanes v[kInputs];
#pragma unroll
  for (int t = 0; t < kInputs; t++) v[t] = LOAD_LANES(columns[t]);
#pragma unroll
  for (int j = 0; j < KW; j++) {
    Lanes tap = LOAD_LANES(taps + j * c);
#pragma unroll
    for (int q = 0; q < kColumns; q++) acc[q] = acc[q] + v[q * SW + j] * tap;
  }
}

/// The same for any kernel width and stride.
__attribute__((always_inline)) inline void accumulate_kernel_row(const float* const* columns, const float* taps,
                                                                 size_t c, int kw, int sw, Lanes* acc) {
#pragma clang fp contract(off)
  for (int j = 0; j < kw; j++) {
    Lanes tap = LOAD_LANES(taps + j * c);
    for (int q = 0; q < kColumns; q++) acc[q] = acc[q] + LOAD_LANES(columns[q * sw + j]) * tap;
  }
}

/// Output rows [begin, end) (row = sample · OH + output y). Blocks of 16 channels × 8 columns
/// are accumulated in registers over all taps in the separate kernel's order, so padding taps
/// add +0 to sums that are never −0 and the result is bit-identical to it. A channel count that
/// is not a multiple of 16 (but at least 16) ends with a block overlapping the one before it;
/// fewer than 16 channels take the scalar path.
OCRTUNE_SIMD_CLONES_WIDE
void depthwise_affine_rows(const float* x, const float* taps, float* y, int h, int wd, int c, int oh, int ow,
                           DepthwiseParams p, Epilogue e, const float* zeros, int begin, int end) {
#pragma clang fp contract(off)  // round as the separate kernels do
  const Lanes zero = {};
  const Lanes one = zero + 1.0f;
  const int inputs = (kColumns - 1) * p.sw + p.kw;  // input columns a block reads
  const int shape = p.kw * 10 + p.sw;                 // the geometries with an unrolled path
  const float* columns[(kColumns - 1) * 4 + 16];      // strides up to 4, kernels up to 16 wide
  const bool vectorized = c >= kChannels && p.sw <= 4 && p.kw <= 16;
  for (int row = begin; row < end; row++) {
    int b = row / oh, oy = row % oh;
    float* out_row = y + (size_t(b) * oh + oy) * ow * c;
    // Column blocks outermost: a block's channel blocks read the same pixels' consecutive lines.
    for (int ox0 = 0; vectorized && ox0 < ow; ox0 += kColumns) {
      for (int cb = 0; cb < c; cb += kChannels) {
        cb = std::min(cb, c - kChannels);
        Lanes bias = LOAD_LANES(e.bias + cb);
        Lanes acc[kColumns];
        for (int q = 0; q < kColumns; q++) acc[q] = zero;
        int ix0 = ox0 * p.sw - p.pw;
        for (int i = 0; i < p.kh; i++) {
          int iy = oy * p.sh - p.ph + i;
          if (iy < 0 || iy >= h) continue;
          const float* in_row = x + (size_t(b) * h + iy) * wd * c + cb;
          for (int t = 0; t < inputs; t++) {
            int ix = ix0 + t;
            columns[t] = ix >= 0 && ix < wd ? in_row + size_t(ix) * c : zeros;
          }
          // The next column block's new input columns, for the same channels.
          for (int t = inputs; t < inputs + kColumns * p.sw; t++) {
            int ix = ix0 + t;
            if (ix < wd) __builtin_prefetch(in_row + size_t(ix) * c);
          }
          const float* row_taps = taps + size_t(i * p.kw) * c + cb;
          switch (shape) {
            case 31: accumulate_kernel_row<3, 1>(columns, row_taps, c, acc); break;
            case 32: accumulate_kernel_row<3, 2>(columns, row_taps, c, acc); break;
            case 51: accumulate_kernel_row<5, 1>(columns, row_taps, c, acc); break;
            case 52: accumulate_kernel_row<5, 2>(columns, row_taps, c, acc); break;
            default: accumulate_kernel_row(columns, row_taps, c, p.kw, p.sw, acc); break;
          }
        }
        int xw = std::min(kColumns, ow - ox0);
        for (int q = 0; q < xw; q++) {
          Lanes v = acc[q] + bias;
          v = v * e.s1 + e.b1;
          if (e.act == kHardSwish) {
            Lanes g = v * float(1.0 / 6.0) + 0.5f;
            g = g > zero ? g : zero;
            g = g < one ? g : one;
            v = v * g;
          } else if (e.act == kReLU) {
            v = v > zero ? v : zero;
          }
          STORE_LANES(out_row + size_t(ox0 + q) * c + cb, v * e.s2 + e.b2);
        }
      }
    }
    if (vectorized) continue;
    // Fewer than 16 channels (or an unusual geometry): the same arithmetic, one value at a time.
    for (int ox = 0; ox < ow; ox++) {
      float* out = out_row + size_t(ox) * c;
      for (int l = 0; l < c; l++) {
        float a = 0.0f;
        for (int i = 0; i < p.kh; i++) {
          int iy = oy * p.sh - p.ph + i;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < p.kw; j++) {
            int ix = ox * p.sw - p.pw + j;
            if (ix < 0 || ix >= wd) continue;
            a += x[((size_t(b) * h + iy) * wd + ix) * c + l] * taps[size_t(i * p.kw + j) * c + l];
          }
        }
        out[l] = affine_epilogue(a + e.bias[l], e.s1, e.b1, e.act, e.s2, e.b2);
      }
    }
  }
}

// MARK: - Primitive

/// inputs: x [N, H, W, C], w [C, KH, KW, 1], bias [C], pre_scale, pre_bias, post_scale, post_bias [1].
class DepthwiseAffineActivation : public mx::UnaryPrimitive {
 public:
  DepthwiseAffineActivation(mx::Stream s, DepthwiseParams p, int act) : mx::UnaryPrimitive(s), p_(p), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [p = p_, act = act_](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& x = inputs[0];
      int n = x.shape(0), h = x.shape(1), wd = x.shape(2), c = x.shape(3);
      int oh = y.shape(1), ow = y.shape(2);
      auto taps = depthwise_taps(inputs[1].data<float>(), c, p.kh, p.kw);
      Epilogue e{inputs[2].data<float>(), inputs[3].data<float>()[0], inputs[4].data<float>()[0],
                 inputs[5].data<float>()[0], inputs[6].data<float>()[0], act};
      const float* xp = x.data<float>();
      float* yp = y.data<float>();
      const std::vector<float> zeros(kChannels, 0.0f);  // what padding columns read
      parallel_for(n * oh, size_t(n) * oh * ow * c * p.kh * p.kw, [&](int begin, int end) {
        depthwise_affine_rows(xp, taps.data(), yp, h, wd, c, oh, ow, p, e, zeros.data(), begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("depthwise_affine_activation: the custom kernel is CPU-only");
  }

  /// The gradient of the composition depthwise_conv2d → affine_activation.
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    DepthwiseParams p = p_;
    int act = act_;
    auto composed = [p, act](const std::vector<mx::array>& in) {
      int stride[2] = {p.sh, p.sw}, padding[2] = {p.ph, p.pw};
      auto z = depthwise_conv2d(in[0], in[1], stride, padding);
      return std::vector<mx::array>{affine_activation(z, in[2], in[3], in[4], act, in[5], in[6])};
    };
    auto grads = mx::vjp(composed, primals, cotangents).second;
    std::vector<mx::array> selected;
    for (int arg : argnums) selected.push_back(grads[arg]);
    return selected;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>&) override {
    throw std::runtime_error("DepthwiseAffineActivation: output shape is given at construction");
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const DepthwiseAffineActivation*>(&other);
    return o != nullptr && o->p_ == p_ && o->act_ == act_;
  }
  DEFINE_NAME(DepthwiseAffineActivation)

 private:
  DepthwiseParams p_;
  int act_;
};

} // namespace

extern "C" int cmlx_depthwise_affine_activation(cmlx_array* out, cmlx_array input, cmlx_array weight,
                                                const int* stride, const int* padding, cmlx_array bias,
                                                cmlx_array pre_scale, cmlx_array pre_bias, int activation,
                                                cmlx_array post_scale, cmlx_array post_bias) {
  CMLX_GUARD({
    const auto& x = input->value;
    const auto& w = weight->value;
    if (x.ndim() != 4 || w.ndim() != 4 || w.shape(3) != 1 || w.shape(0) != x.shape(3)) {
      throw std::invalid_argument("depthwise_affine_activation: expects input [N, H, W, C] and weight [C, KH, KW, 1]");
    }
    if (activation < kIdentity || activation > kReLU) {
      throw std::invalid_argument("depthwise_affine_activation: unknown activation");
    }
    int c = x.shape(3);
    auto rest = epilogue_operands(bias, c, pre_scale, pre_bias, post_scale, post_bias);
    bool fast = x.dtype() == mx::float32 && w.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu &&
                rest[0].size() == size_t(c);
    for (auto& v : rest) fast = fast && v.dtype() == mx::float32;
    if (!fast) {
      auto z = depthwise_conv2d(x, w, stride, padding);
      *out = wrap(affine_activation(z, rest[0], rest[1], rest[2], activation, rest[3], rest[4]));
      return 0;
    }
    DepthwiseParams p{w.shape(1), w.shape(2), stride[0], stride[1], padding[0], padding[1]};
    int oh = (x.shape(1) + 2 * p.ph - p.kh) / p.sh + 1;
    int ow = (x.shape(2) + 2 * p.pw - p.kw) / p.sw + 1;
    if (oh <= 0 || ow <= 0) {
      throw std::invalid_argument("depthwise_affine_activation: kernel larger than the padded input");
    }
    std::vector<mx::array> inputs{mx::contiguous(x), mx::contiguous(w)};
    for (auto& v : rest) inputs.push_back(mx::contiguous(v));
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array({x.shape(0), oh, ow, c}, mx::float32,
                          std::make_shared<DepthwiseAffineActivation>(stream, p, activation), inputs));
  })
}
