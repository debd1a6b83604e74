// Array operations: elementwise, reductions, shape, creation, indexing.
#include "cmlx_shim_internal.hpp"

using namespace cmlx;

namespace {

mx::array unary(const mx::array& a, cmlx_unary_op op) {
  switch (op) {
    case CMLX_ABS: return mx::abs(a);
    case CMLX_NEGATIVE: return mx::negative(a);
    case CMLX_EXP: return mx::exp(a);
    case CMLX_LOG: return mx::log(a);
    case CMLX_LOG1P: return mx::log1p(a);
    case CMLX_SQRT: return mx::sqrt(a);
    case CMLX_RSQRT: return mx::rsqrt(a);
    case CMLX_SIN: return mx::sin(a);
    case CMLX_COS: return mx::cos(a);
    case CMLX_TANH: return mx::tanh(a);
    case CMLX_SIGMOID: return mx::sigmoid(a);
    case CMLX_ERF: return mx::erf(a);
    case CMLX_ERFINV: return mx::erfinv(a);
    case CMLX_SIGN: return mx::sign(a);
    case CMLX_FLOOR: return mx::floor(a);
    case CMLX_CEIL: return mx::ceil(a);
    case CMLX_ROUND: return mx::round(a);
    case CMLX_SQUARE: return mx::square(a);
    case CMLX_RECIPROCAL: return mx::reciprocal(a);
    case CMLX_LOGICAL_NOT: return mx::logical_not(a);
    case CMLX_STOP_GRADIENT: return mx::stop_gradient(a);
    case CMLX_ISNAN: return mx::isnan(a);
    case CMLX_ISINF: return mx::isinf(a);
    case CMLX_COPY: return mx::copy(a);
    case CMLX_CONTIGUOUS: return mx::contiguous(a);
    case CMLX_EXPM1: return mx::expm1(a);
  }
  throw std::invalid_argument("unknown unary op");
}

mx::array binary(const mx::array& a, const mx::array& b, cmlx_binary_op op) {
  switch (op) {
    case CMLX_ADD: return mx::add(a, b);
    case CMLX_SUBTRACT: return mx::subtract(a, b);
    case CMLX_MULTIPLY: return mx::multiply(a, b);
    case CMLX_DIVIDE: return mx::divide(a, b);
    case CMLX_POWER: return mx::power(a, b);
    case CMLX_MAXIMUM: return mx::maximum(a, b);
    case CMLX_MINIMUM: return mx::minimum(a, b);
    case CMLX_EQUAL: return mx::equal(a, b);
    case CMLX_NOT_EQUAL: return mx::not_equal(a, b);
    case CMLX_LESS: return mx::less(a, b);
    case CMLX_LESS_EQUAL: return mx::less_equal(a, b);
    case CMLX_GREATER: return mx::greater(a, b);
    case CMLX_GREATER_EQUAL: return mx::greater_equal(a, b);
    case CMLX_LOGICAL_AND: return mx::logical_and(a, b);
    case CMLX_LOGICAL_OR: return mx::logical_or(a, b);
    case CMLX_MATMUL: return mx::matmul(a, b);
    case CMLX_FLOOR_DIVIDE: return mx::floor_divide(a, b);
    case CMLX_REMAINDER: return mx::remainder(a, b);
    case CMLX_LOGADDEXP: return mx::logaddexp(a, b);
    case CMLX_ARCTAN2: return mx::arctan2(a, b);
  }
  throw std::invalid_argument("unknown binary op");
}

std::vector<int> axes_or_all(const mx::array& a, const int* axes, int naxes) {
  if (naxes >= 0) return ints(axes, naxes);
  std::vector<int> all(a.ndim());
  for (int i = 0; i < int(a.ndim()); i++) all[i] = i;
  return all;
}

mx::array reduce(const mx::array& a, const std::vector<int>& axes, bool keepdims, cmlx_reduce_op op) {
  switch (op) {
    case CMLX_SUM: return mx::sum(a, axes, keepdims);
    case CMLX_MEAN: return mx::mean(a, axes, keepdims);
    case CMLX_MAX: return mx::max(a, axes, keepdims);
    case CMLX_MIN: return mx::min(a, axes, keepdims);
    case CMLX_PROD: return mx::prod(a, axes, keepdims);
    case CMLX_LOGSUMEXP: return mx::logsumexp(a, axes, keepdims);
    case CMLX_ALL: return mx::all(a, axes, keepdims);
    case CMLX_ANY: return mx::any(a, axes, keepdims);
    case CMLX_SOFTMAX: return mx::softmax(a, axes, false);
    case CMLX_PRECISE_SOFTMAX: return mx::softmax(a, axes, true);
  }
  throw std::invalid_argument("unknown reduction");
}

std::vector<mx::array> vec_or_empty(cmlx_vec v) {
  return v == nullptr ? std::vector<mx::array>{} : v->value;
}

} // namespace

