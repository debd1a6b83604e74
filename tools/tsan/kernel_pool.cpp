// ThreadSanitizer check of the kernels' thread pool (Sources/CMLXKernels/kernel_threads.cpp), the
// threading ocrtune's C++ kernels share: parallel loops back to back, loops started from several
// threads at once (the busy pool runs them on the caller), nested loops, and an exception thrown
// on a worker. Built and run by `make test-tsan` (bench/sanitizers.py --tsan) with
// -fsanitize=thread; every result is checked, and TSan aborts on the first race it sees.
//
// The pool is compiled from its own source; MLX is not linked (the pool needs none of it), so no
// uninstrumented library hides synchronization from TSan.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernel_parallel.h"

namespace cmlx {
// The C entry points' error slot (CMLX_GUARD), defined by the MLX shim, which is not linked here.
void set_error(const std::string&) {}
}  // namespace cmlx

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kernel_pool: FAILED %s\n", what);
    std::exit(1);
  }
}

// Sum of 0..n-1 split over the pool, each part writing its own slot, combined in part order.
static long long parallel_sum(int n) {
  std::vector<long long> partial(64, 0);
  cmlx::parallel_for_parts(n, size_t(1) << 20, [&](int part, int begin, int end) {
    long long s = 0;
    for (int i = begin; i < end; i++) s += i;
    partial[part] = s;
  });
  long long total = 0;
  for (long long s : partial) total += s;
  return total;
}

int main() {
  const int size = cmlx::ThreadPool::shared().size();
  std::printf("kernel_pool: %d threads\n", size);
  // Back-to-back loops: the workers' spin and sleep paths, the generation handshake.
  for (int round = 0; round < 2000; round++) {
    int n = 1000 + round;
    expect(parallel_sum(n) == (long long)n * (n - 1) / 2, "back-to-back sums");
  }
  // Loops from four threads at once: one owns the pool, the others run inline.
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 4; c++) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 300; round++) {
        int n = 500 + 7 * round + c;
        if (parallel_sum(n) != (long long)n * (n - 1) / 2) failures++;
      }
    });
  }
  for (auto& t : callers) t.join();
  expect(failures.load() == 0, "concurrent callers");
  // A loop inside a loop's task: the inner one finds the pool busy and runs inline.
  std::vector<long long> outer(size, 0);
  cmlx::ThreadPool::shared().run(size, [&](int t) { outer[t] = parallel_sum(100 + t); });
  for (int t = 0; t < size; t++) expect(outer[t] == (long long)(100 + t) * (99 + t) / 2, "nested loops");
  // An exception on a worker reaches the caller, and the pool keeps working.
  bool caught = false;
  try {
    cmlx::ThreadPool::shared().run(size, [&](int t) {
      if (t == size - 1) throw std::runtime_error("task failed");
    });
  } catch (const std::runtime_error&) {
    caught = true;
  }
  expect(caught || size == 1, "exception from a worker");
  expect(parallel_sum(4096) == 4096LL * 4095 / 2, "after an exception");
  std::printf("kernel_pool: ok\n");
  return 0;
}
