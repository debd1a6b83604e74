// ThreadSanitizer check of ocrtune's multithreaded CPU kernels as MLX runs them: softmax, sigmoid,
// GELU, the affine epilogue, depthwise convolution, the fused 1×1 convolution and fused attention
// (forward and backward), each large enough to split over the kernels' pool, evaluated on MLX's CPU
// stream and compared with a host reference (softmax, sigmoid, GELU, affine, matmul, attention and
// its value gradient) or with the unfused kernel (depthwise).
// Built by `make test-tsan` (bench/sanitizers.py --tsan): the shim and the kernels compiled with
// -fsanitize=thread; libmlx.so (the wheel) is not instrumented, so TSan sees MLX's locks (pthread
// is intercepted) but not its atomics: a report whose stack is all inside libmlx is not ours.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cmlx_shim.h"
#include "cmlx_kernels.h"

static void check(int status, const char* what) {
  if (status != 0) {
    std::fprintf(stderr, "kernels: %s failed: %s\n", what, cmlx_last_error());
    std::exit(1);
  }
}

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kernels: FAILED %s\n", what);
    std::exit(1);
  }
}

static cmlx_array array(const std::vector<float>& data, std::vector<int> shape) {
  cmlx_array a = nullptr;
  check(cmlx_array_from_data(&a, data.data(), shape.data(), int(shape.size()), CMLX_FLOAT32), "from_data");
  return a;
}

static std::vector<float> host(cmlx_array a) {
  check(cmlx_array_eval(a), "eval");
  size_t n = 0;
  check(cmlx_array_size(a, &n), "size");
  std::vector<float> out(n);
  check(cmlx_array_copy_to(a, out.data(), n * sizeof(float)), "copy_to");
  cmlx_array_free(a);
  return out;
}

static std::vector<float> noise(size_t n, unsigned seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = float(seed >> 8) / float(1 << 24) * 4 - 2;
  }
  return v;
}

/// The closure cmlx_vjp differentiates: causal attention over inputs (q, k, v).
static int attention_closure(void* payload, cmlx_vec inputs, cmlx_vec outputs) {
  float scale = *static_cast<float*>(payload);
  cmlx_array q = nullptr, k = nullptr, v = nullptr, out = nullptr;
  int status = cmlx_vec_get(&q, inputs, 0) || cmlx_vec_get(&k, inputs, 1) || cmlx_vec_get(&v, inputs, 2) ||
               cmlx_kernel_sdpa(&out, q, k, v, scale, "causal", nullptr, 0, nullptr) || cmlx_vec_push(outputs, out);
  for (cmlx_array a : {q, k, v, out})
    if (a) cmlx_array_free(a);
  return status;
}

/// Fused causal attention, [1, heads, L, D] with L·L above the fused kernel's threshold: its forward
/// against the host's softmax(scale·qkᵀ)v, and its backward (cmlx_vjp) with dv against Pᵀ·g.
static void check_attention() {
  const int heads = 4, L = 128, D = 32;
  float scale = 1 / std::sqrt(float(D));
  size_t n = size_t(heads) * L * D;
  auto q = noise(n, 11), k = noise(n, 12), v = noise(n, 13), g = noise(n, 14);
  cmlx_vec primals = nullptr, cotangents = nullptr, outputs = nullptr, vjps = nullptr;
  check(cmlx_vec_new(&primals), "vec_new");
  check(cmlx_vec_new(&cotangents), "vec_new");
  for (auto* data : {&q, &k, &v}) {
    cmlx_array a = array(*data, {1, heads, L, D});
    check(cmlx_vec_push(primals, a), "vec_push");
    cmlx_array_free(a);
  }
  cmlx_array cot = array(g, {1, heads, L, D});
  check(cmlx_vec_push(cotangents, cot), "vec_push");
  cmlx_array_free(cot);
  cmlx_closure f = nullptr;
  check(cmlx_closure_new(&f, attention_closure, &scale, nullptr), "closure_new");
  check(cmlx_vjp(&outputs, &vjps, f, primals, cotangents), "vjp of sdpa");
  cmlx_array out = nullptr, dv = nullptr, dq = nullptr;
  check(cmlx_vec_get(&out, outputs, 0), "vec_get");
  check(cmlx_vec_get(&dq, vjps, 0), "vec_get");
  check(cmlx_vec_get(&dv, vjps, 2), "vec_get");
  auto y = host(out), dvs = host(dv), dqs = host(dq);
  for (int h = 0; h < heads; h++) {
    const float* Q = &q[size_t(h) * L * D];
    const float* K = &k[size_t(h) * L * D];
    std::vector<double> p(size_t(L) * L, 0.0);  // the causal probabilities of head h
    for (int i = 0; i < L; i++) {
      double m = -1e30, s = 0;
      for (int j = 0; j <= i; j++) {
        double dot = 0;
        for (int d = 0; d < D; d++) dot += double(Q[i * D + d]) * K[j * D + d];
        p[size_t(i) * L + j] = dot * scale;
        m = std::fmax(m, p[size_t(i) * L + j]);
      }
      for (int j = 0; j <= i; j++) s += (p[size_t(i) * L + j] = std::exp(p[size_t(i) * L + j] - m));
      for (int j = 0; j <= i; j++) p[size_t(i) * L + j] /= s;
    }
    for (int i = 0; i < L; i += 9)
      for (int d = 0; d < D; d += 5) {
        double o = 0;
        for (int j = 0; j <= i; j++) o += p[size_t(i) * L + j] * v[size_t(h) * L * D + size_t(j) * D + d];
        expect(std::fabs(y[size_t(h) * L * D + size_t(i) * D + d] - o) < 1e-4, "attention values");
      }
    for (int j = 0; j < L; j += 11)
      for (int d = 0; d < D; d += 7) {
        double s = 0;
        for (int i = j; i < L; i++) s += p[size_t(i) * L + j] * g[size_t(h) * L * D + size_t(i) * D + d];
        expect(std::fabs(dvs[size_t(h) * L * D + size_t(j) * D + d] - s) < 1e-4, "attention value gradient");
      }
  }
  for (float x : dqs) expect(std::isfinite(x), "attention query gradient finite");
  cmlx_closure_free(f);
  for (cmlx_vec c : {primals, cotangents, outputs, vjps}) cmlx_vec_free(c);
}

