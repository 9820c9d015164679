/*
 * perceptron.h - one neuron, z = w.x + b and yhat = f(z), with the plugins
 * that define f, the loss and the update; and the fused pass that streams
 * rows once to get the loss, the accuracy and dC/d(w, b) together.
 *
 * This is the unit a hidden layer will reuse: the pass works on blocks of
 * rows and crosses the plugin boundary once per block, never per sample.
 */
#ifndef NL_PERCEPTRON_H
#define NL_PERCEPTRON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dataset.h"
#include "diag.h"
#include "workers.h"

/* Rows per plugin call at most: big enough to amortise the call, small
 * enough that a block's z, a, l, l', f' stay in L1.  Wide rows get fewer
 * (pass.c), so that the block of X stays there too. */
#define NL_BLOCK_ROWS 256

/* Rows per chunk: the unit of work of one thread.  Chunks are summed in
 * their own order whatever the thread count, so a run gives the same bits
 * with 1 thread or 2. */
#define NL_CHUNK_ROWS 4096

/* Below this many values (rows x features) a pass stays on one thread: the
 * threads would cost more than they save. */
#define NL_PARALLEL_MIN_VALUES (1u << 18)

/* Threads a pass uses at most (NNLAB_THREADS is capped to it). */
#define NL_MAX_THREADS (NL_MAX_WORKERS + 1)

/* The pass's buffers and worker threads (pass.c). */
typedef struct nl_pass_state nl_pass_state;
void nl_pass_state_free(nl_pass_state *st);

/* A plugin instance: the descriptor and what its create() returned. */
typedef struct nl_instance {
    const nl_plugin *plugin;
    const char *origin;
    void *self;
} nl_instance;

/* Creates an instance of `use` for n_theta trained parameters; one from a
 * library whose config gives other parameters than its defaults also
 * passes the load-time derivative spot-check with them.  Returns 0, or -1
 * with d set (NL_EPLUGIN, the plugin's own message or the worst point
 * included) and no instance left (inst->self NULL). */
int nl_instance_create(nl_instance *inst, const nl_plugin_use *use,
                       size_t n_theta, nl_diag *d);
void nl_instance_destroy(nl_instance *inst);

/* Sets d for a failed call of inst (returned rc), with the plugin's own
 * description of rc when it has one.  Returns -1. */
int nl_instance_failed(const nl_instance *inst, const char *call, int rc,
                       nl_diag *d);

typedef struct nl_perceptron {
    size_t d;              /* features */
    double *theta;         /* d weights, then the bias: d + 1 values */
    nl_instance activation, loss, optimizer;
    double threshold;      /* prediction is 1 when yhat >= threshold */
    int n_threads;         /* threads for large passes (NNLAB_THREADS, or
                              the cores); read at the first pass */
    nl_pass_state *pass;   /* made by the first pass, owned */
} nl_perceptron;

/* Builds the neuron for d features from the config: plugin instances and
 * initial parameters (init draws from `seed`, explicit values override).
 * Returns 0, or -1 with d set.  Free with nl_perceptron_free(). */
int nl_perceptron_new(nl_perceptron *p, const nl_config *cfg, size_t d,
                      nl_diag *diag);
void nl_perceptron_free(nl_perceptron *p);

/* What one pass over rows measured. */
typedef struct nl_pass {
    double loss;           /* C: mean of l over the rows */
    double accuracy;       /* fraction of rows predicted right */
} nl_pass;

/* Streams rows of ds (rows idx[0..n), or rows 0..n when idx is NULL) once:
 * fills *out and, when grad is not NULL, grad[0..d] = dC/d(w, b) with C
 * the mean over these rows.  Large passes are split into chunks over
 * p->n_threads threads, summed in chunk order.  Returns 0, or -1 with diag set
 * when a plugin call fails. */
int nl_perceptron_pass(nl_perceptron *p, const nl_dataset *ds,
                       const size_t *idx, size_t n, nl_pass *out,
                       double *grad, nl_diag *diag);

/* theta <- optimizer.step(theta, grad).  Returns 0, or -1 with diag set. */
int nl_perceptron_step(nl_perceptron *p, const double *grad, nl_diag *diag);

#endif
