/*
 * test_plugins.c - the reference plugins (SPEC section 1), each checked
 * twice: as the descriptor built into the runner (nl_builtin) and as its
 * own shared object (build/plugins/NAME.so opened with nl_library_open).
 * Both builds come from the same source and must behave identically.
 *
 * Covered: metadata and parameter tables; values at known points;
 * derivatives against central finite differences; vectorised calls over
 * arrays of many lengths (n = 0 included) that touch nothing past n.
 */
#include "helpers.h"
#include "plugin_helpers.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>

#include "../plugins/exp_neg.h"
#include "params.h"
#include "plugin_loader.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- getting a plugin, built in or from its .so ---- */

typedef enum source { VIA_BUILTIN, VIA_SO } source;

static const char *source_name(source s)
{
    return s == VIA_BUILTIN ? "builtin" : "so";
}

/* The reference plugin `name`, through the built-in table or its .so. */
static const nl_plugin *get_plugin(const char *name, source via)
{
    if (via == VIA_BUILTIN) {
        for (size_t i = 0; i < nl_builtin_count(); i++)
            if (strcmp(nl_builtin(i)->name, name) == 0)
                return nl_builtin(i);
        cr_fatal("no built-in plugin %s", name);
    }
    return th_open_shipped(name);
}

/* ---- metadata ---- */

/*
 * Parameter rows hold no pointers: Criterion copies them into each test's
 * worker process, where (with ASLR) a pointer into the parent's static
 * data is not valid.  A plugin is therefore named by its index here.
 */
typedef enum ref_id { SIGMOID, STEP, MSE, GD } ref_id;

static const char *const ref_names[] = {"sigmoid", "step", "mse",
                                        "gradient_descent"};

typedef struct ref_case {
    ref_id id;
    source via;
} ref_case;

static ref_case all_refs[] = {
    {SIGMOID, VIA_BUILTIN},          {SIGMOID, VIA_SO},
    {STEP, VIA_BUILTIN},             {STEP, VIA_SO},
    {MSE, VIA_BUILTIN},              {MSE, VIA_SO},
    {GD, VIA_BUILTIN}, {GD, VIA_SO},
};

static ref_case two_sources_sigmoid[] = {{SIGMOID, VIA_BUILTIN},
                                         {SIGMOID, VIA_SO}};
static ref_case two_sources_step[] = {{STEP, VIA_BUILTIN},
                                      {STEP, VIA_SO}};
static ref_case two_sources_mse[] = {{MSE, VIA_BUILTIN}, {MSE, VIA_SO}};
static ref_case two_sources_gd[] = {{GD, VIA_BUILTIN},
                                    {GD, VIA_SO}};

TestSuite(meta, .fini = th_close_opened);

Test(meta, builtin_table_holds_the_four_reference_plugins)
{
    static const struct {
        const char *name;
        nl_kind kind;
    } want[] = {{"sigmoid", NL_KIND_ACTIVATION},
                {"step", NL_KIND_ACTIVATION},
                {"mse", NL_KIND_LOSS},
                {"gradient_descent", NL_KIND_OPTIMIZER}};
    cr_assert(eq(sz, nl_builtin_count(), COUNT(want)));
    for (size_t i = 0; i < COUNT(want); i++) {
        const nl_plugin *p = nl_builtin(i);
        cr_assert(p != NULL);
        cr_assert(eq(str, (char *)p->name, (char *)want[i].name));
        cr_assert(eq(int, (int)p->kind, (int)want[i].kind));
    }
    cr_assert(nl_builtin(nl_builtin_count()) == NULL,
              "past the end is NULL");
}

ParameterizedTestParameters(meta, descriptor_is_valid)
{
    return cr_make_param_array(ref_case, all_refs, COUNT(all_refs));
}

