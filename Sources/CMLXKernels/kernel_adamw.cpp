// AdamW's update of one float32 parameter in one pass: torch.optim.AdamW's arithmetic, in the order
// and float32 roundings of MLXOptimizers.AdamW's composition, so the results are bit-identical.
//
// The composition is a dozen elementwise MLX ops per parameter, each a pass over memory on one
// thread with its own output buffer (fresh pages from the kernel for every large one). A Linear
// weight's gradient arrives transposed (the vjp of x·Wᵀ), and MLX's strided path for the first
// op that meets it walks the transposed matrix column by column: in a TrOCR-base-shaped full
// fine-tuning step (340 M parameters) the optimizer was about a fifth of the CPU time (perf). Here
// the parameter's and the moments' buffers are written in place when the engine may donate them
// (fresh pages cost as much as the arithmetic), a transposed gradient is read in 64 × 64 tiles,
// eight lanes go at once, and the work is split over the kernel threads: about 2% of that step.
//
// Per element, with m, v zero on the first step:
//   m' = m·β₁ + g·(1 − β₁)        v' = v·β₂ + g²·(1 − β₂)
//   p' = p·decay − lr · (m' / c₁) / (√(v' / c₂) + ε)
// where c₁, c₂ are the bias corrections and decay = 1 − lr·wd (1 when the parameter does not decay).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

#pragma clang fp contract(off)

struct AdamWScalars {
  float lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, correction1, correction2, decay;
  bool operator==(const AdamWScalars&) const = default;
};

/// Eight lanes: the same operations, each correctly rounded per lane (division and square root
/// included), so a lane's result equals the scalar loop's. Written with vector types because the
/// scalar loop does not vectorize (`std::sqrt` keeps its errno branch).
typedef float f32x8 __attribute__((ext_vector_type(8)));
// The helpers taking and returning f32x8 are internal and inlined into each target clone, so the
// AVX/non-AVX calling-convention difference clang warns about never crosses a call.
#pragma clang diagnostic ignored "-Wpsabi"

inline f32x8 square_root(f32x8 x) { return __builtin_elementwise_sqrt(x); }
inline float square_root(float x) { return std::sqrt(x); }

template <typename T>
inline T adamw_element(T p, T g, T m, T v, const AdamWScalars& s, T& m_new, T& v_new) {
  T m_decayed = m * s.beta1;
  T g_part = g * s.one_minus_beta1;
  m_new = m_decayed + g_part;
  T v_decayed = v * s.beta2;
  T g_squared = g * g;
  T g2_part = g_squared * s.one_minus_beta2;
  v_new = v_decayed + g2_part;
  T m_hat = m_new / s.correction1;
  T v_hat = v_new / s.correction2;
  T denominator = square_root(v_hat) + s.eps;
  T direction = m_hat / denominator;
  T weights = p * s.decay;
  T step = direction * s.lr;
  return weights - step;
}

inline f32x8 load8(const float* a) {
  f32x8 x;
  __builtin_memcpy(&x, a, sizeof x);
  return x;
}
inline void store8(float* a, f32x8 x) { __builtin_memcpy(a, &x, sizeof x); }

/// The update of n elements; g is contiguous here, m and v are null on the first step (zero).
/// p_out may be p, m_out m and v_out v (donated buffers): each element is read before it is written.
template <bool First>
__attribute__((always_inline)) inline void adamw_values_impl(const float* p, const float* g, const float* m, const float* v, float* p_out,
                                           float* m_out, float* v_out, size_t n, AdamWScalars s) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f32x8 m_new, v_new;
    f32x8 zero = 0.0f;
    f32x8 p_new = adamw_element<f32x8>(load8(p + i), load8(g + i), First ? zero : load8(m + i),
                                       First ? zero : load8(v + i), s, m_new, v_new);
    store8(p_out + i, p_new);
    store8(m_out + i, m_new);
    store8(v_out + i, v_new);
  }
  for (; i < n; i++) {
    float m_new, v_new;
    p_out[i] = adamw_element<float>(p[i], g[i], First ? 0.0f : m[i], First ? 0.0f : v[i], s, m_new, v_new);
    m_out[i] = m_new;
    v_out[i] = v_new;
  }
}

