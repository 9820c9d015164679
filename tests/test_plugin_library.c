/*
 * test_plugin_library.c - the plugins beyond the reference (issue 4, item
 * 5), each opened from its own shared object build/plugins/NAME.so with
 * nl_library_open (which also validates it), as the runner does.
 *
 *   activations: tanh relu leaky_relu softplus elu linear
 *   losses:      cross_entropy mae huber
 *   optimizers:  momentum adagrad rmsprop adam
 *
 * Covered: metadata and parameter tables; values at known points; finite
 * outputs inside the declared range for extreme inputs (+-1e300, +-DBL_MAX,
 * subnormals); derivatives and gradients against central finite
 * differences on a grid and at random points; vectorised calls; losses
 * >= 0 and zero at yhat == y; the first three optimizer steps against
 * values worked out by hand; descent on a convex quadratic; parameters
 * with a zero gradient left untouched; optimizer state per instance and
 * create() failing cleanly; and end-to-end runs through the real runner
 * (`-P <build>/plugins`).
 */
#include "helpers.h"
#include "plugin_helpers.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "params.h"
#include "plugin_loader.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the plugins, by id (test parameters hold no pointers) ---- */

typedef enum lib_id {
    TANH, RELU, LEAKY_RELU, SOFTPLUS, ELU, LINEAR,
    CROSS_ENTROPY, MAE, HUBER,
    MOMENTUM, ADAGRAD, RMSPROP, ADAM,
    N_LIB
} lib_id;

static const char *const lib_names[N_LIB] = {
    "tanh", "relu", "leaky_relu", "softplus", "elu", "linear",
    "cross_entropy", "mae", "huber",
    "momentum", "adagrad", "rmsprop", "adam",
};

/* Opens <build>/plugins/NAME.so and returns its one descriptor. */
static const nl_plugin *get_plugin(lib_id id)
{
    return th_open_shipped(lib_names[id]);
}

static void step(const th_instance *in, double *theta, const double *grad,
                 size_t n)
{
    cr_assert(eq(int, in->p->optimizer.step(in->self, theta, grad, n), 0),
              "%s step() failed", in->p->name);
}

/* A small deterministic generator (splitmix64) for the random points. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* ---- metadata ---- */

typedef struct want_param {
    const char *name;
    nl_param_type type;
    double def;
    unsigned flags;
    const char *range; /* as nl_param_range_text writes it */
} want_param;

typedef struct want_plugin {
    nl_kind kind;
    bool stateful; /* has create/destroy */
    double out_min, out_max;
    size_t n_params;
    want_param params[4];
} want_plugin;

#define EXCL_MIN NL_PARAM_MIN_EXCLUSIVE
#define EXCL_MAX NL_PARAM_MAX_EXCLUSIVE

static const want_plugin wants[N_LIB] = {
    [TANH] = {NL_KIND_ACTIVATION, false, -1.0, 1.0, 0, {{0}}},
    [RELU] = {NL_KIND_ACTIVATION, false, 0.0, HUGE_VAL, 0, {{0}}},
    [LEAKY_RELU] = {NL_KIND_ACTIVATION, true, -HUGE_VAL, HUGE_VAL, 1,
                    {{"slope", NL_PARAM_REAL, 0.01, EXCL_MAX, "[0, 1)"}}},
    [SOFTPLUS] = {NL_KIND_ACTIVATION, false, 0.0, HUGE_VAL, 0, {{0}}},
    [ELU] = {NL_KIND_ACTIVATION, true, -HUGE_VAL, HUGE_VAL, 1,
             {{"alpha", NL_PARAM_REAL, 1.0, EXCL_MIN, "> 0"}}},
    [LINEAR] = {NL_KIND_ACTIVATION, false, -HUGE_VAL, HUGE_VAL, 0, {{0}}},
    [CROSS_ENTROPY] = {NL_KIND_LOSS, false, 0, 0, 0, {{0}}},
    [MAE] = {NL_KIND_LOSS, false, 0, 0, 0, {{0}}},
    [HUBER] = {NL_KIND_LOSS, true, 0, 0, 1,
               {{"delta", NL_PARAM_REAL, 1.0, EXCL_MIN, "> 0"}}},
    [MOMENTUM] = {NL_KIND_OPTIMIZER, true, 0, 0, 3,
                  {{"learning_rate", NL_PARAM_REAL, 0.01, EXCL_MIN, "> 0"},
                   {"momentum", NL_PARAM_REAL, 0.9, EXCL_MAX, "[0, 1)"},
                   {"nesterov", NL_PARAM_BOOL, 0.0, 0, "true|false"}}},
    [ADAGRAD] = {NL_KIND_OPTIMIZER, true, 0, 0, 2,
                 {{"learning_rate", NL_PARAM_REAL, 0.01, EXCL_MIN, "> 0"},
                  {"epsilon", NL_PARAM_REAL, 1e-10, EXCL_MIN, "> 0"}}},
    [RMSPROP] = {NL_KIND_OPTIMIZER, true, 0, 0, 3,
                 {{"learning_rate", NL_PARAM_REAL, 0.001, EXCL_MIN, "> 0"},
                  {"rho", NL_PARAM_REAL, 0.9, EXCL_MAX, "[0, 1)"},
                  {"epsilon", NL_PARAM_REAL, 1e-8, EXCL_MIN, "> 0"}}},
    [ADAM] = {NL_KIND_OPTIMIZER, true, 0, 0, 4,
              {{"learning_rate", NL_PARAM_REAL, 0.001, EXCL_MIN, "> 0"},
               {"beta1", NL_PARAM_REAL, 0.9, EXCL_MAX, "[0, 1)"},
               {"beta2", NL_PARAM_REAL, 0.999, EXCL_MAX, "[0, 1)"},
               {"epsilon", NL_PARAM_REAL, 1e-8, EXCL_MIN, "> 0"}}},
};

typedef struct id_case {
    lib_id id;
} id_case;

static id_case all_ids[N_LIB] = {
    {TANH}, {RELU}, {LEAKY_RELU}, {SOFTPLUS}, {ELU}, {LINEAR},
    {CROSS_ENTROPY}, {MAE}, {HUBER},
    {MOMENTUM}, {ADAGRAD}, {RMSPROP}, {ADAM},
};

TestSuite(library, .fini = th_close_opened);

ParameterizedTestParameters(library, descriptor)
{
    return cr_make_param_array(id_case, all_ids, COUNT(all_ids));
}

ParameterizedTest(id_case *c, library, descriptor, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(c->id);
    const want_plugin *w = &wants[c->id];
    nl_diag d = {0};
    cr_assert(eq(int, nl_plugin_validate(p, "test", &d), 0), "%s",
              d.message);
    cr_assert(eq(int, (int)p->kind, (int)w->kind));
    cr_assert(eq(str, (char *)p->version, "1.0.0"));
    cr_assert(p->summary != NULL && strlen(p->summary) > 10);
    cr_assert(strchr(p->summary, '\n') == NULL, "the summary is one line");
    cr_assert(eq(int, p->create != NULL, w->stateful));
    cr_assert(eq(int, p->destroy != NULL, w->stateful));
    th_assert_own_table_only(p);
    if (p->kind == NL_KIND_ACTIVATION) {
        cr_assert(p->activation.out_min == w->out_min,
                  "out_min %g, want %g", p->activation.out_min, w->out_min);
        cr_assert(p->activation.out_max == w->out_max,
                  "out_max %g, want %g", p->activation.out_max, w->out_max);
    }
    /* Not compiled into the runner: only the reference four are. */
    for (size_t i = 0; i < nl_builtin_count(); i++)
        cr_assert(ne(str, (char *)nl_builtin(i)->name, (char *)p->name));
}

ParameterizedTestParameters(library, parameter_table)
{
    return cr_make_param_array(id_case, all_ids, COUNT(all_ids));
}

ParameterizedTest(id_case *c, library, parameter_table, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(c->id);
    const want_plugin *w = &wants[c->id];
    cr_assert(eq(sz, p->n_params, w->n_params));
    for (size_t i = 0; i < w->n_params; i++) {
        const nl_param *q = &p->params[i];
        const want_param *v = &w->params[i];
        cr_assert(eq(str, (char *)q->name, (char *)v->name));
        cr_assert(eq(int, (int)q->type, (int)v->type), "%s", q->name);
        cr_assert(q->default_value == v->def, "%s default %.17g", q->name,
                  q->default_value);
        cr_assert(eq(u32, q->flags, v->flags), "%s flags", q->name);
        char range[256];
        nl_param_range_text(q, range, sizeof(range));
        cr_assert(eq(str, range, (char *)v->range), "%s", q->name);
        cr_assert(q->help != NULL && q->help[0] != '\0');
    }
}

