/*
 * tanh.c - the hyperbolic tangent f(z) = tanh(z), output in [-1, 1];
 * f' = 1 - f^2.
 *
 * tanh() from libm saturates to +-1 for large |z| without overflowing, so
 * every finite z gives a finite output.  The range is declared [-1, 1]
 * (closed: in double precision tanh(z) rounds to exactly +-1 for
 * |z| > ~19), so the runner predicts 1 when f(z) >= 0, the midpoint.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

static int tanh_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        a[i] = tanh(z[i]);
    return 0;
}

static int tanh_derivative(void *self, const double *z, const double *a,
                           double *d, size_t n)
{
    (void)self;
    (void)z;
    for (size_t i = 0; i < n; i++)
        d[i] = 1.0 - a[i] * a[i];
    return 0;
}

static const nl_plugin tanh_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "tanh",
    .version = "1.0.0",
    .summary = "hyperbolic tangent tanh(z), output in [-1, 1]; f' = 1 - f^2",
    .activation = {
        .forward = tanh_forward,
        .derivative = tanh_derivative,
        .out_min = -1.0,
        .out_max = 1.0,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &tanh_plugin : NULL;
}
