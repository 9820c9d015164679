/* fuzz_csv.c - libFuzzer target: see targets.h (nl_fuzz_csv). */
#define NL_FUZZ_TARGET nl_fuzz_csv
#include "targets.h"
