// Custom MLX primitives for kernels whose stock CPU path is slow.
//
// DepthwiseConv2d: a depthwise (groups == channels) 2-D convolution in MLX's NHWC layout
// with its two backward kernels. MLX 0.32.4 runs grouped convolutions on the CPU through
// a generic path, many times slower than PyTorch's on a depthwise 3×3 + pointwise block;
// here the channel axis is innermost and contiguous, so every tap is a vectorizable
// multiply-add over channels, and batches/rows are split across cores.

#include <algorithm>
#include <cstring>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

// MARK: - Kernels (float32, row-contiguous NHWC)

/// Output rows [begin, end) (row = sample · OH + output y) of the forward convolution.
OCRTUNE_SIMD_CLONES
void forward_rows(const float* x, const float* taps, float* y, int h, int wd, int c, int oh, int ow,
                  DepthwiseParams p, int begin, int end) {
  for (int row = begin; row < end; row++) {
    int b = row / oh, oy = row % oh;
    for (int ox = 0; ox < ow; ox++) {
      float* out = y + ((size_t(b) * oh + oy) * ow + ox) * c;
      std::fill(out, out + c, 0.f);
      for (int i = 0; i < p.kh; i++) {
        int iy = oy * p.sh - p.ph + i;
        if (iy < 0 || iy >= h) continue;
        for (int j = 0; j < p.kw; j++) {
          int ix = ox * p.sw - p.pw + j;
          if (ix < 0 || ix >= wd) continue;
          const float* in = x + ((size_t(b) * h + iy) * wd + ix) * c;
          const float* tap = taps + size_t(i * p.kw + j) * c;
          for (int ch = 0; ch < c; ch++) out[ch] += in[ch] * tap[ch];
        }
      }
    }
  }
}

void forward(const float* x, const float* w, float* y, int n, int h, int wd, int c, int oh, int ow,
             const DepthwiseParams& p) {
  auto taps = depthwise_taps(w, c, p.kh, p.kw);
  parallel_for(n * oh, size_t(n) * oh * ow * c * p.kh * p.kw, [&](int begin, int end) {
    forward_rows(x, taps.data(), y, h, wd, c, oh, ow, p, begin, end);
  });
}

/// Samples [begin, end) of the input gradient (they write disjoint parts of dx).
OCRTUNE_SIMD_CLONES
void backward_input_samples(const float* dy, const float* taps, float* dx, int h, int wd, int c, int oh, int ow,
                            DepthwiseParams p, int begin, int end) {
  for (int b = begin; b < end; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float* g = dy + ((size_t(b) * oh + oy) * ow + ox) * c;
        for (int i = 0; i < p.kh; i++) {
          int iy = oy * p.sh - p.ph + i;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < p.kw; j++) {
            int ix = ox * p.sw - p.pw + j;
            if (ix < 0 || ix >= wd) continue;
            float* d = dx + ((size_t(b) * h + iy) * wd + ix) * c;
            const float* tap = taps + size_t(i * p.kw + j) * c;
            for (int ch = 0; ch < c; ch++) d[ch] += g[ch] * tap[ch];
          }
        }
      }
}

void backward_input(const float* dy, const float* w, float* dx, int n, int h, int wd, int c, int oh, int ow,
                    const DepthwiseParams& p) {
  auto taps = depthwise_taps(w, c, p.kh, p.kw);
  std::memset(dx, 0, sizeof(float) * size_t(n) * h * wd * c);
  parallel_for(n, size_t(n) * oh * ow * c * p.kh * p.kw, [&](int begin, int end) {
    backward_input_samples(dy, taps.data(), dx, h, wd, c, oh, ow, p, begin, end);
  });
}

/// Accumulates the weight gradient of rows [begin, end) into acc [KH·KW][C].
OCRTUNE_SIMD_CLONES
void backward_weight_rows(const float* x, const float* dy, float* acc, int h, int wd, int c, int oh, int ow,
                          DepthwiseParams p, int begin, int end) {
  for (int row = begin; row < end; row++) {
    int b = row / oh, oy = row % oh;
    for (int ox = 0; ox < ow; ox++) {
      const float* g = dy + ((size_t(b) * oh + oy) * ow + ox) * c;
      for (int i = 0; i < p.kh; i++) {
        int iy = oy * p.sh - p.ph + i;
        if (iy < 0 || iy >= h) continue;
        for (int j = 0; j < p.kw; j++) {
          int ix = ox * p.sw - p.pw + j;
          if (ix < 0 || ix >= wd) continue;
          const float* in = x + ((size_t(b) * h + iy) * wd + ix) * c;
          float* a = acc + size_t(i * p.kw + j) * c;
          for (int ch = 0; ch < c; ch++) a[ch] += in[ch] * g[ch];
        }
      }
    }
  }
}

void backward_weight(const float* x, const float* dy, float* dw, int n, int h, int wd, int c, int oh, int ow,
                     const DepthwiseParams& p) {
  int rows = n * oh;
  size_t tapsSize = size_t(p.kh) * p.kw * c;
  size_t work = size_t(rows) * ow * tapsSize;
  int threads = parallel_parts(rows, work);
  std::vector<std::vector<float>> partial(threads, std::vector<float>(tapsSize, 0.f));
  parallel_for_parts(rows, work, [&](int t, int begin, int end) {
    backward_weight_rows(x, dy, partial[t].data(), h, wd, c, oh, ow, p, begin, end);
  });
  // Sum the partials in a fixed order (deterministic), transpose to [C, KH, KW, 1].
  for (int ch = 0; ch < c; ch++)
    for (int k = 0; k < p.kh * p.kw; k++) {
      float s = 0.f;
      for (int t = 0; t < threads; t++) s += partial[t][size_t(k) * c + ch];
      dw[size_t(ch) * p.kh * p.kw + k] = s;
    }
}

