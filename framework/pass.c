/*
 * pass.c - the fused pass of perceptron.h: stream rows once, per block of
 * rows compute z, cross the plugin boundary once per call kind, and add the
 * block's loss, hits and gradient; large passes split over worker threads.
 *
 * Every sum has a fixed shape: lanes of NL_LANES partial sums added in a
 * fixed tree, blocks in row order, chunks in chunk order.  The compiler
 * may put lanes in vector registers (AVX-512, AVX2 or SSE2 clones), but no
 * clone and no thread count changes which numbers are added in which order,
 * so a run gives the same bits everywhere.  Built without FMA contraction
 * (-std=c11 implies -ffp-contract=off) for the same reason.
 */
#include "perceptron.h"

/* The vector helpers below pass 64-byte vectors by value; they are all
 * inlined, so no call crosses an ABI boundary and GCC's note about the
 * AVX-512 calling convention does not apply. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Independent partial sums per reduction: enough to hide the adder's
 * latency and to fill one AVX-512 or two AVX2 registers. */
#define NL_LANES 8

/* Features up to this many: rows are the vector lanes and the kernel is
 * compiled once per width.  Above: features are the lanes. */
#define NL_NARROW_D 8

/* Bytes of X per block for wide rows: the block is read from memory for z
 * and again from L1 for the gradient, so it must stay there. */
#define NL_BLOCK_BYTES (16 * 1024)

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_VECTOR_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NL_VECTOR_CLONES
#endif

#define NL_INLINE static inline __attribute__((always_inline))

/* Data bigger than this is streamed from memory: the pass asks for the
 * block after next ahead of time (to L2: prefetch locality 2), 3/8 of it
 * before the plugin calls and the rest while the next block's z is
 * computed, so that memory keeps busy while the plugins run.  Smaller data
 * stays in the caches and prefetching would only cost instructions. */
#define NL_STREAM_BYTES (4u << 20)
#define NL_PREFETCH_BURST_EIGHTHS 3
#define NL_PREFETCH_LOCALITY 2



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
    /* The worker pool: threads 1.. of a pass, started on the first pass
     * that wants them and parked between passes. */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped per parallel pass */
    size_t busy;              /* workers still on this pass */
    bool quit;
    size_t n_workers;
    pthread_t tids[NL_MAX_THREADS];
    pass_job jobs[NL_MAX_THREADS];
};

/* ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)): the tree a vector unit does. */
NL_INLINE double lane_sum(const double *a)
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* Eight doubles: one AVX-512 register, two AVX2 ones, four SSE2 ones; the
 * compiler picks per clone, the arithmetic per lane is the same. */
typedef double nl_v8 __attribute__((vector_size(8 * sizeof(double))));
typedef long long nl_v8i __attribute__((vector_size(8 * sizeof(long long))));

#if defined(__clang__)
#define NL_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define NL_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (nl_v8i){__VA_ARGS__})
#endif