ParameterizedTest(ref_case *c, meta, descriptor_is_valid,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    cr_assert(eq(u32, p->abi_version, NL_ABI_VERSION));
    cr_assert(eq(u32, p->struct_size, (uint32_t)sizeof(nl_plugin)));
    cr_assert(eq(str, (char *)p->name, (char *)ref_names[c->id]));
    cr_assert(p->version != NULL && p->version[0] != '\0');
    cr_assert(p->summary != NULL && p->summary[0] != '\0');
    nl_diag d = {0};
    cr_assert(eq(int, nl_plugin_validate(p, source_name(c->via), &d), 0),
              "%s", d.message);
    /* create and destroy come together. */
    cr_assert(eq(int, p->create == NULL, p->destroy == NULL));
    th_assert_own_table_only(p);
}

ParameterizedTestParameters(meta, builtin_and_so_agree)
{
    /* one row per plugin: the VIA_SO rows */
    static ref_case rows[] = {{SIGMOID, VIA_SO},
                              {STEP, VIA_SO},
                              {MSE, VIA_SO},
                              {GD, VIA_SO}};
    return cr_make_param_array(ref_case, rows, COUNT(rows));
}

ParameterizedTest(ref_case *c, meta, builtin_and_so_agree,
                  .fini = th_close_opened)
{
    const nl_plugin *b = get_plugin(ref_names[c->id], VIA_BUILTIN);
    const nl_plugin *s = get_plugin(ref_names[c->id], VIA_SO);
    cr_assert(b != s, "the .so must be its own copy, not the built-in");
    cr_assert(eq(int, (int)b->kind, (int)s->kind));
    cr_assert(eq(str, (char *)b->version, (char *)s->version));
    cr_assert(eq(str, (char *)b->summary, (char *)s->summary));
    cr_assert(eq(sz, b->n_params, s->n_params));
    for (size_t i = 0; i < b->n_params; i++) {
        const nl_param *x = &b->params[i], *y = &s->params[i];
        cr_assert(eq(str, (char *)x->name, (char *)y->name));
        cr_assert(eq(int, (int)x->type, (int)y->type));
        cr_assert(eq(u32, x->flags, y->flags));
        cr_assert(x->default_value == y->default_value);
        cr_assert(x->min == y->min && x->max == y->max);
    }
    cr_assert(b->activation.out_min == s->activation.out_min);
    cr_assert(b->activation.out_max == s->activation.out_max);
}

ParameterizedTestParameters(meta, sigmoid_metadata)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, meta, sigmoid_metadata, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    cr_assert(eq(int, (int)p->kind, (int)NL_KIND_ACTIVATION));
    cr_assert(eq(sz, p->n_params, 0));
    cr_assert(p->activation.out_min == 0.0 && p->activation.out_max == 1.0,
              "sigmoid's range is [0, 1], midpoint 0.5");
}

ParameterizedTestParameters(meta, step_metadata)
{
    return cr_make_param_array(ref_case, two_sources_step, 2);
}

ParameterizedTest(ref_case *c, meta, step_metadata, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    cr_assert(eq(int, (int)p->kind, (int)NL_KIND_ACTIVATION));
    cr_assert(p->activation.out_min == 0.0 && p->activation.out_max == 1.0);
    cr_assert(p->create != NULL && p->destroy != NULL);
    cr_assert(eq(sz, p->n_params, 2));

    const nl_param *t = &p->params[0];
    cr_assert(eq(str, (char *)t->name, "threshold"));
    cr_assert(eq(int, (int)t->type, (int)NL_PARAM_REAL));
    cr_assert(t->default_value == 0.0);
    cr_assert(isinf(t->min) && t->min < 0 && isinf(t->max) && t->max > 0,
              "threshold takes any real");
    char range[256];
    nl_param_range_text(t, range, sizeof(range));
    cr_assert(eq(str, range, "any"));

    const nl_param *s = &p->params[1];
    cr_assert(eq(str, (char *)s->name, "surrogate"));
    cr_assert(eq(int, (int)s->type, (int)NL_PARAM_CHOICE));
    cr_assert(s->choices != NULL);
    cr_assert(eq(str, (char *)s->choices[0], "identity"));
    cr_assert(eq(str, (char *)s->choices[1], "zero"));
    cr_assert(s->choices[2] == NULL, "exactly two choices");
    cr_assert(s->default_value == 0.0, "default: index 0, identity");
    nl_param_range_text(s, range, sizeof(range));
    cr_assert(eq(str, range, "identity|zero"));
    char word[64];
    nl_param_format(s, s->default_value, 0, word, sizeof(word));
    cr_assert(eq(str, word, "identity"));
}

