// The engine's distributed entry points (mlx/distributed/distributed.h and ops.h): group
// initialization and the collectives, each guarded like every other shim op.
#include <string>

#include "cmlx_shim_internal.hpp"

struct cmlx_group_s {
  mlx::core::distributed::Group value;
};

using namespace cmlx;
namespace dist = mlx::core::distributed;

namespace {

std::string backend_name(const char* backend) {
  return backend == nullptr || backend[0] == '\0' ? std::string("any") : std::string(backend);
}

} // namespace

extern "C" {

int cmlx_distributed_is_available(const char* backend, bool* out) {
  CMLX_GUARD(*out = dist::is_available(backend_name(backend)))
}

int cmlx_distributed_init(cmlx_group* out, bool strict, const char* backend) {
  CMLX_GUARD(*out = new cmlx_group_s{dist::init(strict, backend_name(backend))})
}

void cmlx_group_free(cmlx_group g) { delete g; }

int cmlx_group_rank(cmlx_group g, int* out) { CMLX_GUARD(*out = g->value.rank()) }

int cmlx_group_size(cmlx_group g, int* out) { CMLX_GUARD(*out = g->value.size()) }

int cmlx_group_split(cmlx_group* out, cmlx_group g, int color, int key) {
  CMLX_GUARD(*out = new cmlx_group_s{g->value.split(color, key)})
}

int cmlx_all_sum(cmlx_array* out, cmlx_array a, cmlx_group g) { CMLX_RESULT(dist::all_sum(a->value, g->value)) }

int cmlx_all_max(cmlx_array* out, cmlx_array a, cmlx_group g) { CMLX_RESULT(dist::all_max(a->value, g->value)) }

int cmlx_all_min(cmlx_array* out, cmlx_array a, cmlx_group g) { CMLX_RESULT(dist::all_min(a->value, g->value)) }

int cmlx_all_gather(cmlx_array* out, cmlx_array a, cmlx_group g) {
  CMLX_RESULT(dist::all_gather(a->value, g->value))
}

int cmlx_send(cmlx_array* out, cmlx_array a, int dst, cmlx_group g) {
  CMLX_RESULT(dist::send(a->value, dst, g->value))
}

int cmlx_recv(cmlx_array* out, const int* shape, int ndim, cmlx_dtype dtype, int src, cmlx_group g) {
  CMLX_RESULT(dist::recv(cmlx::shape(shape, ndim), to_mlx(dtype), src, g->value))
}

} // extern "C"
