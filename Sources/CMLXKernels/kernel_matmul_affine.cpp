// MatmulAffineActivation: x · wᵀ followed by the PP-LCNet epilogue (bias → learnable affine →
// activation → learnable affine): the backbone's 1×1 convolutions, for inference.
//
// When the BLAS is single-threaded (inference sets it so; see shim_threads.cpp), the rows are
// split over the kernel threads: each thread multiplies its rows with one BLAS call and applies
// the epilogue to them, so the product and its epilogue share one parallel region and no BLAS
// thread spins beside the kernels. Otherwise one BLAS call (threaded by the BLAS) is followed by
// the epilogue. Each row's product is the BLAS's (the same call shape as MLX's matmul), so the
// result is bit-identical to matmul then affine_activation; the gradient is theirs, its two
// products split over the threads the same way (RowSplitMatmul).

#include <algorithm>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

/// Rows [begin, end) of op(a) · op(b) into y [·, n] (row-major float32; op transposes where its
/// flag says; k the inner dimension): one BLAS call, the same call shape as MLX's matmul. Rows of
/// op(a) are rows of a, or columns of a when it is transposed.
void gemm_rows(const float* a, int lda, bool ta, const float* b, int ldb, bool tb, float* y, int n, int k, int begin,
               int end) {
  if (k == 0) {
    std::fill(y + size_t(begin) * n, y + size_t(end) * n, 0.0f);
    return;
  }
  const float* first = ta ? a + begin : a + size_t(begin) * lda;
  blas().sgemm(Blas::kRowMajor, ta ? Blas::kTrans : Blas::kNoTrans, tb ? Blas::kTrans : Blas::kNoTrans, end - begin, n,
               k, 1.0f, first, lda, b, ldb, 0.0f, y + size_t(begin) * n, n);
}

/// op(a) · op(b) of row-major float32 matrices (op transposes where its flag says): the output's
/// rows split over the kernel threads when the BLAS is single-threaded, one BLAS call per part.
/// The gradient kernels of MatmulAffineActivation use it.
class RowSplitMatmul : public mx::UnaryPrimitive {
 public:
  RowSplitMatmul(mx::Stream s, bool ta, bool tb) : mx::UnaryPrimitive(s), ta_(ta), tb_(tb) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [ta = ta_, tb = tb_](std::vector<mx::array>& inputs, mx::array& y) {
      const auto& a = inputs[0];
      const auto& b = inputs[1];
      int m = y.shape(0), n = y.shape(1), k = ta ? a.shape(0) : a.shape(1);
      int lda = a.shape(1), ldb = b.shape(1);
      const float* ap = a.data<float>();
      const float* bp = b.data<float>();
      float* yp = y.data<float>();
      auto rows = [&](int begin, int end) { gemm_rows(ap, lda, ta, bp, ldb, tb, yp, n, k, begin, end); };
      if (m == 0 || n == 0) return;
      if (blas_threads() == 1) parallel_for(m, size_t(m) * n * std::max(k, 1), rows); else rows(0, m);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("row_split_matmul: the custom kernel is CPU-only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {{ta_ ? in[0].shape(1) : in[0].shape(0), tb_ ? in[1].shape(0) : in[1].shape(1)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const RowSplitMatmul*>(&other);
    return o != nullptr && o->ta_ == ta_ && o->tb_ == tb_;
  }
  DEFINE_NAME(RowSplitMatmul)

 private:
  bool ta_, tb_;
};

/// op(a) · op(b): RowSplitMatmul for float32 on the CPU, MLX's matmul otherwise.
mx::array row_split_matmul(const mx::array& a, const mx::array& b, bool ta, bool tb, mx::Stream s) {
  if (a.dtype() != mx::float32 || b.dtype() != mx::float32 || s.device != mx::Device::cpu || blas().sgemm == nullptr) {
    return mx::matmul(ta ? mx::transpose(a, s) : a, tb ? mx::transpose(b, s) : b, s);
  }
  mx::Shape shape{ta ? a.shape(1) : a.shape(0), tb ? b.shape(0) : b.shape(1)};
  return mx::array(shape, mx::float32, std::make_shared<RowSplitMatmul>(s, ta, tb),
                   {mx::contiguous(a, false, s), mx::contiguous(b, false, s)});
}

/// inputs: x [M, K], w [N, K], bias [N], pre_scale, pre_bias, post_scale, post_bias [1].
class MatmulAffineActivation : public mx::UnaryPrimitive {
 public:
  MatmulAffineActivation(mx::Stream s, int act) : mx::UnaryPrimitive(s), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [act = act_](std::vector<mx::array>& inputs, mx::array& y) {
      int m = inputs[0].shape(0), k = inputs[0].shape(1), n = inputs[1].shape(0);
      if (m == 0 || n == 0) return;
      const float* xp = inputs[0].data<float>();
      const float* wp = inputs[1].data<float>();
      const float* bp = inputs[2].data<float>();
      float s1 = inputs[3].data<float>()[0], b1 = inputs[4].data<float>()[0];
      float s2 = inputs[5].data<float>()[0], b2 = inputs[6].data<float>()[0];
      float* yp = y.data<float>();
      auto product = [&](int begin, int end) { gemm_rows(xp, k, false, wp, k, true, yp, n, k, begin, end); };
      size_t flops = size_t(m) * n * std::max(k, 1);
      if (blas_threads() == 1) {
        parallel_for(m, flops, [&](int begin, int end) {
          product(begin, end);
          affine_activation_rows(yp, bp, yp, n, s1, b1, s2, b2, act, begin, end);
        });
      } else {
        product(0, m);
        parallel_for(m, size_t(m) * n * 4, [&](int begin, int end) {
          affine_activation_rows(yp, bp, yp, n, s1, b1, s2, b2, act, begin, end);
        });
      }
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("matmul_affine_activation: the custom kernel is CPU-only");
  }

