// Helpers of the shim's custom CPU kernels (C++ only): a parallel loop over the machine's cores
// on one persistent pool of threads, and per-CPU code paths for the vectorized loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <thread>

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

/// The kernels' threads: the calling thread plus one worker per further core, started once and
/// kept. A worker spins briefly after each task (kernels follow one another within
/// microseconds), then sleeps, so an idle pool takes no CPU time.
class ThreadPool {
 public:
  static ThreadPool& shared();
  /// Threads a parallel loop may use, the caller included.
  virtual int size() const = 0;
  /// Runs task(t) for t in [0, tasks) (tasks ≤ size()), task 0 on the calling thread; returns
  /// when all are done. When the pool is already busy (another thread's loop), all run here.
  virtual void run(int tasks, const std::function<void(int)>& task) = 0;
  virtual ~ThreadPool() = default;
};

/// Runs body(begin, end) over [0, n) split across the machine's cores when `work` is large.
template <typename F>
void parallel_for(int n, size_t work, F body) {
  auto& pool = ThreadPool::shared();
  int threads = std::min(n, pool.size());
  if (threads <= 1 || work < (1u << 16)) {
    body(0, n);
    return;
  }
  int chunk = (n + threads - 1) / threads;
  pool.run(threads, [&](int t) {
    int b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) body(b, e);
  });
}

} // namespace cmlx
