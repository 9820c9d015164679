/* fuzz_settings.c - libFuzzer target: see targets.h (nl_fuzz_settings). */
#define NL_FUZZ_TARGET nl_fuzz_settings
#include "targets.h"
