/*
 * pass.c - the fused pass of perceptron.h: stream rows once, per block of
 * rows compute z, cross the plugin boundary once per call kind, and add the
 * block's loss, hits and gradient (the chunk loop of pass_chunk.h, built
 * for the CPU's vector width); large passes are split into chunks over
 * worker threads (workers.h).
 *
 * The sums have a fixed shape whatever the thread count: a chunk's blocks
 * in row order, the chunks in chunk order.  So a run gives the same bits
 * with 1 thread or 16.
 */
#include "perceptron.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block_kernels.h"
#include "pass_chunk.h"
#include "workers.h"

/* Bytes of X per block for wide rows.  The block is read for z and again
 * for the gradient, so it must stay in L1 between the two.  Data streamed
 * from memory or L3 (pass_chunk.h) takes small blocks: the plugins' turn
 * between z and the gradient must be short, as memory idles in it (the
 * bench: 4 KiB ran about 20% faster than 16 KiB at 1e6 x 16).  Data in L2
 * takes bigger ones, which cross the plugin boundary a quarter as often
 * (the bench: 17% faster at 200 x 16 and at 500 x 64). */
#define NL_BLOCK_BYTES_STREAMED 4096
#define NL_BLOCK_BYTES_CACHED 16384

/* One thread's share of a pass: the chunks of its range, in order, then
 * any it takes from the end of another's range (what all threads share is
 * in nl_pass_state's `run`). */
typedef struct pass_job {
    double *scratch;
    const char *failed;     /* the call that failed, or NULL */
    size_t failed_chunk;    /* ... in this chunk */
    const nl_instance *who;
    int rc;
    /* The chunks [next, end) of this thread's range not yet taken, packed
     * as next << 32 | end, so that its thread (from the front) and the
     * others (from the back) take each exactly once. */
    _Atomic uint64_t left;
} pass_job;

#define PACK(next, end) ((uint64_t)(next) << 32 | (uint64_t)(end))

/* Takes a chunk of job's range: the first left when `front`, else the
 * last.  Returns false when none is left. */