/* ---- activations ---- */

/* An activation with one parameter value (ignored by those without). */
typedef struct act_case {
    lib_id id;
    double param;
} act_case;

static act_case act_cases[] = {
    {TANH, 0},          {RELU, 0},        {LEAKY_RELU, 0.01},
    {LEAKY_RELU, 0.0},  {LEAKY_RELU, 0.3}, {LEAKY_RELU, 0.999},
    {SOFTPLUS, 0},      {ELU, 1.0},       {ELU, 0.5},
    {ELU, 2.5},         {LINEAR, 0},
};

static th_instance make_act(const act_case *c)
{
    const nl_plugin *p = get_plugin(c->id);
    return th_make(p, p->n_params ? &c->param : NULL, 3);
}

/* Where the derivative has a kink (none: NAN). */
static double kink_of(lib_id id)
{
    return id == RELU || id == LEAKY_RELU || id == ELU ? 0.0 : NAN;
}

TestSuite(activation, .fini = th_close_opened);

Test(activation, tanh_known_points, .fini = th_close_opened)
{
    act_case c = {TANH, 0};
    th_instance in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 0.0));
    cr_assert(signbit(th_fwd1(&in, -0.0)), "tanh(-0) = -0");
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 1.0));
    /* tanh(atanh(1/2)) = 1/2; atanh(1/2) = ln(3)/2 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, 0.5 * log(3.0)), 0.5, 4));
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -0.5 * log(3.0)), -0.5, 4));
    /* f' = 1 - f^2 = 3/4 there */
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, 0.5 * log(3.0)), 0.75, 8));
    /* tanh(1) = (e^2 - 1)/(e^2 + 1) */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, 1.0), 0.76159415595576489, 2));
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, 1.0), 0.41997434161402603, 8));
    /* saturates exactly, without overflow */
    cr_assert(eq(dbl, th_fwd1(&in, 20.0), 1.0));
    cr_assert(eq(dbl, th_fwd1(&in, -1e300), -1.0));
    cr_assert(eq(dbl, th_deriv1(&in, 1e300), 0.0));
    /* odd: f(-z) = -f(z) */
    for (double z = -8; z <= 8; z += 0.25)
        cr_assert(eq(dbl, th_fwd1(&in, -z), -th_fwd1(&in, z)), "z = %g", z);
    th_unmake(&in);
}

Test(activation, relu_known_points, .fini = th_close_opened)
{
    act_case c = {RELU, 0};
    th_instance in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, 3.0), 3.0));
    cr_assert(eq(dbl, th_fwd1(&in, -3.0), 0.0));
    cr_assert(eq(dbl, th_fwd1(&in, 1e300), 1e300));
    cr_assert(eq(dbl, th_fwd1(&in, 4.9e-324), 4.9e-324));
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 0.0));
    cr_assert(signbit(th_fwd1(&in, -0.0)) == 0, "relu(-0) = +0");
    cr_assert(signbit(th_fwd1(&in, -1.0)) == 0, "relu(-1) = +0");
    cr_assert(eq(dbl, th_deriv1(&in, 2.0), 1.0));
    cr_assert(eq(dbl, th_deriv1(&in, 4.9e-324), 1.0));
    cr_assert(eq(dbl, th_deriv1(&in, -2.0), 0.0));
    /* The kink: the left derivative, relu'(0) = 0. */
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 0.0));
    cr_assert(eq(dbl, th_deriv1(&in, -0.0), 0.0));
    /* A NaN is not hidden behind a 0. */
    cr_assert(isnan(th_fwd1(&in, NAN)));
    th_unmake(&in);
}

Test(activation, leaky_relu_known_points, .fini = th_close_opened)
{
    act_case c = {LEAKY_RELU, 0.01};
    th_instance in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, 3.0), 3.0));
    cr_assert(eq(dbl, th_fwd1(&in, -2.0), -0.02));
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 0.0));
    cr_assert(eq(dbl, th_deriv1(&in, 3.0), 1.0));
    cr_assert(eq(dbl, th_deriv1(&in, -2.0), 0.01));
    /* The kink: the left derivative, f'(0) = slope. */
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 0.01));
    cr_assert(isnan(th_fwd1(&in, NAN)));
    th_unmake(&in);

    /* The default instance is slope 0.01 too. */
    in = th_make(get_plugin(LEAKY_RELU), NULL, 3);
    cr_assert(eq(dbl, th_fwd1(&in, -100.0), -1.0));
    th_unmake(&in);

    /* slope 0 is the ReLU; slope 0.5 halves negatives */
    c.param = 0.0;
    in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, -2.0), 0.0));
    cr_assert(eq(dbl, th_deriv1(&in, -2.0), 0.0));
    th_unmake(&in);
    c.param = 0.5;
    in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, -3.0), -1.5));
    cr_assert(eq(dbl, th_deriv1(&in, -3.0), 0.5));
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 0.5));
    th_unmake(&in);
}

Test(activation, softplus_known_points, .fini = th_close_opened)
{
    act_case c = {SOFTPLUS, 0};
    th_instance in = make_act(&c);
    /* f(0) = ln 2, f'(0) = sigmoid(0) = 1/2 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, 0.0), 0.69314718055994531, 1));
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 0.5));
    /* z = ln 3: f = ln(1 + 3) = ln 4, f' = 3/4; z = -ln 3: f = ln(4/3),
     * f' = 1/4 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, log(3.0)), 1.3862943611198906, 4));
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, log(3.0)), 0.75, 4));
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -log(3.0)), 0.28768207245178090,
                          4));
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, -log(3.0)), 0.25, 4));
    /* The textbook formula where it is accurate. */
    for (double z = -30; z <= 30; z += 0.125) {
        double want = log1p(exp(z));
        cr_assert(th_close_to(th_fwd1(&in, z), want, 0, 1e-14), "z = %g", z);
    }
    /* Tails: f(z) = z + e^-z ~ z above, e^z below (where log(1 + e^z)
     * would overflow or round to 0). */
    cr_assert(eq(dbl, th_fwd1(&in, 800.0), 800.0));
    cr_assert(eq(dbl, th_fwd1(&in, 1e300), 1e300));
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -40.0), exp(-40.0), 2));
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -700.0), exp(-700.0), 2));
    cr_assert(eq(dbl, th_fwd1(&in, -1e300), 0.0));
    cr_assert(eq(dbl, th_deriv1(&in, 1e300), 1.0));
    cr_assert(eq(dbl, th_deriv1(&in, -1e300), 0.0));
    th_unmake(&in);
}

Test(activation, elu_known_points, .fini = th_close_opened)
{
    act_case c = {ELU, 1.0};
    th_instance in = make_act(&c);
    cr_assert(eq(dbl, th_fwd1(&in, 2.0), 2.0));
    cr_assert(eq(dbl, th_fwd1(&in, 0.0), 0.0));
    /* f(-1) = e^-1 - 1, f'(-1) = e^-1 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -1.0), -0.63212055882855767, 2));
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, -1.0), 0.36787944117144233, 2));
    cr_assert(eq(dbl, th_deriv1(&in, 2.0), 1.0));
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 1.0));
    /* expm1 keeps small arguments exact-ish: f(-1e-20) = -1e-20 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -1e-20), -1e-20, 1));
    cr_assert(eq(dbl, th_fwd1(&in, -1e300), -1.0));
    th_unmake(&in);

    c.param = 2.5;
    in = make_act(&c);
    /* f(-1) = 2.5 (e^-1 - 1), f'(-1) = 2.5 e^-1 */
    cr_assert(ieee_ulp_eq(dbl, th_fwd1(&in, -1.0), -1.5803013970713942, 2));
    cr_assert(ieee_ulp_eq(dbl, th_deriv1(&in, -1.0), 0.91969860292860584, 2));
    /* The kink: the left derivative, f'(0) = alpha. */
    cr_assert(eq(dbl, th_deriv1(&in, 0.0), 2.5));
    cr_assert(eq(dbl, th_deriv1(&in, 4.9e-324), 1.0));
    cr_assert(eq(dbl, th_fwd1(&in, -1e300), -2.5), "tends to -alpha");
    th_unmake(&in);
}

