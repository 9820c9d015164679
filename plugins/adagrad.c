/*
 * adagrad.c - AdaGrad (Duchi, Hazan & Singer 2011, the diagonal version):
 * each parameter's step is scaled by the root of the sum of its squared
 * gradients so far.  Params: learning_rate > 0 (default 0.01), epsilon > 0
 * (default 1e-10).  State: G, one accumulator per parameter, from 0.
 *
 *     G     <- G + g^2
 *     theta <- theta - lr g / (sqrt(G) + eps)
 *
 * A parameter whose gradient has always been 0 has G = 0 and does not
 * move (0 / eps = 0).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct adagrad {
    double lr, eps;
    size_t n;     /* the n_theta given to create() */
    double G[];   /* sums of squared gradients, n of them */
} adagrad;

static void *adagrad_create(const double *params, size_t n_theta, char *err)
{
    adagrad *s = NULL;
    if (n_theta <= (SIZE_MAX - sizeof(*s)) / sizeof(double))
        s = calloc(1, sizeof(*s) + n_theta * sizeof(double));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX,
                     "adagrad: cannot allocate the state of %zu parameters",
                     n_theta);
        return NULL;
    }
    s->lr = params[0];
    s->eps = params[1];
    s->n = n_theta;
    return s;
}

static void adagrad_destroy(void *self)
{
    free(self);
}

static int adagrad_step(void *self, double *theta, const double *grad,
                        size_t n)
{
    adagrad *s = self;
    if (n > s->n)
        return 1; /* more parameters than the state was made for */
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        s->G[i] += g * g;
        theta[i] -= s->lr * g / (sqrt(s->G[i]) + s->eps);
    }
    return 0;
}

static const nl_param adagrad_params[] = {
    {.name = "learning_rate", .type = NL_PARAM_REAL, .default_value = 0.01,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "step size lr, > 0"},
    {.name = "epsilon", .type = NL_PARAM_REAL, .default_value = 1e-10,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "added to sqrt(G) so the division is safe; > 0"},
};

static const nl_plugin adagrad_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_OPTIMIZER,
    .name = "adagrad",
    .version = "1.0.0",
    .summary = "AdaGrad: G += g^2; theta -= lr g / (sqrt(G) + eps)",
    .params = adagrad_params,
    .n_params = sizeof(adagrad_params) / sizeof(adagrad_params[0]),
    .create = adagrad_create,
    .destroy = adagrad_destroy,
    .optimizer = {.step = adagrad_step},
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &adagrad_plugin : NULL;
}
