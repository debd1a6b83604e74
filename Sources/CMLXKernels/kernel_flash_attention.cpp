// FusedAttention: softmax(scale · q kᵀ + mask), dropped out, times v — float32 on the CPU, one
// block of query rows at a time, without the [B, H, Lq, Lk] score tensor.
//
// Reference: FlashAttention-2 (Dao, 2023), its forward (per row block: scores, softmax, · v, the
// log-sum-exp kept) and its backward (scores recomputed per block from the log-sum-exp:
// dV += Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS K, dK += dSᵀ Q), arranged for
// a CPU: a block of 64 query rows against all keys (64 × 1,024 floats stay in L2), the products
// by the BLAS, the row work vectorized with the shim's exp. The forward splits (batch, head, row
// block) tasks over the kernel threads; the backward splits (batch, key/value head) tasks, so
// each thread owns the dK and dV it accumulates (grouped-query heads accumulate in order).
//
// What MLX's CPU composition costs instead, in latex-ocr-junia's encoder (8 heads × 1,024
// patches, batch 8): a 268 MB score tensor per layer written, read by the softmax, kept for the
// gradient, plus the dropout output and the softmax gradient's tensors of the same size.
//
// Dropout drops element (b, h, i, j) of the probabilities as the dropout kernel would drop that
// flat index of the [B, H, Lq, Lk] tensor under the same key (dropout_keeps), so fused and
// composed attention agree. The additive mask may broadcast over batch, heads and query rows; its
// gradient (a learned bias, BEiT's relative positions) is dS summed over the broadcast axes.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

constexpr int kRowBlock = 64;
constexpr int kLanes = 16;

// MARK: - Geometry

/// q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv]; H a multiple of Hkv.
struct Geometry {
  int b, h, hkv, lq, lk, d, dv;
  bool causal;
  explicit Geometry(const std::vector<mx::array>& in, bool causal_)
      : b(in[0].shape(0)), h(in[0].shape(1)), hkv(in[1].shape(1)), lq(in[0].shape(2)), lk(in[1].shape(2)),
        d(in[0].shape(3)), dv(in[2].shape(3)), causal(causal_) {}
  int repeats() const { return h / hkv; }
  int blocks() const { return (lq + kRowBlock - 1) / kRowBlock; }
  /// Keys query row i sees: all, or (causal, queries aligned to the keys' end) up to i + Lk − Lq.
  int visible(int i) const { return causal ? std::clamp(i + 1 + std::max(0, lk - lq), 0, lk) : lk; }
};

/// The additive mask as strides into a contiguous [Mb, Mh, Mq, Lk] array (0 where it broadcasts).
struct MaskView {
  const float* data = nullptr;
  size_t sb = 0, sh = 0, sq = 0;
  MaskView() = default;
  explicit MaskView(const mx::array& m) : data(m.data<float>()) {
    size_t lk = size_t(m.shape(3)), mq = size_t(m.shape(2)), mh = size_t(m.shape(1));
    sq = mq == 1 ? 0 : lk;
    sh = mh == 1 ? 0 : mq * lk;
    sb = m.shape(0) == 1 ? 0 : size_t(m.shape(1)) * mq * lk;
  }
  const float* row(int b, int h, int i) const { return data ? data + b * sb + h * sh + i * sq : nullptr; }
};

/// The dropout of the probabilities: p, the key's words and dropout_keeps's threshold.
struct DropoutSpec {
  float p = 0, scale = 1;
  uint32_t k0 = 0, k1 = 0, threshold = 0;
  DropoutSpec() = default;
  DropoutSpec(float p_, const mx::array& key)
      : p(p_), scale(1.0f / (1.0f - p_)), k0(key.data<uint32_t>()[0]), k1(key.data<uint32_t>()[1]),
        threshold(dropout_threshold(p_)) {}
  bool active() const { return p > 0; }
};

/// Row-major op(a) · op(b) · alpha + beta · c through the BLAS.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f)
      for (int r = 0; r < m; r++) std::fill(c + size_t(r) * ldc, c + size_t(r) * ldc + n, 0.0f);
    return;
  }
  blas().sgemm(Blas::kRowMajor, ta ? Blas::kTrans : Blas::kNoTrans, tb ? Blas::kTrans : Blas::kNoTrans, m, n, k, alpha,
               a, lda, b, ldb, beta, c, ldc);
}

