/* perceptron.c - the neuron and its fused forward/backward pass. */
#include "perceptron.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_loader.h"
#include "rng.h"

#include <pthread.h>
#include <unistd.h>

int nl_instance_create(nl_instance *inst, const nl_plugin_use *use,
                       size_t n_theta, nl_diag *d)
{
    inst->plugin = use->found.plugin;
    inst->origin = use->found.origin;
    inst->self = NULL;
    if (inst->plugin->create == NULL)
        return 0;
    char err[NL_ERROR_MAX] = "";
    inst->self = inst->plugin->create(use->params, n_theta, err);
    if (inst->self == NULL) {
        err[NL_ERROR_MAX - 1] = '\0';
        return nl_fail(d, NL_EPLUGIN, "%s %s (%s) refused to start: %s",
                       nl_kind_name(inst->plugin->kind), inst->plugin->name,
                       inst->origin, err[0] ? err : "create() returned NULL");
    }
    return 0;
}

void nl_instance_destroy(nl_instance *inst)
{
    if (inst->plugin != NULL && inst->self != NULL)
        inst->plugin->destroy(inst->self);
    inst->self = NULL;
}

/* Per-block buffers: z, a, l, l', f', y: six arrays of NL_BLOCK_ROWS. */
enum { BUF_Z, BUF_A, BUF_L, BUF_G, BUF_F, BUF_Y, BUF_COUNT };

#define NL_MAX_THREADS 16

/* NNLAB_THREADS if set, else the number of cores. */
static int max_threads(void)
{
    const char *env = getenv("NNLAB_THREADS");
    long n = env != NULL ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > NL_MAX_THREADS ? NL_MAX_THREADS : (int)n;
}

int nl_perceptron_new(nl_perceptron *p, const nl_config *cfg, size_t d,
                      nl_diag *diag)
{
    memset(p, 0, sizeof(*p));
    p->d = d;
    p->n_threads = max_threads();
    p->theta = calloc(d + 1, sizeof(double));
    p->scratch = malloc((size_t)p->n_threads * BUF_COUNT * NL_BLOCK_ROWS *
                        sizeof(double));
    if (p->theta == NULL || p->scratch == NULL) {
        nl_perceptron_free(p);
        return nl_fail(diag, NL_EFAIL, "out of memory");
    }
    if (nl_instance_create(&p->activation, &cfg->activation, d + 1, diag) < 0 ||
        nl_instance_create(&p->loss, &cfg->loss, d + 1, diag) < 0 ||
        nl_instance_create(&p->optimizer, &cfg->optimizer, d + 1, diag) < 0) {
        nl_perceptron_free(p);
        return -1;
    }
    const nl_activation_api *act = &p->activation.plugin->activation;
    p->threshold = isfinite(act->out_min) && isfinite(act->out_max)
                       ? act->out_min + (act->out_max - act->out_min) / 2
                       : 0.5;
    const nl_model_config *m = &cfg->model;
    if (m->init != NL_INIT_ZEROS) {
        nl_rng rng;
        nl_rng_seed(&rng, cfg->seed, NL_STREAM_INIT);
        for (size_t j = 0; j < d; j++)
            p->theta[j] = m->init == NL_INIT_UNIFORM
                              ? m->init_scale * (2 * nl_rng_uniform(&rng) - 1)
                              : m->init_scale * nl_rng_normal(&rng);
    }
    if (m->weights != NULL)
        memcpy(p->theta, m->weights, d * sizeof(double));
    p->theta[d] = m->bias;
    return 0;
}

void nl_perceptron_free(nl_perceptron *p)
{
    nl_instance_destroy(&p->activation);
    nl_instance_destroy(&p->loss);
    nl_instance_destroy(&p->optimizer);
    free(p->theta);
    free(p->scratch);
    free(p->partials);
    memset(p, 0, sizeof(*p));
}

static int plugin_failed(const nl_instance *inst, const char *call, int rc,
                         nl_diag *diag)
{
    const nl_plugin *p = inst->plugin;
    const char *why = p->describe_error ? p->describe_error(inst->self, rc)
                                        : NULL;
    nl_fail(diag, NL_EPLUGIN, "%s %s (%s): %s() failed (returned %d)",
            nl_kind_name(p->kind), p->name, inst->origin, call, rc);
    if (why != NULL)
        nl_diag_append(diag, ": %s", why);
    return -1;
}

/* z[k] = b + w . x_k for the m rows xr[k], four rows at a time so that
 * four independent sums are in flight; each row still sums left to right. */
