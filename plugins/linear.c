/*
 * linear.c - the identity f(z) = z, output in (-inf, inf); f' = 1.
 *
 * With mse this is linear regression (the Adaline, Widrow & Hoff 1960);
 * the runner predicts 1 when f(z) >= 0.5, as for any unbounded range.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

static int linear_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        a[i] = z[i];
    return 0;
}

static int linear_derivative(void *self, const double *z, const double *a,
                             double *d, size_t n)
{
    (void)self;
    (void)z;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = 1.0;
    return 0;
}

static const nl_plugin linear_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "linear",
    .version = "1.0.0",
    .summary = "identity f(z) = z, output in (-inf, inf); f' = 1",
    .activation = {
        .forward = linear_forward,
        .derivative = linear_derivative,
        .out_min = -HUGE_VAL,
        .out_max = HUGE_VAL,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &linear_plugin : NULL;
}