// MARK: - Primitives

class DepthwiseBase : public mx::UnaryPrimitive {
 public:
  DepthwiseBase(mx::Stream s, DepthwiseParams p) : mx::UnaryPrimitive(s), p_(p) {}
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("depthwise_conv2d: the custom kernel is CPU-only");
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const DepthwiseBase*>(&other);
    return o != nullptr && o->p_ == p_ && std::string(o->name()) == name();
  }

 protected:
  DepthwiseParams p_;

  /// Allocates `out` and schedules `kernel` on the stream's CPU encoder.
  template <typename K>
  void schedule(const std::vector<mx::array>& inputs, mx::array& out, K kernel) {
    dispatch_cpu(stream(), inputs, out,
                 [kernel](std::vector<mx::array>& in, mx::array& y) mutable { kernel(in[0], in[1], y); });
  }
};

class DepthwiseConv2dInputGrad : public DepthwiseBase {
 public:
  DepthwiseConv2dInputGrad(mx::Stream s, DepthwiseParams p) : DepthwiseBase(s, p) {}
  // inputs: dy [N, OH, OW, C], w [C, KH, KW, 1]; output dx [N, H, W, C]
  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    auto p = p_;
    schedule(in, out, [p](mx::array& dy, mx::array& w, mx::array& dx) {
      backward_input(dy.data<float>(), w.data<float>(), dx.data<float>(), dx.shape(0), dx.shape(1), dx.shape(2),
                     dx.shape(3), dy.shape(1), dy.shape(2), p);
    });
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>&) override {
    throw std::runtime_error("DepthwiseConv2dInputGrad: output shape is given at construction");
  }
  DEFINE_NAME(DepthwiseConv2dInputGrad)
};

class DepthwiseConv2dWeightGrad : public DepthwiseBase {
 public:
  DepthwiseConv2dWeightGrad(mx::Stream s, DepthwiseParams p) : DepthwiseBase(s, p) {}
  // inputs: x [N, H, W, C], dy [N, OH, OW, C]; output dw [C, KH, KW, 1]
  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    auto p = p_;
    schedule(in, out, [p](mx::array& x, mx::array& dy, mx::array& dw) {
      backward_weight(x.data<float>(), dy.data<float>(), dw.data<float>(), x.shape(0), x.shape(1), x.shape(2),
                      x.shape(3), dy.shape(1), dy.shape(2), p);
    });
  }
  DEFINE_NAME(DepthwiseConv2dWeightGrad)
};

class DepthwiseConv2d : public DepthwiseBase {
 public:
  DepthwiseConv2d(mx::Stream s, DepthwiseParams p) : DepthwiseBase(s, p) {}
  // inputs: x [N, H, W, C], w [C, KH, KW, 1]; output y [N, OH, OW, C]
  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    auto p = p_;
    schedule(in, out, [p](mx::array& x, mx::array& w, mx::array& y) {
      forward(x.data<float>(), w.data<float>(), y.data<float>(), x.shape(0), x.shape(1), x.shape(2), x.shape(3),
              y.shape(1), y.shape(2), p);
    });
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    auto dy = mx::contiguous(cotangents[0]);
    const auto& x = primals[0];
    const auto& w = primals[1];
    std::vector<mx::array> grads;
    for (int arg : argnums) {
      if (arg == 0) {
        grads.push_back(mx::array(x.shape(), mx::float32, std::make_shared<DepthwiseConv2dInputGrad>(stream(), p_),
                                  {dy, w}));
      } else {
        grads.push_back(mx::array(w.shape(), mx::float32, std::make_shared<DepthwiseConv2dWeightGrad>(stream(), p_),
                                  {x, dy}));
      }
    }
    return grads;
  }
  DEFINE_NAME(DepthwiseConv2d)
};

} // namespace

namespace cmlx {

mx::array depthwise_conv2d(const mx::array& x, const mx::array& w, const int* stride, const int* padding) {
  if (x.ndim() != 4 || w.ndim() != 4 || w.shape(3) != 1 || w.shape(0) != x.shape(3)) {
    throw std::invalid_argument("depthwise_conv2d: expects input [N, H, W, C] and weight [C, KH, KW, 1]");
  }
  DepthwiseParams p{w.shape(1), w.shape(2), stride[0], stride[1], padding[0], padding[1]};
  auto device = mx::default_device();
  bool fast = x.dtype() == mx::float32 && w.dtype() == mx::float32 && device == mx::Device::cpu;
  if (!fast) {
    // Other dtypes and devices: MLX's own grouped convolution.
    return mx::conv2d(x, w, {p.sh, p.sw}, {p.ph, p.pw}, {1, 1}, int(x.shape(3)));
  }
  int oh = (x.shape(1) + 2 * p.ph - p.kh) / p.sh + 1;
  int ow = (x.shape(2) + 2 * p.pw - p.kw) / p.sw + 1;
  if (oh <= 0 || ow <= 0) throw std::invalid_argument("depthwise_conv2d: kernel larger than the padded input");
  auto stream = mx::default_stream(device);
  return mx::array({x.shape(0), oh, ow, x.shape(3)}, mx::float32, std::make_shared<DepthwiseConv2d>(stream, p),
                   {mx::contiguous(x), mx::contiguous(w)});
}

} // namespace cmlx

extern "C" int cmlx_depthwise_conv2d(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride,
                                     const int* padding) {
  CMLX_RESULT(depthwise_conv2d(input->value, weight->value, stride, padding))
}
