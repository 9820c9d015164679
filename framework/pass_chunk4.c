/*
 * pass_chunk4.c - nl_pass_chunk4: the pass's inner loop with vectors of 4
 * doubles, built for AVX2 (pass.c calls it only where the CPU has it).
 */
#include "pass_chunk.h"

#ifdef NL_CHUNK_X86
#define NL_W 4
#define NL_CHUNK_NAME nl_pass_chunk4
#define NL_CHUNK_TARGET __attribute__((target("avx2")))

#include "pass_chunk_impl.h"
#else
/* ISO C wants something in a translation unit. */
typedef int nl_pass_chunk4_unused;
#endif
