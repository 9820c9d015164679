/*
 * pass.c - the fused pass of perceptron.h: stream rows once, per block of
 * rows compute z, cross the plugin boundary once per call kind, and add the
 * block's loss, hits and gradient (block_kernels.h); large passes are split
 * into chunks over worker threads (workers.h).
 *
 * The sums have a fixed shape whatever the thread count: a chunk's blocks
 * in row order, the chunks in chunk order.  So a run gives the same bits
 * with 1 thread or 16.
 */
#include "perceptron.h"

#include <stdlib.h>
#include <string.h>

#include "block_kernels.h"
#include "workers.h"

/* Bytes of X per block for wide rows: the block is read from memory for z
 * and again from L1 for the gradient, so it must stay there; and the
 * plugins' turn between the two must be short, as memory idles in it
 * (the bench: 4 KiB ran about 20% faster than 16 KiB at 1e6 x 16). */
#define NL_BLOCK_BYTES 4096

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_VECTOR_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NL_VECTOR_CLONES
#endif

/* Data bigger than this is streamed from memory: the pass asks for the
 * block after next ahead of time, 3/8 of it before the plugin calls and
 * the rest while the next block's z is computed, so that memory keeps busy
 * while the plugins run.  Smaller data stays in the caches and prefetching
 * would only cost instructions. */
#define NL_STREAM_BYTES (4u << 20)
#define NL_PREFETCH_BURST_EIGHTHS 3

/* Per-thread block buffers: z, a, l, l', f' and two of gathered targets
 * (NL_BLOCK_ROWS each), then room for two blocks of gathered rows
 * (mini-batches: this block and the next). */
enum { BUF_Z, BUF_A, BUF_L, BUF_G, BUF_F, BUF_Y0, BUF_Y1, BUF_COUNT };

/* One thread's share of a pass: chunks [first_chunk, last_chunk). */
typedef struct pass_job {
    const nl_perceptron *p;
    const nl_dataset *ds;
    const size_t *idx;
    size_t n, first_chunk, last_chunk;
    bool want_grad;
    double *scratch;
    const char *failed;     /* the call that failed, or NULL */
    const nl_instance *who;
    int rc;
} pass_job;

struct nl_pass_state {
    size_t block_rows;      /* rows per block, for this d */
    size_t scratch_size;    /* doubles of scratch per thread */
    double *scratch;        /* n_threads sets */
    double *partials;       /* per chunk: loss, hits, gradient */
    size_t n_partials;
    nl_workers *workers;    /* threads 1.. of a split pass */
    pass_job jobs[NL_MAX_THREADS];
};

/* The m rows of a block from row `start` of the pass: where they are in
 * the data (rows in order), or copied together into gx, gy (a
 * mini-batch's rows idx[start..]).  Returns x; *y gets the targets. */
NL_INLINE const double *block_at(const nl_dataset *ds, const size_t *idx,
                                 size_t d, size_t start, size_t m,
                                 double *restrict gx, double *restrict gy,
                                 const double **y)
{
    if (idx == NULL) {
        *y = ds->y + start;
        return ds->x + start * d;
    }
    for (size_t k = 0; k < m; k++) {
        memcpy(gx + k * d, ds->x + idx[start + k] * d, d * sizeof(double));
        gy[k] = ds->y[idx[start + k]];
    }
    *y = gy;
    return gx;
}

/* Rows [first, last) of the pass, a block at a time, for d features (a
 * constant where the caller makes it one).  Writes the chunk's sums to
 * part: [0] loss, [1] hits, [2..] gradient (times n).  Returns NULL, or the
 * failing call's name (its code in *rc). */