ParameterizedTestParameters(meta, mse_metadata)
{
    return cr_make_param_array(ref_case, two_sources_mse, 2);
}

ParameterizedTest(ref_case *c, meta, mse_metadata, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    cr_assert(eq(int, (int)p->kind, (int)NL_KIND_LOSS));
    cr_assert(eq(sz, p->n_params, 0));
    cr_assert(p->loss.value != NULL && p->loss.gradient != NULL);
}

ParameterizedTestParameters(meta, gradient_descent_metadata)
{
    return cr_make_param_array(ref_case, two_sources_gd, 2);
}

ParameterizedTest(ref_case *c, meta, gradient_descent_metadata,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    cr_assert(eq(int, (int)p->kind, (int)NL_KIND_OPTIMIZER));
    cr_assert(p->create != NULL && p->destroy != NULL);
    cr_assert(eq(sz, p->n_params, 1));
    const nl_param *lr = &p->params[0];
    cr_assert(eq(str, (char *)lr->name, "learning_rate"));
    cr_assert(eq(int, (int)lr->type, (int)NL_PARAM_REAL));
    cr_assert(lr->default_value == 0.1);
    cr_assert(lr->min == 0.0);
    cr_assert(lr->flags & NL_PARAM_MIN_EXCLUSIVE, "must be > 0, not >= 0");
    cr_assert(zero(u32, lr->flags & NL_PARAM_MAX_EXCLUSIVE));
    cr_assert(isinf(lr->max) && lr->max > 0);
    char range[256];
    nl_param_range_text(lr, range, sizeof(range));
    cr_assert(eq(str, range, "> 0"));
}

/* ---- sigmoid ---- */

TestSuite(sigmoid, .fini = th_close_opened);

ParameterizedTestParameters(sigmoid, known_points)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, sigmoid, known_points, .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 0.5));
    cr_assert(eq(dbl, th_fwd1(&in, -0.0), 0.5));
    /* f(ln 3) = 1/(1 + 1/3) = 3/4, f(-ln 3) = 1/4 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, log(3.0)), 0.75, 4));
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -log(3.0)), 0.25, 4));
    /* Against the textbook formula where it cannot overflow. */
    for (double z = -30; z <= 30; z += 0.37) {
        double want = 1.0 / (1.0 + exp(-z));
        cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, z), want, 8), "z = %g", z);
    }
    th_unmake(&in);
}

/* Monotone to the last bit near 0, where f(-z) = e/(1+e) must not round
 * twice (e * (1/(1+e)) made f(-1e-16) smaller than f(-2e-16)). */
ParameterizedTestParameters(sigmoid, monotone_near_zero)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, sigmoid, monotone_near_zero,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    enum { N = 4001 };
    static double z[N], a[N];
    for (int i = 0; i < N; i++)
        z[i] = (i - N / 2) * 5e-18; /* -1e-14 .. 1e-14 */
    cr_assert(eq(int, in.p->activation.forward(in.self, z, a, N), 0));
    for (int i = 1; i < N; i++)
        cr_assert(a[i] >= a[i - 1], "f(%g) = %.17g < f(%g) = %.17g", z[i],
                  a[i], z[i - 1], a[i - 1]);
    th_unmake(&in);
}