/// OpenBLAS single-threaded while the kernel threads each run their own products.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : saved_(blas_threads()) {
    if (saved_ > 1) blas().set_threads(1);
  }
  ~SingleThreadedBlas() {
    if (saved_ > 1) blas().set_threads(saved_);
  }

 private:
  int saved_;
};

// MARK: - Row work

/// One row of scores s[0, n) (n visible keys; `mask` null or its row) into probabilities, in
/// place; returns the log-sum-exp (+∞ for a row that sees nothing, whose probabilities are 0).
OCRTUNE_SIMD_CLONES
float softmax_row(float* s, const float* mask, int n) {
  if (mask)
    for (int j = 0; j < n; j++) s[j] += mask[j];
  float m = lanes_max(s, n);
  if (n == 0 || m == -INFINITY) {
    std::fill(s, s + n, 0.0f);
    return INFINITY;
  }
  float total = exp_shifted_sum<float>(s, s, n, m);
  float inv = 1.0f / total;
  for (int j = 0; j < n; j++) s[j] *= inv;
  return m + std::log(total);
}

/// p[j] · keep / (1 − p) for j in [0, n), element `first + j` of the flat probabilities.
OCRTUNE_SIMD_CLONES
void dropout_row(float* p, int n, uint32_t first, DropoutSpec spec) {
  for (int j = 0; j < n; j++)
    p[j] = dropout_keeps(first + uint32_t(j), spec.k0, spec.k1, spec.threshold) ? p[j] * spec.scale : 0.0f;
}

/// Recomputed probabilities exp(s + mask − lse) of one row, in place.
OCRTUNE_SIMD_CLONES
void probabilities_row(float* s, const float* mask, int n, float lse) {
  if (mask)
    for (int j = 0; j < n; j++) s[j] = exp_poly(s[j] + mask[j] - lse);
  else
    for (int j = 0; j < n; j++) s[j] = exp_poly(s[j] - lse);
}

/// One row of the backward: p (probabilities) becomes the dropped-out probabilities, t (dO Vᵀ)
/// becomes dS = p ⊙ (keep · t / (1 − p) − delta).
OCRTUNE_SIMD_CLONES
void score_grad_row(float* p, float* t, int n, float delta, uint32_t first, DropoutSpec spec) {
  if (spec.active()) {
    for (int j = 0; j < n; j++) {
      bool keep = dropout_keeps(first + uint32_t(j), spec.k0, spec.k1, spec.threshold);
      float dp = keep ? t[j] * spec.scale : 0.0f;
      t[j] = p[j] * (dp - delta);
      p[j] = keep ? p[j] * spec.scale : 0.0f;
    }
  } else {
    for (int j = 0; j < n; j++) t[j] = p[j] * (t[j] - delta);
  }
}

/// Σ a[j] · b[j] in float lanes.
OCRTUNE_SIMD_CLONES
float dot_row(const float* a, const float* b, int n) {
  float lanes[kLanes];
  for (int l = 0; l < kLanes; l++) lanes[l] = 0.0f;
  int j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; l++) lanes[l] += a[j + l] * b[j + l];
  float total = 0.0f;
  for (int l = 0; l < kLanes; l++) total += lanes[l];
  for (; j < n; j++) total += a[j] * b[j];
  return total;
}

// MARK: - Forward