NL_INLINE const char *chunk_loop(const nl_perceptron *p, size_t d,
                                 size_t block_rows, const nl_dataset *ds,
                                 const size_t *idx, size_t first, size_t last,
                                 bool want_grad, double *scratch, double *part,
                                 const nl_instance **who, int *rc)
{
    const double *w = p->theta, b = p->theta[d];
    const nl_activation_api *act = &p->activation.plugin->activation;
    const nl_loss_api *loss = &p->loss.plugin->loss;
    void *act_self = p->activation.self, *loss_self = p->loss.self;
    double *z = scratch + BUF_Z * NL_BLOCK_ROWS;
    double *a = scratch + BUF_A * NL_BLOCK_ROWS;
    double *l = scratch + BUF_L * NL_BLOCK_ROWS;
    double *g = scratch + BUF_G * NL_BLOCK_ROWS;
    double *f = scratch + BUF_F * NL_BLOCK_ROWS;
    /* Two sets of gathered rows: this block's and the next one's. */
    double *gy[2] = {scratch + BUF_Y0 * NL_BLOCK_ROWS,
                     scratch + BUF_Y1 * NL_BLOCK_ROWS};
    double *gx[2] = {scratch + BUF_COUNT * NL_BLOCK_ROWS,
                     scratch + BUF_COUNT * NL_BLOCK_ROWS + block_rows * d};
    double loss_lanes[NL_LANES] = {0}, hit_lanes[NL_LANES] = {0};
    double *grad = part + 2;
    memset(grad, 0, (d + 1) * sizeof(double));
    const bool wide = d > NL_NARROW_D;
    const bool stream = idx == NULL && want_grad && wide &&
                        ds->n * d * sizeof(double) > NL_STREAM_BYTES;
    size_t start = first, m = last - first < block_rows ? last - first
                                                        : block_rows;
    const double *y, *x = block_at(ds, idx, d, start, m, gx[0], gy[0], &y);
    if (wide)
        z_wide(w, b, d, x, m, z);
    else
        z_narrow(w, b, d, x, m, z);
    for (unsigned turn = 1; m > 0; turn++) {
        size_t next = start + m;
        size_t mn = last - next < block_rows ? last - next : block_rows;
        /* The block after the next one, when it follows in memory: part
         * of it is asked for now, the rest while the next one streams. */
        size_t after = next + mn;
        size_t ahead_size = (last - after < block_rows ? last - after
                                                       : block_rows) *
                            d * sizeof(double);
        const char *ahead = stream && ahead_size > 0
                                ? (const char *)(ds->x + after * d)
                                : NULL;
        size_t burst = ahead_size * NL_PREFETCH_BURST_EIGHTHS / 8;
        prefetch_span(ahead, burst, 0, burst);
        if ((*rc = act->forward(act_self, z, a, m)) != 0)
            return *who = &p->activation, "forward";
        if ((*rc = loss->value(loss_self, a, y, l, m)) != 0)
            return *who = &p->loss, "value";
        if (want_grad) {
            if ((*rc = loss->gradient(loss_self, a, y, g, m)) != 0)
                return *who = &p->loss, "gradient";
            if ((*rc = act->derivative(act_self, z, a, f, m)) != 0)
                return *who = &p->activation, "derivative";
        }
        block_sums(m, a, y, l, g, f, want_grad, p->threshold, loss_lanes,
                   hit_lanes);
        /* The next block (none after the last: then x and y stand in). */
        const double *yn = y, *xn = mn == 0 ? x
                                            : block_at(ds, idx, d, next, mn,
                                                       gx[turn % 2],
                                                       gy[turn % 2], &yn);
        if (want_grad && wide) {
            grad_then_z(d, x, m, g, grad, w, b, xn, mn, z,
                        ahead ? ahead + burst : NULL, ahead_size - burst);
        } else {
            if (want_grad)
                grad_narrow(d, x, m, g, grad);
            if (wide)
                z_wide(w, b, d, xn, mn, z);
            else
                z_narrow(w, b, d, xn, mn, z);
        }
        start = next, m = mn, x = xn, y = yn;
    }
    part[0] = lane_sum(loss_lanes);
    part[1] = lane_sum(hit_lanes);
    return NULL;
}

NL_VECTOR_CLONES
static const char *pass_chunk(const nl_perceptron *p, size_t block_rows,
                              const nl_dataset *ds, const size_t *idx,
                              size_t first, size_t last, bool want_grad,
                              double *scratch, double *part,
                              const nl_instance **who, int *rc)
{
#define NL_WIDTH(D)                                                       \
    case D:                                                               \
        return chunk_loop(p, D, block_rows, ds, idx, first, last,        \
                          want_grad, scratch, part, who, rc);
    switch (p->d) {
        NL_WIDTH(1)
        NL_WIDTH(2)
        NL_WIDTH(3)
        NL_WIDTH(4)
        NL_WIDTH(5)
        NL_WIDTH(6)
        NL_WIDTH(7)
        NL_WIDTH(8)
        NL_WIDTH(16)
    default:
        return chunk_loop(p, p->d, block_rows, ds, idx, first, last,
                          want_grad, scratch, part, who, rc);
    }
#undef NL_WIDTH
}

static void run_job(pass_job *job)
{
    const nl_pass_state *st = job->p->pass;
    const size_t stride = job->p->d + 3;
    for (size_t c = job->first_chunk; c < job->last_chunk && !job->failed;
         c++) {
        size_t first = c * NL_CHUNK_ROWS;
        size_t last = first + NL_CHUNK_ROWS < job->n ? first + NL_CHUNK_ROWS
                                                     : job->n;
        job->failed = pass_chunk(job->p, st->block_rows, job->ds, job->idx,
                                 first, last, job->want_grad, job->scratch,
                                 st->partials + c * stride, &job->who,
                                 &job->rc);
    }
}

static void run_share(void *jobs, size_t t)
{
    run_job((pass_job *)jobs + t);
}

static nl_pass_state *state_new(const nl_perceptron *p)
{
    nl_pass_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    size_t row_bytes = (p->d > 0 ? p->d : 1) * sizeof(double);
    size_t rows = NL_BLOCK_BYTES / row_bytes;
    rows = rows < NL_LANES ? NL_LANES : rows > NL_BLOCK_ROWS ? NL_BLOCK_ROWS
                                                             : rows;
    st->block_rows = rows / NL_LANES * NL_LANES;
    st->scratch_size = BUF_COUNT * NL_BLOCK_ROWS + 2 * st->block_rows * p->d;
    st->scratch = malloc((size_t)p->n_threads * st->scratch_size *
                         sizeof(double));
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
    for (size_t t = 0; t < threads; t++)
        st->jobs[t] = (pass_job){
            .p = p, .ds = ds, .idx = idx, .n = n,
            .first_chunk = chunks * t / threads,
            .last_chunk = chunks * (t + 1) / threads,
            .want_grad = grad != NULL,
            .scratch = st->scratch + t * st->scratch_size,
        };
    nl_workers_run(st->workers, threads, run_share, st->jobs);
    for (size_t t = 0; t < threads; t++)
        if (st->jobs[t].failed != NULL)
            return nl_instance_failed(st->jobs[t].who, st->jobs[t].failed,
                                      st->jobs[t].rc, diag);
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