ParameterizedTestParameters(sigmoid, extreme_inputs_stay_finite)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, sigmoid, extreme_inputs_stay_finite,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    static const double big[] = {36.0,  40.0,  709.0,  710.0, 745.0,
                                 746.0, 800.0, 1e10,   1e300, DBL_MAX};
    for (size_t i = 0; i < COUNT(big); i++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            double z = sign * big[i];
            double a = th_fwd1(&in, z), d = th_deriv1(&in, z);
            cr_assert(isfinite(a), "f(%g) = %g", z, a);
            cr_assert(a >= 0.0 && a <= 1.0, "f(%g) = %g", z, a);
            cr_assert(isfinite(d) && d >= 0.0 && d <= 0.25, "f'(%g) = %g", z,
                      d);
        }
    }
    cr_assert(eq(dbl, th_fwd1(&in, 800.0), 1.0));
    cr_assert(eq(dbl, th_fwd1(&in, 1e300), 1.0));
    cr_assert(epsilon_eq(dbl, th_fwd1(&in, -800.0), 0.0, 1e-300));
    cr_assert(epsilon_eq(dbl, th_fwd1(&in, -1e300), 0.0, 1e-300));
    /* Still exact-ish in the tail, where 1 - f(-z) would have lost it. */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -700.0), exp(-700.0), 8));
    /* "Computed without overflow for any finite z": the results are the
     * exact limits, in one vectorised call too.  (The floating-point
     * flags are not part of the contract: nnlab builds with
     * -fno-trapping-math, and a vector lane may compute before it
     * selects.) */
    double zs[4] = {-1e300, -800.0, -DBL_MAX, 1e300}, as[4];
    cr_assert(eq(int, in.p->activation.forward(in.self, zs, as, 4), 0));
    cr_assert(eq(dbl, as[0], 0.0));
    cr_assert(eq(dbl, as[1], 0.0));
    cr_assert(eq(dbl, as[2], 0.0));
    cr_assert(eq(dbl, as[3], 1.0));
    th_unmake(&in);
}

ParameterizedTestParameters(sigmoid, symmetric_and_monotone)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, sigmoid, symmetric_and_monotone,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    double prev = -1.0;
    for (double z = -40; z <= 40; z += 0.125) {
        double up = th_fwd1(&in, z), down = th_fwd1(&in, -z);
        /* f(-z) = 1 - f(z), up to rounding of the subtraction. */
        cr_assert(epsilon_eq(dbl, down, 1.0 - up, 2 * DBL_EPSILON),
                  "z = %g: f(-z) = %.17g, 1 - f(z) = %.17g", z, down,
                  1.0 - up);
        cr_assert(up >= prev, "not monotone at z = %g", z);
        prev = up;
    }
    th_unmake(&in);
}

ParameterizedTestParameters(sigmoid, derivative_matches_finite_differences)
{
    return cr_make_param_array(ref_case, two_sources_sigmoid, 2);
}

ParameterizedTest(ref_case *c, sigmoid, derivative_matches_finite_differences,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    const double h = 1e-5;
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, 0.0), 0.25, 1));
    for (double z = -15; z <= 15; z += 0.1) {
        double fd = (th_fwd1(&in, z + h) - th_fwd1(&in, z - h)) / (2 * h);
        double d = th_deriv1(&in, z);
        cr_assert(th_close_to(d, fd, 1e-10, 1e-6),
                  "z = %g: f' = %.17g, central difference %.17g", z, d, fd);
        /* f' = f (1 - f) */
        double a = th_fwd1(&in, z);
        cr_assert(ieee_ulp_eq(dbl, d, a * (1 - a), 2));
    }
    th_unmake(&in);
}

/* The sigmoid's own exp: within 2.5 ulp of the exact value (expl, in long
 * double) on a million points of [-746, 0], denser near 0; exact at the
 * ends; 0 below the smallest subnormal; NaN through. */
