// cmlx_shim.h — ocrtune's C binding of Apple's MLX C++ engine.
//
// Design (after mlx-c): opaque handles, every entry point returns a status
// code (0 = success) and writes results through out-parameters; the C++ body
// is wrapped in try/catch and the message of a failure is kept per thread
// (cmlx_last_error). Closures cross as function pointer + payload + destructor.
// This header is plain C so that C++ interop never reaches the Swift targets.

#ifndef CMLX_SHIM_H
#define CMLX_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Handles

typedef struct cmlx_array_s* cmlx_array;     // one mlx::core::array
typedef struct cmlx_vec_s* cmlx_vec;         // std::vector<array>
typedef struct cmlx_closure_s* cmlx_closure; // vector<array> -> vector<array>

typedef enum {
  CMLX_BOOL = 0,
  CMLX_UINT8,
  CMLX_UINT16,
  CMLX_UINT32,
  CMLX_UINT64,
  CMLX_INT8,
  CMLX_INT16,
  CMLX_INT32,
  CMLX_INT64,
  CMLX_FLOAT16,
  CMLX_FLOAT32,
  CMLX_FLOAT64,
  CMLX_BFLOAT16,
  CMLX_COMPLEX64,
} cmlx_dtype;

/// Message of the last failure on this thread ("" when none).
const char* cmlx_last_error(void);
void cmlx_set_last_error(const char* message);

// MARK: - Runtime

const char* cmlx_version(void);
/// Writes a description of the BLAS library libmlx resolved (OpenBLAS config or the library path).
int cmlx_blas_info(char* buffer, size_t capacity);
/// 0 = cpu, 1 = gpu.
int cmlx_set_default_device(int device_type);
int cmlx_default_device(int* device_type);
int cmlx_device_available(int device_type, bool* available);
int cmlx_synchronize(void);

// MARK: - Memory

int cmlx_memory_active(size_t* out);
int cmlx_memory_peak(size_t* out);
int cmlx_memory_reset_peak(void);
int cmlx_memory_cache(size_t* out);
int cmlx_memory_clear_cache(void);
int cmlx_memory_set_limit(size_t limit, size_t* previous);
int cmlx_memory_set_cache_limit(size_t limit, size_t* previous);

// MARK: - Arrays

void cmlx_array_free(cmlx_array a);
int cmlx_array_copy_handle(cmlx_array* out, cmlx_array a);
/// Copies `data` (row-major, `dtype`) into a new array.
int cmlx_array_from_data(cmlx_array* out, const void* data, const int* shape, int ndim, cmlx_dtype dtype);
int cmlx_array_from_double(cmlx_array* out, double value, cmlx_dtype dtype);
int cmlx_array_from_int(cmlx_array* out, int64_t value, cmlx_dtype dtype);
int cmlx_array_ndim(cmlx_array a, int* out);
/// Writes min(ndim, capacity) dimensions.
int cmlx_array_shape(cmlx_array a, int* out, int capacity);
int cmlx_array_dtype(cmlx_array a, cmlx_dtype* out);
int cmlx_array_size(cmlx_array a, size_t* out);
int cmlx_array_nbytes(cmlx_array a, size_t* out);
int cmlx_array_eval(cmlx_array a);
/// Evaluates and copies the row-major contents into dst (which holds nbytes).
int cmlx_array_copy_to(cmlx_array a, void* dst, size_t nbytes);
int cmlx_array_item_double(cmlx_array a, double* out);
int cmlx_array_item_int(cmlx_array a, int64_t* out);

// MARK: - Vectors of arrays

int cmlx_vec_new(cmlx_vec* out);
void cmlx_vec_free(cmlx_vec v);
int cmlx_vec_push(cmlx_vec v, cmlx_array a);
int cmlx_vec_size(cmlx_vec v, size_t* out);
int cmlx_vec_get(cmlx_array* out, cmlx_vec v, size_t index);
int cmlx_eval(cmlx_vec arrays);
int cmlx_async_eval(cmlx_vec arrays);

