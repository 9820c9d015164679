/*
 * pass_chunk2.c - nl_pass_chunk2: the pass's inner loop with vectors of 2
 * doubles, for the baseline (SSE2 on x86-64, NEON on ARM64, and any
 * machine without the wider builds).
 */
#define NL_W 2
#define NL_CHUNK_NAME nl_pass_chunk2
#define NL_CHUNK_TARGET

#include "pass_chunk_impl.h"
