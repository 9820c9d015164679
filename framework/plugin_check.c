/* plugin_check.c - numeric conformance checks for plugins. */
#define _POSIX_C_SOURCE 200809L
#include "plugin_check.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "plugin_loader.h"
#include "progress.h"
#include "rng.h"

typedef struct checker {
    const nl_plugin *p;
    const char *origin;
    FILE *out;
    nl_diag *d;
    int failed;
    void *self;           /* the instance under test */
    /* The first call of the derivative checks that returned an error. */
    int call_rc;
    const char *call_fn;
    double call_at;
} checker;

__attribute__((format(printf, 4, 5)))
static void report(checker *c, bool ok, const char *what, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (c->out != NULL)
        fprintf(c->out, "  %s  %-16s %s\n", ok ? "PASS" : "FAIL", what, detail);
    if (!ok && c->failed++ == 0 && c->d != NULL)
        nl_fail(c->d, NL_EPLUGIN, "%s: %s '%s' fails its %s check: %s",
                c->origin, nl_kind_name(c->p->kind), c->p->name, what, detail);
}

__attribute__((format(printf, 2, 3)))
static void info(checker *c, const char *fmt, ...)
{
    if (c->out == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  info  ", c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    va_end(ap);
}

/* A scalar function of one variable, evaluated through the plugin. */
typedef struct fn1 {
    checker *c;
    double y;             /* loss: the target */
} fn1;

/* Keeps the first failed call (rc not 0) of fn at x, for the report. */
static void note_call(checker *c, int rc, const char *fn, double x)
{
    if (rc != 0 && c->call_rc == 0) {
        c->call_rc = rc;
        c->call_fn = fn;
        c->call_at = x;
    }
}

static double eval(const fn1 *f, double x)
{
    const nl_plugin *p = f->c->p;
    double out = NAN;
    if (p->kind == NL_KIND_ACTIVATION)
        note_call(f->c, p->activation.forward(f->c->self, &x, &out, 1),
                  "forward", x);
    else
        note_call(f->c, p->loss.value(f->c->self, &x, &f->y, &out, 1),
                  "value", x);
    return out;
}

static double slope(const fn1 *f, double x, double *a_out)
{
    const nl_plugin *p = f->c->p;
    double out = NAN, a = NAN;
    if (p->kind == NL_KIND_ACTIVATION) {
        note_call(f->c, p->activation.forward(f->c->self, &x, &a, 1),
                  "forward", x);
        note_call(f->c,
                  p->activation.derivative(f->c->self, &x, &a, &out, 1),
                  "derivative", x);
    } else {
        note_call(f->c, p->loss.gradient(f->c->self, &x, &f->y, &out, 1),
                  "gradient", x);
    }
    if (a_out != NULL)
        *a_out = a;
    return out;
}

typedef struct worst {
    double x, claimed, numeric, excess;   /* excess over the tolerance */
    int points, kinks;
} worst;

/* Compares the declared derivative with central differences at x.  A kink
 * (one-sided slopes that disagree) is counted and skipped: no derivative
 * to compare with there. */
static void compare_at(const fn1 *f, double x, worst *w)
{
    double h = 1e-5 * fmax(1.0, fabs(x));
    double fm = eval(f, x - h), f0 = eval(f, x), fp = eval(f, x + h);
    double left = (f0 - fm) / h, right = (fp - f0) / h;
    double numeric = (fp - fm) / (2 * h);
    if (!isfinite(numeric))
        return;
    if (fabs(left - right) > 1e-2 * fmax(1.0, fmax(fabs(left), fabs(right)))) {
        w->kinks++;
        return;
    }
    double claimed = slope(f, x, NULL);
    double tol = NL_CHECK_ATOL + NL_CHECK_RTOL * fmax(fabs(claimed),
                                                      fabs(numeric));
    double excess = isfinite(claimed) ? fabs(claimed - numeric) - tol
                                      : HUGE_VAL;
    w->points++;
    if (excess > w->excess) {
        w->excess = excess;
        w->x = x;
        w->claimed = claimed;
        w->numeric = numeric;
    }
}

static void report_derivative(checker *c, const char *what, const worst *w,
                              const char *var)
{
    if (c->call_rc != 0) { /* its points were skipped: not a pass */
        const char *why = c->p->describe_error
                              ? c->p->describe_error(c->self, c->call_rc)
                              : NULL;
        report(c, false, what, "%s() returned %d at %s = %.6g%s%s",
               c->call_fn, c->call_rc, var, c->call_at, why ? ": " : "",
               why ? why : "");
    } else if (w->excess > 0)
        report(c, false, what, "worst at %s = %.6g: the plugin says %.9g, "
               "finite differences give %.9g (tolerance %g + %g x |value|; "
               "%d points, %d kinks skipped)", var, w->x, w->claimed,
               w->numeric, NL_CHECK_ATOL, NL_CHECK_RTOL, w->points, w->kinks);
    else
        report(c, true, what, "matches central finite differences at %d "
               "points (tolerance %g + %g x |value|; %d kinks skipped)",
               w->points, NL_CHECK_ATOL, NL_CHECK_RTOL, w->kinks);
}

static const double spot_points[] = {-3.0, -1.1, -0.3, 0.2, 0.7, 1.6, 4.0};

static void check_activation(checker *c, bool full)
{
    const nl_activation_api *a = &c->p->activation;
    fn1 f = {c, 0};
    worst w = {0, 0, 0, -HUGE_VAL, 0, 0};
    bool surrogate = a->flags & NL_ACTIVATION_SURROGATE;
    if (surrogate) {
        double z = 0.7, out = slope(&f, z, NULL);
        info(c, "derivative: declared a surrogate (f'(%g) := %g), so it is "
             "not compared with finite differences", z, out);
    } else if (!full) {
        for (size_t i = 0; i < sizeof(spot_points) / sizeof(*spot_points); i++)
            compare_at(&f, spot_points[i], &w);
        report_derivative(c, "derivative", &w, "z");
    }
    if (!full)
        return;
    static const double probes[] = {
        0.0, -0.0, 4.9e-324, -4.9e-324, 2.2250738585072014e-308, 1e-300,
        -1e-300, 1e-8, -1e-8, 0.5, -0.5, 1, -1, 10, -10, 40, -40, 710, -710,
        800, -800, 1e10, -1e10, 1e300, -1e300, DBL_MAX, -DBL_MAX};
    enum { N = sizeof(probes) / sizeof(probes[0]) };
    double out[N], out2[N], der[N];
    int rc = a->forward(c->self, probes, out, N);
    if (rc == 0)
        rc = a->derivative(c->self, probes, out, der, N);
    if (rc != 0) {
        const char *why = c->p->describe_error
                              ? c->p->describe_error(c->self, rc) : NULL;
        report(c, false, "finite outputs", "forward() or derivative() "
               "returned %d on finite inputs%s%s", rc, why ? ": " : "",
               why ? why : "");
        return;
    }
    int bad = -1, out_of_range = -1;
    for (int i = 0; i < N; i++) {
        if ((!isfinite(out[i]) || !isfinite(der[i])) && bad < 0)
            bad = i;
        if (!(out[i] >= a->out_min && out[i] <= a->out_max) &&
            out_of_range < 0)
            out_of_range = i;
    }
    if (bad >= 0)
        report(c, false, "finite outputs", "f(%g) = %g, f'(%g) = %g",
               probes[bad], out[bad], probes[bad], der[bad]);
    else
        report(c, true, "finite outputs", "%d inputs from -DBL_MAX to "
               "DBL_MAX, subnormals and +-0 included", N);
    if (out_of_range >= 0)
        report(c, false, "output range", "f(%g) = %.17g is outside the "
               "declared [%g, %g]", probes[out_of_range], out[out_of_range],
               a->out_min, a->out_max);
    else
        report(c, true, "output range", "every output in [%g, %g]",
               a->out_min, a->out_max);
    if (!surrogate) {
        for (double z = -8; z <= 8; z += 0.125)
            compare_at(&f, z, &w);
        nl_rng rng;
        nl_rng_seed(&rng, 12345, NL_STREAM_DATA);
        for (int i = 0; i < 256; i++)
            compare_at(&f, 40 * nl_rng_uniform(&rng) - 20, &w);
        report_derivative(c, "derivative", &w, "z");
    }
    a->forward(c->self, probes, out2, N);
    report(c, memcmp(out, out2, sizeof(out)) == 0, "deterministic",
           "the same input gives the same output, bit for bit");
}

static void check_loss(checker *c, bool full)
{
    const nl_loss_api *l = &c->p->loss;
    static const double ys[] = {0.0, 1.0, 0.3};
    static const double yhats[] = {0.05, 0.2, 0.45, 0.5, 0.8, 0.95};
    worst w = {0, 0, 0, -HUGE_VAL, 0, 0};
    for (size_t j = 0; j < (full ? 3u : 2u); j++) {
        fn1 f = {c, ys[j]};
        for (size_t i = 0; i < sizeof(yhats) / sizeof(*yhats); i++)
            compare_at(&f, yhats[i], &w);
    }
    report_derivative(c, "gradient", &w, "yhat");
    if (!full)
        return;
    double worst_neg = 0, worst_zero = 0, yw = 0, yz = 0;
    for (int j = 0; j < 3; j++) {
        for (double yh = -1; yh <= 2; yh += 0.0625) {
            double v, y = ys[j];
            l->value(c->self, &yh, &y, &v, 1);
            if (!(v >= worst_neg)) {
                worst_neg = isnan(v) ? -HUGE_VAL : v;
                yw = yh;
            }
        }
        if (j < 2) { /* l(y, y) = 0 for targets 0 and 1 */
            double v, y = ys[j];
            l->value(c->self, &y, &y, &v, 1);
            if (!(fabs(v) <= fabs(worst_zero))) {
                worst_zero = isnan(v) ? HUGE_VAL : v;
                yz = y;
            }
        }
    }
    report(c, worst_neg >= 0, "value >= 0", worst_neg >= 0
           ? "on a grid of yhat in [-1, 2] for y = 0, 1, 0.3"
           : "l(%g, y) = %g", yw, worst_neg);
    report(c, fabs(worst_zero) <= 1e-12, "zero at yhat=y",
           fabs(worst_zero) <= 1e-12 ? "l(0, 0) and l(1, 1) within 1e-12 of 0"
                                     : "l(%g, %g) = %g", yz, yz, worst_zero);
}

static void check_optimizer(checker *c, const double *params)
{
    enum { N = 5, STEPS = 200 };
    const double scale[N] = {1, 2, 0.5, 1, 0}; /* the last: zero gradient */
    double theta[N] = {1, -2, 0.5, 3, 7}, grad[N];
    double f0 = 0, f1 = 0;
    for (int i = 0; i < N; i++)
        f0 += scale[i] * theta[i] * theta[i];
    void *self = c->self;
    char err[NL_ERROR_MAX] = "";
    if (c->p->create != NULL) { /* a fresh state for exactly N values */
        self = c->p->create(params, N, err);
        if (self == NULL) {
            err[NL_ERROR_MAX - 1] = '\0';
            report(c, false, "state", "create(%d) failed: %s", N, err);
            return;
        }
    }
    int rc = 0;
    for (int s = 0; s < STEPS && rc == 0; s++) {
        for (int i = 0; i < N; i++)
            grad[i] = 2 * scale[i] * theta[i];
        rc = c->p->optimizer.step(self, theta, grad, N);
    }
    /* Asked while the state lives: describe_error is handed it. */
    const char *why = rc != 0 && c->p->describe_error
                          ? c->p->describe_error(self, rc) : NULL;
    char why_copy[NL_ERROR_MAX] = "";
    if (why != NULL)
        snprintf(why_copy, sizeof(why_copy), ": %s", why);
    if (c->p->destroy != NULL && self != NULL)
        c->p->destroy(self);
    report(c, true, "state", "created for %d parameters and destroyed", N);
    for (int i = 0; i < N; i++)
        f1 += scale[i] * theta[i] * theta[i];
    if (rc != 0)
        report(c, false, "descent", "step() returned %d%s", rc, why_copy);
    else
        report(c, f1 < f0, "descent", "%d steps on sum a_i theta_i^2 take it "
               "from %g to %g", STEPS, f0, f1);
    report(c, theta[N - 1] == 7, "zero gradient", theta[N - 1] == 7
           ? "a parameter whose gradient is always 0 is left untouched"
           : "a parameter whose gradient is always 0 moved from 7 to %.17g",
           theta[N - 1]);
}

/* Nanoseconds per element of the kind's main call, for information. */
static void throughput(checker *c)
{
    enum { N = 1 << 16 };
    double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double));
    double *o = malloc(N * sizeof(double));
    if (a == NULL || b == NULL || o == NULL)
        goto out;
    for (int i = 0; i < N; i++) {
        a[i] = (double)(i % 200) / 40.0 - 2.5;
        b[i] = (double)(i % 2);
        o[i] = (double)(i % 100) / 100.0;
    }
    long reps = 0;
    double start = nl_now(), elapsed;
    do {
        switch (c->p->kind) {
        case NL_KIND_ACTIVATION:
            c->p->activation.forward(c->self, a, o, N);
            break;
        case NL_KIND_LOSS:
            c->p->loss.value(c->self, o, b, a, N); /* o: yhat */
            break;
        case NL_KIND_OPTIMIZER:
            break;
        }
        reps++;
        elapsed = nl_now() - start;
    } while (elapsed < 0.05 && c->p->kind != NL_KIND_OPTIMIZER);
    if (c->p->kind != NL_KIND_OPTIMIZER)
        info(c, "throughput: %.2f ns per element (%s, blocks of %d)",
             elapsed * 1e9 / ((double)reps * N),
             c->p->kind == NL_KIND_ACTIVATION ? "forward" : "value", N);