/// inputs: q, k, v, [mask [Mb, Mh, Mq, Lk] float32], [key uint32 [2]]. outputs: o [B, H, Lq, Dv],
/// lse [B, H, Lq].
void attention_forward(const std::vector<mx::array>& in, std::vector<mx::array>& out, float scale, bool causal,
                       bool has_mask, float p) {
  Geometry g(in, causal);
  MaskView mask = has_mask ? MaskView(in[3]) : MaskView();
  DropoutSpec drop = p > 0 ? DropoutSpec(p, in[has_mask ? 4 : 3]) : DropoutSpec();
  const float* q = in[0].data<float>();
  const float* k = in[1].data<float>();
  const float* v = in[2].data<float>();
  float* o = out[0].data<float>();
  float* lse = out[1].data<float>();
  int tasks = g.b * g.h * g.blocks();
  size_t work = size_t(g.b) * g.h * g.lq * g.lk * (g.d + g.dv);
  SingleThreadedBlas single;
  parallel_for(tasks, work, [&](int begin, int end) {
    std::vector<float> scores(size_t(kRowBlock) * g.lk);
    for (int task = begin; task < end; task++) {
      int block = task % g.blocks(), bh = task / g.blocks();
      int b = bh / g.h, h = bh % g.h, kvh = b * g.hkv + h / g.repeats();
      int r0 = block * kRowBlock, rows = std::min(kRowBlock, g.lq - r0);
      int cols = g.visible(r0 + rows - 1);  // the block's widest row
      const float* qb = q + (size_t(bh) * g.lq + r0) * g.d;
      gemm(false, true, rows, cols, g.d, scale, qb, g.d, k + size_t(kvh) * g.lk * g.d, g.d, 0.0f, scores.data(), cols);
      for (int r = 0; r < rows; r++) {
        int i = r0 + r, n = g.visible(i);
        float* s = scores.data() + size_t(r) * cols;
        lse[size_t(bh) * g.lq + i] = softmax_row(s, mask.row(b, h, i), n);
        std::fill(s + n, s + cols, 0.0f);
        if (drop.active()) dropout_row(s, n, uint32_t((size_t(bh) * g.lq + i) * g.lk), drop);
      }
      gemm(false, false, rows, g.dv, cols, 1.0f, scores.data(), cols, v + size_t(kvh) * g.lk * g.dv, g.dv, 0.0f,
           o + (size_t(bh) * g.lq + r0) * g.dv, g.dv);
    }
  });
}

// MARK: - Backward

/// inputs: q, k, v, o, lse, dO, [mask], [key]. outputs: dq, dk, dv, [dS [B, H, Lq, Lk] when the
/// mask's gradient is wanted].
void attention_backward(const std::vector<mx::array>& in, std::vector<mx::array>& out, float scale, bool causal,
                        bool has_mask, float p, bool mask_grad) {
  Geometry g(in, causal);
  MaskView mask = has_mask ? MaskView(in[6]) : MaskView();
  DropoutSpec drop = p > 0 ? DropoutSpec(p, in[has_mask ? 7 : 6]) : DropoutSpec();
  const float* q = in[0].data<float>();
  const float* k = in[1].data<float>();
  const float* v = in[2].data<float>();
  const float* o = in[3].data<float>();
  const float* lse = in[4].data<float>();
  const float* dout = in[5].data<float>();
  float* dq = out[0].data<float>();
  float* dk = out[1].data<float>();
  float* dv = out[2].data<float>();
  float* ds_full = mask_grad ? out[3].data<float>() : nullptr;
  int tasks = g.b * g.hkv;
  size_t work = size_t(g.b) * g.h * g.lq * g.lk * (2 * g.d + 3 * g.dv);
  SingleThreadedBlas single;
  parallel_for(tasks, work, [&](int begin, int end) {
    std::vector<float> probs(size_t(kRowBlock) * g.lk), grads(size_t(kRowBlock) * g.lk);
    for (int kvh = begin; kvh < end; kvh++) {
      int b = kvh / g.hkv;
      const float* kp = k + size_t(kvh) * g.lk * g.d;
      const float* vp = v + size_t(kvh) * g.lk * g.dv;
      float* dkp = dk + size_t(kvh) * g.lk * g.d;
      float* dvp = dv + size_t(kvh) * g.lk * g.dv;
      std::fill(dkp, dkp + size_t(g.lk) * g.d, 0.0f);
      std::fill(dvp, dvp + size_t(g.lk) * g.dv, 0.0f);
      for (int rep = 0; rep < g.repeats(); rep++) {
        int h = (kvh % g.hkv) * g.repeats() + rep, bh = b * g.h + h;
        for (int block = 0; block < g.blocks(); block++) {
          int r0 = block * kRowBlock, rows = std::min(kRowBlock, g.lq - r0);
          int cols = g.visible(r0 + rows - 1);  // 0 only without keys: dQ's product then writes zeros
          size_t first = size_t(bh) * g.lq + r0;
          const float* qb = q + first * g.d;
          const float* ob = o + first * g.dv;
          const float* dob = dout + first * g.dv;
          gemm(false, true, rows, cols, g.d, scale, qb, g.d, kp, g.d, 0.0f, probs.data(), cols);
          gemm(false, true, rows, cols, g.dv, 1.0f, dob, g.dv, vp, g.dv, 0.0f, grads.data(), cols);
          for (int r = 0; r < rows; r++) {
            int i = r0 + r, n = g.visible(i);
            float* pr = probs.data() + size_t(r) * cols;
            float* tr = grads.data() + size_t(r) * cols;
            probabilities_row(pr, mask.row(b, h, i), n, lse[first + r]);
            float delta = dot_row(dob + size_t(r) * g.dv, ob + size_t(r) * g.dv, g.dv);
            score_grad_row(pr, tr, n, delta, uint32_t((first + r) * g.lk), drop);
            std::fill(pr + n, pr + cols, 0.0f);
            std::fill(tr + n, tr + cols, 0.0f);
            if (ds_full) {
              float* row = ds_full + (first + r) * g.lk;
              std::copy(tr, tr + cols, row);
              std::fill(row + cols, row + g.lk, 0.0f);
            }
          }
          // dV += P_dropped ᵀ dO; dQ = scale · dS K; dK += scale · dSᵀ Q.
          gemm(true, false, cols, g.dv, rows, 1.0f, probs.data(), cols, dob, g.dv, 1.0f, dvp, g.dv);
          gemm(false, false, rows, g.d, cols, scale, grads.data(), cols, kp, g.d, 0.0f, dq + first * g.d, g.d);
          gemm(true, false, cols, g.d, rows, scale, grads.data(), cols, qb, g.d, 1.0f, dkp, g.d);
        }
      }
    }
  });
}

