// Helpers of the shim's custom CPU kernels (C++ only): a parallel loop over the machine's cores
// and per-CPU code paths for the vectorized loops.
#pragma once

#include <algorithm>
#include <thread>
#include <vector>

/// On x86-64, a function marked OCRTUNE_SIMD_CLONES is compiled twice (AVX2 and baseline) and
/// the loader picks the one the CPU supports; elsewhere it is compiled once.
#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define OCRTUNE_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
/// Also an AVX-512 clone, for register-blocked kernels that fill 16-lane registers.
#define OCRTUNE_SIMD_CLONES_WIDE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OCRTUNE_SIMD_CLONES
#define OCRTUNE_SIMD_CLONES_WIDE
#endif

namespace cmlx {

/// Runs body(begin, end) over [0, n) split across the machine's cores when `work` is large.
template <typename F>
void parallel_for(int n, size_t work, F body) {
  int threads = std::min<int>(n, std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 1 || work < (1u << 16)) {
    body(0, n);
    return;
  }
  std::vector<std::thread> pool;
  int chunk = (n + threads - 1) / threads;
  for (int t = 1; t < threads; t++) {
    int b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) pool.emplace_back(body, b, e);
  }
  body(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

} // namespace cmlx
