// Internal helpers shared by the shim's translation units (C++ only).
#pragma once

#include <string>

namespace carrow {
/// Sets the per-thread message returned by carrow_last_error.
void set_error(const std::string& message);
}
