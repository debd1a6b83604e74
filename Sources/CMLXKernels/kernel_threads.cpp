// The kernels' thread pool, and the BLAS the engine links: its sgemm and its thread count.
//
// MLX's CPU matmul calls the BLAS (OpenBLAS here), whose own worker threads spin in sched_yield
// for a while after every multi-threaded call. Between two matmuls of a network that spin ran
// beside ocrtune's kernels' threads on the same cores: on 2 cores, a large share of PP-OCR
// inference's CPU time went to it (perf). For inference the BLAS can be made single-threaded
// (`cmlx_set_blas_threads(1)`); ocrtune's matmul kernels then split rows over this pool
// themselves, so every core runs one thread and none spins for long.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <dlfcn.h>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel_internal.h"
#include "kernel_common.h"
#include "kernel_parallel.h"

namespace cmlx {

// MARK: - Thread pool

namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Pool final : public ThreadPool {
 public:
  explicit Pool(int size) : size_(std::max(1, size)) {
    for (int i = 1; i < size_; i++) std::thread([this, i] { work(i); }).detach();
  }
  int size() const override { return size_; }

  void run(int tasks, const std::function<void(int)>& task) override {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || size_ == 1) {
      for (int t = 0; t < tasks; t++) task(t);
      return;
    }
    task_ = &task;
    tasks_ = tasks;
    error_ = nullptr;
    pending_.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    std::exception_ptr mine;
    try {
      task(0);
    } catch (...) {
      mine = std::current_exception();
    }
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    task_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  /// Polls `ready` for up to 50 µs; true once it holds.
  template <typename F>
  static bool spin_until(F ready) {
    auto start = std::chrono::steady_clock::now();
    for (int k = 0;; k++) {
      if (ready()) return true;
      cpu_relax();
      if ((k & 63) == 63 && std::chrono::steady_clock::now() - start > std::chrono::microseconds(50)) return false;
    }
  }

  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(changed)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, changed);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (index < tasks_) {
        try {
          (*task_)(index);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!error_) error_ = std::current_exception();
        }
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  const int size_;
  std::mutex busy_;  // one loop at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  std::exception_ptr error_;
};

} // namespace

ThreadPool& ThreadPool::shared() {
  // Never destroyed: its workers are detached and live as long as the process.
  static Pool* pool = new Pool(int(std::max(1u, std::thread::hardware_concurrency())));
  return *pool;
}

// MARK: - BLAS

const Blas& blas() {
  static const Blas found = [] {
    Blas b;
    b.sgemm = reinterpret_cast<Blas::Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
    b.get_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    b.set_threads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return b;
  }();
  return found;
}

int blas_threads() {
  auto& b = blas();
  return b.get_threads && b.set_threads ? b.get_threads() : 0;
}

} // namespace cmlx

using namespace cmlx;

extern "C" int cmlx_blas_threads(int* out) {
  CMLX_GUARD(*out = blas_threads())
}

extern "C" int cmlx_set_blas_threads(int threads) {
  CMLX_GUARD({
    if (threads < 1) throw std::invalid_argument("set_blas_threads: needs at least one thread");
    auto& b = blas();
    if (b.set_threads == nullptr) throw std::runtime_error("set_blas_threads: the linked BLAS is not OpenBLAS");
    b.set_threads(threads);
  })
}

extern "C" int cmlx_set_blas_idle_spin(int log2_cycles, int* applied) {
  CMLX_GUARD({
    *applied = 0;
    if (log2_cycles < 4 || log2_cycles > 30) throw std::invalid_argument("set_blas_idle_spin: log2_cycles must be 4...30");
    // OpenBLAS reads its environment once, when it loads, and its workers take the timeout when
    // they start: exported (Debian's libopenblas0-pthread) but not declared in its headers.
    auto read_env = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "openblas_read_env"));
    auto shutdown = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
    auto init = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "blas_thread_init"));
    auto timeout = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_thread_timeout"));
    if (!read_env || !shutdown || !init || !timeout || blas_threads() == 0) return 0;
    setenv("OPENBLAS_THREAD_TIMEOUT", std::to_string(log2_cycles).c_str(), 1);
    read_env();
    if (timeout() != log2_cycles) return 0;
    shutdown();
    init();
    *applied = 1;
  })
}

extern "C" int cmlx_kernel_threads(int* out) {
  CMLX_GUARD(*out = cmlx::ThreadPool::shared().size())
}
