/*
 * adam.c - Adam (Kingma & Ba 2015, Algorithm 1).  Params: learning_rate
 * (alpha) > 0, default 0.001; beta1 and beta2 in [0, 1), defaults 0.9 and
 * 0.999; epsilon > 0, default 1e-8.  State: the moment estimates m and v,
 * one each per parameter, from 0, and the step count t, from 0.
 *
 *     t     <- t + 1
 *     m     <- beta1 m + (1 - beta1) g
 *     v     <- beta2 v + (1 - beta2) g^2
 *     mhat  =  m / (1 - beta1^t)
 *     vhat  =  v / (1 - beta2^t)
 *     theta <- theta - lr mhat / (sqrt(vhat) + eps)
 *
 * Each step() call is one t.  A parameter whose gradient has always been
 * 0 has m = v = 0 and does not move (0 / eps = 0).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct adam {
    double lr, beta1, beta2, eps;
    double t;     /* steps taken (a double: exact up to 2^53) */
    size_t n;     /* the n_theta given to create() */
    double mv[];  /* m[0..n), then v[0..n) */
} adam;

static void *adam_create(const double *params, size_t n_theta, char *err)
{
    adam *s = NULL;
    if (n_theta <= (SIZE_MAX - sizeof(*s)) / (2 * sizeof(double)))
        s = calloc(1, sizeof(*s) + 2 * n_theta * sizeof(double));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX,
                     "adam: cannot allocate the moments of %zu parameters",
                     n_theta);
        return NULL;
    }
    s->lr = params[0];
    s->beta1 = params[1];
    s->beta2 = params[2];
    s->eps = params[3];
    s->n = n_theta;
    return s;
}

static void adam_destroy(void *self)
{
    free(self);
}

static int adam_step(void *self, double *theta, const double *grad, size_t n)
{
    adam *s = self;
    if (n > s->n)
        return 1; /* more parameters than the state was made for */
    double *m = s->mv, *v = s->mv + s->n;
    const double b1 = s->beta1, b2 = s->beta2;
    s->t += 1.0;
    /* Bias corrections; > 0 since beta < 1 and t >= 1. */
    const double c1 = 1.0 - pow(b1, s->t), c2 = 1.0 - pow(b2, s->t);
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * (g * g);
        double mhat = m[i] / c1, vhat = v[i] / c2;
        theta[i] -= s->lr * mhat / (sqrt(vhat) + s->eps);
    }
    return 0;
}

static const nl_param adam_params[] = {
    {.name = "learning_rate", .type = NL_PARAM_REAL, .default_value = 0.001,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "step size (alpha in the paper), > 0"},
    {.name = "beta1", .type = NL_PARAM_REAL, .default_value = 0.9,
     .min = 0.0, .max = 1.0, .flags = NL_PARAM_MAX_EXCLUSIVE,
     .help = "decay of the first-moment (mean) estimate, in [0, 1)"},
    {.name = "beta2", .type = NL_PARAM_REAL, .default_value = 0.999,
     .min = 0.0, .max = 1.0, .flags = NL_PARAM_MAX_EXCLUSIVE,
     .help = "decay of the second-moment estimate, in [0, 1)"},
    {.name = "epsilon", .type = NL_PARAM_REAL, .default_value = 1e-8,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "added to sqrt(vhat) so the division is safe; > 0"},
};

static const nl_plugin adam_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_OPTIMIZER,
    .name = "adam",
    .version = "1.0.0",
    .summary = "Adam: bias-corrected moments mhat, vhat of g; "
               "theta -= lr mhat / (sqrt(vhat) + eps)",
    .params = adam_params,
    .n_params = sizeof(adam_params) / sizeof(adam_params[0]),
    .create = adam_create,
    .destroy = adam_destroy,
    .optimizer = {.step = adam_step},
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &adam_plugin : NULL;
}
