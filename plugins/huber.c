/*
 * huber.c - the Huber loss (Huber 1964) of the error e = yhat - y, with
 * param `delta` > 0 (default 1):
 *
 *     l = e^2 / 2                   when |e| <= delta
 *       = delta (|e| - delta / 2)   otherwise
 *     l' = e  or  delta sign(e)
 *
 * Quadratic near 0, linear in the tails; l and l' are continuous at
 * |e| = delta.  The host takes the mean over rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct huber {
    double delta;
} huber;

static void *huber_create(const double *params, size_t n_theta, char *err)
{
    (void)n_theta;
    huber *h = malloc(sizeof(*h));
    if (h == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX, "huber: out of memory");
        return NULL;
    }
    h->delta = params[0];
    return h;
}

static void huber_destroy(void *self)
{
    free(self);
}

static int huber_value(void *self, const double *yhat, const double *y,
                       double *l, size_t n)
{
    const double delta = ((const huber *)self)->delta;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(yhat[i] - y[i]);
        l[i] = e <= delta ? 0.5 * e * e : delta * (e - 0.5 * delta);
    }
    return 0;
}

static int huber_gradient(void *self, const double *yhat, const double *y,
                          double *g, size_t n)
{
    const double delta = ((const huber *)self)->delta;
    for (size_t i = 0; i < n; i++) {
        double e = yhat[i] - y[i];
        g[i] = e > delta ? delta : e < -delta ? -delta : e;
    }
    return 0;
}

static const nl_param huber_params[] = {
    {.name = "delta", .type = NL_PARAM_REAL, .default_value = 1.0,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "where the loss turns from quadratic to linear in |e|; > 0"},
};

static const nl_plugin huber_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_LOSS,
    .name = "huber",
    .version = "1.0.0",
    .summary = "Huber loss of e = yhat - y: e^2/2 when |e| <= delta, else "
               "delta (|e| - delta/2); l' = e clipped to [-delta, delta]",
    .params = huber_params,
    .n_params = sizeof(huber_params) / sizeof(huber_params[0]),
    .create = huber_create,
    .destroy = huber_destroy,
    .loss = {
        .value = huber_value,
        .gradient = huber_gradient,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &huber_plugin : NULL;
}
