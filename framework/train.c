/* train.c - epochs, batches and the stop rules. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

const char *nl_stop_word(nl_stop stop)
{
    switch (stop) {
#define NL_STOP_CASE(name, word) \
    case name:                   \
        return word;
        NL_STOP_MAP(NL_STOP_CASE)
#undef NL_STOP_CASE
    }
    return "unknown";
}

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* Measures the epoch's losses: the training pass may already have been
 * made (full batch: the same pass gave the gradient). */
static int measure(nl_perceptron *p, const nl_dataset *train,
                   const nl_dataset *test, uint64_t epoch, double *grad,
                   nl_epoch *e, nl_diag *d)
{
    nl_pass pass;
    e->epoch = epoch;
    if (nl_perceptron_pass(p, train, NULL, train->n, &pass, grad, d) < 0)
        return -1;
    e->loss = pass.loss;
    e->accuracy = pass.accuracy;
    e->has_test = test->n > 0;
    if (e->has_test) {
        if (nl_perceptron_pass(p, test, NULL, test->n, &pass, NULL, d) < 0)
            return -1;
        e->test_loss = pass.loss;
        e->test_accuracy = pass.accuracy;
    }
    return 0;
}

/* One epoch of mini-batch updates over the rows in `order`. */
static int minibatch_epoch(nl_perceptron *p, const nl_dataset *train,
                           size_t batch, size_t *order, bool shuffle,
                           nl_rng *rng, double *grad, nl_diag *d)
{
    if (shuffle)
        nl_rng_shuffle(rng, order, train->n);
    for (size_t start = 0; start < train->n; start += batch) {
        size_t m = train->n - start < batch ? train->n - start : batch;
        nl_pass pass;
        if (nl_perceptron_pass(p, train, order + start, m, &pass, grad, d) < 0 ||
            nl_perceptron_step(p, grad, d) < 0)
            return -1;
    }
    return 0;
}

int nl_train(nl_perceptron *p, const nl_training_config *t,
             const nl_dataset *train, const nl_dataset *test, uint64_t seed,
             const volatile sig_atomic_t *interrupt, nl_epoch_fn on_epoch,
             void *ctx, nl_train_result *res, nl_diag *d)
{
    size_t n_theta = p->d + 1;
    bool full = t->batch_size == 0 || t->batch_size >= train->n;
    double *grad = malloc(n_theta * sizeof(double));
    size_t *order = full ? NULL : malloc(train->n * sizeof(size_t));
    nl_rng rng;
    int rc = -1;
    memset(res, 0, sizeof(*res));
    res->stop = NL_STOP_FAILED;
    if (grad == NULL || (!full && order == NULL)) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; order != NULL && i < train->n; i++)
        order[i] = i;
    nl_rng_seed(&rng, seed, NL_STREAM_SHUFFLE);

    /* Full batch: the pass that measures epoch k also gives the gradient
     * for the update into epoch k+1, so the data streams once per epoch. */
    nl_epoch e;
    if (measure(p, train, test, 0, full ? grad : NULL, &e, d) < 0 ||
        on_epoch(ctx, &e, p, d) < 0)
        goto out;
    res->last = e;
    double previous = e.loss;
    uint64_t stalled = 0;
    for (uint64_t epoch = 1;; epoch++) {
        if (epoch > t->epochs) { /* only with epochs: 0 */
            res->stop = NL_STOP_MAX_EPOCHS;
            break;
        }
        if (full) {
            if (nl_perceptron_step(p, grad, d) < 0)
                goto out;
        } else if (minibatch_epoch(p, train, t->batch_size, order, t->shuffle,
                                   &rng, grad, d) < 0) {
            goto out;
        }
        if (measure(p, train, test, epoch, full ? grad : NULL, &e, d) < 0 ||
            on_epoch(ctx, &e, p, d) < 0)
            goto out;
        res->last = e;
        stalled = previous - e.loss < t->min_delta ? stalled + 1 : 0;
        previous = e.loss;
        if (!isfinite(e.loss) || !all_finite(p->theta, n_theta))
            res->stop = NL_STOP_DIVERGED;
        else if (e.loss < t->loss_below)
            res->stop = NL_STOP_LOSS_BELOW;
        else if (t->patience > 0 && stalled >= t->patience)
            res->stop = NL_STOP_PLATEAU;
        else if (epoch >= t->epochs)
            res->stop = NL_STOP_MAX_EPOCHS;
        else if (interrupt != NULL && *interrupt)
            res->stop = NL_STOP_INTERRUPTED;
        else
            continue;
        break;
    }
    rc = 0;
out:
    free(grad);
    free(order);
    return rc;
}
