/*
 * pass_chunk4.c - nl_pass_chunk4: the pass's inner loop with vectors of 4
 * doubles, built for AVX2 and for the baseline, the one picked at load
 * time (or just the baseline, with other compilers).
 */
#define NL_W 4
#define NL_CHUNK_NAME nl_pass_chunk4
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_CHUNK_TARGET __attribute__((target_clones("avx2", "default")))
#else
#define NL_CHUNK_TARGET
#endif

#include "pass_chunk_impl.h"
