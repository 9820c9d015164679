/*
 * pass_chunk8.c - nl_pass_chunk8: the pass's inner loop with vectors of 8
 * doubles, built for AVX-512 (pass.c calls it only where the CPU has it).
 */
#include "pass_chunk.h"

#ifdef NL_CHUNK_X86
#define NL_W 8
#define NL_CHUNK_NAME nl_pass_chunk8
#define NL_CHUNK_TARGET __attribute__((target("avx512f")))

#include "pass_chunk_impl.h"
#else
/* ISO C wants something in a translation unit. */
typedef int nl_pass_chunk8_unused;
#endif