// MARK: - Primitives

class FusedAttentionGrad : public mx::Primitive {
 public:
  FusedAttentionGrad(mx::Stream s, float scale, bool causal, bool has_mask, float p, bool mask_grad)
      : mx::Primitive(s), scale_(scale), causal_(causal), has_mask_(has_mask), p_(p), mask_grad_(mask_grad) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs,
                 [scale = scale_, causal = causal_, has_mask = has_mask_, p = p_, mask_grad = mask_grad_](
                     std::vector<mx::array>& inputs, std::vector<mx::array>& outputs) {
                   attention_backward(inputs, outputs, scale, causal, has_mask, p, mask_grad);
                 });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("fused_attention_grad: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    std::vector<mx::Shape> shapes{in[0].shape(), in[1].shape(), in[2].shape()};
    if (mask_grad_) shapes.push_back({in[0].shape(0), in[0].shape(1), in[0].shape(2), in[1].shape(2)});
    return shapes;
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const FusedAttentionGrad*>(&other);
    return o != nullptr && o->scale_ == scale_ && o->causal_ == causal_ && o->has_mask_ == has_mask_ && o->p_ == p_ &&
           o->mask_grad_ == mask_grad_;
  }
  DEFINE_NAME(FusedAttentionGrad)

 private:
  float scale_;
  bool causal_, has_mask_;
  float p_;
  bool mask_grad_;
};