Test(sigmoid, exp_neg_within_2_5_ulp)
{
    uint64_t s = 0x2545f4914f6cdd1du;
    double worst = 0, worst_x = 0;
    for (int i = 0; i < 1000000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0;
        double x = i % 4 == 0 ? -2 * u : -746 * u;
        long double exact = expl((long double)x);
        double near = (double)exact;
        if (near < DBL_MIN) /* subnormal results: measured in their step */
            continue;
        double ulp = nextafter(near, INFINITY) - near;
        double err = (double)fabsl((long double)nl_exp_neg(x) - exact) / ulp;
        if (err > worst)
            worst = err, worst_x = x;
    }
    cr_assert(worst <= 2.5, "exp(%.17g): %.2f ulp off", worst_x, worst);
    cr_assert(eq(dbl, nl_exp_neg(0.0), 1.0));
    cr_assert(eq(dbl, nl_exp_neg(-0.0), 1.0));
    cr_assert(eq(dbl, nl_exp_neg(-746.0), 0.0));
    cr_assert(eq(dbl, nl_exp_neg(-1e300), 0.0));
    cr_assert(eq(dbl, nl_exp_neg(-745.0), exp(-745.0)), "smallest subnormal");
    cr_assert(ieee_ulp_eq(dbl, nl_exp_neg(-720.0), exp(-720.0), 1));
    cr_assert(isnan(nl_exp_neg(NAN)));
}

/* ---- step ---- */

TestSuite(step, .fini = th_close_opened);

typedef struct step_point {
    double threshold;
    double z;
    double want;
    source via;
} step_point;

#define STEP_POINTS(VIA)                                                 \
    {0.0, 0.0, 1.0, VIA}, {0.0, -0.0, 1.0, VIA}, {0.0, 1e-300, 1.0, VIA}, \
        {0.0, -1e-300, 0.0, VIA}, {0.0, -DBL_MIN, 0.0, VIA},              \
        {0.0, 1.0, 1.0, VIA}, {0.0, -1.0, 0.0, VIA},                      \
        {0.0, 1e300, 1.0, VIA}, {0.0, -1e300, 0.0, VIA},                  \
        {0.5, 0.5, 1.0, VIA}, {0.5, 0.49999999999999994, 0.0, VIA},       \
        {0.5, 0.5000000000000001, 1.0, VIA}, {0.5, 0.0, 0.0, VIA},        \
        {0.5, 2.0, 1.0, VIA}, {-2.0, -2.0, 1.0, VIA},                     \
        {-2.0, -2.0000000000000004, 0.0, VIA}, {-2.0, -1.0, 1.0, VIA},    \
        {-2.0, -3.0, 0.0, VIA}, {1e6, 1e6, 1.0, VIA},                     \
        {1e6, 999999.99999999988, 0.0, VIA}

ParameterizedTestParameters(step, values_around_the_threshold)
{
    static step_point points[] = {STEP_POINTS(VIA_BUILTIN),
                                  STEP_POINTS(VIA_SO)};
    return cr_make_param_array(step_point, points, COUNT(points));
}

ParameterizedTest(step_point *pt, step, values_around_the_threshold,
                  .fini = th_close_opened)
{
    double params[2] = {pt->threshold, 0 /* identity */};
    th_instance in = th_make(get_plugin("step", pt->via), params, 3);
    double a = th_fwd1(&in, pt->z);
    cr_assert(eq(dbl, a, pt->want), "threshold %.17g, z = %.17g: f = %g",
              pt->threshold, pt->z, a);
    th_unmake(&in);
}

ParameterizedTestParameters(step, default_instance)
{
    return cr_make_param_array(ref_case, two_sources_step, 2);
}

ParameterizedTest(ref_case *c, step, default_instance, .fini = th_close_opened)
{
    /* Defaults from the table: threshold 0, surrogate identity. */
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 1.0), "z == threshold gives 1");
    cr_assert(eq(dbl, th_fwd1(&in, nextafter(0.0, -1.0)), 0.0));
    cr_assert(eq(dbl, th_deriv1(&in, -5.0), 1.0));
    th_unmake(&in);
}

