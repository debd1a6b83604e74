// Runtime, memory, arrays and vectors.
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <cstring>

#include "cmlx_shim_internal.hpp"

namespace cmlx {

static thread_local std::string last_error;

void set_error(const std::string& message) { last_error = message; }

mx::Dtype to_mlx(cmlx_dtype dtype) {
  switch (dtype) {
    case CMLX_BOOL: return mx::bool_;
    case CMLX_UINT8: return mx::uint8;
    case CMLX_UINT16: return mx::uint16;
    case CMLX_UINT32: return mx::uint32;
    case CMLX_UINT64: return mx::uint64;
    case CMLX_INT8: return mx::int8;
    case CMLX_INT16: return mx::int16;
    case CMLX_INT32: return mx::int32;
    case CMLX_INT64: return mx::int64;
    case CMLX_FLOAT16: return mx::float16;
    case CMLX_FLOAT32: return mx::float32;
    case CMLX_FLOAT64: return mx::float64;
    case CMLX_BFLOAT16: return mx::bfloat16;
    case CMLX_COMPLEX64: return mx::complex64;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(int(dtype)));
}

cmlx_dtype from_mlx(mx::Dtype dtype) {
  switch (dtype.val()) {
    case mx::Dtype::Val::bool_: return CMLX_BOOL;
    case mx::Dtype::Val::uint8: return CMLX_UINT8;
    case mx::Dtype::Val::uint16: return CMLX_UINT16;
    case mx::Dtype::Val::uint32: return CMLX_UINT32;
    case mx::Dtype::Val::uint64: return CMLX_UINT64;
    case mx::Dtype::Val::int8: return CMLX_INT8;
    case mx::Dtype::Val::int16: return CMLX_INT16;
    case mx::Dtype::Val::int32: return CMLX_INT32;
    case mx::Dtype::Val::int64: return CMLX_INT64;
    case mx::Dtype::Val::float16: return CMLX_FLOAT16;
    case mx::Dtype::Val::float32: return CMLX_FLOAT32;
    case mx::Dtype::Val::float64: return CMLX_FLOAT64;
    case mx::Dtype::Val::bfloat16: return CMLX_BFLOAT16;
    case mx::Dtype::Val::complex64: return CMLX_COMPLEX64;
  }
  throw std::invalid_argument("dtype not supported by the shim");
}

// MARK: - Heap policy

// MLX's CPU allocator mallocs every array and frees it when the graph lets go of it. glibc
// serves blocks over 128 KB (growing to 32 MB with use) with mmap and returns them with munmap,
// so every forward pass faulted in and zeroed fresh pages for each feature map: perf showed a
// visible share of PP-OCR inference in page faults and page clearing. Keeping blocks up to 32 MB
// (glibc's maximum) on the heap and not trimming it below 256 MB reuses them instead.
// One arena: MLX allocates an op's output on the thread that evaluates it, and a thread other
// than the main one (serve's model worker) gets its own arena, whose 64 MB heaps glibc unmaps
// once they are free, so large feature maps were faulted in afresh at every batch (serve:
// 400-1,700 minor faults per PP-OCR line against predict's 120). OCRTUNE_SYSTEM_MALLOC=1 leaves
// glibc's defaults alone.
#if defined(__GLIBC__)
namespace {
struct HeapPolicy {
  HeapPolicy() {
    const char* off = std::getenv("OCRTUNE_SYSTEM_MALLOC");
    if (off != nullptr && off[0] == '1') return;
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_ARENA_MAX, 1);
  }
};
const HeapPolicy heap_policy;
} // namespace
#endif

static mx::Device device_of(int type) {
  return type == 1 ? mx::Device(mx::Device::gpu) : mx::Device(mx::Device::cpu);
}

} // namespace cmlx

using namespace cmlx;

