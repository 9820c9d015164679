/*
 * test_kernels8.c - test_kernels.c with vectors of 8 doubles, the width
 * the AVX-512 build of the pass uses.
 */
#define NL_W 8
#define KERNELS kernels8
#include "test_kernels.c"