/// inputs: q, k, v, [mask], [key]; outputs: o, lse.
class FusedAttention : public mx::Primitive {
 public:
  FusedAttention(mx::Stream s, float scale, bool causal, bool has_mask, float p)
      : mx::Primitive(s), scale_(scale), causal_(causal), has_mask_(has_mask), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& in, std::vector<mx::array>& outs) override {
    dispatch_cpu(stream(), in, outs,
                 [scale = scale_, causal = causal_, has_mask = has_mask_, p = p_](std::vector<mx::array>& inputs,
                                                                                 std::vector<mx::array>& outputs) {
                   attention_forward(inputs, outputs, scale, causal, has_mask, p);
                 });
  }
  void eval_gpu(const std::vector<mx::array>&, std::vector<mx::array>&) override {
    throw std::runtime_error("fused_attention: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>& outputs) override {
    auto s = stream();
    int mask_index = has_mask_ ? 3 : -1;
    bool mask_grad = has_mask_ && std::find(argnums.begin(), argnums.end(), mask_index) != argnums.end();
    std::vector<mx::array> inputs{primals[0], primals[1], primals[2], outputs[0], outputs[1],
                                  mx::contiguous(cotangents[0], false, s)};
    for (size_t i = 3; i < primals.size(); i++) inputs.push_back(primals[i]);
    const auto& q = primals[0];
    std::vector<mx::Shape> shapes{q.shape(), primals[1].shape(), primals[2].shape()};
    std::vector<mx::Dtype> types{mx::float32, mx::float32, mx::float32};
    if (mask_grad) {
      shapes.push_back({q.shape(0), q.shape(1), q.shape(2), primals[1].shape(2)});
      types.push_back(mx::float32);
    }
    auto grads = mx::array::make_arrays(
        shapes, types, std::make_shared<FusedAttentionGrad>(s, scale_, causal_, has_mask_, p_, mask_grad), inputs);
    std::vector<mx::array> selected;
    for (int arg : argnums) {
      if (arg < 3) {
        selected.push_back(grads[arg]);
      } else if (arg == mask_index) {
        // dS summed over the axes the mask broadcasts along.
        const auto& m = primals[arg];
        std::vector<int> axes;
        for (int a = 0; a < 3; a++)
          if (m.shape(a) == 1 && grads[3].shape(a) != 1) axes.push_back(a);
        selected.push_back(axes.empty() ? grads[3] : mx::sum(grads[3], axes, true, s));
      } else {
        selected.push_back(mx::zeros_like(primals[arg], s));
      }
    }
    return selected;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    const auto& q = in[0];
    return {{q.shape(0), q.shape(1), q.shape(2), in[2].shape(3)}, {q.shape(0), q.shape(1), q.shape(2)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const FusedAttention*>(&other);
    return o != nullptr && o->scale_ == scale_ && o->causal_ == causal_ && o->has_mask_ == has_mask_ && o->p_ == p_;
  }
  DEFINE_NAME(FusedAttention)

 private:
  float scale_;
  bool causal_, has_mask_;
  float p_;
};

} // namespace

namespace cmlx {

bool fused_attention_applies(const mx::array& q, const mx::array& k, const mx::array& v, const std::string& mode,
                             const std::optional<mx::array>& mask) {
  if (!blas_kernel_applies({q, k, v})) return false;
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4) return false;
  if (k.shape(0) != q.shape(0) || v.shape(0) != q.shape(0) || k.shape(3) != q.shape(3) || k.shape(2) != v.shape(2) ||
      k.shape(1) != v.shape(1) || k.shape(1) == 0 || q.shape(1) % k.shape(1) != 0) {
    return false;
  }
  if (!(mode.empty() || mode == "causal") || (mode == "causal" && mask)) return false;
  if (mask) {
    if (mask->dtype() != mx::float32 || mask->ndim() > 4) return false;
    auto shape = mask->shape();
    shape.insert(shape.begin(), 4 - shape.size(), 1);
    mx::Shape full{q.shape(0), q.shape(1), q.shape(2), k.shape(2)};
    for (int a = 0; a < 4; a++)
      if (shape[a] != 1 && shape[a] != full[a]) return false;
  }
  return true;
}

mx::array fused_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                          const std::string& mode, const std::optional<mx::array>& mask, float p,
                          const std::optional<mx::array>& key) {
  auto stream = mx::default_stream(mx::Device::cpu);
  std::vector<mx::array> inputs{mx::contiguous(q), mx::contiguous(k), mx::contiguous(v)};
  if (mask) {
    auto m = *mask;
    auto shape = m.shape();
    shape.insert(shape.begin(), 4 - shape.size(), 1);
    m = mx::reshape(m, shape);
    if (m.shape(3) != k.shape(2)) m = mx::broadcast_to(m, {shape[0], shape[1], shape[2], k.shape(2)});
    inputs.push_back(mx::contiguous(m));
  }
  if (p > 0) inputs.push_back(mx::reshape(*key, {2}));
  auto outputs = mx::array::make_arrays(
      {{q.shape(0), q.shape(1), q.shape(2), v.shape(3)}, {q.shape(0), q.shape(1), q.shape(2)}},
      {mx::float32, mx::float32}, std::make_shared<FusedAttention>(stream, scale, mode == "causal", bool(mask), p),
      inputs);
  return outputs[0];
}

} // namespace cmlx