extern "C" {

// MARK: - Elementwise and reductions

int cmlx_unary(cmlx_array* out, cmlx_array a, cmlx_unary_op op) { CMLX_RESULT(unary(a->value, op)) }

int cmlx_binary(cmlx_array* out, cmlx_array a, cmlx_array b, cmlx_binary_op op) {
  CMLX_RESULT(binary(a->value, b->value, op))
}

int cmlx_reduce(cmlx_array* out, cmlx_array a, const int* axes, int naxes, bool keepdims, cmlx_reduce_op op) {
  CMLX_RESULT(reduce(a->value, axes_or_all(a->value, axes, naxes), keepdims, op))
}

int cmlx_var(cmlx_array* out, cmlx_array a, const int* axes, int naxes, bool keepdims, int ddof) {
  CMLX_RESULT(mx::var(a->value, axes_or_all(a->value, axes, naxes), keepdims, ddof))
}

int cmlx_argreduce(cmlx_array* out, cmlx_array a, int axis, bool keepdims, bool is_max) {
  CMLX_RESULT(is_max ? mx::argmax(a->value, axis, keepdims) : mx::argmin(a->value, axis, keepdims))
}

int cmlx_cumulative(cmlx_array* out, cmlx_array a, int axis, bool reverse, bool inclusive, int kind) {
  CMLX_GUARD({
    switch (kind) {
      case 0: *out = wrap(mx::cumsum(a->value, axis, reverse, inclusive)); break;
      case 1: *out = wrap(mx::cumprod(a->value, axis, reverse, inclusive)); break;
      case 2: *out = wrap(mx::cummax(a->value, axis, reverse, inclusive)); break;
      case 3: *out = wrap(mx::logcumsumexp(a->value, axis, reverse, inclusive)); break;
      default: throw std::invalid_argument("unknown cumulative op");
    }
  })
}

int cmlx_astype(cmlx_array* out, cmlx_array a, cmlx_dtype dtype) { CMLX_RESULT(mx::astype(a->value, to_mlx(dtype))) }

int cmlx_where(cmlx_array* out, cmlx_array cond, cmlx_array a, cmlx_array b) {
  CMLX_RESULT(mx::where(cond->value, a->value, b->value))
}

int cmlx_clip(cmlx_array* out, cmlx_array a, cmlx_array lo, cmlx_array hi) {
  CMLX_RESULT(mx::clip(a->value, optional(lo), optional(hi)))
}

int cmlx_addmm(cmlx_array* out, cmlx_array c, cmlx_array a, cmlx_array b, float alpha, float beta) {
  CMLX_RESULT(mx::addmm(c->value, a->value, b->value, alpha, beta))
}

// MARK: - Shape

int cmlx_reshape(cmlx_array* out, cmlx_array a, const int* shape, int ndim) {
  CMLX_RESULT(mx::reshape(a->value, cmlx::shape(shape, ndim)))
}

int cmlx_transpose(cmlx_array* out, cmlx_array a, const int* axes, int naxes) {
  CMLX_RESULT(naxes < 0 ? mx::transpose(a->value) : mx::transpose(a->value, ints(axes, naxes)))
}

int cmlx_broadcast_to(cmlx_array* out, cmlx_array a, const int* shape, int ndim) {
  CMLX_RESULT(mx::broadcast_to(a->value, cmlx::shape(shape, ndim)))
}

int cmlx_expand_dims(cmlx_array* out, cmlx_array a, const int* axes, int naxes) {
  CMLX_RESULT(mx::expand_dims(a->value, ints(axes, naxes)))
}

int cmlx_squeeze(cmlx_array* out, cmlx_array a, const int* axes, int naxes) {
  CMLX_RESULT(naxes < 0 ? mx::squeeze(a->value) : mx::squeeze(a->value, ints(axes, naxes)))
}

int cmlx_flatten(cmlx_array* out, cmlx_array a, int start_axis, int end_axis) {
  CMLX_RESULT(mx::flatten(a->value, start_axis, end_axis))
}

int cmlx_concatenate(cmlx_array* out, cmlx_vec arrays, int axis) {
  CMLX_RESULT(mx::concatenate(arrays->value, axis))
}

int cmlx_stack(cmlx_array* out, cmlx_vec arrays, int axis) { CMLX_RESULT(mx::stack(arrays->value, axis)) }

int cmlx_split_indices(cmlx_vec* out, cmlx_array a, const int* indices, int nindices, int axis) {
  CMLX_GUARD(*out = wrap(mx::split(a->value, cmlx::shape(indices, nindices), axis)))
}

int cmlx_split_sections(cmlx_vec* out, cmlx_array a, int sections, int axis) {
  CMLX_GUARD(*out = wrap(mx::split(a->value, sections, axis)))
}

int cmlx_slice(cmlx_array* out, cmlx_array a, const int* start, const int* stop, const int* strides, int ndim) {
  CMLX_RESULT(mx::slice(a->value, shape(start, ndim), shape(stop, ndim), shape(strides, ndim)))
}

int cmlx_slice_update(cmlx_array* out, cmlx_array a, cmlx_array update, const int* start, const int* stop,
                      const int* strides, int ndim) {
  CMLX_RESULT(mx::slice_update(a->value, update->value, shape(start, ndim), shape(stop, ndim), shape(strides, ndim)))
}

int cmlx_pad(cmlx_array* out, cmlx_array a, const int* low, const int* high, int ndim, cmlx_array value) {
  CMLX_GUARD({
    std::vector<int> axes(ndim);
    for (int i = 0; i < ndim; i++) axes[i] = i;
    *out = wrap(mx::pad(a->value, axes, shape(low, ndim), shape(high, ndim), value->value));
  })
}

int cmlx_tril(cmlx_array* out, cmlx_array a, int k) { CMLX_RESULT(mx::tril(a->value, k)) }
int cmlx_triu(cmlx_array* out, cmlx_array a, int k) { CMLX_RESULT(mx::triu(a->value, k)) }

int cmlx_sort(cmlx_array* out, cmlx_array a, int axis, bool indices_only) {
  CMLX_RESULT(indices_only ? mx::argsort(a->value, axis) : mx::sort(a->value, axis))
}

int cmlx_topk(cmlx_array* out, cmlx_array a, int k, int axis) { CMLX_RESULT(mx::topk(a->value, k, axis)) }

// MARK: - Creation

int cmlx_full(cmlx_array* out, const int* shape, int ndim, cmlx_array value, cmlx_dtype dtype) {
  CMLX_RESULT(mx::full(cmlx::shape(shape, ndim), value->value, to_mlx(dtype)))
}

int cmlx_arange(cmlx_array* out, double start, double stop, double step, cmlx_dtype dtype) {
  CMLX_RESULT(mx::arange(start, stop, step, to_mlx(dtype)))
}

int cmlx_eye(cmlx_array* out, int n, int m, int k, cmlx_dtype dtype) { CMLX_RESULT(mx::eye(n, m, k, to_mlx(dtype))) }

// MARK: - Indexing

int cmlx_take(cmlx_array* out, cmlx_array a, cmlx_array indices, int axis) {
  CMLX_RESULT(axis == INT32_MIN ? mx::take(a->value, indices->value) : mx::take(a->value, indices->value, axis))
}

int cmlx_take_along_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, int axis) {
  CMLX_RESULT(mx::take_along_axis(a->value, indices->value, axis))
}

int cmlx_put_along_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, cmlx_array values, int axis) {
  CMLX_RESULT(mx::put_along_axis(a->value, indices->value, values->value, axis))
}

int cmlx_scatter_add_axis(cmlx_array* out, cmlx_array a, cmlx_array indices, cmlx_array values, int axis) {
  CMLX_RESULT(mx::scatter_add_axis(a->value, indices->value, values->value, axis))
}

int cmlx_gather(cmlx_array* out, cmlx_array a, cmlx_vec indices, const int* axes, int naxes, const int* slice_sizes,
                int nslice) {
  CMLX_RESULT(mx::gather(a->value, vec_or_empty(indices), ints(axes, naxes), shape(slice_sizes, nslice)))
}

int cmlx_scatter_add(cmlx_array* out, cmlx_array a, cmlx_vec indices, cmlx_array updates, const int* axes, int naxes) {
  CMLX_RESULT(mx::scatter_add(a->value, vec_or_empty(indices), updates->value, ints(axes, naxes)))
}

} // extern "C"