  /// The gradient of the composition matmul → affine_activation: the product recomputed, the
  /// epilogue's gradients (one pass), then dx = dz · w and dw = dzᵀ · x, each split over the
  /// kernel threads like the forward product.
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    auto s = stream();
    int act = act_;
    auto z = row_split_matmul(primals[0], primals[1], false, true, s);
    auto epilogue = [act](const std::vector<mx::array>& in) {
      return std::vector<mx::array>{affine_activation(in[0], in[1], in[2], in[3], act, in[4], in[5])};
    };
    std::vector<mx::array> inner{z, primals[2], primals[3], primals[4], primals[5], primals[6]};
    auto grads = mx::vjp(epilogue, inner, cotangents).second;  // dz, then those of bias and scalars
    const auto& dz = grads[0];
    std::vector<mx::array> selected;
    for (int arg : argnums) {
      if (arg == 0) selected.push_back(row_split_matmul(dz, primals[1], false, false, s));
      else if (arg == 1) selected.push_back(row_split_matmul(dz, primals[0], true, false, s));
      else selected.push_back(grads[arg - 1]);
    }
    return selected;
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override {
    return {{in[0].shape(0), in[1].shape(0)}};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const MatmulAffineActivation*>(&other);
    return o != nullptr && o->act_ == act_;
  }
  DEFINE_NAME(MatmulAffineActivation)

 private:
  int act_;
};

} // namespace

extern "C" int cmlx_matmul_affine_activation(cmlx_array* out, cmlx_array x, cmlx_array weight, cmlx_array bias,
                                             cmlx_array pre_scale, cmlx_array pre_bias, int activation,
                                             cmlx_array post_scale, cmlx_array post_bias) {
  CMLX_GUARD({
    const auto& a = x->value;
    const auto& w = weight->value;
    if (a.ndim() != 2 || w.ndim() != 2 || a.shape(1) != w.shape(1)) {
      throw std::invalid_argument("matmul_affine_activation: expects x [M, K] and weight [N, K]");
    }
    if (activation < kIdentity || activation > kGELU) {
      throw std::invalid_argument("matmul_affine_activation: unknown activation");
    }
    int n = w.shape(0);
    auto rest = epilogue_operands(bias, n, pre_scale, pre_bias, post_scale, post_bias);
    if (rest[0].size() != size_t(n)) {
      throw std::invalid_argument("matmul_affine_activation: bias must have one value per output channel");
    }
    std::vector<mx::array> inputs{a, w};
    inputs.insert(inputs.end(), rest.begin(), rest.end());
    if (!blas_kernel_applies(inputs)) {
      auto z = mx::matmul(a, mx::transpose(w));
      *out = wrap(affine_activation(z, rest[0], rest[1], rest[2], activation, rest[3], rest[4]));
      return 0;
    }
    for (auto& v : inputs) v = mx::contiguous(v);
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array({a.shape(0), n}, mx::float32, std::make_shared<MatmulAffineActivation>(stream, activation),
                          inputs));
  })
}
