/* mse.c - squared error l = (yhat - y)^2, l' = 2 (yhat - y); the host
 * takes the mean, which makes it the mean squared error. */
#include <stdlib.h>

#include "reference.h"
#include "vector_clones.h"

NL_VECTOR_CLONES
static int mse_value(void *self, const double *yhat, const double *y,
                     double *l, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        double e = yhat[i] - y[i];
        l[i] = e * e;
    }
    return 0;
}

NL_VECTOR_CLONES
static int mse_gradient(void *self, const double *yhat, const double *y,
                        double *g, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        g[i] = 2.0 * (yhat[i] - y[i]);
    return 0;
}

static const nl_plugin mse_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_LOSS,
    .name = "mse",
    .version = "1.0.0",
    .summary = "mean squared error (1/n) sum (yhat - y)^2",
    .loss = {
        .value = mse_value,
        .gradient = mse_gradient,
    },
};

NL_REFERENCE_ENTRY(mse)
{
    return index == 0 ? &mse_plugin : NULL;
}