// MARK: - Elementwise, reductions, shape

typedef enum {
  CMLX_ABS = 0, CMLX_NEGATIVE, CMLX_EXP, CMLX_LOG, CMLX_LOG1P, CMLX_SQRT, CMLX_RSQRT,
  CMLX_SIN, CMLX_COS, CMLX_TANH, CMLX_SIGMOID, CMLX_ERF, CMLX_ERFINV, CMLX_SIGN,
  CMLX_FLOOR, CMLX_CEIL, CMLX_ROUND, CMLX_SQUARE, CMLX_RECIPROCAL, CMLX_LOGICAL_NOT,
  CMLX_STOP_GRADIENT, CMLX_ISNAN, CMLX_ISINF, CMLX_COPY, CMLX_CONTIGUOUS, CMLX_EXPM1,
} cmlx_unary_op;

typedef enum {
  CMLX_ADD = 0, CMLX_SUBTRACT, CMLX_MULTIPLY, CMLX_DIVIDE, CMLX_POWER, CMLX_MAXIMUM,
  CMLX_MINIMUM, CMLX_EQUAL, CMLX_NOT_EQUAL, CMLX_LESS, CMLX_LESS_EQUAL, CMLX_GREATER,
  CMLX_GREATER_EQUAL, CMLX_LOGICAL_AND, CMLX_LOGICAL_OR, CMLX_MATMUL, CMLX_FLOOR_DIVIDE,
  CMLX_REMAINDER, CMLX_LOGADDEXP, CMLX_ARCTAN2,
} cmlx_binary_op;

typedef enum {
  CMLX_SUM = 0, CMLX_MEAN, CMLX_MAX, CMLX_MIN, CMLX_PROD, CMLX_LOGSUMEXP, CMLX_ALL, CMLX_ANY,
  CMLX_SOFTMAX, CMLX_PRECISE_SOFTMAX,
} cmlx_reduce_op;

int cmlx_unary(cmlx_array* out, cmlx_array a, cmlx_unary_op op);
int cmlx_binary(cmlx_array* out, cmlx_array a, cmlx_array b, cmlx_binary_op op);
/// naxes < 0 reduces over all axes.
int cmlx_reduce(cmlx_array* out, cmlx_array a, const int* axes, int naxes, bool keepdims, cmlx_reduce_op op);
/// Variance with ddof (naxes < 0: all axes).
int cmlx_var(cmlx_array* out, cmlx_array a, const int* axes, int naxes, bool keepdims, int ddof);
/// argmax (is_max) or argmin along one axis.
int cmlx_argreduce(cmlx_array* out, cmlx_array a, int axis, bool keepdims, bool is_max);
int cmlx_cumulative(cmlx_array* out, cmlx_array a, int axis, bool reverse, bool inclusive, int kind /*0 sum,1 prod,2 max,3 logsumexp*/);
int cmlx_astype(cmlx_array* out, cmlx_array a, cmlx_dtype dtype);
int cmlx_where(cmlx_array* out, cmlx_array cond, cmlx_array a, cmlx_array b);
int cmlx_clip(cmlx_array* out, cmlx_array a, cmlx_array lo /*nullable*/, cmlx_array hi /*nullable*/);
int cmlx_addmm(cmlx_array* out, cmlx_array c, cmlx_array a, cmlx_array b, float alpha, float beta);

