/*
 * mae.c - absolute error l = |yhat - y|, l' = sign(yhat - y) (0 where
 * yhat == y, a subgradient); the host takes the mean, which makes it the
 * mean absolute error.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

static int mae_value(void *self, const double *yhat, const double *y,
                     double *l, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        l[i] = fabs(yhat[i] - y[i]);
    return 0;
}

static int mae_gradient(void *self, const double *yhat, const double *y,
                        double *g, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        double e = yhat[i] - y[i];
        g[i] = e > 0 ? 1.0 : e < 0 ? -1.0 : e == 0 ? 0.0 : e /* NaN */;
    }
    return 0;
}

static const nl_plugin mae_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_LOSS,
    .name = "mae",
    .version = "1.0.0",
    .summary = "mean absolute error (1/n) sum |yhat - y|; "
               "l' = sign(yhat - y), 0 at yhat == y",
    .loss = {
        .value = mae_value,
        .gradient = mae_gradient,
    },
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &mae_plugin : NULL;
}