Test(activation, linear_known_points, .fini = th_close_opened)
{
    act_case c = {LINEAR, 0};
    th_instance in = make_act(&c);
    static const double zs[] = {0.0, 1.5, -2.25, 1e300, -DBL_MAX,
                                4.9e-324, -DBL_MIN};
    for (size_t i = 0; i < COUNT(zs); i++) {
        cr_assert(eq(dbl, th_fwd1(&in, zs[i]), zs[i]));
        cr_assert(eq(dbl, th_deriv1(&in, zs[i]), 1.0));
    }
    cr_assert(signbit(th_fwd1(&in, -0.0)), "the identity keeps -0");
    th_unmake(&in);
}

/* Finite outputs for finite inputs, inside the declared range, and a
 * finite, non-negative derivative (every one of these is monotone). */
ParameterizedTestParameters(activation, extreme_inputs)
{
    return cr_make_param_array(act_case, act_cases, COUNT(act_cases));
}

ParameterizedTest(act_case *c, activation, extreme_inputs,
                  .fini = th_close_opened)
{
    th_instance in = make_act(c);
    const nl_activation_api *api = &in.p->activation;
    static const double mags[] = {0.0,   4.9e-324, 1e-310, DBL_MIN, 1e-300,
                                  1e-20, 0.5,      1.0,    19.0,    36.0,
                                  40.0,  709.0,    710.0,  745.0,   746.0,
                                  800.0, 1e10,     1e300,  DBL_MAX};
    double z[2 * COUNT(mags)], a[2 * COUNT(mags)], d[2 * COUNT(mags)];
    size_t n = 0;
    for (size_t i = 0; i < COUNT(mags); i++) {
        z[n++] = mags[i];
        z[n++] = -mags[i];
    }
    cr_assert(eq(int, api->forward(in.self, z, a, n), 0));
    cr_assert(eq(int, api->derivative(in.self, z, a, d, n), 0));
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(a[i]), "%s: f(%g) = %g", in.p->name, z[i], a[i]);
        cr_assert(a[i] >= api->out_min && a[i] <= api->out_max,
                  "%s: f(%g) = %g is outside [%g, %g]", in.p->name, z[i],
                  a[i], api->out_min, api->out_max);
        cr_assert(isfinite(d[i]) && d[i] >= 0.0, "%s: f'(%g) = %g",
                  in.p->name, z[i], d[i]);
        /* the tighter true ranges */
        if (c->id == ELU)
            cr_assert(a[i] >= -c->param, "elu: f(%g) = %g < -alpha", z[i],
                      a[i]);
        if (c->id == RELU || c->id == SOFTPLUS)
            cr_assert(a[i] >= 0.0);
        if (c->id == TANH || c->id == SOFTPLUS)
            cr_assert(d[i] <= 1.0);
        /* the same output for the same input, one at a time */
        cr_assert(eq(dbl, th_fwd1(&in, z[i]), a[i]));
    }
    th_unmake(&in);
}

/*
 * f' against the central difference (f(z+h) - f(z-h)) / 2h, with
 * |f' - fd| <= 1e-9 + 1e-6 max(|f'|, |fd|), skipping points within 2h of
 * a kink (where the one-sided choice is tested by the known points).
 */
#define FD_ABS 1e-9
#define FD_REL 1e-6

static void check_fd(const th_instance *in, double z, double h, lib_id id,
                     double *worst, double *worst_z)
{
    double kink = kink_of(id);
    if (!isnan(kink) && fabs(z - kink) <= 2 * h)
        return;
    double fd = (th_fwd1(in, z + h) - th_fwd1(in, z - h)) / (2 * h);
    double d = th_deriv1(in, z);
    cr_assert(th_close_to(d, fd, FD_ABS, FD_REL),
              "%s: z = %.17g: f' = %.17g, central difference %.17g",
              in->p->name, z, d, fd);
    double err = fabs(d - fd);
    if (err > *worst) {
        *worst = err;
        *worst_z = z;
    }
}

ParameterizedTestParameters(activation, derivative_on_a_grid)
{
    return cr_make_param_array(act_case, act_cases, COUNT(act_cases));
}

ParameterizedTest(act_case *c, activation, derivative_on_a_grid,
                  .fini = th_close_opened)
{
    th_instance in = make_act(c);
    double worst = 0, worst_z = 0;
    /* z = -10 .. 10 in steps of 1/40 (exact in binary, 0 included) */
    for (int k = -400; k <= 400; k++)
        check_fd(&in, k / 40.0, 1e-5, c->id, &worst, &worst_z);
    cr_log_info("%s: worst |f' - fd| = %g at z = %g", in.p->name, worst,
                worst_z);
    th_unmake(&in);
}

ParameterizedTestParameters(activation, derivative_at_random_points)
{
    return cr_make_param_array(act_case, act_cases, COUNT(act_cases));
}

ParameterizedTest(act_case *c, activation, derivative_at_random_points,
                  .fini = th_close_opened)
{
    th_instance in = make_act(c);
    double worst = 0, worst_z = 0;
    for (int i = 0; i < 2000; i++) {
        /* half uniform in [-20, 20], half log-uniform magnitudes in
         * [1e-6, 1e3] with either sign */
        double z = i % 2 == 0
                       ? -20 + 40 * uniform01()
                       : (uniform01() < 0.5 ? -1 : 1) *
                             pow(10.0, -6 + 9 * uniform01());
        double h = 1e-5 * fmax(1.0, fabs(z));
        check_fd(&in, z, h, c->id, &worst, &worst_z);
    }
    cr_log_info("%s: worst |f' - fd| = %g at z = %g", in.p->name, worst,
                worst_z);
    th_unmake(&in);
}

/* A call on n values gives what n one-value calls give, and writes nothing
 * past element n - 1. */
#define MAX_N 1031
#define GUARD 4

static const size_t lengths[] = {0, 1, 2, 3, 7, 64, 97, 1031};

ParameterizedTestParameters(activation, vectorised)
{
    return cr_make_param_array(act_case, act_cases, COUNT(act_cases));
}

ParameterizedTest(act_case *c, activation, vectorised, .fini = th_close_opened)
{
    th_instance in = make_act(c);
    static double z[MAX_N + GUARD], a[MAX_N + GUARD], d[MAX_N + GUARD];
    for (size_t k = 0; k < COUNT(lengths); k++) {
        size_t n = lengths[k];
        for (size_t i = 0; i < n; i++)
            z[i] = -30 + 60 * uniform01();
        th_set_guard(z, n, GUARD);
        th_set_guard(a, n, GUARD);
        th_set_guard(d, n, GUARD);
        cr_assert(eq(int, in.p->activation.forward(in.self, z, a, n), 0));
        cr_assert(eq(int, in.p->activation.derivative(in.self, z, a, d, n),
                     0));
        th_check_guard(a, n, GUARD, "forward");
        th_check_guard(d, n, GUARD, "derivative");
        th_check_guard(z, n, GUARD, "input");
        for (size_t i = 0; i < n; i++) {
            cr_assert(eq(dbl, a[i], th_fwd1(&in, z[i])));
            cr_assert(eq(dbl, d[i], th_deriv1(&in, z[i])));
        }
    }
    th_unmake(&in);
}

/* ---- losses ---- */

TestSuite(loss, .fini = th_close_opened);

typedef struct loss_point {
    lib_id id;
    double param; /* huber's delta */
    double yhat, y, l, g;
} loss_point;