OCRTUNE_SIMD_CLONES
void adamw_values_next(const float* p, const float* g, const float* m, const float* v, float* p_out, float* m_out,
                       float* v_out, size_t n, AdamWScalars s) {
  adamw_values_impl<false>(p, g, m, v, p_out, m_out, v_out, n, s);
}

OCRTUNE_SIMD_CLONES
void adamw_values_first(const float* p, const float* g, float* p_out, float* m_out, float* v_out, size_t n,
                        AdamWScalars s) {
  adamw_values_impl<true>(p, g, nullptr, nullptr, p_out, m_out, v_out, n, s);
}

void adamw_values(const float* p, const float* g, const float* m, const float* v, float* p_out, float* m_out,
                  float* v_out, size_t n, AdamWScalars s) {
  if (m && v) {
    adamw_values_next(p, g, m, v, p_out, m_out, v_out, n, s);
  } else {
    adamw_values_first(p, g, p_out, m_out, v_out, n, s);
  }
}

/// A contiguous float32 copy of `a` in row-major order, written by strides (any layout).
std::vector<float> gathered(const mx::array& a) {
  std::vector<float> out(a.size());
  const float* src = a.data<float>();
  int nd = int(a.ndim());
  std::vector<int> index(size_t(std::max(nd, 1)), 0);
  for (size_t i = 0; i < out.size(); i++) {
    int64_t offset = 0;
    for (int d = 0; d < nd; d++) offset += int64_t(index[size_t(d)]) * a.strides()[size_t(d)];
    out[i] = src[offset];
    for (int d = nd - 1; d >= 0; d--) {
      if (++index[size_t(d)] < a.shape(d)) break;
      index[size_t(d)] = 0;
    }
  }
  return out;
}

/// Whether `a` is a 2-D matrix stored transposed (column-major): strides {1, rows}.
bool column_major(const mx::array& a) {
  return a.ndim() == 2 && a.strides()[0] == 1 && a.strides()[1] == int64_t(a.shape(0));
}

void adamw(std::vector<mx::array>& in, std::vector<mx::array>& outs, AdamWScalars s, bool first) {
  const auto& g = in[1];
  size_t n = g.size();
  const float* p = in[0].data<float>();
  const float* m = first ? nullptr : in[2].data<float>();
  const float* v = first ? nullptr : in[3].data<float>();
  float* p_out = outs[0].data<float>();
  float* m_out = outs[1].data<float>();
  float* v_out = outs[2].data<float>();

  if (g.flags().row_contiguous) {
    const float* gp = g.data<float>();
    constexpr size_t kChunk = 16384;
    int chunks = int((n + kChunk - 1) / kChunk);
    parallel_for(chunks, n * 16, [&](int begin, int end) {
      size_t b = size_t(begin) * kChunk, e = std::min(n, size_t(end) * kChunk);
      adamw_values(p + b, gp + b, m ? m + b : nullptr, v ? v + b : nullptr, p_out + b, m_out + b, v_out + b, e - b, s);
    });
    return;
  }
  if (column_major(g)) {
    // g(r, c) at gp[r + c·rows]: 64 × 64 tiles transposed into a local buffer, then updated row by row.
    constexpr int kTile = 64;
    const float* gp = g.data<float>();
    int rows = g.shape(0), cols = g.shape(1);
    int row_tiles = (rows + kTile - 1) / kTile;
    parallel_for(row_tiles, n * 16, [&](int begin, int end) {
      float tile[kTile * kTile];
      for (int rt = begin; rt < end; rt++) {
        int r0 = rt * kTile, nr = std::min(kTile, rows - r0);
        for (int c0 = 0; c0 < cols; c0 += kTile) {
          int nc = std::min(kTile, cols - c0);
          for (int c = 0; c < nc; c++) {
            const float* column = gp + size_t(c0 + c) * size_t(rows) + size_t(r0);
            for (int r = 0; r < nr; r++) tile[r * kTile + c] = column[r];
          }
          for (int r = 0; r < nr; r++) {
            size_t at = size_t(r0 + r) * size_t(cols) + size_t(c0);
            adamw_values(p + at, tile + r * kTile, m ? m + at : nullptr, v ? v + at : nullptr, p_out + at, m_out + at,
                         v_out + at, size_t(nc), s);
          }
        }
      }
    });
    return;
  }
  std::vector<float> contiguous = gathered(g);
  adamw_values(p, contiguous.data(), m, v, p_out, m_out, v_out, n, s);
}