extern "C" {

// MARK: - Errors and runtime

const char* cmlx_last_error(void) { return cmlx::last_error.c_str(); }
void cmlx_set_last_error(const char* message) { cmlx::last_error = message ? message : ""; }

const char* cmlx_version(void) { return mx::version(); }

int cmlx_blas_info(char* buffer, size_t capacity) {
  CMLX_GUARD({
    std::string info;
    using config_fn = char* (*)();
    using threads_fn = int (*)();
    auto config = reinterpret_cast<config_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    auto threads = reinterpret_cast<threads_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (config != nullptr) {
      std::string c = config();
      info = c.rfind("OpenBLAS", 0) == 0 ? c : "OpenBLAS " + c;
      if (threads != nullptr) info += " threads=" + std::to_string(threads());
    }
    void* sgemm = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    Dl_info where;
    if (sgemm != nullptr && dladdr(sgemm, &where) != 0 && where.dli_fname != nullptr) {
      char resolved[4096];
      const char* path = realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
      info += (info.empty() ? "" : "; ") + std::string("cblas_sgemm from ") + path;
    }
    if (info.empty()) info = "unknown (no cblas_sgemm symbol resolved)";
    std::snprintf(buffer, capacity, "%s", info.c_str());
  })
}

int cmlx_set_default_device(int device_type) {
  CMLX_GUARD(mx::set_default_device(device_of(device_type)))
}

int cmlx_default_device(int* device_type) {
  CMLX_GUARD(*device_type = mx::default_device().type == mx::Device::gpu ? 1 : 0)
}

int cmlx_device_available(int device_type, bool* available) {
  CMLX_GUARD(*available = mx::is_available(device_of(device_type)))
}

int cmlx_synchronize(void) { CMLX_GUARD(mx::synchronize()) }

// MARK: - Memory

int cmlx_memory_active(size_t* out) { CMLX_GUARD(*out = mx::get_active_memory()) }
int cmlx_memory_peak(size_t* out) { CMLX_GUARD(*out = mx::get_peak_memory()) }
int cmlx_memory_reset_peak(void) { CMLX_GUARD(mx::reset_peak_memory()) }
int cmlx_memory_cache(size_t* out) { CMLX_GUARD(*out = mx::get_cache_memory()) }
int cmlx_memory_clear_cache(void) { CMLX_GUARD(mx::clear_cache()) }
int cmlx_memory_set_limit(size_t limit, size_t* previous) {
  CMLX_GUARD(*previous = mx::set_memory_limit(limit))
}
int cmlx_memory_set_cache_limit(size_t limit, size_t* previous) {
  CMLX_GUARD(*previous = mx::set_cache_limit(limit))
}

// MARK: - Arrays

void cmlx_array_free(cmlx_array a) { delete a; }

int cmlx_array_copy_handle(cmlx_array* out, cmlx_array a) { CMLX_RESULT(a->value) }

int cmlx_array_from_data(cmlx_array* out, const void* data, const int* shape, int ndim, cmlx_dtype dtype) {
  CMLX_GUARD({
    auto dt = to_mlx(dtype);
    auto dims = cmlx::shape(shape, ndim);
    size_t count = 1;
    for (auto d : dims) {
      if (d < 0) throw std::invalid_argument("negative dimension");
      count *= size_t(d);
    }
    size_t nbytes = count * dt.size();
    // A private copy handed to MLX without a second copy; freed by the deleter.
    void* copy = std::malloc(nbytes > 0 ? nbytes : 1);
    if (copy == nullptr) throw std::bad_alloc();
    if (nbytes > 0) std::memcpy(copy, data, nbytes);
    *out = wrap(mx::array(copy, dims, dt, [](void* p) { std::free(p); }));
  })
}

int cmlx_array_from_double(cmlx_array* out, double value, cmlx_dtype dtype) {
  CMLX_RESULT(mx::array(value, to_mlx(dtype)))
}

int cmlx_array_from_int(cmlx_array* out, int64_t value, cmlx_dtype dtype) {
  CMLX_RESULT(mx::array(value, to_mlx(dtype)))
}

int cmlx_array_ndim(cmlx_array a, int* out) { CMLX_GUARD(*out = int(a->value.ndim())) }

int cmlx_array_shape(cmlx_array a, int* out, int capacity) {
  CMLX_GUARD({
    auto& s = a->value.shape();
    for (int i = 0; i < capacity && i < int(s.size()); i++) out[i] = s[i];
  })
}

int cmlx_array_dtype(cmlx_array a, cmlx_dtype* out) { CMLX_GUARD(*out = from_mlx(a->value.dtype())) }
int cmlx_array_size(cmlx_array a, size_t* out) { CMLX_GUARD(*out = a->value.size()) }
int cmlx_array_nbytes(cmlx_array a, size_t* out) { CMLX_GUARD(*out = a->value.nbytes()) }
int cmlx_array_eval(cmlx_array a) { CMLX_GUARD(a->value.eval()) }

int cmlx_array_copy_to(cmlx_array a, void* dst, size_t nbytes) {
  CMLX_GUARD({
    auto c = mx::contiguous(a->value, false);
    c.eval();
    if (c.nbytes() != nbytes) {
      throw std::invalid_argument(
          "copy_to: destination holds " + std::to_string(nbytes) + " bytes, array has " +
          std::to_string(c.nbytes()));
    }
    if (nbytes > 0) std::memcpy(dst, c.data<char>(), nbytes);
  })
}

int cmlx_array_item_double(cmlx_array a, double* out) {
  CMLX_GUARD({
    if (a->value.size() != 1) throw std::invalid_argument("item() needs an array of one element");
    auto c = mx::astype(a->value, mx::float64, mx::Device::cpu);
    c.eval();
    *out = *c.data<double>();
  })
}

int cmlx_array_item_int(cmlx_array a, int64_t* out) {
  CMLX_GUARD({
    if (a->value.size() != 1) throw std::invalid_argument("item() needs an array of one element");
    auto c = mx::astype(a->value, mx::int64, mx::Device::cpu);
    c.eval();
    *out = *c.data<int64_t>();
  })
}

// MARK: - Vectors

int cmlx_vec_new(cmlx_vec* out) { CMLX_GUARD(*out = new cmlx_vec_s{}) }
void cmlx_vec_free(cmlx_vec v) { delete v; }
int cmlx_vec_push(cmlx_vec v, cmlx_array a) { CMLX_GUARD(v->value.push_back(a->value)) }
int cmlx_vec_size(cmlx_vec v, size_t* out) { CMLX_GUARD(*out = v->value.size()) }
int cmlx_vec_get(cmlx_array* out, cmlx_vec v, size_t index) { CMLX_RESULT(v->value.at(index)) }
int cmlx_eval(cmlx_vec arrays) { CMLX_GUARD(mx::eval(arrays->value)) }
int cmlx_async_eval(cmlx_vec arrays) { CMLX_GUARD(mx::async_eval(arrays->value)) }

} // extern "C"