/*
 * The step's true derivative is 0 everywhere except at the threshold, where
 * it does not exist.  The plugin does not return the true derivative
 * unless asked: `surrogate: identity` returns the constant 1 (a surrogate
 * that makes gradient descent the perceptron rule), `surrogate: zero`
 * returns the constant 0 (which is the true derivative away from the
 * threshold).  So the finite differences below agree with `zero` and
 * deliberately NOT with `identity`.
 */
ParameterizedTestParameters(step, surrogate_derivatives)
{
    return cr_make_param_array(ref_case, two_sources_step, 2);
}

ParameterizedTest(ref_case *c, step, surrogate_derivatives,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    static const double thresholds[] = {0.0, 0.5, -2.0};
    const double h = 1e-6;
    for (size_t t = 0; t < COUNT(thresholds); t++) {
        double id_params[2] = {thresholds[t], 0 /* identity */};
        double zero_params[2] = {thresholds[t], 1 /* zero */};
        th_instance id = th_make(p, id_params, 3),
                    zero = th_make(p, zero_params, 3);
        for (double z = -5; z <= 5; z += 0.05) {
            cr_assert(eq(dbl, th_deriv1(&id, z), 1.0), "identity at z = %g", z);
            cr_assert(eq(dbl, th_deriv1(&zero, z), 0.0), "zero at z = %g", z);
            if (fabs(z - thresholds[t]) <= 2 * h)
                continue; /* no derivative at the jump */
            double fd = (th_fwd1(&id, z + h) - th_fwd1(&id, z - h)) / (2 * h);
            cr_assert(eq(dbl, fd, 0.0), "flat away from the threshold");
            cr_assert(eq(dbl, th_deriv1(&zero, z), fd),
                      "zero is the true derivative");
            cr_assert(ne(dbl, th_deriv1(&id, z), fd),
                      "identity is a surrogate, not the true derivative");
        }
        /* At the threshold itself both still give their constant. */
        cr_assert(eq(dbl, th_deriv1(&id, thresholds[t]), 1.0));
        cr_assert(eq(dbl, th_deriv1(&zero, thresholds[t]), 0.0));
        th_unmake(&id);
        th_unmake(&zero);
    }
}

/* ---- mse ---- */

TestSuite(mse, .fini = th_close_opened);

typedef struct mse_point {
    double yhat, y, l, g;
    source via;
} mse_point;

#define MSE_POINTS(VIA)                                                    \
    {0.5, 1.0, 0.25, -1.0, VIA}, {1.0, 0.0, 1.0, 2.0, VIA},                 \
        {0.0, 1.0, 1.0, -2.0, VIA}, {0.3, 0.3, 0.0, 0.0, VIA},              \
        {-2.0, 1.0, 9.0, -6.0, VIA}, {3.0, -1.5, 20.25, 9.0, VIA},          \
        {0.75, 0.0, 0.5625, 1.5, VIA}, {1e150, 0.0, 1e300, 2e150, VIA}

ParameterizedTestParameters(mse, per_element_values)
{
    static mse_point points[] = {MSE_POINTS(VIA_BUILTIN), MSE_POINTS(VIA_SO)};
    return cr_make_param_array(mse_point, points, COUNT(points));
}

ParameterizedTest(mse_point *pt, mse, per_element_values,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin("mse", pt->via), NULL, 3);
    cr_assert(ieee_ulp_eq(dbl, th_loss1(&in, pt->yhat, pt->y), pt->l, 4),
              "l(%g, %g)", pt->yhat, pt->y);
    cr_assert(ieee_ulp_eq(dbl, th_grad1(&in, pt->yhat, pt->y), pt->g, 4),
              "l'(%g, %g)", pt->yhat, pt->y);
    th_unmake(&in);
}

