// Included by nothing in Swift; present so the system-library module is well formed.
#include <pango/pangocairo.h>
