/*
 * momentum.c - gradient descent with momentum (Polyak's heavy ball), or
 * Nesterov's accelerated gradient.  Params: learning_rate > 0 (default
 * 0.01), momentum mu in [0, 1) (default 0.9), nesterov (default false).
 * The state is one velocity per trained parameter, starting at 0.
 *
 * Classic momentum, as in Sutskever et al. 2013, eq. (1)-(2):
 *     v     <- mu v - lr g
 *     theta <- theta + v
 *
 * Nesterov momentum in the form of Sutskever et al. 2013 (eq. (3)-(4))
 * rewritten for the gradient at the current theta, as PyTorch's SGD
 * (nesterov=True) and Keras's SGD implement it:
 *     v     <- mu v - lr g
 *     theta <- theta + mu v - lr g
 *
 * With mu = 0 both are plain gradient descent.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct momentum {
    double lr, mu;
    int nesterov;
    size_t n;     /* the n_theta given to create() */
    double v[];   /* velocity, n of them */
} momentum;

static void *momentum_create(const double *params, size_t n_theta, char *err)
{
    momentum *s = NULL;
    if (n_theta <= (SIZE_MAX - sizeof(*s)) / sizeof(double))
        s = calloc(1, sizeof(*s) + n_theta * sizeof(double));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX,
                     "momentum: cannot allocate the velocity of %zu "
                     "parameters", n_theta);
        return NULL;
    }
    s->lr = params[0];
    s->mu = params[1];
    s->nesterov = params[2] != 0.0;
    s->n = n_theta;
    return s;
}

static void momentum_destroy(void *self)
{
    free(self);
}

static int momentum_step(void *self, double *theta, const double *grad,
                         size_t n)
{
    momentum *s = self;
    if (n > s->n)
        return 1; /* more parameters than the state was made for */
    const double lr = s->lr, mu = s->mu;
    /* Written as decrements, theta -= lr g - mu v, so that a zero step
     * leaves theta as it was, bit for bit (theta + 0 would turn -0 into
     * +0; theta - 0 does not). */
    for (size_t i = 0; i < n; i++) {
        double dec = lr * grad[i] - mu * s->v[i]; /* -(the new v) */
        s->v[i] = -dec;
        theta[i] -= s->nesterov ? lr * grad[i] - mu * s->v[i] : dec;
    }
    return 0;
}

static const nl_param momentum_params[] = {
    {.name = "learning_rate", .type = NL_PARAM_REAL, .default_value = 0.01,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "step size lr, > 0"},
    {.name = "momentum", .type = NL_PARAM_REAL, .default_value = 0.9,
     .min = 0.0, .max = 1.0, .flags = NL_PARAM_MAX_EXCLUSIVE,
     .help = "velocity decay mu in [0, 1); 0 is plain gradient descent"},
    {.name = "nesterov", .type = NL_PARAM_BOOL, .default_value = 0.0,
     .min = 0.0, .max = 1.0,
     .help = "Nesterov's accelerated gradient instead of classic momentum"},
};

static const nl_plugin momentum_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_OPTIMIZER,
    .name = "momentum",
    .version = "1.0.0",
    .summary = "momentum: v = mu v - lr g; theta += v "
               "(nesterov: theta += mu v - lr g)",
    .params = momentum_params,
    .n_params = sizeof(momentum_params) / sizeof(momentum_params[0]),
    .create = momentum_create,
    .destroy = momentum_destroy,
    .optimizer = {.step = momentum_step},
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &momentum_plugin : NULL;
}
