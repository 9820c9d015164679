/*
 * leaky_relu.c - the leaky rectified linear unit: f(z) = z for z > 0,
 * slope * z otherwise (param `slope` in [0, 1), default 0.01).
 *
 * f'(z) = 1 for z > 0 and slope for z <= 0: at the kink z = 0 the
 * derivative is taken from the left, f'(0) = slope, as PyTorch does.
 * The output range is declared (-inf, inf) (with slope = 0 it is really
 * [0, inf), but the range is a constant of the descriptor), so the runner
 * predicts 1 when f(z) >= 0.5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnlab/plugin.h>

typedef struct leaky_relu {
    double slope;
} leaky_relu;

static void *leaky_create(const double *params, size_t n_theta, char *err)
{
    (void)n_theta;
    leaky_relu *s = malloc(sizeof(*s));
    if (s == NULL) {
        if (err != NULL)
            snprintf(err, NL_ERROR_MAX, "leaky_relu: out of memory");
        return NULL;
    }
    s->slope = params[0];
    return s;
}

static void leaky_destroy(void *self)
{
    free(self);
}

static int leaky_forward(void *self, const double *z, double *a, size_t n)
{
    const leaky_relu *s = self;
    const double slope = s->slope;
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0 ? z[i] : slope * z[i];
    return 0;
}

static int leaky_derivative(void *self, const double *z, const double *a,
                            double *d, size_t n)
{
    const leaky_relu *s = self;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = z[i] > 0 ? 1.0 : s->slope;
    return 0;
}

static const nl_param leaky_params[] = {
    {.name = "slope", .type = NL_PARAM_REAL, .default_value = 0.01,
     .min = 0.0, .max = 1.0, .flags = NL_PARAM_MAX_EXCLUSIVE,
     .help = "f(z) = slope * z for z <= 0; in [0, 1)"},
};

static const nl_plugin leaky_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "leaky_relu",
    .version = "1.0.0",
    .summary = "leaky ReLU: z for z > 0, else slope * z; f' = 1 for z > 0, "
               "else slope (f'(0) := slope)",
    .params = leaky_params,
    .n_params = sizeof(leaky_params) / sizeof(leaky_params[0]),
    .create = leaky_create,
    .destroy = leaky_destroy,
    .activation = {
        .forward = leaky_forward,
        .derivative = leaky_derivative,
        .out_min = -HUGE_VAL,
        .out_max = HUGE_VAL,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &leaky_plugin : NULL;
}