static inline __attribute__((always_inline)) void
block_z(const double *restrict w, double b, size_t d,
                    const double *const *xr, size_t m, double *restrict z)
{
    size_t k = 0;
    for (; k + 4 <= m; k += 4) {
        const double *x0 = xr[k], *x1 = xr[k + 1], *x2 = xr[k + 2],
                     *x3 = xr[k + 3];
        double s0 = b, s1 = b, s2 = b, s3 = b;
        for (size_t j = 0; j < d; j++) {
            s0 += w[j] * x0[j];
            s1 += w[j] * x1[j];
            s2 += w[j] * x2[j];
            s3 += w[j] * x3[j];
        }
        z[k] = s0;
        z[k + 1] = s1;
        z[k + 2] = s2;
        z[k + 3] = s3;
    }
    for (; k < m; k++) {
        double s = b;
        for (size_t j = 0; j < d; j++)
            s += w[j] * xr[k][j];
        z[k] = s;
    }
}

/* Up to this many features, the block loop is compiled once per width, so
 * the gradient's sums stay in registers. */
#define NL_SMALL_D 8

/* grad[j] += sum_k dz_k x_kj and grad[d] += sum_k dz_k: the block's sums,
 * rows in order, added to grad. */
static inline __attribute__((always_inline)) void
block_grad(size_t d, const double *const *xr, size_t m,
           const double *restrict dz, double *restrict grad)
{
    if (d <= NL_SMALL_D) {
        double acc[NL_SMALL_D + 1] = {0};
        for (size_t k = 0; k < m; k++) {
            const double *restrict x = xr[k];
            double g = dz[k];
            for (size_t j = 0; j < d; j++)
                acc[j] += g * x[j];
            acc[d] += g;
        }
        for (size_t j = 0; j <= d; j++)
            grad[j] += acc[j];
        return;
    }
    for (size_t k = 0; k < m; k++) {
        const double *restrict x = xr[k];
        double g = dz[k];
        for (size_t j = 0; j < d; j++)
            grad[j] += g * x[j];
        grad[d] += g;
    }
}

/* The block loop, built twice: for AVX2 (4 doubles a vector) and for the
 * baseline, picked at load time.  No FMA contraction (-std=c11), so both
 * give the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NL_VECTOR_CLONES
#endif

/* The block loop over rows [first, last) for d features (a constant where
 * the caller makes it one). */
static inline __attribute__((always_inline)) const char *
chunk_loop(const nl_perceptron *p, size_t d, const nl_dataset *ds,
           const size_t *idx, size_t first, size_t last, bool want_grad,
           double *scratch, double *part, const nl_instance **who, int *rc)
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
    double *y = scratch + BUF_Y * NL_BLOCK_ROWS;
    const double *xr[NL_BLOCK_ROWS];
    double loss_sum = 0, correct = 0;
    double *grad = part + 2;
    if (want_grad)
        memset(grad, 0, (d + 1) * sizeof(double));
    for (size_t start = first; start < last; start += NL_BLOCK_ROWS) {
        size_t m = last - start < NL_BLOCK_ROWS ? last - start : NL_BLOCK_ROWS;
        for (size_t k = 0; k < m; k++) {
            size_t row = idx ? idx[start + k] : start + k;
            xr[k] = ds->x + row * d;
            y[k] = ds->y[row];
        }
        block_z(w, b, d, xr, m, z);
        if ((*rc = act->forward(act_self, z, a, m)) != 0)
            return *who = &p->activation, "forward";
        if ((*rc = loss->value(loss_self, a, y, l, m)) != 0)
            return *who = &p->loss, "value";
        for (size_t k = 0; k < m; k++) {
            loss_sum += l[k];
            correct += (a[k] >= p->threshold ? 1.0 : 0.0) == y[k];
        }
        if (!want_grad)
            continue;
        if ((*rc = loss->gradient(loss_self, a, y, g, m)) != 0)
            return *who = &p->loss, "gradient";
        if ((*rc = act->derivative(act_self, z, a, f, m)) != 0)
            return *who = &p->activation, "derivative";
        for (size_t k = 0; k < m; k++)
            g[k] *= f[k]; /* dC/dz_k, times n */
        block_grad(d, xr, m, g, grad);
    }
    part[0] = loss_sum;
    part[1] = correct;
    return NULL;
}

/* One chunk of rows [first, last) of the pass.  Writes the chunk's sums to
 * part: [0] loss sum, [1] correct count, [2..] gradient (times n).
 * Returns NULL, or the failing call's name (its code in *rc). */
