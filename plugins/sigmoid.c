/* sigmoid.c - the logistic activation f(z) = 1/(1+e^-z), f' = f(1-f). */
#include <math.h>
#include <stdlib.h>

#include "reference.h"

/* Computed as e/(1+e) with e = exp(-|z|) <= 1 on the negative side, so
 * no z, however large, overflows exp(). */
static int sigmoid_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        double e = exp(-fabs(z[i]));
        double p = 1.0 / (1.0 + e);
        a[i] = z[i] >= 0 ? p : e * p;
    }
    return 0;
}

static int sigmoid_derivative(void *self, const double *z, const double *a,
                              double *d, size_t n)
{
    (void)self;
    (void)z;
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] * (1.0 - a[i]);
    return 0;
}

static const nl_plugin sigmoid_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "sigmoid",
    .version = "1.0.0",
    .summary = "logistic 1/(1+e^-z), output in (0, 1); f' = f(1-f)",
    .activation = {
        .forward = sigmoid_forward,
        .derivative = sigmoid_derivative,
        .out_min = 0.0,
        .out_max = 1.0,
    },
};

NL_REFERENCE_ENTRY(sigmoid)
{
    return index == 0 ? &sigmoid_plugin : NULL;
}