static bool take(pass_job *job, bool front, size_t *chunk)
{
    uint64_t left = atomic_load_explicit(&job->left, memory_order_relaxed);
    for (;;) {
        uint64_t next = left >> 32, end = left & 0xffffffffu;
        if (next >= end)
            return false;
        uint64_t taken = front ? PACK(next + 1, end) : PACK(next, end - 1);
        if (atomic_compare_exchange_weak_explicit(&job->left, &left, taken,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *chunk = front ? next : end - 1;
            return true;
        }
    }
}

struct nl_pass_state {
    size_t block_rows[2];   /* rows per block for this d: data in L2, data
                               streamed (a mini-batch's too: its rows come
                               from memory) */
    size_t scratch_size;    /* doubles of scratch per thread */
    double *scratch;        /* n_threads sets */
    double *partials;       /* per chunk: loss, hits, gradient */
    size_t n_partials;
    nl_chunk_fn *chunk;     /* the inner loop for this CPU */
    nl_workers *workers;    /* threads 1.. of a split pass */
    struct {                /* the pass under way, as all threads see it */
        const nl_perceptron *p;
        const nl_dataset *ds;
        const size_t *idx;
        size_t n, threads, block_rows;
        bool want_grad;
    } run;
    pass_job jobs[NL_MAX_THREADS];
};

/* Job t's share: its own range from the front, contiguous in memory as
 * the prefetchers like; then, when it is done, what is left of the others'
 * from their backs, so that a thread held up (a shared machine's core
 * taken away for a while) does not keep the others waiting at the end.
 * A chunk's sums do not depend on the thread that makes them.  A thread
 * stops at its first failure; the first failing chunk of the pass is
 * always reached (each range is taken in order from the front, and a
 * chunk taken from the back is met by whoever took it). */
static void run_share(void *state, size_t t)
{
    nl_pass_state *st = state;
    pass_job *job = &st->jobs[t];
    const size_t stride = st->run.p->d + 3, n = st->run.n;
    size_t victim = t, c;
    while (job->failed == NULL) {
        if (!take(&st->jobs[victim], victim == t, &c)) {
            if (++victim == st->run.threads)
                victim = 0;
            if (victim == t)
                return; /* every range is empty */
            continue;
        }
        size_t first = c * NL_CHUNK_ROWS;
        size_t last = first + NL_CHUNK_ROWS < n ? first + NL_CHUNK_ROWS : n;
        job->failed = st->chunk(st->run.p, st->run.block_rows, st->run.ds,
                                st->run.idx, first, last, st->run.want_grad,
                                job->scratch, st->partials + c * stride,
                                &job->who, &job->rc);
        job->failed_chunk = c;
    }
}

/* The widest build of the inner loop that the CPU can run, or a narrower
 * one that NNLAB_VECTOR_WIDTH asks for (every width gives the same bits;
 * the variable is there to show it). */
static nl_chunk_fn *chunk_for_cpu(void)
{
    const char *env = getenv("NNLAB_VECTOR_WIDTH");
    long most = env != NULL ? strtol(env, NULL, 10) : 8;
#ifdef NL_CHUNK_X86
    if (most >= 8 && __builtin_cpu_supports("avx512f"))
        return nl_pass_chunk8;
    if (most >= 4 && __builtin_cpu_supports("avx2"))
        return nl_pass_chunk4;
#endif
    (void)most;
    return nl_pass_chunk2;
}

/* Rows of d features in a block of about `bytes`: whole groups of
 * NL_LANES rows (the kernels' unit), at least one group and at most
 * NL_BLOCK_ROWS. */
static size_t rows_per_block(size_t d, size_t bytes)
{
    size_t rows = bytes / ((d > 0 ? d : 1) * sizeof(double));
    rows = rows < NL_LANES ? NL_LANES : rows > NL_BLOCK_ROWS ? NL_BLOCK_ROWS
                                                             : rows;
    return rows / NL_LANES * NL_LANES;
}

static nl_pass_state *state_new(const nl_perceptron *p)
{
    nl_pass_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->block_rows[0] = rows_per_block(p->d, NL_BLOCK_BYTES_CACHED);
    st->block_rows[1] = rows_per_block(p->d, NL_BLOCK_BYTES_STREAMED);
    st->chunk = chunk_for_cpu();
    st->scratch_size = BUF_COUNT * NL_BLOCK_ROWS +
                       2 * st->block_rows[0] * p->d;
    /* Each thread's set starts a cache line, as X does (nl_values_alloc):
     * the sizes above are whole groups of eight doubles. */
    st->scratch = nl_values_alloc((size_t)p->n_threads * st->scratch_size);
    st->workers = nl_workers_new();
    if (st->scratch == NULL || st->workers == NULL) {
        nl_pass_state_free(st);
        return NULL;
    }
    return st;
}

void nl_pass_state_free(nl_pass_state *st)
{
    if (st == NULL)
        return;
    nl_workers_free(st->workers);
    free(st->scratch);
    free(st->partials);
    free(st);
}

int nl_perceptron_pass(nl_perceptron *p, const nl_dataset *ds,
                       const size_t *idx, size_t n, nl_pass *out,
                       double *grad, nl_diag *diag)
{
    const size_t d = p->d, stride = d + 3;
    if (p->pass == NULL && (p->pass = state_new(p)) == NULL)
        return nl_fail(diag, NL_EFAIL, "out of memory");
    nl_pass_state *st = p->pass;
    size_t chunks = (n + NL_CHUNK_ROWS - 1) / NL_CHUNK_ROWS;
    if (chunks == 0)
        chunks = 1;
    if (chunks > st->n_partials) {
        double *grown = realloc(st->partials, chunks * stride * sizeof(double));
        if (grown == NULL)
            return nl_fail(diag, NL_EFAIL, "out of memory");
        st->partials = grown;
        st->n_partials = chunks;
    }
    size_t threads = n * d >= NL_PARALLEL_MIN_VALUES ? (size_t)p->n_threads : 1;
    if (threads > chunks)
        threads = chunks;
    if (threads > 1)
        threads = nl_workers_reserve(st->workers, threads);
    st->run.p = p;
    st->run.ds = ds;
    st->run.idx = idx;
    st->run.n = n;
    st->run.threads = threads;
    st->run.block_rows = st->block_rows[nl_pass_streams(ds)];
    st->run.want_grad = grad != NULL;
    for (size_t t = 0; t < threads; t++) {
        pass_job *job = &st->jobs[t];
        *job = (pass_job){.scratch = st->scratch + t * st->scratch_size};
        atomic_init(&job->left, PACK(chunks * t / threads,
                                     chunks * (t + 1) / threads));
    }
    nl_workers_run(st->workers, threads, run_share, st);
    /* The first failing chunk's error, whichever thread met it: the same
     * error every time. */
    const pass_job *failed = NULL;
    for (size_t t = 0; t < threads; t++)
        if (st->jobs[t].failed != NULL &&
            (failed == NULL || st->jobs[t].failed_chunk < failed->failed_chunk))
            failed = &st->jobs[t];
    if (failed != NULL)
        return nl_instance_failed(failed->who, failed->failed, failed->rc,
                                  diag);
    /* Chunk order, whatever the threads did: the same bits every time. */
    double loss_sum = 0, hits = 0;
    if (grad != NULL)
        memset(grad, 0, (d + 1) * sizeof(double));
    for (size_t c = 0; c < chunks; c++) {
        const double *part = st->partials + c * stride;
        loss_sum += part[0];
        hits += part[1];
        for (size_t j = 0; grad != NULL && j <= d; j++)
            grad[j] += part[2 + j];
    }
    out->loss = loss_sum / (double)n;
    out->accuracy = hits / (double)n;
    if (grad != NULL)
        for (size_t j = 0; j <= d; j++)
            grad[j] /= (double)n;
    return 0;
}