ParameterizedTestParameters(loss, known_points)
{
    static loss_point points[] = {
        /* mae: |e|, sign(e) */
        {MAE, 0, 0.5, 1.0, 0.5, -1.0},
        {MAE, 0, 1.0, 0.0, 1.0, 1.0},
        {MAE, 0, 0.3, 0.3, 0.0, 0.0},
        {MAE, 0, -2.0, 1.0, 3.0, -1.0},
        {MAE, 0, 3.0, -1.5, 4.5, 1.0},
        {MAE, 0, 1e300, -1e300, 2e300, 1.0},
        /* huber, delta 1: e^2/2 inside, |e| - 1/2 outside */
        {HUBER, 1.0, 0.5, 1.0, 0.125, -0.5},
        {HUBER, 1.0, 1.0, 0.0, 0.5, 1.0},   /* |e| = delta: both agree */
        {HUBER, 1.0, 3.0, 0.0, 2.5, 1.0},   /* 1 (3 - 0.5) */
        {HUBER, 1.0, -2.0, 1.0, 2.5, -1.0}, /* e = -3 */
        {HUBER, 1.0, 0.3, 0.3, 0.0, 0.0},
        /* delta 2: 2 (|e| - 1) outside */
        {HUBER, 2.0, 3.0, 0.0, 4.0, 2.0},
        {HUBER, 2.0, 1.5, 0.0, 1.125, 1.5},
        {HUBER, 2.0, -5.0, 0.0, 8.0, -2.0},
        /* delta 0.5: 0.5 (1 - 0.25) */
        {HUBER, 0.5, 1.0, 0.0, 0.375, 0.5},
        /* cross-entropy: -(y ln p + (1-y) ln(1-p)), (p-y)/(p(1-p)) */
        {CROSS_ENTROPY, 0, 0.5, 1.0, 0.69314718055994531, -2.0},
        {CROSS_ENTROPY, 0, 0.5, 0.0, 0.69314718055994531, 2.0},
        {CROSS_ENTROPY, 0, 0.5, 0.5, 0.69314718055994531, 0.0},
        /* -ln(3/4); 0.25 / (0.25 * 0.75) = 4/3 */
        {CROSS_ENTROPY, 0, 0.25, 0.0, 0.28768207245178090,
         1.3333333333333333},
        {CROSS_ENTROPY, 0, 0.75, 1.0, 0.28768207245178090,
         -1.3333333333333333},
        /* -(ln 0.8 + ln 0.2)/2 = (0.22314355131420976 + 1.6094379124341003)
         * / 2; 0.3 / 0.16 = 1.875 */
        {CROSS_ENTROPY, 0, 0.8, 0.5, 0.91629073187415511, 1.875},
        /* -ln(1e-15): p = 0 clamped; (1e-15 - 1)/(1e-15 (1 - 1e-15)) */
        {CROSS_ENTROPY, 0, 0.0, 1.0, 34.538776394910684, -1e15},
        {CROSS_ENTROPY, 0, -3.0, 1.0, 34.538776394910684, -1e15},
    };
    return cr_make_param_array(loss_point, points, COUNT(points));
}

ParameterizedTest(loss_point *pt, loss, known_points, .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(pt->id);
    th_instance in = th_make(p, p->n_params ? &pt->param : NULL, 3);
    double l = th_loss1(&in, pt->yhat, pt->y),
           g = th_grad1(&in, pt->yhat, pt->y);
    cr_assert(th_close_to(l, pt->l, 0, 1e-14),
              "%s l(%g, %g) = %.17g, want %.17g", p->name, pt->yhat, pt->y, l,
              pt->l);
    cr_assert(th_close_to(g, pt->g, 0, 1e-14),
              "%s l'(%g, %g) = %.17g, want %.17g", p->name, pt->yhat, pt->y, g,
              pt->g);
    th_unmake(&in);
}

typedef struct loss_case {
    lib_id id;
    double param;
} loss_case;

static loss_case loss_cases[] = {
    {CROSS_ENTROPY, 0}, {MAE, 0},     {HUBER, 1.0},
    {HUBER, 0.25},      {HUBER, 3.0},
};

static th_instance make_loss(const loss_case *c)
{
    const nl_plugin *p = get_plugin(c->id);
    return th_make(p, p->n_params ? &c->param : NULL, 3);
}

/* The targets a loss is defined for: [0, 1] for cross-entropy. */
static double target_at(lib_id id, int k)
{
    return id == CROSS_ENTROPY ? k / 8.0 : -3.0 + 0.75 * k;
}

ParameterizedTestParameters(loss, non_negative_and_zero_at_the_target)
{
    return cr_make_param_array(loss_case, loss_cases, COUNT(loss_cases));
}

ParameterizedTest(loss_case *c, loss, non_negative_and_zero_at_the_target,
                  .fini = th_close_opened)
{
    th_instance in = make_loss(c);
    for (int k = 0; k <= 8; k++) {
        double y = target_at(c->id, k);
        for (int j = -64; j <= 64; j++) {
            double yhat = y + j / 16.0;
            double l = th_loss1(&in, yhat, y), g = th_grad1(&in, yhat, y);
            cr_assert(isfinite(l) && l >= 0.0, "%s l(%g, %g) = %g",
                      in.p->name, yhat, y, l);
            cr_assert(isfinite(g), "%s l'(%g, %g) = %g", in.p->name, yhat, y,
                      g);
        }
        double l = th_loss1(&in, y, y), g = th_grad1(&in, y, y);
        if (c->id != CROSS_ENTROPY) {
            cr_assert(eq(dbl, l, 0.0), "%s l(y, y) at y = %g", in.p->name, y);
            cr_assert(eq(dbl, g, 0.0), "%s l'(y, y) at y = %g", in.p->name, y);
        } else if (y == 0.0 || y == 1.0) {
            /* zero but for the clamp: -ln(1 - 1e-15) ~ 1.1e-15 */
            cr_assert(l <= 1.2e-15, "l(%g, %g) = %g", y, y, l);
        } else {
            /* For a soft target the minimum over p is at p = y (l' = 0),
             * and the value there is the entropy of y. */
            double h = -(y * log(y) + (1 - y) * log(1 - y));
            cr_assert(th_close_to(l, h, 0, 1e-14), "l(%g, %g) = %.17g", y, y,
                      l);
            cr_assert(epsilon_eq(dbl, g, 0.0, 1e-15), "l'(%g, %g) = %g", y, y,
                      g);
        }
    }
    th_unmake(&in);
}

/* Kinks of l as a function of yhat (for the finite-difference skips). */
static bool near_kink(const loss_case *c, double e, double h)
{
    if (c->id == MAE)
        return fabs(e) <= 2 * h;
    if (c->id == HUBER)
        return fabs(fabs(e) - c->param) <= 2 * h;
    return false;
}

static void check_loss_fd(const th_instance *in, const loss_case *c,
                          double yhat, double y, double h)
{
    if (near_kink(c, yhat - y, h))
        return;
    double fd =
        (th_loss1(in, yhat + h, y) - th_loss1(in, yhat - h, y)) / (2 * h);
    double g = th_grad1(in, yhat, y);
    cr_assert(th_close_to(g, fd, 1e-8, 1e-6),
              "%s yhat %.17g, y %.17g: l' = %.17g, central difference %.17g",
              in->p->name, yhat, y, g, fd);
}

ParameterizedTestParameters(loss, gradient_matches_finite_differences)
{
    return cr_make_param_array(loss_case, loss_cases, COUNT(loss_cases));
}

ParameterizedTest(loss_case *c, loss, gradient_matches_finite_differences,
                  .fini = th_close_opened)
{
    th_instance in = make_loss(c);
    const double h = 1e-6;
    if (c->id == CROSS_ENTROPY) {
        /* p in [0.01, 0.99], away from the clamp */
        static const double ys[] = {0.0, 0.3, 0.5, 1.0};
        for (size_t k = 0; k < COUNT(ys); k++)
            for (int j = 1; j <= 99; j++)
                check_loss_fd(&in, c, j / 100.0, ys[k], h);
        for (int i = 0; i < 500; i++)
            check_loss_fd(&in, c, 0.01 + 0.98 * uniform01(), uniform01(), h);
    } else {
        for (int k = 0; k <= 8; k++)
            for (int j = -80; j <= 80; j++)
                check_loss_fd(&in, c, j / 16.0, target_at(c->id, k), h);
        for (int i = 0; i < 500; i++)
            check_loss_fd(&in, c, -10 + 20 * uniform01(),
                          -5 + 10 * uniform01(), h);
    }
    th_unmake(&in);
}

Test(loss, huber_is_smooth_at_delta, .fini = th_close_opened)
{
    /* l and l' are continuous where the quadratic meets the line. */
    static const double deltas[] = {0.25, 1.0, 3.0};
    for (size_t k = 0; k < COUNT(deltas); k++) {
        loss_case c = {HUBER, deltas[k]};
        th_instance in = make_loss(&c);
        double dl = deltas[k];
        for (int s = -1; s <= 1; s += 2) {
            double in_e = s * dl, out_e = s * nextafter(dl, 10 * dl);
            cr_assert(th_close_to(th_loss1(&in, in_e, 0),
                                  th_loss1(&in, out_e, 0), 0, 1e-14));
            cr_assert(eq(dbl, th_loss1(&in, in_e, 0), 0.5 * dl * dl));
            cr_assert(eq(dbl, th_grad1(&in, in_e, 0), s * dl));
            cr_assert(eq(dbl, th_grad1(&in, out_e, 0), s * dl));
        }
        th_unmake(&in);
    }
}

