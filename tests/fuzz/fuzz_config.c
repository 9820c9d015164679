/* fuzz_config.c - libFuzzer target: see targets.h (nl_fuzz_config). */
#define NL_FUZZ_TARGET nl_fuzz_config
#include "targets.h"
