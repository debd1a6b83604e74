// MatmulAffineActivation: x · wᵀ followed by the PP-LCNet epilogue (bias → learnable affine →
// activation → learnable affine): the backbone's 1×1 convolutions, for inference.
//
// When the BLAS is single-threaded (inference sets it so; see shim_threads.cpp), the rows are
// split over the kernel threads: each thread multiplies its rows with one BLAS call and applies
// the epilogue to them, so the product and its epilogue share one parallel region and no BLAS
// thread spins beside the kernels. Otherwise one BLAS call (threaded by the BLAS) is followed by
// the epilogue. Each row's product is the BLAS's (the same call shape as MLX's matmul), so the
// result is bit-identical to matmul then affine_activation; the gradient is theirs.

#include "mlx/backend/cpu/encoder.h"
#include "mlx/primitives.h"
#include "mlx/transforms.h"
#include "shim_internal.h"
#include "shim_kernel_common.h"
#include "shim_parallel.h"

using namespace cmlx;

namespace {

/// inputs: x [M, K], w [N, K], bias [N], pre_scale, pre_bias, post_scale, post_bias [1].
class MatmulAffineActivation : public mx::UnaryPrimitive {
 public:
  MatmulAffineActivation(mx::Stream s, int act) : mx::UnaryPrimitive(s), act_(act) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    out.set_data(mx::allocator::malloc(out.nbytes()));
    auto& encoder = mx::cpu::get_command_encoder(stream());
    for (auto& a : in) encoder.set_input_array(a);
    encoder.set_output_array(out);
    std::vector<mx::array> inputs;
    for (auto& a : in) inputs.push_back(mx::array::unsafe_weak_copy(a));
    encoder.dispatch([inputs, y = mx::array::unsafe_weak_copy(out), act = act_]() mutable {
      int m = inputs[0].shape(0), k = inputs[0].shape(1), n = inputs[1].shape(0);
      if (m == 0 || n == 0) return;
      const float* xp = inputs[0].data<float>();
      const float* wp = inputs[1].data<float>();
      const float* bp = inputs[2].data<float>();
      float s1 = inputs[3].data<float>()[0], b1 = inputs[4].data<float>()[0];
      float s2 = inputs[5].data<float>()[0], b2 = inputs[6].data<float>()[0];
      float* yp = y.data<float>();
      auto sgemm = blas().sgemm;
      auto product = [&](int begin, int end) {
        if (k == 0) {
          std::fill(yp + size_t(begin) * n, yp + size_t(end) * n, 0.0f);
          return;
        }
        sgemm(Blas::kRowMajor, Blas::kNoTrans, Blas::kTrans, end - begin, n, k, 1.0f, xp + size_t(begin) * k, k, wp, k,
              0.0f, yp + size_t(begin) * n, n);
      };
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

  /// The gradient of the composition matmul → affine_activation.
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    int act = act_;
    auto composed = [act](const std::vector<mx::array>& in) {
      auto z = mx::matmul(in[0], mx::transpose(in[1]));
      return std::vector<mx::array>{affine_activation(z, in[2], in[3], in[4], act, in[5], in[6])};
    };
    auto grads = mx::vjp(composed, primals, cotangents).second;
    std::vector<mx::array> selected;
    for (int arg : argnums) selected.push_back(grads[arg]);
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
    if (activation < kIdentity || activation > kReLU) {
      throw std::invalid_argument("matmul_affine_activation: unknown activation");
    }
    int n = w.shape(0);
    auto scalar = [](cmlx_array v, float fallback) {
      return v ? mx::reshape(v->value, {1}) : mx::array({fallback});
    };
    std::vector<mx::array> rest{bias ? mx::reshape(bias->value, {-1}) : mx::zeros({n}, mx::float32),
                                scalar(pre_scale, 1), scalar(pre_bias, 0), scalar(post_scale, 1),
                                scalar(post_bias, 0)};
    if (rest[0].size() != size_t(n)) {
      throw std::invalid_argument("matmul_affine_activation: bias must have one value per output channel");
    }
    bool fast = a.dtype() == mx::float32 && w.dtype() == mx::float32 && mx::default_device() == mx::Device::cpu &&
                blas().sgemm != nullptr;
    for (auto& v : rest) fast = fast && v.dtype() == mx::float32;
    if (!fast) {
      auto z = mx::matmul(a, mx::transpose(w));
      *out = wrap(affine_activation(z, rest[0], rest[1], rest[2], activation, rest[3], rest[4]));
      return 0;
    }
    std::vector<mx::array> inputs{mx::contiguous(a), mx::contiguous(w)};
    for (auto& v : rest) inputs.push_back(mx::contiguous(v));
    auto stream = mx::default_stream(mx::Device::cpu);
    *out = wrap(mx::array({a.shape(0), n}, mx::float32, std::make_shared<MatmulAffineActivation>(stream, activation),
                          inputs));
  })
}
