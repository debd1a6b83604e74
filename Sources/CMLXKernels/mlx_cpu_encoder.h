// MLX's CPU command encoder (mlx/backend/cpu/encoder.h), included with libstdc++'s deprecation of
// std::result_of silenced: encoder.h's dispatch() hands each kernel's lambda to std::bind, whose
// libstdc++ 12 implementation still names result_of in C++20, so the warning is the library's,
// raised inside <functional> wherever a kernel dispatches. Clang judges a diagnostic by the pragma
// state where its header was read, so <functional> is read here first, inside the push.
#pragma once

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#include <functional>
#include "mlx/backend/cpu/encoder.h"
#pragma clang diagnostic pop