Test(loss, cross_entropy_is_finite_at_0_and_1, .fini = th_close_opened)
{
    loss_case c = {CROSS_ENTROPY, 0};
    th_instance in = make_loss(&c);
    /* p exactly 0 or 1 (and beyond, as a linear activation may give) */
    static const double ps[] = {0.0, -0.0, 1.0, 4.9e-324, 1e-300, 1e-16,
                                1 - 1e-16, -1.0, 2.0, -1e300, 1e300};
    static const double ys[] = {0.0, 1.0, 0.5};
    for (size_t i = 0; i < COUNT(ps); i++) {
        for (size_t k = 0; k < COUNT(ys); k++) {
            double l = th_loss1(&in, ps[i], ys[k]),
                   g = th_grad1(&in, ps[i], ys[k]);
            cr_assert(isfinite(l) && l >= 0 && l < 35,
                      "l(%g, %g) = %g", ps[i], ys[k], l);
            cr_assert(isfinite(g) && fabs(g) <= 1.01e15, "l'(%g, %g) = %g",
                      ps[i], ys[k], g);
        }
    }
    /* The confidently wrong answers cost -ln(1e-15) ~ 34.5 (the p = 1 side
     * has 1 - p = 1 - (1 - 1e-15), rounded to 9.99e-16), pushed back with
     * a gradient of about 1e15. */
    cr_assert(
        th_close_to(th_loss1(&in, 0.0, 1.0), 34.538776394910684, 0, 1e-14));
    cr_assert(
        th_close_to(th_loss1(&in, 1.0, 0.0), 34.538776394910684, 0, 1e-3));
    cr_assert(th_close_to(th_grad1(&in, 0.0, 1.0), -1e15, 0, 1e-3));
    cr_assert(th_close_to(th_grad1(&in, 1.0, 0.0), 1e15, 0, 1e-3));
    /* The right answers cost nothing (but for the clamp). */
    cr_assert(th_loss1(&in, 0.0, 0.0) <= 1.2e-15);
    cr_assert(th_loss1(&in, 1.0, 1.0) <= 1.2e-15);
    /* Beyond the clamp the value is that of the clamp. */
    cr_assert(eq(dbl, th_loss1(&in, -5.0, 1.0), th_loss1(&in, 0.0, 1.0)));
    cr_assert(eq(dbl, th_loss1(&in, 7.0, 0.0), th_loss1(&in, 1.0, 0.0)));
    /* A NaN prediction is not hidden. */
    cr_assert(isnan(th_loss1(&in, NAN, 1.0)));
    th_unmake(&in);
}

Test(loss, cross_entropy_refuses_targets_outside_0_1, .fini = th_close_opened)
{
    loss_case c = {CROSS_ENTROPY, 0};
    th_instance in = make_loss(&c);
    static const double bad[] = {-0.5, 1.5, -1e-300, NAN, 3.0};
    for (size_t i = 0; i < COUNT(bad); i++) {
        double yhat[2] = {0.5, 0.5}, y[2] = {1.0, bad[i]}, out[2];
        cr_assert(ne(int, in.p->loss.value(in.self, yhat, y, out, 2), 0),
                  "y = %g", bad[i]);
        cr_assert(ne(int, in.p->loss.gradient(in.self, yhat, y, out, 2), 0),
                  "y = %g", bad[i]);
    }
    th_unmake(&in);
}

ParameterizedTestParameters(loss, vectorised)
{
    return cr_make_param_array(loss_case, loss_cases, COUNT(loss_cases));
}

ParameterizedTest(loss_case *c, loss, vectorised, .fini = th_close_opened)
{
    th_instance in = make_loss(c);
    static double yhat[MAX_N + GUARD], y[MAX_N + GUARD];
    static double l[MAX_N + GUARD], g[MAX_N + GUARD];
    for (size_t k = 0; k < COUNT(lengths); k++) {
        size_t n = lengths[k];
        for (size_t i = 0; i < n; i++) {
            yhat[i] = -0.5 + 2 * uniform01();
            y[i] = c->id == CROSS_ENTROPY ? (double)(i % 2) : 4 * uniform01();
        }
        th_set_guard(yhat, n, GUARD);
        th_set_guard(y, n, GUARD);
        th_set_guard(l, n, GUARD);
        th_set_guard(g, n, GUARD);
        cr_assert(eq(int, in.p->loss.value(in.self, yhat, y, l, n), 0));
        cr_assert(eq(int, in.p->loss.gradient(in.self, yhat, y, g, n), 0));
        th_check_guard(l, n, GUARD, "value");
        th_check_guard(g, n, GUARD, "gradient");
        th_check_guard(yhat, n, GUARD, "input yhat");
        th_check_guard(y, n, GUARD, "input y");
        for (size_t i = 0; i < n; i++) {
            cr_assert(eq(dbl, l[i], th_loss1(&in, yhat[i], y[i])));
            cr_assert(eq(dbl, g[i], th_grad1(&in, yhat[i], y[i])));
        }
    }
    th_unmake(&in);
}

/* ---- optimizers: the first steps, worked out by hand ---- */

TestSuite(optimizer, .fini = th_close_opened);

/* Runs three steps with the gradients g[0], g[1], g[2] and checks theta
 * against want[0..2] after each, to 1e-15 relative (a few roundings). */
static void three_steps(const th_instance *in, double *theta, size_t n,
                        const double g[3][4], const double want[3][4])
{
    for (int s = 0; s < 3; s++) {
        step(in, theta, g[s], n);
        for (size_t i = 0; i < n; i++)
            cr_assert(th_close_to(theta[i], want[s][i], 1e-16, 1e-15),
                      "%s step %d, theta[%zu] = %.17g, want %.17g",
                      in->p->name, s + 1, i, theta[i], want[s][i]);
    }
}

Test(optimizer, momentum_classic_by_hand, .fini = th_close_opened)
{
    /* lr 0.1, mu 0.5, classic: v = mu v - lr g; theta += v.
     * theta0 = (1, -1), v0 = (0, 0)
     * step 1, g = (1, -2):   v = (-0.1, 0.2)
     *                        theta = (0.9, -0.8)
     * step 2, g = (0.5, 0):  v = 0.5 (-0.1, 0.2) - (0.05, 0) = (-0.1, 0.1)
     *                        theta = (0.8, -0.7)
     * step 3, g = (-1, 1):   v = 0.5 (-0.1, 0.1) - (-0.1, 0.1)
     *                          = (0.05, -0.05)
     *                        theta = (0.85, -0.75) */
    const double params[3] = {0.1, 0.5, 0.0};
    th_instance in = th_make(get_plugin(MOMENTUM), params, 2);
    double theta[2] = {1.0, -1.0};
    const double g[3][4] = {{1.0, -2.0}, {0.5, 0.0}, {-1.0, 1.0}};
    const double want[3][4] = {{0.9, -0.8}, {0.8, -0.7}, {0.85, -0.75}};
    three_steps(&in, theta, 2, g, want);
    th_unmake(&in);
}

Test(optimizer, momentum_nesterov_by_hand, .fini = th_close_opened)
{
    /* lr 0.1, mu 0.5, Nesterov (Sutskever et al. 2013 as PyTorch/Keras
     * write it): v = mu v - lr g; theta += mu v - lr g.
     * theta0 = (1, -1), v0 = (0, 0); the same gradients as above, so the
     * same v = (-0.1, 0.2), (-0.1, 0.1), (0.05, -0.05).
     * step 1: theta += 0.5 (-0.1, 0.2) - 0.1 (1, -2) = (-0.15, 0.3)
     *         theta = (0.85, -0.7)
     * step 2: theta += 0.5 (-0.1, 0.1) - 0.1 (0.5, 0) = (-0.1, 0.05)
     *         theta = (0.75, -0.65)
     * step 3: theta += 0.5 (0.05, -0.05) - 0.1 (-1, 1) = (0.125, -0.125)
     *         theta = (0.875, -0.775) */
    const double params[3] = {0.1, 0.5, 1.0};
    th_instance in = th_make(get_plugin(MOMENTUM), params, 2);
    double theta[2] = {1.0, -1.0};
    const double g[3][4] = {{1.0, -2.0}, {0.5, 0.0}, {-1.0, 1.0}};
    const double want[3][4] = {{0.85, -0.7}, {0.75, -0.65}, {0.875, -0.775}};
    three_steps(&in, theta, 2, g, want);
    th_unmake(&in);
}

Test(optimizer, momentum_defaults_by_hand, .fini = th_close_opened)
{
    /* lr 0.01, mu 0.9, classic.  theta0 = 1, g = 2 twice:
     * v = -0.02, theta = 0.98; v = 0.9 (-0.02) - 0.02 = -0.038,
     * theta = 0.942 */
    th_instance in = th_make(get_plugin(MOMENTUM), NULL, 1);
    double theta = 1.0;
    const double g = 2.0;
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.98, 0, 1e-15), "%.17g", theta);
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.942, 0, 1e-15), "%.17g", theta);
    th_unmake(&in);
}