/// inputs: p, g, [m, v] (float32, p, m and v row-contiguous); outputs: p', m', v'.
class AdamWUpdate : public mx::Primitive {
 public:
  AdamWUpdate(mx::Stream s, AdamWScalars scalars, bool first) : mx::Primitive(s), scalars_(scalars), first_(first) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    // The moments' buffers (and the parameter's, when nothing else holds it) become the outputs'.
    // Each output of a multi-output primitive keeps its own copy of the inputs, so an input that
    // only this node holds would count three owners and never be donatable: the siblings' copies
    // are dropped first (MLX detaches all three once evaluated).
    for (auto& o : outs) {
      if (&o.inputs() != &in) o.inputs().clear();
    }
    for (size_t o = 0; o < 3; o++) {
      size_t source = o == 0 ? 0 : (first_ ? in.size() : o + 1);
      if (source < in.size() && in[source].is_donatable() && in[source].flags().row_contiguous) {
        outs[o].copy_shared_buffer(in[source]);
      } else {
        outs[o].set_data(mx::allocator::malloc(outs[o].nbytes()));
      }
    }
    dispatch_cpu_allocated(stream(), in, outs,
                           [s = scalars_, first = first_](std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
                             adamw(inputs, outputs, s, first);
                           });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("adamw: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {in[0].shape(), in[0].shape(), in[0].shape()};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const AdamWUpdate*>(&other);
    return o != nullptr && o->scalars_ == scalars_ && o->first_ == first_;
  }
  DEFINE_NAME(AdamWUpdate)

 private:
  AdamWScalars scalars_;
  bool first_;
};

} // namespace

extern "C" int cmlx_kernel_adamw(cmlx_vec* out, cmlx_array parameter, cmlx_array gradient, cmlx_array exp_avg,
                                 cmlx_array exp_avg_sq, float lr, float beta1, float one_minus_beta1, float beta2,
                                 float one_minus_beta2, float eps, float correction1, float correction2, float decay) {
  CMLX_GUARD({
    const auto& p = parameter->value;
    const auto& g = gradient->value;
    bool first = exp_avg == nullptr || exp_avg_sq == nullptr;
    std::vector<const mx::array*> operands{&p, &g};
    if (!first) operands.insert(operands.end(), {&exp_avg->value, &exp_avg_sq->value});
    for (auto* a : operands) {
      if (a->shape() != p.shape()) throw std::invalid_argument("adamw: the gradient and moments must have the parameter's shape");
      if (a->dtype() != mx::float32) throw std::invalid_argument("adamw: the kernel takes float32 arrays");
    }
    if (mx::default_device() != mx::Device::cpu) throw std::invalid_argument("adamw: the kernel is CPU-only");
    auto stream = mx::default_stream(mx::Device::cpu);
    std::vector<mx::array> inputs{mx::contiguous(p, false, stream), g};
    if (!first) {
      inputs.push_back(mx::contiguous(exp_avg->value, false, stream));
      inputs.push_back(mx::contiguous(exp_avg_sq->value, false, stream));
    }
    AdamWScalars s{lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, correction1, correction2, decay};
    *out = wrap(mx::array::make_arrays({p.shape(), p.shape(), p.shape()}, {mx::float32, mx::float32, mx::float32},
                                       std::make_shared<AdamWUpdate>(stream, s, first), inputs));
  })
}
