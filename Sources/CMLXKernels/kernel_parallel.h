// Helpers of the shim's custom CPU kernels (C++ only): a parallel loop over the machine's cores
// on one persistent pool of threads, and per-CPU code paths for the vectorized loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>

/// On x86-64, a function marked OCRTUNE_SIMD_CLONES is compiled twice (AVX2 and baseline) and
/// the loader picks the one the CPU supports; elsewhere it is compiled once. Not under
/// ThreadSanitizer (`make test-tsan`): the loader runs the clones' ifunc resolvers before TSan's
/// runtime is up, and their instrumented entry crashes the process.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OCRTUNE_THREAD_SANITIZER 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && defined(__linux__) && !defined(OCRTUNE_THREAD_SANITIZER)
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

/// How many contiguous parts the loops below split [0, n) into: one per core, or one when
/// `work` is small.
inline int parallel_parts(int n, size_t work) {
  int threads = std::min(n, ThreadPool::shared().size());
  return threads <= 1 || work < (1u << 16) ? 1 : threads;
}

/// Runs body(part, begin, end) for each of the parallel_parts(n, work) parts of [0, n), part 0 on
/// the calling thread (for per-part partial results, combined afterwards in part order).
template <typename F>
void parallel_for_parts(int n, size_t work, F body) {
  int parts = parallel_parts(n, work);
  if (parts == 1) {
    body(0, 0, n);
    return;
  }
  int chunk = (n + parts - 1) / parts;
  ThreadPool::shared().run(parts, [&](int t) {
    int b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) body(t, b, e);
  });
}

/// Runs body(begin, end) over [0, n) split across the machine's cores when `work` is large.
template <typename F>
void parallel_for(int n, size_t work, F body) {
  parallel_for_parts(n, work, [&](int, int begin, int end) { body(begin, end); });
}

} // namespace cmlx