ParameterizedTestParameters(mse, gradient_matches_finite_differences)
{
    return cr_make_param_array(ref_case, two_sources_mse, 2);
}

ParameterizedTest(ref_case *c, mse, gradient_matches_finite_differences,
                  .fini = th_close_opened)
{
    th_instance in = th_make(get_plugin(ref_names[c->id], c->via), NULL, 3);
    const double h = 1e-4;
    static const double ys[] = {0.0, 1.0, 0.5, -3.0};
    for (size_t k = 0; k < COUNT(ys); k++) {
        for (double yhat = -4; yhat <= 4; yhat += 0.125) {
            double y = ys[k];
            double fd =
                (th_loss1(&in, yhat + h, y) - th_loss1(&in, yhat - h, y)) /
                (2 * h);
            double g = th_grad1(&in, yhat, y);
            cr_assert(th_close_to(g, fd, 1e-8, 1e-8),
                      "yhat %g, y %g: l' = %.17g, central difference %.17g",
                      yhat, y, g, fd);
            cr_assert(th_loss1(&in, yhat, y) >= 0.0);
        }
    }
    th_unmake(&in);
}

/* ---- gradient descent ---- */

TestSuite(gradient_descent, .fini = th_close_opened);

ParameterizedTestParameters(gradient_descent, step_on_a_small_vector)
{
    return cr_make_param_array(ref_case, two_sources_gd, 2);
}

ParameterizedTest(ref_case *c, gradient_descent, step_on_a_small_vector,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[c->id], c->via);
    /* Default learning rate 0.1. */
    th_instance in = th_make(p, NULL, 3);
    double theta[3] = {1.0, -2.0, 0.5};
    const double grad[3] = {0.5, 0.25, -1.0};
    cr_assert(eq(int, p->optimizer.step(in.self, theta, grad, 3), 0));
    cr_assert(epsilon_eq(dbl, theta[0], 0.95, 1e-15));
    cr_assert(epsilon_eq(dbl, theta[1], -2.025, 1e-15));
    cr_assert(epsilon_eq(dbl, theta[2], 0.6, 1e-15));
    /* A second step moves by the same amount again (no momentum). */
    cr_assert(eq(int, p->optimizer.step(in.self, theta, grad, 3), 0));
    cr_assert(epsilon_eq(dbl, theta[0], 0.9, 1e-15));
    cr_assert(epsilon_eq(dbl, theta[1], -2.05, 1e-15));
    cr_assert(epsilon_eq(dbl, theta[2], 0.7, 1e-15));
    th_unmake(&in);

    /* Learning rate 2, and a zero gradient changes nothing. */
    double lr = 2.0;
    in = th_make(p, &lr, 4);
    double t4[4] = {0.0, 1.0, -1.0, 3.0};
    const double g4[4] = {1.0, -0.5, 0.0, 0.25};
    cr_assert(eq(int, p->optimizer.step(in.self, t4, g4, 4), 0));
    cr_assert(eq(dbl, t4[0], -2.0));
    cr_assert(eq(dbl, t4[1], 2.0));
    cr_assert(eq(dbl, t4[2], -1.0));
    cr_assert(eq(dbl, t4[3], 2.5));
    th_unmake(&in);
}

/* ---- vectorised calls ---- */

/*
 * Every call is vectorised.  For each n, a call on n values must give the
 * same result as n one-element calls, return 0, and write nothing past
 * element n - 1 (checked with sentinels).  n covers 0, small odd counts,
 * primes, and sizes around powers of two.
 */
static const size_t lengths[] = {0, 1, 2, 3, 5, 7, 8, 13, 31, 64, 97, 1000,
                                 1023, 4099};
#define MAX_N 4099
#define GUARD 8

