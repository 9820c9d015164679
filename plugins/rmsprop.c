/*
 * rmsprop.c - RMSProp (Tieleman & Hinton 2012, Coursera lecture 6.5):
 * each parameter's step is scaled by the root of a moving average of its
 * squared gradients.  Params: learning_rate > 0 (default 0.001), rho in
 * [0, 1) (default 0.9), epsilon > 0 (default 1e-8).  State: E, one
 * average per parameter, from 0.
 *
 *     E     <- rho E + (1 - rho) g^2
 *     theta <- theta - lr g / (sqrt(E) + eps)
 *
 * A parameter whose gradient has always been 0 has E = 0 and does not
 * move (0 / eps = 0).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct rmsprop {
    double lr, rho, eps;
    size_t n;     /* the n_theta given to create() */
    double E[];   /* moving averages of g^2, n of them */
} rmsprop;

static void *rmsprop_create(const double *params, size_t n_theta, char *err)
{
    rmsprop *s = NULL;
    if (n_theta <= (SIZE_MAX - sizeof(*s)) / sizeof(double))
        s = calloc(1, sizeof(*s) + n_theta * sizeof(double));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX,
                     "rmsprop: cannot allocate the state of %zu parameters",
                     n_theta);
        return NULL;
    }
    s->lr = params[0];
    s->rho = params[1];
    s->eps = params[2];
    s->n = n_theta;
    return s;
}

static void rmsprop_destroy(void *self)
{
    free(self);
}

static int rmsprop_step(void *self, double *theta, const double *grad,
                        size_t n)
{
    rmsprop *s = self;
    if (n > s->n)
        return 1; /* more parameters than the state was made for */
    const double rho = s->rho;
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        s->E[i] = rho * s->E[i] + (1.0 - rho) * (g * g);
        theta[i] -= s->lr * g / (sqrt(s->E[i]) + s->eps);
    }
    return 0;
}

static const nl_param rmsprop_params[] = {
    {.name = "learning_rate", .type = NL_PARAM_REAL, .default_value = 0.001,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "step size lr, > 0"},
    {.name = "rho", .type = NL_PARAM_REAL, .default_value = 0.9,
     .min = 0.0, .max = 1.0, .flags = NL_PARAM_MAX_EXCLUSIVE,
     .help = "decay of the moving average of g^2, in [0, 1)"},
    {.name = "epsilon", .type = NL_PARAM_REAL, .default_value = 1e-8,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "added to sqrt(E) so the division is safe; > 0"},
};

static const nl_plugin rmsprop_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_OPTIMIZER,
    .name = "rmsprop",
    .version = "1.0.0",
    .summary = "RMSProp: E = rho E + (1-rho) g^2; "
               "theta -= lr g / (sqrt(E) + eps)",
    .params = rmsprop_params,
    .n_params = sizeof(rmsprop_params) / sizeof(rmsprop_params[0]),
    .create = rmsprop_create,
    .destroy = rmsprop_destroy,
    .optimizer = {.step = rmsprop_step},
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &rmsprop_plugin : NULL;
}
