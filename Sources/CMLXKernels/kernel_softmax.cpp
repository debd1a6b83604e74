// RowSoftmax: softmax / log-softmax over the last axis of a float32 array on the CPU.
//
// MLX 0.32.4's CPU softmax runs a scalar exp (about 15 ns per element here): over the 18,385
// classes of PP-OCRv5 it took longer than the whole backbone. This kernel uses a Cephes-style
// polynomial exp written so the compiler vectorizes it (AVX2 where the CPU has it), splits rows
// across cores, and has its gradient (for CTC training's log-softmax). Relative error of the exp
// is below 2e-7, so results agree with MLX's to float32 rounding.

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_parallel.h"
#include "kernel_common.h"

using namespace cmlx;

namespace {

// MARK: - Kernel


constexpr int kLanes = 16;

OCRTUNE_SIMD_CLONES
void softmax_rows(const float* x, float* y, int cols, bool log, int begin, int end) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * cols;
    float* out = y + size_t(row) * cols;
    float m = lanes_max(in, cols);
    // exp(x − max) into out, summed in double lanes (a float sum over 18k terms drifts by 1e-5).
    double total = exp_shifted_sum<double>(in, out, cols, m);
    float sum = float(total);
    if (log) {
      float lse = m + std::log(sum);
      for (int k = 0; k < cols; k++) out[k] = in[k] - lse;
    } else {
      float inv = 1.0f / sum;
      for (int k = 0; k < cols; k++) out[k] *= inv;
    }
  }
}

/// Per row: the first index of the largest value and its softmax probability, 1 / Σ exp(x − max)
/// summed exactly as softmax_rows does (so it equals the row's largest softmax output).
OCRTUNE_SIMD_CLONES
void best_class_rows(const float* x, uint32_t* index, float* probability, int cols, int begin, int end) {
  for (int row = begin; row < end; row++) {
    const float* in = x + size_t(row) * cols;
    float lanes[kLanes];
    int where[kLanes];
    for (int l = 0; l < kLanes; l++) {
      lanes[l] = -INFINITY;
      where[l] = l;
    }
    int k = 0;
    for (; k + kLanes <= cols; k += kLanes)
      for (int l = 0; l < kLanes; l++) {
        bool more = in[k + l] > lanes[l];
        lanes[l] = more ? in[k + l] : lanes[l];
        where[l] = more ? k + l : where[l];
      }
    float m = -INFINITY;
    int best = 0;
    for (int l = 0; l < kLanes; l++)
      if (lanes[l] > m || (lanes[l] == m && where[l] < best)) {
        m = lanes[l];
        best = where[l];
      }
    for (; k < cols; k++)
      if (in[k] > m) {
        m = in[k];
        best = k;
      }
    double sums[kLanes];
    for (int l = 0; l < kLanes; l++) sums[l] = 0.0;
    k = 0;
    for (; k + kLanes <= cols; k += kLanes)
      for (int l = 0; l < kLanes; l++) sums[l] += exp_poly(in[k + l] - m);
    double total = 0.0;
    for (int l = 0; l < kLanes; l++) total += sums[l];
    for (; k < cols; k++) total += exp_poly(in[k] - m);
    index[row] = uint32_t(best);
    probability[row] = 1.0f / float(total);
  }
}

/// 1 / (1 + exp(−x)), as e / (1 + e) for x < 0 (e = exp(−|x|)), so neither side cancels.
OCRTUNE_SIMD_CLONES
void sigmoid_values(const float* x, float* y, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) {
    float v = x[i];
    float e = exp_poly(v < 0.0f ? v : -v);
    float r = 1.0f / (1.0f + e);
    y[i] = v < 0.0f ? e * r : r;
  }
}

// MARK: - Primitive