/* Inputs spread over an interesting range, a different one per array. */
static void fill(double *x, size_t n, double lo, double hi, unsigned salt)
{
    for (size_t i = 0; i < n; i++) {
        /* a cheap scrambled sequence in [0, 1) */
        double u = fmod((double)(i * 7919u + salt * 104729u) * 0.6180339887,
                        1.0);
        x[i] = lo + (hi - lo) * u;
    }
}

typedef struct vec_case {
    ref_id id;
    double params[2];
    bool use_params;
    source via;
} vec_case;

#define VEC_CASES(VIA)                                                    \
    {SIGMOID, {0, 0}, false, VIA}, {STEP, {0.25, 0}, true, VIA},      \
        {STEP, {-1.0, 1}, true, VIA}, {MSE, {0, 0}, false, VIA},      \
    {                                                                     \
        GD, {0.3, 0}, true, VIA                           \
    }

ParameterizedTestParameters(vector, n_values_in_one_call)
{
    static vec_case cases[] = {VEC_CASES(VIA_BUILTIN), VEC_CASES(VIA_SO)};
    return cr_make_param_array(vec_case, cases, COUNT(cases));
}

ParameterizedTest(vec_case *vc, vector, n_values_in_one_call,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(ref_names[vc->id], vc->via);
    static double in1[MAX_N + GUARD], in2[MAX_N + GUARD];
    static double out[MAX_N + GUARD], out2[MAX_N + GUARD];
    for (size_t k = 0; k < COUNT(lengths); k++) {
        size_t n = lengths[k];
        th_instance in = th_make(p, vc->use_params ? vc->params : NULL, n);
        fill(in1, n, -20, 20, (unsigned)k);
        fill(in2, n, -1, 2, (unsigned)k + 100);
        th_set_guard(in1, n, GUARD);
        th_set_guard(in2, n, GUARD);
        th_set_guard(out, n, GUARD);
        th_set_guard(out2, n, GUARD);
        switch (p->kind) {
        case NL_KIND_ACTIVATION:
            cr_assert(eq(int, p->activation.forward(in.self, in1, out, n), 0));
            th_check_guard(out, n, GUARD, "forward");
            for (size_t i = 0; i < n; i++)
                cr_assert(eq(dbl, out[i], th_fwd1(&in, in1[i])), "n %zu, i %zu",
                          n, i);
            cr_assert(eq(int, p->activation.derivative(in.self, in1, out,
                                                       out2, n), 0));
            th_check_guard(out2, n, GUARD, "derivative");
            for (size_t i = 0; i < n; i++)
                cr_assert(eq(dbl, out2[i], th_deriv1(&in, in1[i])),
                          "n %zu, i %zu", n, i);
            break;
        case NL_KIND_LOSS:
            cr_assert(eq(int, p->loss.value(in.self, in2, in1, out, n), 0));
            th_check_guard(out, n, GUARD, "value");
            cr_assert(eq(int, p->loss.gradient(in.self, in2, in1, out2, n),
                         0));
            th_check_guard(out2, n, GUARD, "gradient");
            for (size_t i = 0; i < n; i++) {
                cr_assert(eq(dbl, out[i], th_loss1(&in, in2[i], in1[i])));
                cr_assert(eq(dbl, out2[i], th_grad1(&in, in2[i], in1[i])));
            }
            break;
        case NL_KIND_OPTIMIZER:
            memcpy(out, in1, n * sizeof(double));
            cr_assert(eq(int, p->optimizer.step(in.self, out, in2, n), 0));
            th_check_guard(out, n, GUARD, "step");
            th_check_guard(in2, n, GUARD, "step (grad)");
            for (size_t i = 0; i < n; i++)
                cr_assert(ieee_ulp_eq(dbl, out[i],
                                      in1[i] - vc->params[0] * in2[i], 2),
                          "n %zu, i %zu", n, i);
            break;
        }
        /* Inputs are read-only. */
        th_check_guard(in1, n, GUARD, "input");
        th_unmake(&in);
    }
}