out:
    free(a);
    free(b);
    free(o);
}

int nl_plugin_check(const nl_plugin *p, const char *origin, bool full,
                    FILE *out, nl_diag *d)
{
    checker c = {.p = p, .origin = origin, .out = out, .d = d};
    nl_diag why;
    if (out != NULL)
        fprintf(out, "%s %s %s (%s)\n", nl_kind_name(p->kind),
                p->name ? p->name : "?", p->version ? p->version : "?",
                origin);
    if (p->abi_version != NL_ABI_VERSION ||
        p->struct_size != sizeof(nl_plugin)) {
        nl_plugin_validate(p, origin, &why);
        report(&c, false, "abi", "%s", why.message);
        return c.failed;
    }
    report(&c, true, "abi", "version %u, descriptor of %u bytes",
           (unsigned)p->abi_version, (unsigned)p->struct_size);
    if (nl_plugin_validate(p, origin, &why) < 0) {
        report(&c, false, "metadata", "%s", why.message);
        return c.failed;
    }
    report(&c, true, "metadata", "kind, name, version '%s', summary, %zu "
           "parameter%s with defaults in range", p->version, p->n_params,
           p->n_params == 1 ? "" : "s");
    double params[NL_MAX_PARAMS];
    for (size_t i = 0; i < p->n_params; i++)
        params[i] = p->params[i].default_value;
    if (p->create != NULL) {
        char err[NL_ERROR_MAX] = "";
        c.self = p->create(params, 3, err);
        if (c.self == NULL) {
            err[NL_ERROR_MAX - 1] = '\0';
            report(&c, false, "create", "create() with the default "
                   "parameters failed: %s", err[0] ? err : "returned NULL");
            return c.failed;
        }
    }
    switch (p->kind) {
    case NL_KIND_ACTIVATION:
        check_activation(&c, full);
        break;
    case NL_KIND_LOSS:
        check_loss(&c, full);
        break;
    case NL_KIND_OPTIMIZER:
        if (full)
            check_optimizer(&c, params);
        break;
    }
    if (full)
        throughput(&c);
    if (c.self != NULL)
        p->destroy(c.self);
    return c.failed;
}

int nl_plugin_spot_check(const nl_plugin *p, void *self, const char *origin,
                         nl_diag *d)
{
    checker c = {.p = p, .origin = origin, .d = d, .self = self};
    if (p->kind == NL_KIND_ACTIVATION)
        check_activation(&c, false);
    else if (p->kind == NL_KIND_LOSS)
        check_loss(&c, false);
    return c.failed > 0 ? -1 : 0;
}
