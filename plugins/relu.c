/*
 * relu.c - the rectified linear unit f(z) = max(0, z), output in [0, inf).
 *
 * f'(z) = 1 for z > 0 and 0 for z <= 0: at the kink z = 0 the derivative
 * is taken from the left, relu'(0) = 0, as PyTorch and TensorFlow do.  (So
 * a neuron whose every z is <= 0, e.g. one started from all-zero weights,
 * gets no gradient: start from random weights, `model.init: uniform`.)
 *
 * NaN in gives NaN out, so a diverged run is not hidden behind a 0.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

static int relu_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0 ? z[i] : z[i] <= 0 ? 0.0 : z[i] /* NaN */;
    return 0;
}

static int relu_derivative(void *self, const double *z, const double *a,
                           double *d, size_t n)
{
    (void)self;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = z[i] > 0 ? 1.0 : 0.0;
    return 0;
}

static const nl_plugin relu_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "relu",
    .version = "1.0.0",
    .summary = "rectified linear unit max(0, z), output in [0, inf); "
               "f' = 1 for z > 0, else 0 (relu'(0) := 0)",
    .activation = {
        .forward = relu_forward,
        .derivative = relu_derivative,
        .out_min = 0.0,
        .out_max = HUGE_VAL,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &relu_plugin : NULL;
}
