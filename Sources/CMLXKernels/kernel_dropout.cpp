// Dropout: y = x · keep / (1 − p), float32 on the CPU, in one pass and without a mask array.
//
// MLX's dropout draws a Bernoulli mask with its threefry generator (one hash per element, one
// thread), compares it, converts it and selects: in latex-ocr-junia's full fine-tuning, where the
// attention probabilities of 1,024 patches are dropped out, that was about a sixth of the step's
// CPU time (perf). Here element i is kept when a 32-bit counter hash of (i, key) is at least
// p · 2³², computed where it is used, vectorized and split over the kernel threads. The key is a
// random key of the engine (two uint32, drawn from its key sequence as MLX's bernoulli draws one),
// so seeding and resuming work as before. The gradient is the same dropout of the cotangent (the
// mask recomputed from the key): the op is linear in x. Masks differ from MLX's bernoulli (another
// generator); the keep rate is 1 − p.
//
// Hash: Chris Wellons's "lowbias32" integer mixer, applied twice (index, then the key's high word).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "mlx_cpu_encoder.h"
#include "mlx/primitives.h"
#include "mlx/random.h"
#include "kernel_internal.h"
#include "kernel_parallel.h"

using namespace cmlx;

namespace {

/// y[i] = keep(i) ? x[i] · scale : 0 for i in [begin, end).
OCRTUNE_SIMD_CLONES
void dropout_values(const float* x, float* y, size_t begin, size_t end, uint32_t k0, uint32_t k1, uint32_t threshold,
                    float scale) {
  for (size_t i = begin; i < end; i++) {
    y[i] = dropout_keeps(uint32_t(i), k0, k1, threshold) ? x[i] * scale : 0.0f;
  }
}

/// inputs: x (float32), key (uint32 [2]).
class KeyedDropout : public mx::UnaryPrimitive {
 public:
  KeyedDropout(mx::Stream s, float p) : mx::UnaryPrimitive(s), p_(p) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [p = p_](std::vector<mx::array>& inputs, mx::array& y) {
      size_t n = inputs[0].size();
      const uint32_t* k = inputs[1].data<uint32_t>();
      uint32_t threshold = dropout_threshold(p);
      float scale = 1.0f / (1.0f - p);
      const float* xp = inputs[0].data<float>();
      float* yp = y.data<float>();
      constexpr size_t kChunk = 8192;
      int chunks = int((n + kChunk - 1) / kChunk);
      parallel_for(chunks, n * 8, [&](int begin, int end) {
        dropout_values(xp, yp, size_t(begin) * kChunk, std::min(n, size_t(end) * kChunk), k[0], k[1], threshold, scale);
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("dropout: the custom kernel is CPU-only");
  }

  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>& argnums, const std::vector<mx::array>&) override {
    std::vector<mx::array> grads;
    for (int arg : argnums) {
      if (arg == 0) {
        auto g = mx::contiguous(cotangents[0], false, stream());
        grads.push_back(mx::array(g.shape(), mx::float32, std::make_shared<KeyedDropout>(stream(), p_), {g, primals[1]}));
      } else {
        grads.push_back(mx::zeros_like(primals[arg], stream()));
      }
    }
    return grads;
  }
  std::vector<mx::array> jvp(const std::vector<mx::array>& primals, const std::vector<mx::array>& tangents,
                             const std::vector<int>& argnums) override {
    auto t = mx::contiguous(tangents[0], false, stream());
    return {mx::array(t.shape(), mx::float32, std::make_shared<KeyedDropout>(stream(), p_), {t, primals[1]})};
  }

  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& in) override { return {in[0].shape()}; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto o = dynamic_cast<const KeyedDropout*>(&other);
    return o != nullptr && o->p_ == p_;
  }
  DEFINE_NAME(KeyedDropout)

 private:
  float p_;
};

} // namespace

namespace cmlx {

mx::array keyed_dropout(const mx::array& a, float p, const mx::array& k) {
  if (!(p >= 0.0f && p < 1.0f)) throw std::invalid_argument("dropout: p must be in [0, 1)");
  if (k.dtype() != mx::uint32 || k.size() != 2) throw std::invalid_argument("dropout: the key must be uint32 [2]");
  if (a.dtype() != mx::float32 || mx::default_device() != mx::Device::cpu) {
    // MLX's own: a Bernoulli mask from the same key.
    auto keep = mx::random::bernoulli(mx::array(1.0f - p), a.shape(), k);
    return mx::where(keep, mx::multiply(a, mx::array(1.0f / (1.0f - p), a.dtype())), mx::zeros_like(a));
  }
  auto stream = mx::default_stream(mx::Device::cpu);
  return mx::array(a.shape(), mx::float32, std::make_shared<KeyedDropout>(stream, p),
                   {mx::contiguous(a), mx::reshape(k, {2})});
}

} // namespace cmlx

extern "C" int cmlx_kernel_dropout(cmlx_array* out, cmlx_array x, float p, cmlx_array key) {
  CMLX_GUARD({
    if (!(p >= 0.0f && p < 1.0f)) throw std::invalid_argument("dropout: p must be in [0, 1)");
    *out = wrap(keyed_dropout(x->value, p, key ? key->value : mx::random::KeySequence::default_().next()));
  })
}