Test(optimizer, adagrad_by_hand, .fini = th_close_opened)
{
    /* lr 0.5, eps 1 (large, so that where it goes shows):
     *   G += g^2; theta -= lr g / (sqrt(G) + eps)
     * theta0 = (1, 2), G0 = (0, 0)
     * step 1, g = (3, -4):  G = (9, 16), sqrt = (3, 4)
     *   theta -= (0.5*3/4, 0.5*(-4)/5) = (0.375, -0.4) -> (0.625, 2.4)
     * step 2, g = (4, -3):  G = (25, 25), sqrt = (5, 5)
     *   theta -= (0.5*4/6, 0.5*(-3)/6) = (1/3, -0.25)
     *   -> (0.625 - 1/3, 2.65) = (7/24, 2.65)
     * step 3, g = (12, 0):  G = (169, 25), sqrt = (13, 5)
     *   theta -= (0.5*12/14, 0) = (3/7, 0)
     *   -> (7/24 - 3/7, 2.65) = (-23/168, 2.65) */
    const double params[2] = {0.5, 1.0};
    th_instance in = th_make(get_plugin(ADAGRAD), params, 2);
    double theta[2] = {1.0, 2.0};
    const double g[3][4] = {{3.0, -4.0}, {4.0, -3.0}, {12.0, 0.0}};
    const double want[3][4] = {{0.625, 2.4},
                               {0.29166666666666667 /* 7/24 */, 2.65},
                               {-0.13690476190476192 /* -23/168 */, 2.65}};
    three_steps(&in, theta, 2, g, want);
    th_unmake(&in);
}

Test(optimizer, adagrad_defaults_by_hand, .fini = th_close_opened)
{
    /* lr 0.01, eps 1e-10.  theta0 = 1, g = 2: G = 4,
     * theta = 1 - 0.01 * 2 / (2 + 1e-10) = 1 - 0.01 (1 - 5e-11 + ...)
     *       = 0.9900000000005 */
    th_instance in = th_make(get_plugin(ADAGRAD), NULL, 1);
    double theta = 1.0;
    const double g = 2.0;
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.9900000000005, 0, 1e-15), "%.17g", theta);
    th_unmake(&in);
}

Test(optimizer, rmsprop_by_hand, .fini = th_close_opened)
{
    /* lr 0.1, rho 0.96, eps 0.6 (large, so that where it goes shows):
     *   E = rho E + (1 - rho) g^2; theta -= lr g / (sqrt(E) + eps)
     * theta0 = (1, 2), E0 = (0, 0)
     * step 1, g = (5, 0):    E = (0.04*25, 0) = (1, 0)
     *   theta -= (0.1*5/(1 + 0.6), 0) = (0.3125, 0) -> (0.6875, 2)
     * step 2, g = (5, 0):    E = (0.96 + 1, 0) = (1.96, 0), sqrt 1.4
     *   theta -= (0.1*5/2, 0) = (0.25, 0) -> (0.4375, 2)
     * step 3, g = (1.4, 5):  E = (0.96*1.96 + 0.04*1.96, 0 + 0.04*25)
     *                          = (1.96, 1), sqrt = (1.4, 1)
     *   theta -= (0.1*1.4/2, 0.1*5/1.6) = (0.07, 0.3125)
     *   -> (0.3675, 1.6875) */
    const double params[3] = {0.1, 0.96, 0.6};
    th_instance in = th_make(get_plugin(RMSPROP), params, 2);
    double theta[2] = {1.0, 2.0};
    const double g[3][4] = {{5.0, 0.0}, {5.0, 0.0}, {1.4, 5.0}};
    const double want[3][4] = {{0.6875, 2.0}, {0.4375, 2.0},
                               {0.3675, 1.6875}};
    three_steps(&in, theta, 2, g, want);
    th_unmake(&in);
}

Test(optimizer, rmsprop_defaults_by_hand, .fini = th_close_opened)
{
    /* lr 0.001, rho 0.9, eps 1e-8.  theta0 = 1, g = 2: E = 0.1*4 = 0.4,
     * theta = 1 - 0.001 * 2 / (sqrt(0.4) + 1e-8)
     *       = 1 - 0.002 / 0.632455542...  = 0.9968377223898316 */
    th_instance in = th_make(get_plugin(RMSPROP), NULL, 1);
    double theta = 1.0;
    const double g = 2.0;
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.9968377223898316, 0, 1e-15), "%.17g", theta);
    th_unmake(&in);
}

Test(optimizer, adam_by_hand, .fini = th_close_opened)
{
    /* lr 0.1, beta1 0.5, beta2 0.75, eps 1e-8 (Kingma & Ba, Algorithm 1):
     *   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
     *   mhat = m / (1 - b1^t); vhat = v / (1 - b2^t)
     *   theta -= lr mhat / (sqrt(vhat) + eps)
     * Bias corrections: 1 - 0.5^t = 0.5, 0.75, 0.875;
     *                   1 - 0.75^t = 0.25, 0.4375, 0.578125.
     * theta0 = (1, 0.5, -3, 2), m0 = v0 = 0.
     * Coordinate 0, g = 1, 1, 1: m = 0.5, 0.75, 0.875 and v = 0.25,
     *   0.4375, 0.578125, so mhat = vhat = 1 each step and theta drops by
     *   0.1/(1 + 1e-8) = 0.099999999 each time: 0.900000001, 0.800000002,
     *   0.700000003.
     * Coordinate 1, g = 2, -1, 0.5:
     *   t=1: m = 1, v = 1; mhat = 2, vhat = 4; step 0.1*2/(2 + 1e-8)
     *        = 0.0999999995 -> 0.4000000005
     *   t=2: m = 0.5 - 0.5 = 0 -> no move: 0.4000000005
     *   t=3: m = 0.25, v = 0.75 + 0.25*0.25 = 0.8125;
     *        mhat = 0.25/0.875 = 2/7, vhat = 0.8125/0.578125 = 52/37;
     *        step 0.1 (2/7) / (sqrt(52/37) + 1e-8) = 0.024100782...
     *        -> 0.37589921806652604
     * Coordinate 2, g = 0, 0, 0: m = v = 0, never moves: -3.
     * Coordinate 3, g = 0, 0, 3: still 2 after two steps, then
     *   t=3: m = 1.5, v = 2.25; mhat = 1.5/0.875 = 12/7,
     *        vhat = 2.25/0.578125 = 144/37, sqrt = 12/sqrt(37);
     *        step 0.1 (12/7) / (12/sqrt(37) + 1e-8) ~ 0.1 sqrt(37)/7
     *        = 0.0868966071... -> 1.9131033928647874 */
    const double params[4] = {0.1, 0.5, 0.75, 1e-8};
    th_instance in = th_make(get_plugin(ADAM), params, 4);
    double theta[4] = {1.0, 0.5, -3.0, 2.0};
    const double g[3][4] = {{1.0, 2.0, 0.0, 0.0},
                            {1.0, -1.0, 0.0, 0.0},
                            {1.0, 0.5, 0.0, 3.0}};
    const double want[3][4] = {
        {0.900000001, 0.4000000005, -3.0, 2.0},
        {0.800000002, 0.4000000005, -3.0, 2.0},
        {0.700000003, 0.37589921806652604, -3.0, 1.9131033928647874}};
    three_steps(&in, theta, 4, g, want);
    th_unmake(&in);
}

Test(optimizer, adam_defaults_by_hand, .fini = th_close_opened)
{
    /* lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8.  The first step of Adam
     * is lr g / (|g| + eps) whatever the betas: mhat = g, vhat = g^2.
     * theta0 = 1, g = 2: theta = 1 - 0.001 * 2 / (2 + 1e-8)
     *                          = 0.999000000005
     * Second step, g = 2 again: m = 0.19 (mhat = 0.19/0.19 = 2), v = 0.007996
     * (vhat = 0.007996/0.001999 = 4): the same step, 0.998000000010 */
    th_instance in = th_make(get_plugin(ADAM), NULL, 1);
    double theta = 1.0;
    const double g = 2.0;
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.999000000005, 0, 1e-15), "%.17g", theta);
    step(&in, &theta, &g, 1);
    cr_assert(th_close_to(theta, 0.99800000001, 0, 1e-14), "%.17g", theta);
    th_unmake(&in);
}

/* ---- optimizers: properties ---- */

typedef struct opt_case {
    lib_id id;
    double params[4];
    bool use_params;
} opt_case;