int main() {
  int threads = 0;
  check(cmlx_kernel_threads(&threads), "kernel_threads");
  check(cmlx_set_blas_threads(1), "set_blas_threads");  // the fused matmul then splits rows over the pool
  std::printf("kernels: %d threads\n", threads);
  const int rows = 256, cols = 1024;
  auto x = noise(size_t(rows) * cols, 1);
  for (int round = 0; round < 20; round++) {
    // Softmax over the last axis against the host's.
    cmlx_array in = array(x, {rows, cols}), out = nullptr;
    check(cmlx_softmax_last_axis(&out, in, false), "softmax");
    auto y = host(out);
    for (int r = 0; r < rows; r += 37) {
      double m = -1e30, s = 0;
      for (int c = 0; c < cols; c++) m = std::fmax(m, x[size_t(r) * cols + c]);
      for (int c = 0; c < cols; c++) s += std::exp(x[size_t(r) * cols + c] - m);
      for (int c = 0; c < cols; c += 101)
        expect(std::fabs(y[size_t(r) * cols + c] - std::exp(x[size_t(r) * cols + c] - m) / s) < 1e-6, "softmax values");
    }
    // Sigmoid.
    check(cmlx_kernel_sigmoid(&out, in), "sigmoid");
    y = host(out);
    for (size_t i = 0; i < y.size(); i += 997) expect(std::fabs(y[i] - 1 / (1 + std::exp(-x[i]))) < 1e-6, "sigmoid values");
    // GELU (exact form, the epilogue's polynomial erf).
    check(cmlx_kernel_gelu(&out, in), "gelu");
    y = host(out);
    for (size_t i = 0; i < y.size(); i += 997)
      expect(std::fabs(y[i] - 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)))) < 2e-6, "gelu values");
    // The affine epilogue with ReLU and a per-channel bias.
    auto bias = noise(cols, 2);
    cmlx_array b = array(bias, {cols});
    check(cmlx_affine_activation(&out, in, b, nullptr, nullptr, 2, nullptr, nullptr), "affine_activation");
    y = host(out);
    for (size_t i = 0; i < y.size(); i += 991)
      expect(std::fabs(y[i] - std::fmax(0.f, x[i] + bias[i % cols])) < 1e-6, "affine values");
    // Depthwise 3×3 convolution and its fused form; the fused 1×1 convolution.
    const int n = 2, h = 32, w = 32, ch = 64;
    cmlx_array image = array(noise(size_t(n) * h * w * ch, 3), {n, h, w, ch});
    cmlx_array kernel = array(noise(size_t(ch) * 9, 4), {ch, 3, 3, 1});
    int stride[2] = {1, 1}, padding[2] = {1, 1};
    check(cmlx_depthwise_conv2d(&out, image, kernel, stride, padding), "depthwise_conv2d");
    auto plain = host(out);
    check(cmlx_depthwise_affine_activation(&out, image, kernel, stride, padding, nullptr, nullptr, nullptr, 0, nullptr,
                                           nullptr), "depthwise_affine_activation");
    expect(host(out) == plain, "fused depthwise equals depthwise");
    cmlx_array weight = array(noise(size_t(128) * cols, 5), {128, cols});
    check(cmlx_matmul_affine_activation(&out, in, weight, nullptr, nullptr, nullptr, 0, nullptr, nullptr),
          "matmul_affine_activation");
    y = host(out);
    auto wt = noise(size_t(128) * cols, 5);
    for (int r = 0; r < rows; r += 51) {
      double s = 0;
      for (int k = 0; k < cols; k++) s += double(x[size_t(r) * cols + k]) * wt[size_t(7) * cols + k];
      expect(std::fabs(y[size_t(r) * 128 + 7] - s) < 1e-3, "matmul values");
    }
    for (cmlx_array a : {in, b, image, kernel, weight}) cmlx_array_free(a);
    if (round % 5 == 0) check_attention();
  }
  std::printf("kernels: ok\n");
  return 0;
}
