/*
 * elu.c - the exponential linear unit (Clevert et al. 2016):
 * f(z) = z for z > 0, alpha (e^z - 1) otherwise (param `alpha` > 0,
 * default 1).  f'(z) = 1 for z > 0, alpha e^z otherwise.
 *
 * At z = 0 the derivative is taken from the left, f'(0) = alpha, as
 * PyTorch does (both sides agree when alpha = 1).  expm1 keeps
 * alpha (e^z - 1) accurate for small |z|.
 *
 * The true range is (-alpha, inf), but a descriptor's range is a constant
 * and alpha a parameter, so the declared range is (-inf, inf); the runner
 * then predicts 1 when f(z) >= 0.5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct elu {
    double alpha;
} elu;

static void *elu_create(const double *params, size_t n_theta, char *err)
{
    (void)n_theta;
    elu *s = malloc(sizeof(*s));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX, "elu: out of memory");
        return NULL;
    }
    s->alpha = params[0];
    return s;
}

static void elu_destroy(void *self)
{
    free(self);
}

static int elu_forward(void *self, const double *z, double *a, size_t n)
{
    const elu *s = self;
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0 ? z[i] : s->alpha * expm1(z[i]);
    return 0;
}

static int elu_derivative(void *self, const double *z, const double *a,
                          double *d, size_t n)
{
    const elu *s = self;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = z[i] > 0 ? 1.0 : s->alpha * exp(z[i]);
    return 0;
}

static const nl_param elu_params[] = {
    {.name = "alpha", .type = NL_PARAM_REAL, .default_value = 1.0,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "f(z) = alpha (e^z - 1) for z <= 0, which tends to -alpha; > 0"},
};

static const nl_plugin elu_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "elu",
    .version = "1.0.0",
    .summary = "exponential linear unit: z for z > 0, else alpha (e^z - 1); "
               "range (-alpha, inf), declared (-inf, inf); f'(0) := alpha",
    .params = elu_params,
    .n_params = sizeof(elu_params) / sizeof(elu_params[0]),
    .create = elu_create,
    .destroy = elu_destroy,
    .activation = {
        .forward = elu_forward,
        .derivative = elu_derivative,
        .out_min = -HUGE_VAL,
        .out_max = HUGE_VAL,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &elu_plugin : NULL;
}