static opt_case opt_defaults[] = {
    {MOMENTUM, {0}, false},
    {MOMENTUM, {0.01, 0.9, 1.0, 0}, true}, /* nesterov */
    {ADAGRAD, {0}, false},
    {RMSPROP, {0}, false},
    {ADAM, {0}, false},
};

static th_instance make_opt(const opt_case *c, size_t n)
{
    return th_make(get_plugin(c->id), c->use_params ? c->params : NULL, n);
}

/* f(theta) = sum a_i theta_i^2, grad_i = 2 a_i theta_i. */
static const double quad_a[4] = {1.0, 4.0, 0.25, 2.0};

static double quad_f(const double *theta)
{
    double f = 0;
    for (size_t i = 0; i < 4; i++)
        f += quad_a[i] * theta[i] * theta[i];
    return f;
}

static void quad_grad(const double *theta, double *g)
{
    for (size_t i = 0; i < 4; i++)
        g[i] = 2 * quad_a[i] * theta[i];
}

ParameterizedTestParameters(optimizer, descends_a_convex_quadratic)
{
    return cr_make_param_array(opt_case, opt_defaults, COUNT(opt_defaults));
}

ParameterizedTest(opt_case *c, optimizer, descends_a_convex_quadratic,
                  .fini = th_close_opened)
{
    th_instance in = make_opt(c, 4);
    double theta[4] = {1.0, -2.0, 3.0, -0.5}, g[4];
    /* The first three steps each decrease f; the next ones stay below
     * the start (momentum may overshoot, so f need not fall every step),
     * and ten of them make clear progress. */
    double f = quad_f(theta), f0 = f;
    for (int k = 1; k <= 10; k++) {
        quad_grad(theta, g);
        step(&in, theta, g, 4);
        double next = quad_f(theta);
        cr_log_info("%s: step %d: f = %.17g", in.p->name, k, next);
        if (k <= 3)
            cr_assert(next < f, "%s: f went from %.17g to %.17g at step %d",
                      in.p->name, f, next, k);
        cr_assert(next < f0, "%s: f = %.17g at step %d, from %.17g",
                  in.p->name, next, k, f0);
        f = next;
    }
    cr_assert(f < 0.995 * f0, "%s: f = %.17g after 10 steps, from %.17g",
              in.p->name, f, f0);
    th_unmake(&in);
}

/* With a learning rate that suits the problem, many steps get close to
 * the minimum at 0. */
ParameterizedTestParameters(optimizer, converges_on_a_convex_quadratic)
{
    static opt_case cases[] = {
        {MOMENTUM, {0.05, 0.9, 0.0, 0}, true},
        {MOMENTUM, {0.05, 0.9, 1.0, 0}, true},
        {ADAGRAD, {0.5, 1e-10, 0, 0}, true},
        {RMSPROP, {0.01, 0.9, 1e-8, 0}, true},
        {ADAM, {0.05, 0.9, 0.999, 1e-8}, true},
    };
    return cr_make_param_array(opt_case, cases, COUNT(cases));
}

ParameterizedTest(opt_case *c, optimizer, converges_on_a_convex_quadratic,
                  .fini = th_close_opened)
{
    th_instance in = make_opt(c, 4);
    double theta[4] = {1.0, -2.0, 3.0, -0.5}, g[4];
    double f0 = quad_f(theta);
    for (int k = 0; k < 1000; k++) {
        quad_grad(theta, g);
        step(&in, theta, g, 4);
    }
    double f = quad_f(theta);
    cr_assert(f < 1e-3 * f0, "%s: f = %g after 1000 steps (from %g)",
              in.p->name, f, f0);
    th_unmake(&in);
}

ParameterizedTestParameters(optimizer, zero_gradient_leaves_theta_alone)
{
    return cr_make_param_array(opt_case, opt_defaults, COUNT(opt_defaults));
}

ParameterizedTest(opt_case *c, optimizer, zero_gradient_leaves_theta_alone,
                  .fini = th_close_opened)
{
    /* Coordinates 1 and 3 (including a -0) never get a gradient: their
     * velocity / G / E / m and v stay 0 and they never move, bit for bit,
     * while the others do. */
    th_instance in = make_opt(c, 5);
    double theta[5] = {1.0, 0.7, -2.0, -0.0, 3.0};
    const double start[5] = {1.0, 0.7, -2.0, -0.0, 3.0};
    for (int k = 0; k < 50; k++) {
        double g[5] = {0.5 + k % 3, 0.0, -1.0 - k % 2, 0.0, 0.25};
        step(&in, theta, g, 5);
        cr_assert(eq(dbl, theta[1], 0.7), "%s step %d: %.17g", in.p->name,
                  k + 1, theta[1]);
        cr_assert(eq(dbl, theta[3], 0.0));
        cr_assert(signbit(theta[3]) != 0, "%s step %d: -0 became +0",
                  in.p->name, k + 1);
    }
    cr_assert(theta[0] < start[0] && theta[2] > start[2] &&
                  theta[4] < start[4],
              "%s: the others moved against their gradients", in.p->name);
    /* AdaGrad's and RMSProp's step is proportional to the current g, so a
     * zero gradient stops them dead even after a history of non-zero ones
     * (momentum and Adam coast on v or m, as they should). */
    if (c->id == ADAGRAD || c->id == RMSPROP) {
        double before[5], zeros[5] = {0};
        memcpy(before, theta, sizeof(before));
        step(&in, theta, zeros, 5);
        for (size_t i = 0; i < 5; i++)
            cr_assert(eq(dbl, theta[i], before[i]));
    }
    th_unmake(&in);
}

ParameterizedTestParameters(optimizer, state_is_per_instance)
{
    return cr_make_param_array(opt_case, opt_defaults, COUNT(opt_defaults));
}

ParameterizedTest(opt_case *c, optimizer, state_is_per_instance,
                  .fini = th_close_opened)
{
    /* Stepping one instance does not change what another does: b's first
     * step equals a fresh instance's first step. */
    th_instance a = make_opt(c, 3), b = make_opt(c, 3);
    const double g[3] = {1.0, -2.0, 0.5};
    double ta[3] = {1, 1, 1}, tb[3] = {1, 1, 1};
    for (int k = 0; k < 5; k++)
        step(&a, ta, g, 3);
    step(&b, tb, g, 3);
    th_instance fresh = make_opt(c, 3);
    double tf[3] = {1, 1, 1};
    step(&fresh, tf, g, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert(eq(dbl, tb[i], tf[i]));
        cr_assert(ne(dbl, ta[i], tf[i]), "state carried over steps");
    }
    th_unmake(&a);
    th_unmake(&b);
    th_unmake(&fresh);
}

ParameterizedTestParameters(optimizer, state_sizes)
{
    return cr_make_param_array(opt_case, opt_defaults, COUNT(opt_defaults));
}

ParameterizedTest(opt_case *c, optimizer, state_sizes, .fini = th_close_opened)
{
    /* Created for n parameters, it steps n (and fewer), refuses more, and
     * destroys cleanly (ASan checks the rest in `make check-asan`). */
    static const size_t sizes[] = {0, 1, 3, 4099};
    static double theta[4100], g[4100];
    for (size_t k = 0; k < COUNT(sizes); k++) {
        size_t n = sizes[k];
        th_instance in = make_opt(c, n);
        for (size_t i = 0; i <= n; i++) {
            theta[i] = 1.0;
            g[i] = 0.5;
        }
        theta[n] = TH_SENTINEL;
        step(&in, theta, g, n);
        step(&in, theta, g, n > 0 ? n - 1 : 0);
        cr_assert(eq(dbl, theta[n], TH_SENTINEL), "wrote past n = %zu", n);
        for (size_t i = 0; i < n; i++)
            cr_assert(theta[i] < 1.0);
        cr_assert(ne(int, in.p->optimizer.step(in.self, theta, g, n + 1), 0),
                  "%s: step on %zu parameters with state for %zu",
                  in.p->name, n + 1, n);
        th_unmake(&in);
    }
}

ParameterizedTestParameters(optimizer, create_fails_cleanly)
{
    return cr_make_param_array(opt_case, opt_defaults, COUNT(opt_defaults));
}

