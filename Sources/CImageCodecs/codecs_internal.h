// Internal helpers shared by the codec translation units.
#pragma once

#include <stdarg.h>

#include "cimage_codecs.h"

/// Formats the per-thread error message and returns `code`.
int cic_fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