NL_VECTOR_CLONES
static const char *pass_chunk(const nl_perceptron *p, const nl_dataset *ds,
                              const size_t *idx, size_t first, size_t last,
                              bool want_grad, double *scratch, double *part,
                              const nl_instance **who, int *rc)
{
#define NL_WIDTH(D)                                                        \
    case D:                                                                \
        return chunk_loop(p, D, ds, idx, first, last, want_grad, scratch, \
                          part, who, rc);
    switch (p->d) {
        NL_WIDTH(1)
        NL_WIDTH(2)
        NL_WIDTH(3)
        NL_WIDTH(4)
        NL_WIDTH(5)
        NL_WIDTH(6)
        NL_WIDTH(7)
        NL_WIDTH(8)
    default:
        return chunk_loop(p, p->d, ds, idx, first, last, want_grad, scratch,
                          part, who, rc);
    }
#undef NL_WIDTH
}

/* A share of a pass's chunks, for one thread. */
typedef struct pass_job {
    const nl_perceptron *p;
    const nl_dataset *ds;
    const size_t *idx;
    size_t n, first_chunk, last_chunk;
    bool want_grad;
    double *scratch;
    const char *failed;        /* the call that failed, or NULL */
    const nl_instance *who;
    int rc;
} pass_job;

static void *run_job(void *arg)
{
    pass_job *job = arg;
    const size_t stride = job->p->d + 3;
    for (size_t c = job->first_chunk; c < job->last_chunk && !job->failed;
         c++) {
        size_t first = c * NL_CHUNK_ROWS;
        size_t last = first + NL_CHUNK_ROWS < job->n ? first + NL_CHUNK_ROWS
                                                     : job->n;
        job->failed = pass_chunk(job->p, job->ds, job->idx, first, last,
                                 job->want_grad, job->scratch,
                                 job->p->partials + c * stride, &job->who,
                                 &job->rc);
    }
    return NULL;
}

int nl_perceptron_pass(nl_perceptron *p, const nl_dataset *ds,
                       const size_t *idx, size_t n, nl_pass *out,
                       double *grad, nl_diag *diag)
{
    const size_t d = p->d, stride = d + 3;
    size_t chunks = (n + NL_CHUNK_ROWS - 1) / NL_CHUNK_ROWS;
    if (chunks == 0)
        chunks = 1;
    if (chunks > p->n_partials) {
        double *grown = realloc(p->partials, chunks * stride * sizeof(double));
        if (grown == NULL)
            return nl_fail(diag, NL_EFAIL, "out of memory");
        p->partials = grown;
        p->n_partials = chunks;
    }
    /* Threads only where they pay: they are started and joined per pass
     * (tens of microseconds), which leaves nothing running between passes. */
    size_t threads = n * d >= NL_PARALLEL_MIN_VALUES ? (size_t)p->n_threads : 1;
    if (threads > chunks)
        threads = chunks;
    pass_job jobs[NL_MAX_THREADS];
    pthread_t tids[NL_MAX_THREADS];
    bool started[NL_MAX_THREADS] = {false};
    for (size_t t = 0; t < threads; t++) {
        jobs[t] = (pass_job){
            .p = p, .ds = ds, .idx = idx, .n = n,
            .first_chunk = chunks * t / threads,
            .last_chunk = chunks * (t + 1) / threads,
            .want_grad = grad != NULL,
            .scratch = p->scratch + t * BUF_COUNT * NL_BLOCK_ROWS,
        };
        if (t > 0)
            started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
    }
    run_job(&jobs[0]);
    for (size_t t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else /* no thread could be had: do its share here */
            run_job(&jobs[t]);
    }
    for (size_t t = 0; t < threads; t++)
        if (jobs[t].failed != NULL)
            return plugin_failed(jobs[t].who, jobs[t].failed, jobs[t].rc,
                                 diag);
    /* Chunk order, whatever the threads did: the same bits every time. */
    double loss_sum = 0, correct = 0;
    if (grad != NULL)
        memset(grad, 0, (d + 1) * sizeof(double));
    for (size_t c = 0; c < chunks; c++) {
        const double *part = p->partials + c * stride;
        loss_sum += part[0];
        correct += part[1];
        for (size_t j = 0; grad != NULL && j <= d; j++)
            grad[j] += part[2 + j];
    }
    out->loss = loss_sum / (double)n;
    out->accuracy = correct / (double)n;
    if (grad != NULL)
        for (size_t j = 0; j <= d; j++)
            grad[j] /= (double)n;
    return 0;
}

int nl_perceptron_step(nl_perceptron *p, const double *grad, nl_diag *diag)
{
    const nl_optimizer_api *opt = &p->optimizer.plugin->optimizer;
    int rc = opt->step(p->optimizer.self, p->theta, grad, p->d + 1);
    if (rc != 0)
        return plugin_failed(&p->optimizer, "step", rc, diag);
    return 0;
}
