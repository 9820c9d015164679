/* gradient_descent.c - theta <- theta - learning_rate * grad. */
#include <math.h>
#include <stdlib.h>

#include "reference.h"

typedef struct gradient_descent {
    double learning_rate;
} gradient_descent;

static void *gd_create(const double *params, size_t n_theta, char *err)
{
    (void)n_theta;
    (void)err;
    gradient_descent *gd = malloc(sizeof(*gd));
    if (gd == NULL)
        return NULL;
    gd->learning_rate = params[0];
    return gd;
}

static void gd_destroy(void *self)
{
    free(self);
}

static int gd_step(void *self, double *theta, const double *grad, size_t n)
{
    const gradient_descent *gd = self;
    for (size_t i = 0; i < n; i++)
        theta[i] -= gd->learning_rate * grad[i];
    return 0;
}

static const nl_param gd_params[] = {
    {.name = "learning_rate", .type = NL_PARAM_REAL, .default_value = 0.1,
     .min = 0.0, .max = HUGE_VAL, .flags = NL_PARAM_MIN_EXCLUSIVE,
     .help = "step size, > 0"},
};

static const nl_plugin gd_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_OPTIMIZER,
    .name = "gradient_descent",
    .version = "1.0.0",
    .summary = "plain gradient descent: theta -= learning_rate * grad",
    .params = gd_params,
    .n_params = sizeof(gd_params) / sizeof(gd_params[0]),
    .create = gd_create,
    .destroy = gd_destroy,
    .optimizer = {.step = gd_step},
};

NL_REFERENCE_ENTRY(gradient_descent)
{
    return index == 0 ? &gd_plugin : NULL;
}