int cmlx_reshape(cmlx_array* out, cmlx_array a, const int* shape, int ndim);
int cmlx_transpose(cmlx_array* out, cmlx_array a, const int* axes, int naxes /* <0: reverse */);
int cmlx_broadcast_to(cmlx_array* out, cmlx_array a, const int* shape, int ndim);
int cmlx_expand_dims(cmlx_array* out, cmlx_array a, const int* axes, int naxes);
int cmlx_squeeze(cmlx_array* out, cmlx_array a, const int* axes, int naxes /* <0: all */);
int cmlx_flatten(cmlx_array* out, cmlx_array a, int start_axis, int end_axis);
int cmlx_concatenate(cmlx_array* out, cmlx_vec arrays, int axis);
int cmlx_stack(cmlx_array* out, cmlx_vec arrays, int axis);
/// Splits at the given indices along axis.
int cmlx_split_indices(cmlx_vec* out, cmlx_array a, const int* indices, int nindices, int axis);
int cmlx_split_sections(cmlx_vec* out, cmlx_array a, int sections, int axis);
int cmlx_slice(cmlx_array* out, cmlx_array a, const int* start, const int* stop, const int* strides, int ndim);
int cmlx_slice_update(cmlx_array* out, cmlx_array a, cmlx_array update, const int* start, const int* stop, const int* strides, int ndim);
/// Constant padding: low/high per axis (ndim entries each).
int cmlx_pad(cmlx_array* out, cmlx_array a, const int* low, const int* high, int ndim, cmlx_array value);
int cmlx_tril(cmlx_array* out, cmlx_array a, int k);
int cmlx_triu(cmlx_array* out, cmlx_array a, int k);
int cmlx_sort(cmlx_array* out, cmlx_array a, int axis, bool indices_only);
int cmlx_topk(cmlx_array* out, cmlx_array a, int k, int axis);

// MARK: - Creation

int cmlx_full(cmlx_array* out, const int* shape, int ndim, cmlx_array value, cmlx_dtype dtype);
int cmlx_arange(cmlx_array* out, double start, double stop, double step, cmlx_dtype dtype);
int cmlx_eye(cmlx_array* out, int n, int m, int k, cmlx_dtype dtype);

// MARK: - Indexing

int cmlx_take(cmlx_array* out, cmlx_array a, cmlx_array indices, int axis /* INT32_MIN: flattened */);
int cmlx_take_along_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, int axis);
int cmlx_put_along_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, cmlx_array values, int axis);
int cmlx_scatter_add_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, cmlx_array values, int axis);
/// a[indices_0, ..., indices_k] over the given axes, as mlx::core::gather.
int cmlx_gather(cmlx_array* out, cmlx_array a, cmlx_vec indices, const int* axes, int naxes, const int* slice_sizes, int nslice);
/// Scatter-add `updates` into a at indices over axes, as mlx::core::scatter_add.
int cmlx_scatter_add(cmlx_array* out, cmlx_array a, cmlx_vec indices, cmlx_array updates, const int* axes, int naxes);

// MARK: - Neural-network kernels

int cmlx_conv1d(cmlx_array* out, cmlx_array input, cmlx_array weight, int stride, int padding, int dilation, int groups);
int cmlx_conv2d(cmlx_array* out, cmlx_array input, cmlx_array weight, const int* stride, const int* padding, const int* dilation, int groups);
int cmlx_rms_norm(cmlx_array* out, cmlx_array x, cmlx_array weight /*nullable*/, float eps);
int cmlx_layer_norm(cmlx_array* out, cmlx_array x, cmlx_array weight /*nullable*/, cmlx_array bias /*nullable*/, float eps);
int cmlx_rope(cmlx_array* out, cmlx_array x, int dims, bool traditional, float base, bool has_base, float scale, int offset, cmlx_array freqs /*nullable*/);
/// MLX's fused scaled dot-product attention. mask_mode: "" or "causal"; mask array nullable.
int cmlx_sdpa(cmlx_array* out, cmlx_array q, cmlx_array k, cmlx_array v, float scale, const char* mask_mode, cmlx_array mask);

// MARK: - Quantization

int cmlx_quantize(cmlx_array* w_q, cmlx_array* scales, cmlx_array* biases, cmlx_array w, int group_size, int bits);
int cmlx_dequantize(cmlx_array* out, cmlx_array w_q, cmlx_array scales, cmlx_array biases, int group_size, int bits);
int cmlx_quantized_matmul(cmlx_array* out, cmlx_array x, cmlx_array w_q, cmlx_array scales, cmlx_array biases, bool transpose, int group_size, int bits);

// MARK: - Random (explicit keys; key may be NULL for the global generator)

