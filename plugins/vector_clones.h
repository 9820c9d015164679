/*
 * vector_clones.h - NL_VECTOR_CLONES before a loop function builds it for
 * AVX-512 (8 doubles a vector), AVX2 (4) and the baseline (2), picked when
 * the plugin loads.  Each lane does the same operations in the same order
 * (no FMA contraction under -std=c11), so every clone gives the same bits.
 */
#ifndef NL_PLUGINS_VECTOR_CLONES_H
#define NL_PLUGINS_VECTOR_CLONES_H

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_VECTOR_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NL_VECTOR_CLONES
#endif

#endif
