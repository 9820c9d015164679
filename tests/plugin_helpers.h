/*
 * plugin_helpers.h - what the plugin suites (test_plugins.c,
 * test_plugin_library.c) share: opening a shipped plugin's .so, the
 * function-table check, an instance of a plugin, one-element calls,
 * tolerances and guard elements.
 * Header-only (static inline); include it after helpers.h.
 */
#ifndef NL_TEST_PLUGIN_HELPERS_H
#define NL_TEST_PLUGIN_HELPERS_H

#include <math.h>

#include "helpers.h"
#include "params.h"
#include "plugin_loader.h"

/* Libraries opened by the current test (th_open_shipped), closed by
 * th_close_opened, the fini hook.  Each test runs in its own process, so
 * this is per test. */
static nl_library *th_opened[8];
static size_t th_n_opened;

/* A test's .fini: closes the libraries th_open_shipped opened. */
static inline void th_close_opened(void)
{
    while (th_n_opened > 0)
        nl_library_close(th_opened[--th_n_opened]);
}

/* Opens <build>/plugins/NAME.so (closed by th_close_opened) and returns
 * its one descriptor, which must be named NAME. */
static inline const nl_plugin *th_open_shipped(const char *name)
{
    char *rel = th_fmt("plugins/%s.so", name);
    char *path = th_build_path(rel);
    free(rel);
    nl_diag d = {0};
    nl_library *lib = nl_library_open(path, &d);
    cr_assert(lib != NULL, "cannot open %s: %s", path, d.message);
    free(path);
    cr_assert(lt(sz, th_n_opened, sizeof(th_opened) / sizeof(th_opened[0])));
    th_opened[th_n_opened++] = lib;
    cr_assert(eq(sz, lib->n_plugins, 1), "one plugin per file");
    cr_assert(eq(str, (char *)lib->plugins[0]->name, (char *)name),
              "the file is named after its plugin");
    return lib->plugins[0];
}

/* Asserts that only the function table of p's kind is filled in. */
static inline void th_assert_own_table_only(const nl_plugin *p)
{
    bool act = p->activation.forward || p->activation.derivative;
    bool loss = p->loss.value || p->loss.gradient;
    bool opt = p->optimizer.step != NULL;
    cr_assert(eq(int, act, p->kind == NL_KIND_ACTIVATION));
    cr_assert(eq(int, loss, p->kind == NL_KIND_LOSS));
    cr_assert(eq(int, opt, p->kind == NL_KIND_OPTIMIZER));
}

/* A plugin and its state (NULL for a stateless plugin). */
typedef struct th_instance {
    const nl_plugin *p;
    void *self;
} th_instance;

/* create() with `params` (the table's defaults when NULL), or the
 * stateless self = NULL when the plugin has no create. */
static inline th_instance th_make(const nl_plugin *p, const double *params,
                                  size_t n_theta)
{
    th_instance in = {p, NULL};
    if (p->create == NULL)
        return in;
    double defaults[NL_MAX_PARAMS];
    if (params == NULL) {
        for (size_t i = 0; i < p->n_params; i++)
            defaults[i] = p->params[i].default_value;
        params = defaults;
    }
    char err[NL_ERROR_MAX] = "";
    in.self = p->create(params, n_theta, err);
    cr_assert(in.self != NULL, "%s create() failed: %s", p->name, err);
    return in;
}

/* destroy()s what th_make created. */
static inline void th_unmake(th_instance *in)
{
    if (in->self != NULL)
        in->p->destroy(in->self);
    in->self = NULL;
}

/* An activation's forward() on one element. */
static inline double th_fwd1(const th_instance *in, double z)
{
    double a = NAN;
    cr_assert(eq(int, in->p->activation.forward(in->self, &z, &a, 1), 0));
    return a;
}

/* An activation's derivative() on one element (at its own forward). */
static inline double th_deriv1(const th_instance *in, double z)
{
    double a = th_fwd1(in, z), d = NAN;
    cr_assert(eq(int,
                 in->p->activation.derivative(in->self, &z, &a, &d, 1), 0));
    return d;
}

/* A loss's value() on one element. */
static inline double th_loss1(const th_instance *in, double yhat, double y)
{
    double l = NAN;
    cr_assert(eq(int, in->p->loss.value(in->self, &yhat, &y, &l, 1), 0),
              "%s value(%g, %g) failed", in->p->name, yhat, y);
    return l;
}

/* A loss's gradient() on one element. */
static inline double th_grad1(const th_instance *in, double yhat, double y)
{
    double g = NAN;
    cr_assert(eq(int, in->p->loss.gradient(in->self, &yhat, &y, &g, 1), 0),
              "%s gradient(%g, %g) failed", in->p->name, yhat, y);
    return g;
}

/* |a - b| <= abs_tol + rel_tol * max(|a|, |b|). */
static inline bool th_close_to(double a, double b, double abs_tol,
                               double rel_tol)
{
    return fabs(a - b) <= abs_tol + rel_tol * fmax(fabs(a), fabs(b));
}

/* What th_set_guard writes past the end of an array. */
#define TH_SENTINEL (-12345.678)

/* Fills x[n .. n + guard - 1] with TH_SENTINEL. */
static inline void th_set_guard(double *x, size_t n, size_t guard)
{
    for (size_t i = n; i < n + guard; i++)
        x[i] = TH_SENTINEL;
}

/* Asserts that x[n .. n + guard - 1] still hold TH_SENTINEL. */
static inline void th_check_guard(const double *x, size_t n, size_t guard,
                                  const char *what)
{
    for (size_t i = n; i < n + guard; i++)
        cr_assert(eq(dbl, x[i], TH_SENTINEL), "%s: wrote element %zu of %zu",
                  what, i, n);
}

#endif