ParameterizedTest(opt_case *c, optimizer, create_fails_cleanly,
                  .fini = th_close_opened)
{
    const nl_plugin *p = get_plugin(c->id);
    double params[NL_MAX_PARAMS];
    for (size_t i = 0; i < p->n_params; i++)
        params[i] = c->use_params ? c->params[i] : p->params[i].default_value;
    /* A state too big to even size: NULL and a message, no crash. */
    char err[NL_ERROR_MAX] = "";
    cr_assert(p->create(params, SIZE_MAX, err) == NULL);
    cr_assert(err[0] != '\0', "%s: no message", p->name);
    cr_assert(strstr(err, p->name) != NULL, "%s: %s", p->name, err);
    cr_assert(memchr(err, '\0', sizeof(err)) != NULL);
    cr_log_info("%s", err);
#ifndef TH_ASAN
    /* malloc itself failing: cap the address space at 1 GiB more than
     * now and ask for 8 GiB of state. */
    struct rlimit old;
    th_cap_address_space((size_t)1 << 30, &old);
    err[0] = '\0';
    void *self = p->create(params, (size_t)1 << 30, err);
    setrlimit(RLIMIT_AS, &old);
    cr_assert(self == NULL, "%s: 8 GiB under a 1 GiB cap", p->name);
    cr_assert(strstr(err, p->name) != NULL, "%s: '%s'", p->name, err);
#endif
}

/* ---- end to end, through the real runner ---- */

TestSuite(end_to_end);

typedef struct e2e_case {
    char activation[48];
    char loss[48];
    char optimizer[64];
    lib_id checked;     /* the library plugin under test */
    double first_acc;   /* accuracy at epoch 0, or -1 for any */
} e2e_case;

/* The losses in history.csv: epoch 0 and the last. */
static void read_history(const char *dir, double *first, double *last,
                         double *first_acc, size_t *rows)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/history.csv", dir) >= 0);
    char *text = th_read(path);
    cr_assert(text != NULL, "no %s", path);
    free(path);
    cr_assert(strncmp(text, "epoch,loss,accuracy\n", 20) == 0, "%s", text);
    *rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(text + 20, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        long epoch;
        double loss, acc;
        cr_assert(eq(int, sscanf(line, "%ld,%lf,%lf", &epoch, &loss, &acc), 3),
                  "%s", line);
        cr_assert(eq(long, epoch, (long)*rows));
        cr_assert(isfinite(loss), "epoch %ld: loss %g", epoch, loss);
        if (*rows == 0) {
            *first = loss;
            *first_acc = acc;
        }
        *last = loss;
        (*rows)++;
    }
    free(text);
}

ParameterizedTestParameters(end_to_end, runner_trains_with_the_plugin)
{
    /* From w = (0.1, 0.2), b = 0.05 every z of the AND gate is > 0, so
     * relu starts alive.  With tanh the prediction threshold is 0, the
     * midpoint of [-1, 1]: all four rows predict 1 at epoch 0, accuracy
     * 1/4 (with 0.5 it would be 3/4, as for the sigmoid). */
    static e2e_case cases[] = {
        {"tanh", "mse", "{name: gradient_descent, learning_rate: 0.5}",
         TANH, 0.25},
        {"relu", "mse", "{name: gradient_descent, learning_rate: 0.1}",
         RELU, -1},
        {"{name: leaky_relu, slope: 0.1}", "mse",
         "{name: gradient_descent, learning_rate: 0.1}", LEAKY_RELU, -1},
        {"softplus", "mse", "{name: gradient_descent, learning_rate: 0.1}",
         SOFTPLUS, -1},
        {"{name: elu, alpha: 0.5}", "mse",
         "{name: gradient_descent, learning_rate: 0.1}", ELU, -1},
        {"linear", "mse", "{name: gradient_descent, learning_rate: 0.1}",
         LINEAR, -1},
        {"sigmoid", "cross_entropy",
         "{name: gradient_descent, learning_rate: 0.5}", CROSS_ENTROPY, -1},
        {"sigmoid", "mae", "{name: gradient_descent, learning_rate: 0.5}", MAE,
         -1},
        {"sigmoid", "{name: huber, delta: 0.5}",
         "{name: gradient_descent, learning_rate: 0.5}", HUBER, -1},
        {"sigmoid", "mse", "momentum", MOMENTUM, -1},
        {"sigmoid", "mse", "{name: momentum, nesterov: true}", MOMENTUM, -1},
        {"sigmoid", "mse", "{name: adagrad, learning_rate: 0.1}", ADAGRAD, -1},
        {"sigmoid", "mse", "{name: rmsprop, learning_rate: 0.01}", RMSPROP,
         -1},
        {"sigmoid", "mse", "{name: adam, learning_rate: 0.1}", ADAM, -1},
    };
    return cr_make_param_array(e2e_case, cases, COUNT(cases));
}

ParameterizedTest(e2e_case *c, end_to_end, runner_trains_with_the_plugin)
{
    char *dir = th_tempdir();
    cr_assert(dir != NULL);
    char *cfg = NULL, *out = NULL, *text = NULL;
    cr_assert(asprintf(&cfg, "%s/run.yaml", dir) >= 0);
    cr_assert(asprintf(&out, "%s/out", dir) >= 0);
    cr_assert(asprintf(&text,
                       "name: library\n"
                       "seed: 1\n"
                       "data: {generator: and}\n"
                       "model: {weights: [0.1, 0.2], bias: 0.05}\n"
                       "activation: %s\n"
                       "loss: %s\n"
                       "optimizer: %s\n"
                       "training: {epochs: 100}\n",
                       c->activation, c->loss, c->optimizer) >= 0);
    cr_assert(eq(int, th_write(cfg, text), 0));
    char *plugdir = th_build_path("plugins");
    th_run r = th_runner(cfg, "-q", "-o", out, "-P", plugdir, NULL);
    cr_assert(eq(int, r.status, 0), "%s\nstderr: %s", text, r.err);

    double first = NAN, last = NAN, first_acc = NAN;
    size_t rows = 0;
    read_history(out, &first, &last, &first_acc, &rows);
    cr_assert(eq(sz, rows, 101), "epochs 0..100");
    cr_assert(last < first, "%s: the loss went from %.17g to %.17g", text,
              first, last);
    if (c->first_acc >= 0)
        cr_assert(eq(dbl, first_acc, c->first_acc), "accuracy at epoch 0");

    /* The plugin came from its .so on the -P path. */
    char *sp = NULL, *want = NULL;
    cr_assert(asprintf(&sp, "%s/summary.json", out) >= 0);
    char *summary = th_read(sp);
    cr_assert(summary != NULL);
    cr_assert(asprintf(&want, "/plugins/%s.so\"", lib_names[c->checked]) >= 0);
    cr_assert(strstr(summary, want) != NULL, "%s not in\n%s", want, summary);
    cr_assert(strstr(summary, "\"status\": \"ok\"") != NULL, "%s", summary);

    free(want);
    free(summary);
    free(sp);
    th_run_free(&r);
    free(plugdir);
    free(text);
    free(cfg);
    free(out);
    th_rmtree(dir);
    free(dir);
}

Test(end_to_end, out_of_range_parameters_are_refused)
{
    /* The ranges in the tables reach the config checker. */
    static const char *const bad[] = {
        "optimizer: {name: adam, beta1: 1.0}",
        "optimizer: {name: adam, beta2: -0.1}",
        "optimizer: {name: adam, learning_rate: 0}",
        "optimizer: {name: rmsprop, rho: 1}",
        "optimizer: {name: adagrad, epsilon: 0}",
        "optimizer: {name: momentum, momentum: 1.0}",
        "optimizer: {name: momentum, nesterov: 2}",
        "activation: {name: leaky_relu, slope: 1}",
        "activation: {name: elu, alpha: 0}",
        "loss: {name: huber, delta: -1}",
    };
    char *dir = th_tempdir();
    cr_assert(dir != NULL);
    char *plugdir = th_build_path("plugins");
    for (size_t i = 0; i < COUNT(bad); i++) {
        char *cfg = NULL, *text = NULL, *out = NULL;
        cr_assert(asprintf(&cfg, "%s/bad%zu.yaml", dir, i) >= 0);
        cr_assert(asprintf(&out, "%s/out%zu", dir, i) >= 0);
        cr_assert(asprintf(&text,
                           "data: {generator: and}\n"
                           "training: {epochs: 3}\n"
                           "%s\n",
                           bad[i]) >= 0);
        cr_assert(eq(int, th_write(cfg, text), 0));
        th_run r = th_runner(cfg, "-q", "-o", out, "-P", plugdir, NULL);
        cr_assert(eq(int, r.status, 2), "%s: exit %d\n%s", bad[i], r.status,
                  r.err);
        cr_assert(strstr(r.err, "error:") != NULL, "%s", r.err);
        th_run_free(&r);
        free(cfg);
        free(text);
        free(out);
    }
    free(plugdir);
    th_rmtree(dir);
    free(dir);
}
