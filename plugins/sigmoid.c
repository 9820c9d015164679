/* sigmoid.c - the logistic activation f(z) = 1/(1+e^-z), f' = f(1-f). */
#include <math.h>
#include <stdlib.h>

#include "reference.h"

#include "exp_neg.h"
#include "vector_clones.h"

/* Computed as e/(1+e) with e = exp(-|z|) <= 1 on the negative side, so
 * no z, however large, overflows. */
NL_VECTOR_CLONES
static int sigmoid_forward(void *self, const double *restrict z,
                           double *restrict a, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        /* One division, never e * (1/(1+e)): that rounds twice and is not
         * monotone near 0 (f(-1e-16) came out below f(-2e-16)). */
        double e = nl_exp_neg(-fabs(z[i]));
        a[i] = (z[i] >= 0 ? 1.0 : e) / (1.0 + e);
    }
    return 0;
}

NL_VECTOR_CLONES
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
