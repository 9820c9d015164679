/*
 * pass_chunk.h - the inner loop of the fused pass (pass.c): rows
 * [first, last) a block at a time.  Built from pass_chunk_impl.h with
 * vectors of 8 doubles for AVX-512 (pass_chunk8.c), of 4 for AVX2
 * (pass_chunk4.c) and of 2 for any machine (pass_chunk2.c); all give the
 * same bits.  Internal to pass.c.
 */
#ifndef NL_PASS_CHUNK_H
#define NL_PASS_CHUNK_H

#include "perceptron.h"

/* Data bigger than this is streamed from memory (or from L3): the pass
 * asks for the block after next ahead of time, 3/8 of it in pieces
 * between the plugin calls, so that memory keeps busy while the plugins
 * run, and the rest spread over the next block's z and this one's
 * gradient (block_kernels.h); and it takes small blocks (pass.c).
 * Smaller data stays in L2, where prefetching would only cost
 * instructions.  About a core's L2 (the bench, at d = 64: streaming was
 * 15% faster from 1.5 MB up, 25% slower below 1 MB).  A constant, not
 * the machine's L2: block sizes shape some sums, and every machine must
 * give the same bits. */
#define NL_STREAM_BYTES (1u << 20)
#define NL_PREFETCH_BURST_EIGHTHS 3

static inline bool nl_pass_streams(const nl_dataset *ds)
{
    return ds->n * ds->d * sizeof(double) > NL_STREAM_BYTES;
}

/* Per-thread block buffers: z, a, l, l', f' and two of gathered targets
 * (NL_BLOCK_ROWS each), then room for two blocks of gathered rows
 * (mini-batches: this block and the next). */
enum { BUF_Z, BUF_A, BUF_L, BUF_G, BUF_F, BUF_Y0, BUF_Y1, BUF_COUNT };

/* Rows [first, last) of a pass over ds (or over its rows idx[first..last)
 * when idx is not NULL), in blocks of block_rows, with scratch of
 * nl_chunk_scratch doubles.  Writes the chunk's sums to part: [0] loss,
 * [1] hits, [2..] gradient (times n).  Returns NULL, or the failing
 * call's name (the instance in *who, its code in *rc). */
typedef const char *nl_chunk_fn(const nl_perceptron *p, size_t block_rows,
                                const nl_dataset *ds, const size_t *idx,
                                size_t first, size_t last, bool want_grad,
                                double *scratch, double *part,
                                const nl_instance **who, int *rc);

/* Vectors of 4 and 8: only on x86-64 with GCC, whose target attributes
 * build them for AVX2 and AVX-512 inside an ordinary build. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_CHUNK_X86 1
nl_chunk_fn nl_pass_chunk4, nl_pass_chunk8;
#endif
nl_chunk_fn nl_pass_chunk2;

#endif
