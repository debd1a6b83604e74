// Closures crossing the C boundary and the function transforms over them.
#include <memory>

#include "cmlx_shim_internal.hpp"

struct cmlx_closure_s {
  std::function<std::vector<mlx::core::array>(const std::vector<mlx::core::array>&)> fn;
};

using namespace cmlx;

namespace {

using ArrayFn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;

/// Owns the foreign payload and releases it through its destructor exactly once.
struct Payload {
  void* data;
  cmlx_payload_dtor dtor;
  Payload(void* d, cmlx_payload_dtor f) : data(d), dtor(f) {}
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  ~Payload() {
    if (dtor != nullptr) dtor(data);
  }
};

ArrayFn make_function(cmlx_closure_fn fn, void* data, cmlx_payload_dtor dtor) {
  auto payload = std::make_shared<Payload>(data, dtor);
  return [fn, payload](const std::vector<mx::array>& inputs) {
    cmlx_vec_s in{inputs};
    cmlx_vec_s out{};
    if (fn(payload->data, &in, &out) != 0) {
      std::string message = cmlx_last_error();
      throw std::runtime_error(message.empty() ? "closure failed" : message);
    }
    return std::move(out.value);
  };
}

} // namespace

extern "C" {

int cmlx_closure_new(cmlx_closure* out, cmlx_closure_fn fn, void* payload, cmlx_payload_dtor dtor) {
  CMLX_GUARD(*out = new cmlx_closure_s{make_function(fn, payload, dtor)})
}

void cmlx_closure_free(cmlx_closure c) { delete c; }

int cmlx_closure_apply(cmlx_vec* out, cmlx_closure c, cmlx_vec inputs) {
  CMLX_GUARD(*out = wrap(c->fn(inputs->value)))
}

int cmlx_value_and_grad(cmlx_vec* values, cmlx_vec* grads, cmlx_closure f, cmlx_vec inputs, const int* argnums,
                        int nargnums) {
  CMLX_GUARD({
    auto vg = mx::value_and_grad(f->fn, ints(argnums, nargnums));
    auto [v, g] = vg(inputs->value);
    *values = wrap(std::move(v));
    *grads = wrap(std::move(g));
  })
}

int cmlx_vjp(cmlx_vec* outputs, cmlx_vec* vjps, cmlx_closure f, cmlx_vec primals, cmlx_vec cotangents) {
  CMLX_GUARD({
    auto [o, g] = mx::vjp(f->fn, primals->value, cotangents->value);
    *outputs = wrap(std::move(o));
    *vjps = wrap(std::move(g));
  })
}

int cmlx_compile(cmlx_closure* out, cmlx_closure f, bool shapeless) {
  CMLX_GUARD(*out = new cmlx_closure_s{mx::compile(f->fn, shapeless)})
}

int cmlx_checkpoint(cmlx_closure* out, cmlx_closure f) { CMLX_GUARD(*out = new cmlx_closure_s{mx::checkpoint(f->fn)}) }

} // extern "C"
