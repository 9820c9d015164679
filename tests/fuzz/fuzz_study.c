/* fuzz_study.c - libFuzzer target: see targets.h (nl_fuzz_study). */
#define NL_FUZZ_TARGET nl_fuzz_study
#include "targets.h"