int cmlx_random_seed(uint64_t seed);
int cmlx_random_key(cmlx_array* out, uint64_t seed);
int cmlx_random_split(cmlx_array* out, cmlx_array key, int num);
int cmlx_random_uniform(cmlx_array* out, const int* shape, int ndim, float low, float high, cmlx_dtype dtype, cmlx_array key);
int cmlx_random_normal(cmlx_array* out, const int* shape, int ndim, float loc, float scale, cmlx_dtype dtype, cmlx_array key);
int cmlx_random_truncated_normal(cmlx_array* out, const int* shape, int ndim, float lower, float upper, cmlx_dtype dtype, cmlx_array key);
int cmlx_random_bernoulli(cmlx_array* out, float p, const int* shape, int ndim, cmlx_array key);
int cmlx_random_randint(cmlx_array* out, int low, int high, const int* shape, int ndim, cmlx_dtype dtype, cmlx_array key);
int cmlx_random_categorical(cmlx_array* out, cmlx_array logits, int axis, cmlx_array key);
int cmlx_random_permutation(cmlx_array* out, int n, cmlx_array key);

// MARK: - Distributed (mlx::core::distributed: ring over TCP, MPI, NCCL, JACCL)

typedef struct cmlx_group_s* cmlx_group; // one mlx::core::distributed::Group

/// Whether `backend` ("any", "ring", "mpi", "nccl", "jaccl") can be used in this build.
int cmlx_distributed_is_available(const char* backend, bool* out);
/// The group of all processes of the run (MLX_RANK / MLX_HOSTFILE for the ring backend).
/// strict: fail when no backend initializes; otherwise a one-process group.
int cmlx_distributed_init(cmlx_group* out, bool strict, const char* backend);
void cmlx_group_free(cmlx_group g);
int cmlx_group_rank(cmlx_group g, int* out);
int cmlx_group_size(cmlx_group g, int* out);
/// Sub-group of the processes with the same color (key orders them; < 0: the current rank).
int cmlx_group_split(cmlx_group* out, cmlx_group g, int color, int key);
/// Collectives (lazy: the communication happens when the result is evaluated).
int cmlx_all_sum(cmlx_array* out, cmlx_array a, cmlx_group g);
int cmlx_all_max(cmlx_array* out, cmlx_array a, cmlx_group g);
int cmlx_all_min(cmlx_array* out, cmlx_array a, cmlx_group g);
/// Concatenation of every rank's array along axis 0, in rank order.
int cmlx_all_gather(cmlx_array* out, cmlx_array a, cmlx_group g);
int cmlx_send(cmlx_array* out, cmlx_array a, int dst, cmlx_group g);
int cmlx_recv(cmlx_array* out, const int* shape, int ndim, cmlx_dtype dtype, int src, cmlx_group g);

// MARK: - Closures and transforms

/// A Swift (or C) function over arrays. Reads `inputs` (borrowed), pushes its results to `outputs`.
/// Returns 0 on success; on failure it sets cmlx_set_last_error and returns non-zero.
typedef int (*cmlx_closure_fn)(void* payload, cmlx_vec inputs, cmlx_vec outputs);
typedef void (*cmlx_payload_dtor)(void* payload);

int cmlx_closure_new(cmlx_closure* out, cmlx_closure_fn fn, void* payload, cmlx_payload_dtor dtor);
void cmlx_closure_free(cmlx_closure c);
int cmlx_closure_apply(cmlx_vec* out, cmlx_closure c, cmlx_vec inputs);
int cmlx_value_and_grad(cmlx_vec* values, cmlx_vec* grads, cmlx_closure f, cmlx_vec inputs, const int* argnums, int nargnums);
int cmlx_vjp(cmlx_vec* outputs, cmlx_vec* vjps, cmlx_closure f, cmlx_vec primals, cmlx_vec cotangents);
int cmlx_compile(cmlx_closure* out, cmlx_closure f, bool shapeless);
int cmlx_checkpoint(cmlx_closure* out, cmlx_closure f);

#ifdef __cplusplus
}
#endif

#endif // CMLX_SHIM_H
