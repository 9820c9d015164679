/*
 * step.c - the binary step f(z) = 1 if z >= threshold else 0.
 *
 * Its true derivative is zero almost everywhere, so gradient descent
 * learns nothing with it.  The `identity` surrogate (the default) uses
 * f' := 1 instead, which turns gradient descent into the classic
 * perceptron learning rule; `zero` keeps the true derivative.
 */
#include <math.h>
#include <stdlib.h>

#include "reference.h"

enum { SURROGATE_IDENTITY, SURROGATE_ZERO };

typedef struct step {
    double threshold;
    double slope; /* the surrogate f': 1 or 0 */
} step;

static void *step_create(const double *params, size_t n_theta, char *err)
{
    (void)n_theta;
    (void)err;
    step *s = malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    s->threshold = params[0];
    s->slope = (int)params[1] == SURROGATE_ZERO ? 0.0 : 1.0;
    return s;
}

static void step_destroy(void *self)
{
    free(self);
}

static int step_forward(void *self, const double *z, double *a, size_t n)
{
    const step *s = self;
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] >= s->threshold ? 1.0 : 0.0;
    return 0;
}

static int step_derivative(void *self, const double *z, const double *a,
                           double *d, size_t n)
{
    const step *s = self;
    (void)z;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = s->slope;
    return 0;
}

static const char *const surrogate_choices[] = {"identity", "zero", NULL};

static const nl_param step_params[] = {
    {.name = "threshold", .type = NL_PARAM_REAL, .default_value = 0.0,
     .min = -HUGE_VAL, .max = HUGE_VAL,
     .help = "f(z) = 1 when z >= threshold, else 0"},
    {.name = "surrogate", .type = NL_PARAM_CHOICE,
     .default_value = SURROGATE_IDENTITY, .min = 0, .max = 1,
     .choices = surrogate_choices,
     .help = "derivative used for training: identity (f' = 1, the "
             "perceptron rule) or zero (the true one)"},
};

static const nl_plugin step_plugin = {
    .abi_version = NL_ABI_VERSION,
    .struct_size = sizeof(nl_plugin),
    .kind = NL_KIND_ACTIVATION,
    .name = "step",
    .version = "1.0.0",
    .summary = "binary step at a threshold, output 0 or 1",
    .params = step_params,
    .n_params = sizeof(step_params) / sizeof(step_params[0]),
    .create = step_create,
    .destroy = step_destroy,
    .activation = {
        .forward = step_forward,
        .derivative = step_derivative,
        .out_min = 0.0,
        .out_max = 1.0,
        .flags = NL_ACTIVATION_SURROGATE,
    },
};

NL_REFERENCE_ENTRY(step)
{
    return index == 0 ? &step_plugin : NULL;
}
