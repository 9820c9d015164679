/*
 * test_kernels4.c - test_kernels.c with vectors of 4 doubles, the width
 * the AVX2 build of the pass uses.
 */
#define NL_W 4
#define KERNELS kernels4
#include "test_kernels.c"