class RowSoftmax : public mx::UnaryPrimitive {
 public:
  RowSoftmax(mx::Stream s, bool log) : mx::UnaryPrimitive(s), log_(log) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [log = log_](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& x = inputs[0];
      int cols = x.shape(-1);
      int rows = cols == 0 ? 0 : int(x.size() / cols);
      const float* xp = x.data<float>();
      float* yp = y.data<float>();
      parallel_for(rows, size_t(rows) * cols * 8, [&](int begin, int end) {
        softmax_rows(xp, yp, cols, log, begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("row_softmax: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>& outputs) override {
    const auto& g = cotangents[0];
    if (log_) {
      // d/dx (x − lse(x)) · g = g − softmax(x) · Σg
      auto p = mx::array(primals[0].shape(), mx::float32, std::make_shared<RowSoftmax>(stream(), false),
                         {primals[0]});
      return {mx::subtract(g, mx::multiply(p, mx::sum(g, -1, true, stream()), stream()), stream())};
    }
    const auto& y = outputs[0];
    auto dot = mx::sum(mx::multiply(g, y, stream()), -1, true, stream());
    return {mx::multiply(y, mx::subtract(g, dot, stream()), stream())};
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const RowSoftmax*>(&other);
    return o != nullptr && o->log_ == log_;
  }
  DEFINE_NAME(RowSoftmax)

 private:
  bool log_;
};

/// The logistic sigmoid, element-wise (MLX's CPU sigmoid runs a scalar exp, which made the SiLU
/// activations of PP-OCR's SVTR neck stand out in `PPOCRBench profile`).
class FastSigmoid : public mx::UnaryPrimitive {
 public:
  explicit FastSigmoid(mx::Stream s) : mx::UnaryPrimitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& x = inputs[0];
      size_t n = x.size();
      const float* xp = x.data<float>();
      float* yp = y.data<float>();
      constexpr int kChunk = 4096;
      int chunks = int((n + kChunk - 1) / kChunk);
      parallel_for(chunks, n * 16, [&](int begin, int end) {
        sigmoid_values(xp, yp, size_t(begin) * kChunk, std::min(n, size_t(end) * kChunk));
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("sigmoid: the custom kernel is CPU-only");
  }
  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>& outputs) override {
    const auto& y = outputs[0];
    auto s = stream();
    return {mx::multiply(cotangents[0], mx::multiply(y, mx::subtract(mx::array(1.0f), y, s), s), s)};
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override { return {inputs[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    return dynamic_cast<const FastSigmoid*>(&other) != nullptr;
  }
  DEFINE_NAME(FastSigmoid)
};

/// Outputs: the best class [..] (uint32) and its probability [..] (float32) of logits [.., C].
class BestClass : public mx::Primitive {
 public:
  explicit BestClass(mx::Stream s) : mx::Primitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs, [](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
      const auto& x = inputs[0];
      auto& index = outputs[0];
      auto& probability = outputs[1];
      int cols = x.shape(-1);
      int rows = int(index.size());
      const float* xp = x.data<float>();
      uint32_t* ip = index.data<uint32_t>();
      float* pp = probability.data<float>();
      parallel_for(rows, size_t(rows) * cols * 4, [&](int begin, int end) {
        best_class_rows(xp, ip, pp, cols, begin, end);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("best_class: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    auto shape = inputs[0].shape();
    shape.pop_back();
    return {shape, shape};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    return dynamic_cast<const BestClass*>(&other) != nullptr;
  }
  DEFINE_NAME(BestClass)
};

} // namespace

extern "C" int cmlx_best_class(cmlx_vec* out, cmlx_array logits) {
  CMLX_GUARD({
    const auto& a = logits->value;
    if (a.ndim() == 0 || a.shape(-1) == 0) throw std::invalid_argument("best_class: expects classes on the last axis");
    bool fast = a.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu;
    if (!fast) {
      auto p = mx::softmax(mx::astype(a, mx::float32), -1, true);
      *out = wrap(std::vector<mx::array>{mx::argmax(a, -1), mx::max(p, -1)});
      return 0;
    }
    auto shape = a.shape();
    shape.pop_back();
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array::make_arrays({shape, shape}, {mx::uint32, mx::float32}, std::make_shared<BestClass>(stream),
                                       {mx::contiguous(a)}));
  })
}

namespace cmlx {

mx::array softmax_last_axis(const mx::array& a, bool log) {
  if (a.ndim() == 0) throw std::invalid_argument("softmax: expects at least one axis");
  bool fast = a.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu && a.shape(-1) > 0;
  if (!fast) return log ? mx::subtract(a, mx::logsumexp(a, -1, true)) : mx::softmax(a, -1, true);
  auto stream = mx::default_stream(mx::Device::cpu);
  return mx::array(a.shape(), mx::float32, std::make_shared<RowSoftmax>(stream, log), {mx::contiguous(a)});
}

mx::array sigmoid(const mx::array& a) {
  if (a.dtype() != mx::float32 || mx::default_device() != mx::Device::cpu) return mx::sigmoid(a);
  auto stream = mx::default_stream(mx::Device::cpu);
  return mx::array(a.shape(), mx::float32, std::make_shared<FastSigmoid>(stream), {mx::contiguous(a)});
}

} // namespace cmlx

extern "C" int cmlx_softmax_last_axis(cmlx_array* out, cmlx_array x, bool log) {
  CMLX_RESULT(softmax_last_axis(x->value, log))
}

extern "C" int cmlx_kernel_sigmoid(cmlx_array* out, cmlx_array x) {
  CMLX_RESULT(cmlx::sigmoid(x->value))
}