NL_INLINE nl_v8 load8(const double *p)
{
    nl_v8 v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The lanes of w . x_r for R rows x_r = x + r d: feature j adds into lane
 * j mod 8.  The rows are interleaved so that R sums are in flight. */
NL_INLINE void dot_lanes(const double *restrict w, const double *restrict x,
                         size_t d, size_t R, nl_v8 *restrict acc)
{
    for (size_t r = 0; r < R; r++)
        acc[r] = (nl_v8){0};
    size_t j = 0;
    for (; j + NL_LANES <= d; j += NL_LANES) {
        nl_v8 wj = load8(w + j);
        for (size_t r = 0; r < R; r++)
            acc[r] += wj * load8(x + r * d + j);
    }
    for (size_t r = 0; r < R; r++)
        for (size_t l = 0; j + l < d; l++)
            acc[r][l] += w[j + l] * x[r * d + j + l];
}

/* lane_sum of each of a[0..8), as one vector: the same tree, done across
 * eight rows at once by swapping halves, quarters and pairs. */
NL_INLINE nl_v8 lane_sums8(const nl_v8 *a)
{
    nl_v8 u[4], v[2];
    for (int r = 0; r < 4; r++) /* (a0+a4, a1+a5, a2+a6, a3+a7) per row */
        u[r] = NL_SHUFFLE(a[2 * r], a[2 * r + 1], 0, 1, 2, 3, 8, 9, 10, 11) +
               NL_SHUFFLE(a[2 * r], a[2 * r + 1], 4, 5, 6, 7, 12, 13, 14, 15);
    for (int r = 0; r < 2; r++) /* (u0+u2, u1+u3) per row */
        v[r] = NL_SHUFFLE(u[2 * r], u[2 * r + 1], 0, 1, 4, 5, 8, 9, 12, 13) +
               NL_SHUFFLE(u[2 * r], u[2 * r + 1], 2, 3, 6, 7, 10, 11, 14, 15);
    return NL_SHUFFLE(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14) +
           NL_SHUFFLE(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15);
}

/* z of the eight rows at x: their lane sums come out as one vector. */
NL_INLINE void z_group8(const double *restrict w, double b, size_t d,
                        const double *restrict x, double *restrict z)
{
    nl_v8 acc[8];
    dot_lanes(w, x, d, 8, acc);
    nl_v8 z8 = b + lane_sums8(acc);
    memcpy(z, &z8, sizeof(z8));
}

/* z[k] = b + w . x_k, feature j going to lane j mod NL_LANES: groups of
 * eight rows, then the rest one by one (the same sums either way). */
NL_INLINE void z_wide(const double *restrict w, double b, size_t d,
                      const double *restrict x, size_t m, double *restrict z)
{
    size_t k = 0;
    for (; k + 8 <= m; k += 8)
        z_group8(w, b, d, x + k * d, z + k);
    for (; k < m; k++) {
        nl_v8 acc;
        dot_lanes(w, x + k * d, d, 1, &acc);
        double lanes[NL_LANES];
        memcpy(lanes, &acc, sizeof(lanes));
        z[k] = b + lane_sum(lanes);
    }
}

/* Column j of the eight rows at x (D features each), as one vector. */
NL_INLINE nl_v8 column8(const double *restrict x, size_t D, size_t j)
{
    return (nl_v8){x[j],         x[D + j],     x[2 * D + j], x[3 * D + j],
                   x[4 * D + j], x[5 * D + j], x[6 * D + j], x[7 * D + j]};
}

/* z[k] = b + w . x_k, each row summed left to right; the rows are the
 * lanes (D is a constant, at most NL_NARROW_D). */
NL_INLINE void z_narrow(const double *restrict w, double b, size_t D,
                        const double *restrict x, size_t m,
                        double *restrict z)
{
    size_t k = 0;
    for (; k + 8 <= m; k += 8) {
        nl_v8 s = {b, b, b, b, b, b, b, b};
        for (size_t j = 0; j < D; j++)
            s += w[j] * column8(x + k * D, D, j);
        memcpy(z + k, &s, sizeof(s));
    }
    for (; k < m; k++) {
        double s = b;
        for (size_t j = 0; j < D; j++)
            s += w[j] * x[k * D + j];
        z[k] = s;
    }
}

/* grad[j] += sum_k dz_k x_kj, grad[D] += sum_k dz_k; row k goes to lane
 * k mod NL_LANES (D a constant, at most NL_NARROW_D). */
NL_INLINE void grad_narrow(size_t D, const double *restrict x, size_t m,
                           const double *restrict dz, double *restrict grad)
{
    nl_v8 acc[NL_NARROW_D + 1];
    for (size_t j = 0; j <= D; j++)
        acc[j] = (nl_v8){0};
    size_t k = 0;
    for (; k + NL_LANES <= m; k += NL_LANES) {
        nl_v8 dz8 = load8(dz + k);
        for (size_t j = 0; j < D; j++)
            acc[j] += dz8 * column8(x + k * D, D, j);
        acc[D] += dz8;
    }
    for (size_t l = 0; k + l < m; l++) {
        for (size_t j = 0; j < D; j++)
            acc[j][l] += dz[k + l] * x[(k + l) * D + j];
        acc[D][l] += dz[k + l];
    }
    for (size_t j = 0; j <= D; j++) {
        double lanes[NL_LANES];
        memcpy(lanes, &acc[j], sizeof(lanes));
        grad[j] += lane_sum(lanes);
    }
}

/* ((t0+t1) + (t2+t3)) + ((t4+t5) + (t6+t7)), for vectors and numbers. */
NL_INLINE nl_v8 tree8v(const nl_v8 *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

NL_INLINE double tree8(const double *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* grad[j] += sum_r dz_r x_rj over the eight rows at x (a fixed tree of
 * the eight products, then one add into grad), grad[d] += sum_r dz_r. */
NL_INLINE void grad_group8(size_t d, const double *restrict x,
                           const double *restrict dz, double *restrict grad)
{
    size_t j = 0;
    for (; j + NL_LANES <= d; j += NL_LANES) {
        nl_v8 t[8];
        for (size_t r = 0; r < 8; r++)
            t[r] = dz[r] * load8(x + r * d + j);
        nl_v8 sum = load8(grad + j) + tree8v(t);
        memcpy(grad + j, &sum, sizeof(sum));
    }
    for (; j < d; j++) {
        double t[8];
        for (size_t r = 0; r < 8; r++)
            t[r] = dz[r] * x[r * d + j];
        grad[j] += tree8(t);
    }
    grad[d] += tree8(dz);
}

/* The same for fewer than eight rows, one row at a time. */
NL_INLINE void grad_rows(size_t d, const double *restrict x, size_t m,
                         const double *restrict dz, double *restrict grad)
{
    for (size_t k = 0; k < m; k++) {
        for (size_t j = 0; j < d; j++)
            grad[j] += dz[k] * x[k * d + j];
        grad[d] += dz[k];
    }
}

/* Asks for bytes [from, to) of ahead[0..size) on their way to L2, a line
 * at a time. */
NL_INLINE void prefetch_span(const char *ahead, size_t size, size_t from,
                             size_t to)
{
    to = to < size ? to : size;
    for (size_t o = from; ahead != NULL && o < to; o += 64)
        __builtin_prefetch(ahead + o, 0, NL_PREFETCH_LOCALITY);
}

/* The gradient of this block (m rows at x, dz) and z of the next (mn rows
 * at xn) in one loop, a group of eight rows of each per turn: the next
 * block comes from memory while this one is worked on from L1.  The block
 * after that (`ahead`, `ahead_size` bytes) is asked for on the way, so
 * that memory keeps streaming while the plugins work. */
NL_INLINE void grad_then_z(size_t d, const double *restrict x, size_t m,
                           const double *restrict dz, double *restrict grad,
                           const double *restrict w, double b,
                           const double *restrict xn, size_t mn,
                           double *restrict z, const char *ahead,
                           size_t ahead_size)
{
    size_t groups = m / 8, groups_next = mn / 8;
    size_t turns = groups > groups_next ? groups : groups_next;
    size_t share = turns > 0 ? (ahead_size + turns - 1) / turns : 0;
    for (size_t i = 0; i < groups || i < groups_next; i++) {
        prefetch_span(ahead, ahead_size, i * share, (i + 1) * share);
        if (i < groups_next)
            z_group8(w, b, d, xn + i * 8 * d, z + i * 8);
        if (i < groups)
            grad_group8(d, x + i * 8 * d, dz + i * 8, grad);
    }
    grad_rows(d, x + groups * 8 * d, m % 8, dz + groups * 8, grad);
    z_wide(w, b, d, xn + groups_next * 8 * d, mn % 8, z + groups_next * 8);
}

/* The block's loss and hits into the lanes; dz = l' f' in place of l'. */
NL_INLINE void block_sums(size_t m, const double *restrict a,
                          const double *restrict y, const double *restrict l,
                          double *restrict g, const double *restrict f,
                          bool want_grad, double threshold,
                          double *restrict loss, double *restrict hits)
{
    size_t k = 0;
    for (; k + NL_LANES <= m; k += NL_LANES)
        for (size_t i = 0; i < NL_LANES; i++) {
            loss[i] += l[k + i];
            hits[i] += (a[k + i] >= threshold ? 1.0 : 0.0) == y[k + i];
        }
    for (size_t i = 0; k + i < m; i++) {
        loss[i] += l[k + i];
        hits[i] += (a[k + i] >= threshold ? 1.0 : 0.0) == y[k + i];
    }
    if (want_grad)
        for (k = 0; k < m; k++)
            g[k] *= f[k]; /* dC/dz_k, times n */
}

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
        const double *yn = NULL, *xn = mn == 0 ? NULL
                                    : block_at(ds, idx, d, next, mn,
                                               gx[turn % 2], gy[turn % 2],
                                               &yn);
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

/* Worker t: parked on `wake` until a pass has a job for it. */
typedef struct worker_arg {
    nl_pass_state *st;
    size_t t;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg me = *(worker_arg *)arg;
    nl_pass_state *st = me.st;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&st->lock);
    for (;;) {
        while (st->generation == seen && !st->quit)
            pthread_cond_wait(&st->wake, &st->lock);
        if (st->quit)
            break;
        seen = st->generation;
        pthread_mutex_unlock(&st->lock);
        run_job(&st->jobs[me.t]);
        pthread_mutex_lock(&st->lock);
        if (--st->busy == 0)
            pthread_cond_signal(&st->done);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Starts workers 1..want-1 that are not running yet; returns how many
 * threads the pass can use (fewer when the system gives no more). */
static size_t start_workers(nl_pass_state *st, size_t want)
{
    if (st->n_workers + 1 >= want)
        return want;
    /* Workers take no signals: the runner's handlers stay on the main
     * thread, whose blocking calls they are meant to interrupt. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (st->n_workers + 1 < want) {
        worker_arg *arg = malloc(sizeof(*arg));
        if (arg == NULL)
            break;
        *arg = (worker_arg){st, st->n_workers + 1};
        if (pthread_create(&st->tids[st->n_workers], NULL, worker_main,
                           arg) != 0) {
            free(arg);
            break;
        }
        st->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st->n_workers + 1;
}

static nl_pass_state *state_new(const nl_perceptron *p)
{
    nl_pass_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    size_t rows = NL_BLOCK_BYTES / (p->d * sizeof(double));
    rows = rows < NL_LANES ? NL_LANES : rows > NL_BLOCK_ROWS ? NL_BLOCK_ROWS
                                                             : rows;
    st->block_rows = rows / NL_LANES * NL_LANES;
    st->scratch_size = BUF_COUNT * NL_BLOCK_ROWS + 2 * st->block_rows * p->d;
    st->scratch = malloc((size_t)p->n_threads * st->scratch_size *
                         sizeof(double));
    if (st->scratch == NULL) {
        free(st);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->wake, NULL);
    pthread_cond_init(&st->done, NULL);
    return st;
}

void nl_pass_state_free(nl_pass_state *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->lock);
    st->quit = true;
    pthread_cond_broadcast(&st->wake);
    pthread_mutex_unlock(&st->lock);
    for (size_t t = 0; t < st->n_workers; t++)
        pthread_join(st->tids[t], NULL);
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->lock);
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
        threads = start_workers(st, threads);
    for (size_t t = 0; t < threads; t++)
        st->jobs[t] = (pass_job){
            .p = p, .ds = ds, .idx = idx, .n = n,
            .first_chunk = chunks * t / threads,
            .last_chunk = chunks * (t + 1) / threads,
            .want_grad = grad != NULL,
            .scratch = st->scratch + t * st->scratch_size,
        };
    if (threads > 1) {
        pthread_mutex_lock(&st->lock);
        st->busy = threads - 1;
        st->generation++;
        pthread_cond_broadcast(&st->wake);
        pthread_mutex_unlock(&st->lock);
    }
    run_job(&st->jobs[0]);
    if (threads > 1) {
        pthread_mutex_lock(&st->lock);
        while (st->busy > 0)
            pthread_cond_wait(&st->done, &st->lock);
        pthread_mutex_unlock(&st->lock);
    }
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
