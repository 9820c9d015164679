/*
 * softplus.c - f(z) = log(1 + e^z), a smooth ReLU, output in [0, inf);
 * f' = the logistic sigmoid 1/(1 + e^-z).
 *
 * Computed as max(z, 0) + log1p(e^-|z|): e^-|z| <= 1, so nothing
 * overflows for any finite z, and log1p keeps the tail accurate where
 * log(1 + tiny) would round to 0.  f(z) underflows to exactly 0 for
 * z < ~-745, hence the closed lower end of the declared range.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

static int softplus_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        a[i] = fmax(z[i], 0.0) + log1p(exp(-fabs(z[i])));
    return 0;
}

/* The sigmoid, as sigmoid.c computes it: e/(1+e) with e = e^-|z| on the
 * negative side. */
static int softplus_derivative(void *self, const double *z, const double *a,
                               double *d, size_t n)
{
    (void)self;
    (void)a;
    for (size_t i = 0; i < n; i++) {
        double e = exp(-fabs(z[i]));
        double p = 1.0 / (1.0 + e);
        d[i] = z[i] >= 0 ? p : e * p;
    }
    return 0;
}

static const nl_plugin softplus_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "softplus",
    .version = "1.0.0",
    .summary = "softplus log(1 + e^z), output in [0, inf); "
               "f' = sigmoid 1/(1 + e^-z)",
    .activation = {
        .forward = softplus_forward,
        .derivative = softplus_derivative,
        .out_min = 0.0,
        .out_max = HUGE_VAL,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &softplus_plugin : NULL;
}
