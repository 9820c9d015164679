/*
 * cross_entropy.c - binary cross-entropy (log loss) for a target y in
 * [0, 1] and a predicted probability p = yhat:
 *
 *     l = -(y log p + (1 - y) log(1 - p))
 *     dl/dp = (p - y) / (p (1 - p))
 *
 * Numerically safe: p is first clamped into [1e-15, 1 - 1e-15] (the value
 * Keras and scikit-learn use), for the value and the gradient alike, so
 * both are finite for any yhat, including exactly 0 and 1, and outputs of
 * activations that leave [0, 1].  The largest value is -log(1e-15) = 34.5
 * and the largest gradient magnitude about 1e15.  With the sigmoid, f' =
 * p (1 - p) cancels the denominator: dC/dz = p - y.
 *
 * The loss is >= 0 only for y in [0, 1]: a target outside [0, 1] (or
 * NaN) is an error, and value() and gradient() return 1 for it.  For
 * y = 0 or 1, l is about 1e-15 (not exactly 0) at yhat == y because of
 * the clamp; for y strictly between 0 and 1 it is the entropy of y there,
 * as for every binary cross-entropy.
 */
#include <math.h>
#include <stddef.h>

#include <nnlab/plugin.h>

#define CE_EPS 1e-15

static double clamp_p(double p)
{
    /* fmin/fmax would turn a NaN into a bound; let it through instead. */
    if (p < CE_EPS)
        return CE_EPS;
    if (p > 1.0 - CE_EPS)
        return 1.0 - CE_EPS;
    return p;
}

static int target_ok(double y)
{
    return y >= 0.0 && y <= 1.0;
}

static int ce_value(void *self, const double *yhat, const double *y,
                    double *l, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        if (!target_ok(y[i]))
            return 1;
        double p = clamp_p(yhat[i]);
        /* Each term only when its weight is non-zero, and never below 0
         * (for y in [0, 1] both terms are >= 0 already). */
        double v = 0.0;
        if (y[i] > 0.0)
            v -= y[i] * log(p);
        if (y[i] < 1.0)
            v -= (1.0 - y[i]) * log1p(-p);
        l[i] = v;
    }
    return 0;
}

static int ce_gradient(void *self, const double *yhat, const double *y,
                       double *g, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++) {
        if (!target_ok(y[i]))
            return 1;
        double p = clamp_p(yhat[i]);
        g[i] = (p - y[i]) / (p * (1.0 - p));
    }
    return 0;
}

static const char *ce_describe_error(void *self, int code)
{
    (void)self;
    return code == 1 ? "a target outside [0, 1] (or NaN); binary "
                       "cross-entropy needs targets in [0, 1]"
                     : NULL;
}

static const nl_plugin ce_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_LOSS,
    .name = "cross_entropy",
    .version = "1.0.0",
    .summary = "binary cross-entropy -(y log p + (1-y) log(1-p)), "
               "p = yhat clamped to [1e-15, 1-1e-15], targets y in [0, 1]",
    .loss = {
        .value = ce_value,
        .gradient = ce_gradient,
    },
    .describe_error = ce_describe_error,
};

NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
{
    return index == 0 ? &ce_plugin : NULL;
}
