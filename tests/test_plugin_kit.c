/*
 * test_plugin_kit.c - the plugin authoring kit (issue 4, SPEC sections 2
 * and 6), through the real runner binary:
 *
 *  - `runner plugin check` on fixtures that fail one check each (a lying
 *    derivative, NaN output, output outside the declared range, a wrong
 *    ABI), with the exact FAIL lines, exit 3 and `-q`; on every shipped
 *    plugin (all pass), by path and by name;
 *  - the load-time check: a plugin that lies about its derivative is
 *    refused by a run (exit 3, the worst point named, no result directory)
 *    and by a batch's run, in its own process (the batch survives);
 *  - `runner plugins`: the table (kind, name, version, origin, summary,
 *    params with type, default and range), and no silent shadowing (two
 *    files with one name; a file with a built-in's name);
 *  - `runner plugin new` for each kind: compiles with -Werror, passes the
 *    check, runs in an experiment; never overwrites; bad kind or name;
 *  - `make install` into a temporary DESTDIR: the installed runner finds
 *    its plugins, pkg-config gives the include dir, an out-of-tree plugin
 *    builds with it and runs; `make uninstall` removes it all.
 *
 * Fixtures: <build>/fixtures/{lying_derivative,nan_output,out_of_range,
 * dup_sigmoid,wrong_abi,fixture_relu}.so (tests/fixtures/NAME.c).
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>

#include "plugin_loader.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

/* <build>/plugins/<name>.so, canonical, malloc'd. */
static char *shipped(const char *name)
{
    char *rel = th_fmt("plugins/%s.so", name);
    char *p = th_build_path(rel);
    cr_assert(eq(int, access(p, R_OK), 0), "%s is missing: run make", p);
    char *r = th_real(p);
    free(rel);
    free(p);
    return r;
}

static void make_dir(const char *path)
{
    cr_assert(eq(int, mkdir(path, 0755), 0), "mkdir %s: %s", path,
              strerror(errno));
}

static bool missing(const char *path)
{
    return access(path, F_OK) != 0 && errno == ENOENT;
}

/* The first line of text that starts with prefix (without its newline),
 * malloc'd, or NULL. */
static char *line_starting(const char *text, const char *prefix)
{
    for (const char *l = text; l != NULL && *l != '\0';) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (len >= strlen(prefix) && strncmp(l, prefix, strlen(prefix)) == 0)
            return strndup(l, len);
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* The number of lines of text (a last line without '\n' counts). */
static int count_lines(const char *text)
{
    int n = 0;
    for (const char *c = text; *c != '\0'; c++)
        n += *c == '\n';
    if (*text != '\0' && text[strlen(text) - 1] != '\n')
        n++;
    return n;
}

/* How many times needle occurs in hay. */
static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *at = strstr(hay, needle); at != NULL;
         at = strstr(at + 1, needle))
        n++;
    return n;
}

/* The last non-empty line of text, malloc'd. */
static char *last_line(const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    return strndup(text + start, len - start);
}

/* Runs a shell command; returns its exit status (-1 when not exited). */
static int sh(const char *cmd)
{
    int ws = system(cmd);
    return ws != -1 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Writes an experiment config (the AND gate, a few epochs) whose
 * `slot` line is given; returns its malloc'd path. */
static char *write_config(const char *dir, const char *file, const char *slot)
{
    char *path = th_fmt("%s/%s", dir, file);
    char *text = th_fmt("name: kit\n"
                        "seed: 7\n"
                        "data:\n"
                        "  generator: and\n"
                        "%s\n"
                        "training:\n"
                        "  epochs: 40\n",
                        slot);
    cr_assert(eq(int, th_write(path, text), 0), "cannot write %s", path);
    free(text);
    return path;
}

static const char *const kinds[] = {"activation", "loss", "optimizer"};

/* ---- runner plugin check: fixtures that fail one check each ---- */

typedef struct case_index {
    size_t i;
} case_index;

typedef struct failing {
    const char *fixture;      /* tests/fixtures/<fixture>.c */
    const char *name;         /* the plugin's name */
    const char *fail_prefix;  /* the FAIL line starts so... */
    const char *fail_suffix;  /* ... and holds this (NULL: the prefix is
                                 the whole line) */
    const char *check;        /* "fails its <check> check" */
    int failed;               /* "result: N check(s) FAILED"; 0: any */
    const char *passes[4];    /* checks that still pass */
} failing;

static const failing failings[] = {
    {"lying_derivative", "lying_derivative",
     "  FAIL  derivative       worst at z = ",
     " (tolerance 1e-06 + 0.0001 x |value|; ", "derivative", 1,
     {"  PASS  finite outputs ", "  PASS  output range ",
      "  PASS  deterministic ", "  PASS  abi "}},
    /* A NaN output also fails "output range" (NaN is in no range), so
     * the count is left open; -q tells only the first failure. */
    {"nan_output", "nan_output",
     "  FAIL  finite outputs   f(710) = nan, f'(710) = 0", NULL,
     "finite outputs", 0,
     {"  PASS  derivative ", "  PASS  deterministic ", "  PASS  metadata ",
      "  PASS  abi "}},
    {"out_of_range", "out_of_range", "  FAIL  output range     f(",
     " is outside the declared [0, 1]", "output range", 1,
     {"  PASS  derivative ", "  PASS  finite outputs ",
      "  PASS  deterministic ", "  PASS  metadata "}},
};

ParameterizedTestParameters(check_fail, reports_the_failing_check)
{
    static case_index idx[COUNT(failings)];
    for (size_t i = 0; i < COUNT(failings); i++)
        idx[i].i = i;
    return cr_make_param_array(case_index, idx, COUNT(idx));
}

ParameterizedTest(case_index *k, check_fail, reports_the_failing_check)
{
    const failing *c = &failings[k->i];
    char *so = th_fixture_real(c->fixture);
    th_run r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 3), "%s: exit %d\n%s%s", c->fixture,
              r.status, r.out, r.err);
    /* The header names the plugin, its version and the file. */
    char *header = th_fmt("activation %s 0.1.0 (%s)\n", c->name, so);
    cr_assert(th_starts_with(r.out, header), "header:\n%s", r.out);
    char *line = line_starting(r.out, "  FAIL  ");
    cr_assert(line != NULL, "no FAIL line:\n%s", r.out);
    if (c->fail_suffix == NULL) { /* the whole line */
        cr_assert(eq(str, line, (char *)c->fail_prefix));
    } else {
        cr_assert(th_starts_with(line, c->fail_prefix), "FAIL line:\n%s", line);
        cr_assert(strstr(line, c->fail_suffix) != NULL, "FAIL line:\n%s",
                  line);
    }
    for (size_t i = 0; i < COUNT(c->passes); i++)
        th_assert_contains(r.out, c->passes[i]);
    char *result = last_line(r.out);
    if (c->failed == 1) {
        cr_assert(eq(str, result, "result: 1 check FAILED"));
        cr_assert(eq(int, occurrences(r.out, "  FAIL  "), 1), "%s", r.out);
    } else {
        cr_assert(th_starts_with(result, "result: ") &&
                      th_ends_with(result, " FAILED"),
                  "%s", result);
    }
    free(result);
    free(line);
    free(header);
    th_run_free(&r);
    free(so);
}

/* -q: nothing on stdout, only the first failure on stderr, exit 3. */
ParameterizedTestParameters(check_fail, quiet_tells_the_first_failure)
{
    static case_index idx[COUNT(failings)];
    for (size_t i = 0; i < COUNT(failings); i++)
        idx[i].i = i;
    return cr_make_param_array(case_index, idx, COUNT(idx));
}

ParameterizedTest(case_index *k, check_fail, quiet_tells_the_first_failure)
{
    const failing *c = &failings[k->i];
    char *so = th_fixture_real(c->fixture);
    th_run r = th_runner("plugin", "check", "-q", so, NULL);
    cr_assert(eq(int, r.status, 3), "%s: exit %d", c->fixture, r.status);
    cr_assert(eq(str, r.out, ""), "stdout:\n%s", r.out);
    cr_assert(eq(int, count_lines(r.err), 1), "stderr:\n%s", r.err);
    char *want = th_fmt("%s: activation '%s' fails its %s check: ", so, c->name,
                        c->check);
    cr_assert(th_starts_with(r.err, want), "stderr:\n%s\nwanted:\n%s", r.err,
              want);
    /* The same detail as the FAIL line, after its label ("  FAIL  "
     * and the check name padded to 16 columns and a space). */
    th_assert_contains(r.err, c->fail_prefix + 8 + 17);
    free(want);
    th_run_free(&r);
    free(so);
}

/* The derivative failure names the worst point, and its numbers are the
 * fixture's: it says 1 - tanh(z), finite differences give 1 - tanh(z)^2. */
Test(check_fail, lying_derivative_names_its_worst_point)
{
    char *so = th_fixture_real("lying_derivative");
    th_run r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 3));
    char *line = line_starting(r.out, "  FAIL  derivative ");
    cr_assert(line != NULL, "%s", r.out);
    double z, says, fd, atol, rtol;
    int points, kinks, end = 0;
    int n = sscanf(line,
                   "  FAIL  derivative       worst at z = %lf: the plugin "
                   "says %lf, finite differences give %lf (tolerance %lf + "
                   "%lf x |value|; %d points, %d kinks skipped)%n",
                   &z, &says, &fd, &atol, &rtol, &points, &kinks, &end);
    cr_assert(eq(int, n, 7), "cannot parse:\n%s", line);
    cr_assert(eq(sz, (size_t)end, strlen(line)), "trailing text:\n%s", line);
    cr_assert(eq(dbl, atol, 1e-6));
    cr_assert(eq(dbl, rtol, 1e-4));
    cr_assert(ge(dbl, z, -20.0), "z = %g", z);
    cr_assert(le(dbl, z, 20.0), "z = %g", z);
    cr_assert(gt(int, points, 100));
    cr_assert(eq(int, kinks, 0));
    double t = tanh(z);
    cr_assert(le(dbl, fabs(says - (1 - t)), 1e-6 * fmax(1, fabs(says))),
              "says %.17g at z = %.17g, 1 - tanh = %.17g", says, z, 1 - t);
    cr_assert(le(dbl, fabs(fd - (1 - t * t)), 1e-6), "fd %.17g", fd);
    /* The worst point really is bad: far outside the tolerance. */
    cr_assert(gt(dbl, fabs(says - fd), 0.5));
    free(line);
    th_run_free(&r);
    free(so);
}

/* A library whose constructor crashes is loaded in a child process
 * first: the check reports it, and lives. */
Test(check_fail, a_library_that_crashes_while_loading_is_reported)
{
    char *so = th_fixture_real("crash_on_load");
    char *msg = th_crashed_while_loading(so);
    th_run r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.err);
    char *want = th_fmt("FAIL  %s\nresult: 1 check FAILED\n", msg);
    cr_assert(eq(str, r.out, want));
    free(want);
    free(msg);
    th_run_free(&r);
    free(so);
}

Test(check_fail, wrong_abi_names_both_versions)
{
    char *so = th_fixture_real("wrong_abi");
    char *msg = th_fmt("%s: built for plugin ABI version %d, but this runner "
                       "speaks version %d; rebuild the plugin against this "
                       "nnlab/plugin.h",
                       so, NL_ABI_VERSION + 1, NL_ABI_VERSION);
    th_run r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d", r.status);
    char *want = th_fmt("FAIL  %s\nresult: 1 check FAILED\n", msg);
    cr_assert(eq(str, r.out, want));
    th_run_free(&r);

    r = th_runner("plugin", "check", "-q", so, NULL);
    cr_assert(eq(int, r.status, 3));
    cr_assert(eq(str, r.out, ""));
    char *want_err = th_fmt("%s\n", msg);
    cr_assert(eq(str, r.err, want_err));
    th_run_free(&r);
    free(want_err);
    free(want);
    free(msg);
    free(so);
}

/* By name, on a -P directory: the same check as by path. */
Test(check_fail, by_name_on_the_plugin_path, .init = th_tmp_init,
     .fini = th_tmp_fini)
{
    char *so = th_fixture_real("lying_derivative");
    char *copy = th_fmt("%s/lying_derivative.so", th_tmp);
    th_copy_file(so, copy, 0755);
    th_run r = th_runner("plugin", "check", "-P", th_tmp, "lying_derivative",
                         NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s%s", r.status, r.out, r.err);
    char *canon = th_real(copy);
    char *header = th_fmt("activation lying_derivative 0.1.0 (%s)\n", canon);
    cr_assert(th_starts_with(r.out, header), "%s", r.out);
    th_assert_contains(r.out, "  FAIL  derivative       worst at z = ");
    th_assert_contains(r.out, "\nresult: 1 check FAILED\n");
    free(header);
    free(canon);
    free(copy);
    th_run_free(&r);
    free(so);
}

/* The failure of an optimizer's step() comes with the plugin's words. */
Test(check_fail, a_failing_step_is_told_in_the_plugins_words)
{
    char *so = th_fixture_real("gives_up");
    th_run r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.out);
    th_assert_contains(r.out, "  FAIL  descent          step() returned 9: "
                              "gives_up stops after 5 steps\n");
    th_run_free(&r);
    free(so);
}

/* A name that is nowhere: the paths tried, and a near name of any kind. */
Test(check_fail, unknown_name_exits_3)
{
    char *dir = th_build_path("plugins"), *canon = th_real(dir);
    th_run r = th_runner("plugin", "check", "no_such_plugin", NULL);
    cr_assert(eq(int, r.status, 3));
    cr_assert(eq(str, r.out, ""));
    char *want = th_fmt("runner: no plugin 'no_such_plugin': not built in, "
                        "and not found at %s/no_such_plugin.so\n", canon);
    cr_assert(eq(str, r.err, want));
    th_run_free(&r);
    free(want);

    r = th_runner("plugin", "check", "rmsporp", NULL);
    cr_assert(eq(int, r.status, 3));
    th_assert_contains(r.err, "/rmsporp.so; did you mean 'rmsprop'?\n");
    th_run_free(&r);
    free(canon);
    free(dir);

    r = th_runner("plugin", "check", "/nonexistent/nothing.so", NULL);
    cr_assert(eq(int, r.status, 3));
    th_assert_contains(r.out, "/nonexistent/nothing.so: cannot load plugin: ");
    th_run_free(&r);

    r = th_runner("plugin", "check", NULL);
    cr_assert(eq(int, r.status, 2));
    th_run_free(&r);
}

/* ---- runner plugin check: every shipped plugin passes ---- */

/* The plugins issue 4 promises (reference and library). */
static const char *const shipped_names[] = {
    "sigmoid", "step", "mse", "gradient_descent", "tanh", "relu",
    "leaky_relu", "softplus", "elu", "linear", "cross_entropy", "mae",
    "huber", "momentum", "adagrad", "rmsprop", "adam"};

/* The PASS lines each kind must show. */
static const char *const kind_checks[3][6] = {
    {"  PASS  abi ", "  PASS  metadata ", "  PASS  finite outputs ",
     "  PASS  output range ", "  PASS  deterministic ", "  info  throughput: "},
    {"  PASS  abi ", "  PASS  metadata ", "  PASS  gradient ",
     "  PASS  value >= 0 ", "  PASS  zero at yhat=y ",
     "  info  throughput: "},
    {"  PASS  abi ", "  PASS  metadata ", "  PASS  state ",
     "  PASS  descent ", "  PASS  zero gradient ", NULL},
};

static void assert_check_passes(th_run *r, const char *what,
                                const char *origin)
{
    cr_assert(eq(int, r->status, 0), "%s: exit %d\n%s%s", what, r->status,
              r->out, r->err);
    cr_assert(eq(str, r->err, ""), "%s: stderr %s", what, r->err);
    th_assert_lacks(r->out, "FAIL");
    char *last = last_line(r->out);
    cr_assert(eq(str, last, "result: all checks passed"), "%s", what);
    free(last);
    /* Header: "KIND NAME VERSION (ORIGIN)". */
    char kind[32] = "", name[80] = "";
    cr_assert(eq(int, sscanf(r->out, "%31s %79s", kind, name), 2));
    int ki = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(kind, kinds[i]) == 0)
            ki = i;
    cr_assert(ge(int, ki, 0), "%s: header %s", what, r->out);
    char *first = line_starting(r->out, kind);
    char *tail = th_fmt(" (%s)", origin);
    cr_assert(th_ends_with(first, tail), "%s: header %s", what, first);
    for (size_t i = 0; i < COUNT(kind_checks[ki]) && kind_checks[ki][i]; i++)
        th_assert_contains(r->out, kind_checks[ki][i]);
    if (ki == 0) /* a real derivative, or a declared surrogate */
        cr_assert(strstr(r->out, "  PASS  derivative       matches central "
                                 "finite differences at ") != NULL ||
                      strstr(r->out, "  info  derivative: declared a "
                                     "surrogate") != NULL,
                  "%s", r->out);
    free(tail);
    free(first);
}

Test(check_pass, every_shipped_plugin_passes)
{
    char *pattern = th_build_path("plugins/*.so");
    glob_t g;
    cr_assert(eq(int, glob(pattern, 0, NULL, &g), 0), "no %s", pattern);
    bool seen[COUNT(shipped_names)] = {false};
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *canon = th_real(g.gl_pathv[i]);
        th_run r = th_runner("plugin", "check", g.gl_pathv[i], NULL);
        assert_check_passes(&r, g.gl_pathv[i], canon);
        for (size_t j = 0; j < COUNT(shipped_names); j++) {
            char *tail = th_fmt("/%s.so", shipped_names[j]);
            if (th_ends_with(canon, tail))
                seen[j] = true;
            free(tail);
        }
        th_run_free(&r);
        free(canon);
    }
    for (size_t j = 0; j < COUNT(shipped_names); j++)
        cr_assert(seen[j], "no %s/plugins/%s.so", th_build(),
                  shipped_names[j]);
    globfree(&g);
    free(pattern);
}

Test(check_pass, builtins_by_name)
{
    for (size_t i = 0; i < nl_builtin_count(); i++) {
        const nl_plugin *p = nl_builtin(i);
        th_run r = th_runner("plugin", "check", p->name, NULL);
        assert_check_passes(&r, p->name, "builtin");
        char *header = th_fmt("%s %s %s (builtin)\n", nl_kind_name(p->kind),
                              p->name, p->version);
        cr_assert(th_starts_with(r.out, header), "%s", r.out);
        free(header);
        th_run_free(&r);
    }
    /* step's derivative is a declared surrogate: told, not compared. */
    th_run r = th_runner("plugin", "check", "step", NULL);
    th_assert_contains(r.out, "  info  derivative: declared a surrogate");
    th_assert_lacks(r.out, "  PASS  derivative ");
    th_run_free(&r);
    /* -q: silent when all pass. */
    r = th_runner("plugin", "check", "-q", "sigmoid", NULL);
    cr_assert(eq(int, r.status, 0));
    cr_assert(eq(str, r.out, ""));
    cr_assert(eq(str, r.err, ""));
    th_run_free(&r);
}

Test(check_pass, library_plugin_by_name)
{
    char *so = shipped("tanh");
    th_run r = th_runner("plugin", "check", "tanh", NULL);
    assert_check_passes(&r, "tanh", so);
    th_run_free(&r);
    free(so);
}

/* ---- the load-time check ---- */

TestSuite(load_check, .init = th_tmp_init, .fini = th_tmp_fini);

Test(load_check, run_refuses_a_lying_derivative)
{
    char *so = th_fixture_real("lying_derivative");
    char *slot = th_fmt("activation: {path: %s}", so);
    char *cfg = write_config(th_tmp, "lying.yaml", slot);
    char *out = th_fmt("%s/out", th_tmp);
    th_run r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.err);
    cr_assert(eq(str, r.out, ""));
    char *want =
        th_fmt("%s: activation 'lying_derivative' fails its derivative "
               "check: worst at z = ",
               so);
    th_assert_contains(r.err, want);
    cr_assert(th_starts_with(r.err, cfg), "the config is named first:\n%s",
              r.err);
    th_assert_contains(r.err, ": error: ");
    th_assert_contains(r.err, ": the plugin says ");
    th_assert_contains(r.err, ", finite differences give ");
    cr_assert(missing(out), "%s was created", out);
    th_run_free(&r);

    /* Without -q too, and nothing appears in the scratch directory but
     * the config. */
    r = th_runner(cfg, "-o", out, NULL);
    cr_assert(eq(int, r.status, 3));
    th_assert_contains(r.err, want);
    cr_assert(missing(out));
    char *ls = th_fmt("test \"$(ls -A '%s')\" = lying.yaml", th_tmp);
    cr_assert(eq(int, sh(ls), 0), "the scratch dir holds more than the config");
    free(ls);
    th_run_free(&r);
    free(want);
    free(out);
    free(cfg);
    free(slot);
    free(so);
}

Test(load_check, run_refuses_it_by_name_too)
{
    char *so = th_fixture_real("lying_derivative");
    char *dir = th_fmt("%s/plugins", th_tmp);
    make_dir(dir);
    char *copy = th_fmt("%s/lying_derivative.so", dir);
    th_copy_file(so, copy, 0755);
    char *cfg = write_config(th_tmp, "byname.yaml",
                             "activation: lying_derivative");
    char *out = th_fmt("%s/out", th_tmp);
    th_run r = th_runner(cfg, "-P", dir, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.err);
    th_assert_contains(r.err, "activation 'lying_derivative' fails its "
                              "derivative check: worst at z = ");
    cr_assert(missing(out));
    th_run_free(&r);
    free(out);
    free(cfg);
    free(copy);
    free(dir);
    free(so);
}

/* Runs a config with `slot` (written to th_tmp/<file>) into th_tmp/out-<file>
 * with -q; asserts the exit status and, for a refusal, that no result
 * directory was made.  The caller frees the run. */
static th_run run_slot(const char *file, const char *slot, int status)
{
    char *cfg = write_config(th_tmp, file, slot);
    char *out = th_fmt("%s/out-%s", th_tmp, file);
    th_run r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, status), "%s: exit %d\n%s", slot, r.status,
              r.err);
    if (status != 0)
        cr_assert(missing(out), "%s was created", out);
    free(out);
    free(cfg);
    return r;
}

/* A derivative right only at the defaults (tests/fixtures/scaled_lies.c:
 * tanh(gain z) whose derivative forgets gain): the library passes the
 * load-time check, with gain 1; a run whose config sets another gain, in
 * its file or by --set, is refused before it trains (its own instance is
 * checked), and gain 1 runs. */
Test(load_check, run_refuses_a_derivative_wrong_at_its_parameters)
{
    char *so = th_fixture_real("scaled_lies");
    char *slot = th_fmt("activation:\n  path: %s\n  gain: 3", so);
    th_run r = run_slot("gain3.yaml", slot, 3);
    /* At the place the config chose the plugin. */
    char *want = th_fmt("%s/gain3.yaml:6:3: error: %s: activation "
                        "'scaled_lies' fails its derivative check: worst at "
                        "z = ", th_tmp, so);
    th_assert_starts_with(r.err, want);
    th_assert_contains(r.err, "(with gain = 3 from the config; the defaults "
                              "pass)");
    th_run_free(&r);

    char *slot1 = th_fmt("activation:\n  path: %s\n  gain: 1", so);
    r = run_slot("gain1.yaml", slot1, 0);
    th_run_free(&r);

    char *cfg1 = th_fmt("%s/gain1.yaml", th_tmp);
    char *out2 = th_fmt("%s/out2", th_tmp);
    r = th_runner(cfg1, "--set", "activation.gain=0.5", "-o", out2, "-q",
                  NULL);
    cr_assert(eq(int, r.status, 3), "--set: exit %d\n%s", r.status, r.err);
    th_assert_contains(r.err, "fails its derivative check");
    cr_assert(missing(out2), "%s was created", out2);
    th_run_free(&r);
    free(out2);
    free(cfg1);
    free(slot1);
    free(want);
    free(slot);
    free(so);
}

/* A plugin whose forward() refuses some of the points checked
 * (tests/fixtures/picky.c: code 5 below z = -1) fails the load-time check
 * with its own words; skipping those points passed it "at 0 points". */
Test(load_check, run_refuses_a_plugin_that_errors_where_it_is_checked)
{
    char *so = th_fixture_real("picky");
    char *slot = th_fmt("activation: {path: %s}", so);
    th_run r = run_slot("picky.yaml", slot, 3);
    char *want = th_fmt("%s: activation 'picky' fails its derivative check: "
                        "forward() returned 5 at z = -3", so);
    th_assert_contains(r.err, want);
    th_assert_contains(r.err, ": picky takes no z below -1\n");
    th_run_free(&r);
    free(want);
    free(slot);
    free(so);
}

/* The spot-check with a config's parameters refuses no shipped plugin:
 * each .so with parameters, given values far from its defaults (huber's
 * delta puts a kink among the points checked; step is a surrogate). */
Test(load_check, shipped_plugins_pass_with_other_parameters)
{
    static const char *const slots[][3] = {
        {"activation", "elu", "alpha: 3"},
        {"activation", "leaky_relu", "slope: 0.3"},
        {"activation", "step", "threshold: 0.5"},
        {"loss", "huber", "delta: 0.05"},
    };
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        char *so = shipped(slots[i][1]);
        char *slot = th_fmt("%s:\n  path: %s\n  %s", slots[i][0], so,
                            slots[i][2]);
        char *file = th_fmt("%s.yaml", slots[i][1]);
        th_run r = run_slot(file, slot, 0);
        th_run_free(&r);
        free(file);
        free(slot);
        free(so);
    }
}

/* A batch's parent does not run plugin code: the lying plugin is refused
 * in the run's own process, the other run finishes, and the batch reports
 * the failure and exits 1. */
Test(load_check, batch_survives_and_reports_it, .timeout = 60)
{
    char *so = th_fixture_real("lying_derivative");
    char *slot = th_fmt("activation: {path: %s}", so);
    char *lying = write_config(th_tmp, "lying.yaml", slot);
    char *good = write_config(th_tmp, "good.yaml", "activation: sigmoid");
    char *out = th_fmt("%s/batch", th_tmp);
    th_run r = th_runner("batch", good, lying, "-o", out, NULL);
    cr_assert(eq(int, r.status, 1), "batch exit %d\n%s%s", r.status, r.out,
              r.err);
    char *all = th_fmt("%s%s", r.out, r.err);
    th_assert_contains(all, "exit status 3");
    th_assert_contains(all, "fails its derivative check: worst at z = ");
    th_assert_contains(r.out, "2 runs: 1 finished, 1 failed\n");
    char *good_history = th_fmt("%s/runs/good/history.csv", out);
    char *lying_summary = th_fmt("%s/runs/lying/summary.json", out);
    char *lying_history = th_fmt("%s/runs/lying/history.csv", out);
    cr_assert(th_exists(good_history), "the good run did not finish:\n%s", all);
    cr_assert(missing(lying_history), "the lying plugin trained");
    char *summary = th_read(lying_summary);
    cr_assert(summary != NULL, "no %s", lying_summary);
    th_assert_contains(summary, "failed");
    th_assert_contains(summary, "fails its derivative check: worst at z = ");
    free(summary);

    /* -q hides the table, not the failure: stderr says where to look. */
    char *quiet_out = th_fmt("%s/quiet", th_tmp);
    th_run q = th_runner("batch", good, lying, "-o", quiet_out, "-q", NULL);
    cr_assert(eq(int, q.status, 1));
    cr_assert(eq(str, q.out, ""));
    char *want = th_fmt("runner: 1 of 2 runs failed; the reasons are in "
                        "%s/comparison.csv\n",
                        quiet_out);
    cr_assert(eq(str, q.err, want));
    char *csv_path = th_fmt("%s/comparison.csv", quiet_out);
    char *csv = th_read(csv_path);
    cr_assert(csv != NULL);
    th_assert_contains(csv, "fails its derivative check: worst at z = ");
    free(csv);
    free(csv_path);
    free(want);
    th_run_free(&q);
    free(quiet_out);
    free(lying_history);
    free(lying_summary);
    free(good_history);
    free(all);
    th_run_free(&r);
    free(out);
    free(good);
    free(lying);
    free(slot);
    free(so);
}

/* nan_output and out_of_range pass the cheap load-time part (ABI,
 * metadata, derivative spot-check): only `plugin check` catches them. */
Test(load_check, the_load_check_is_the_cheap_part)
{
    static const char *const names[] = {"nan_output", "out_of_range"};
    for (size_t i = 0; i < COUNT(names); i++) {
        char *so = th_fixture_real(names[i]);
        nl_diag d = {0};
        nl_library *lib = nl_library_open(so, &d);
        cr_assert(lib != NULL, "%s: %s", so, d.message);
        nl_library_close(lib);
        free(so);
    }
    char *so = th_fixture_real("lying_derivative");
    nl_diag d = {0};
    cr_assert(nl_library_open(so, &d) == NULL);
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN));
    th_assert_contains(d.message, "fails its derivative check: worst at z = ");
    /* The unchecked open (a batch parent's) runs no plugin code. */
    nl_library *lib = nl_library_open_unchecked(so, &d);
    cr_assert(lib != NULL, "%s", d.message);
    nl_library_close(lib);
    free(so);
}

/* ---- runner plugins ---- */

typedef struct listed {
    const char *name;
    const char *params;       /* the text after "params: " */
} listed;

/* In the listing's order: by kind, then by name. */
static const listed listing[] = {
    {"elu", "alpha (real, default 1, > 0)"},
    {"leaky_relu", "slope (real, default 0.01, [0, 1))"},
    {"linear", "-"},
    {"relu", "-"},
    {"sigmoid", "-"},
    {"softplus", "-"},
    {"step", "threshold (real, default 0, any); surrogate (choice, default "
             "identity, identity|zero)"},
    {"tanh", "-"},
    {"cross_entropy", "-"},
    {"huber", "delta (real, default 1, > 0)"},
    {"mae", "-"},
    {"mse", "-"},
    {"adagrad", "learning_rate (real, default 0.01, > 0); epsilon (real, "
                "default 1e-10, > 0)"},
    {"adam", "learning_rate (real, default 0.001, > 0); beta1 (real, default "
             "0.9, [0, 1)); beta2 (real, default 0.999, [0, 1)); epsilon "
             "(real, default 1e-08, > 0)"},
    {"gradient_descent", "learning_rate (real, default 0.1, > 0)"},
    {"momentum", "learning_rate (real, default 0.01, > 0); momentum (real, "
                 "default 0.9, [0, 1)); nesterov (bool, default false, "
                 "true|false)"},
    {"rmsprop", "learning_rate (real, default 0.001, > 0); rho (real, "
                "default 0.9, [0, 1)); epsilon (real, default 1e-08, > 0)"},
};

static const nl_plugin *builtin_named(const char *name)
{
    for (size_t i = 0; i < nl_builtin_count(); i++)
        if (strcmp(nl_builtin(i)->name, name) == 0)
            return nl_builtin(i);
    return NULL;
}

/* The lines `runner plugins` prints for p: params are the parameters'
 * type, default and range, "; " between them; each gets a line of its
 * own, with its help after a colon. */
static char *block(const nl_plugin *p, const char *origin, const char *params)
{
    char *lines = th_fmt("%s", "");
    const char *from = params;
    for (size_t i = 0; i < p->n_params; i++) {
        const char *end = strstr(from, "; ");
        size_t len = end != NULL ? (size_t)(end - from) : strlen(from);
        /* Under the first: the three columns, then "params: ". */
        char *grown = th_fmt("%s%s%*s%.*s: %s", lines, i ? "\n" : "",
                             i ? 10 + 2 + 18 + 2 + 7 + 2 + 8 : 0, "",
                             (int)len, from, p->params[i].help);
        free(lines);
        lines = grown;
        from = end != NULL ? end + 2 : from + len;
    }
    char *text = th_fmt("%-10s  %-18s  %-7s  %s\n"
                        "%-10s  %-18s  %-7s  %s\n"
                        "%-10s  %-18s  %-7s  params: %s\n",
                        nl_kind_name(p->kind), p->name, p->version, origin,
                        "", "", "", p->summary, "", "", "",
                        p->n_params ? lines : params);
    free(lines);
    return text;
}

TestSuite(plugins, .init = th_tmp_init, .fini = th_tmp_fini);

Test(plugins, lists_builtins_and_library_with_params)
{
    th_run r = th_runner("plugins", NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    cr_assert(eq(str, r.err, ""));
    cr_assert(th_starts_with(r.out, "kind        name                version  "
                                    "origin / summary / parameters\n"),
              "%s", r.out);
    const char *prev = r.out;
    for (size_t i = 0; i < COUNT(listing); i++) {
        const listed *l = &listing[i];
        char *so = shipped(l->name);
        const nl_plugin *p = builtin_named(l->name);
        nl_library *lib = NULL;
        char *origin;
        if (p != NULL) {
            origin = th_fmt("builtin (also %s)", so);
        } else {
            nl_diag d = {0};
            lib = nl_library_open(so, &d);
            cr_assert(lib != NULL, "%s", d.message);
            p = lib->plugins[0];
            origin = th_fmt("%s", so);
        }
        char *want = block(p, origin, l->params);
        const char *at = strstr(r.out, want);
        cr_assert(at != NULL, "expected\n%s\nin\n%s", want, r.out);
        cr_assert(at > prev, "%s is out of order", l->name);
        cr_assert(eq(int, occurrences(r.out, want), 1));
        prev = at;
        free(want);
        free(origin);
        nl_library_close(lib);
        free(so);
    }
    char *dir = th_build_path("plugins");
    char *canon = th_real(dir);
    char *footer = th_fmt("plugins; plugin path: %s", canon);
    th_assert_contains(r.out, footer);
    th_run_free(&r);

    /* -q: the table alone. */
    r = th_runner("plugins", "-q", NULL);
    cr_assert(eq(int, r.status, 0));
    th_assert_lacks(r.out, "plugin path:");
    th_assert_contains(r.out, "\nactivation  tanh ");
    th_run_free(&r);
    free(footer);
    free(canon);
    free(dir);
}

/* A library's plugins other than its file's namesake cannot be found by
 * name (a name finds NAME.so): the listing says how to reach them. */
Test(plugins, says_which_plugins_only_a_path_reaches)
{
    char *so = th_fixture_real("twins");
    char *copy = th_fmt("%s/twins.so", th_tmp);
    th_copy_file(so, copy, 0755);
    th_run r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    char *canon = th_real(copy);
    char *twin_a = th_fmt("twin_a              1.0.0    %s (by path: only, "
                          "with name:)\n", canon);
    th_assert_contains(r.out, twin_a);
    th_assert_contains(r.out, "/elu.so\n"); /* a namesake: no note */
    th_run_free(&r);
    /* A namesake link to a file of another name is found by name. */
    char *store = th_fmt("%s/store", th_tmp);
    char *impl = th_fmt("%s/impl.so", store);
    char *link = th_fmt("%s/fixture_relu.so", th_tmp);
    char *relu = th_fixture_real("fixture_relu");
    cr_assert(eq(int, mkdir(store, 0755), 0));
    th_copy_file(relu, impl, 0755);
    cr_assert(eq(int, symlink("store/impl.so", link), 0));
    r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    char *real_impl = th_real(impl);
    char *linked = th_fmt("%s\n", real_impl);
    th_assert_contains(r.out, linked);
    free(linked);
    free(real_impl);
    free(relu);
    free(link);
    free(impl);
    free(store);
    free(twin_a);
    free(canon);
    th_run_free(&r);
    free(copy);
    free(so);
}

/* The directory already on the path, named again with -P (relative, and
 * with a trailing slash): the same files, listed once, no error. */
Test(plugins, the_same_directory_twice_is_not_a_duplicate)
{
    char *dir = th_build_path("plugins");
    char *slash = th_fmt("%s/", dir);
    th_run r = th_runner("plugins", "-P", dir, "-P", slash, NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    cr_assert(eq(str, r.err, ""));
    cr_assert(eq(int, occurrences(r.out, "\nactivation  tanh "), 1), "%s",
              r.out);
    cr_assert(eq(int, occurrences(r.out, "\noptimizer   adam "), 1));
    th_run_free(&r);
    free(slash);
    free(dir);
}

Test(plugins, two_files_with_one_name_are_an_error)
{
    char *so = th_fixture_real("fixture_relu");
    char *a = th_fmt("%s/a.so", th_tmp), *b = th_fmt("%s/b.so", th_tmp);
    th_copy_file(so, a, 0755);
    th_copy_file(so, b, 0755);
    char *ra = th_real(a), *rb = th_real(b);
    th_run r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.out);
    char *want =
        th_fmt("runner: two activation plugins named 'fixture_relu': "
               "%s and %s; rename or remove one (nnlab never shadows a "
               "plugin silently)\n",
               ra, rb);
    cr_assert(eq(str, r.err, want));
    cr_assert(eq(str, r.out, ""));
    free(want);
    th_run_free(&r);
    free(rb);
    free(ra);
    free(b);
    free(a);
    free(so);
}

Test(plugins, a_builtin_name_with_another_version_is_an_error)
{
    char *so = th_fixture_real("dup_sigmoid");
    char *copy = th_fmt("%s/dup_sigmoid.so", th_tmp);
    th_copy_file(so, copy, 0755);
    char *canon = th_real(copy);
    th_run r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.out);
    char *want = th_fmt("runner: two activation plugins named 'sigmoid': "
                        "builtin and %s; rename or remove one (nnlab never "
                        "shadows a plugin silently)\n",
                        canon);
    cr_assert(eq(str, r.err, want));
    cr_assert(eq(str, r.out, ""));
    free(want);
    th_run_free(&r);
    free(canon);
    free(copy);
    free(so);
}

/* Listing runs no plugin code (a crashing plugin must not take it down),
 * so a plugin with a lying derivative is listed -- `plugin check` is what
 * catches it -- while one whose metadata is broken is skipped with the
 * reason, the rest is listed, and the exit status says something was
 * wrong. */
Test(plugins, a_plugin_with_bad_metadata_is_skipped_with_the_reason)
{
    char *liar = th_fixture_real("lying_derivative"),
         *broken = th_fixture_real("bad_name");
    char *liar_copy = th_fmt("%s/lying_derivative.so", th_tmp);
    char *broken_copy = th_fmt("%s/bad_name.so", th_tmp);
    th_copy_file(liar, liar_copy, 0755);
    th_copy_file(broken, broken_copy, 0755);
    char *canon = th_real(broken_copy);
    th_run r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d", r.status);
    char *want = th_fmt("runner: skipped: %s: plugin name 'Bad/Name' is not "
                        "[a-z0-9_]+ (at most 64)\n", canon);
    cr_assert(eq(str, r.err, want), "%s", r.err);
    th_assert_contains(r.out, "\nactivation  tanh ");
    th_assert_contains(r.out, "\nactivation  lying_derivative ");
    free(want);
    th_run_free(&r);
    free(canon);
    free(liar_copy);
    free(broken_copy);
    free(liar);
    free(broken);
}

/* Listing a directory that holds a library whose constructor crashes:
 * it is skipped with the reason, the rest is listed, exit 3. */
Test(plugins, a_library_that_crashes_while_loading_is_skipped)
{
    char *crashes = th_fixture_real("crash_on_load");
    char *copy = th_fmt("%s/crash_on_load.so", th_tmp);
    th_copy_file(crashes, copy, 0755);
    char *canon = th_real(copy);
    th_run r = th_runner("plugins", "-P", th_tmp, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d\n%s", r.status, r.err);
    char *msg = th_crashed_while_loading(canon);
    char *want = th_fmt("runner: skipped: %s\n", msg);
    cr_assert(eq(str, r.err, want));
    th_assert_contains(r.out, "\nactivation  tanh ");
    free(want);
    free(msg);
    th_run_free(&r);
    free(canon);
    free(copy);
    free(crashes);
}

/* ---- runner plugin new ---- */

typedef struct scaffold {
    int kind;                 /* index into kinds[] */
    const char *name;
} scaffold;

/* The ordinary names, and names that are C keywords, libm functions or
 * the template's own identifiers: the file compiles for any valid name. */
static const scaffold scaffolds[] = {
    {0, "my_activation"}, {1, "my_loss"}, {2, "my_optimizer"},
    {0, "tanh"},          {2, "step"},    {1, "value"},
    {0, "int"},           {2, "2x"},      {0, "forward"},
};

ParameterizedTestParameters(plugin_new, compiles_checks_and_runs)
{
    static case_index idx[COUNT(scaffolds)];
    for (size_t i = 0; i < COUNT(scaffolds); i++)
        idx[i].i = i;
    return cr_make_param_array(case_index, idx, COUNT(idx));
}

ParameterizedTest(case_index *k, plugin_new, compiles_checks_and_runs,
                  .init = th_tmp_init, .fini = th_tmp_fini, .timeout = 60)
{
    const scaffold *s = &scaffolds[k->i];
    const char *kind = kinds[s->kind];
    th_run r = th_runner("plugin", "new", kind, s->name, "--dir", th_tmp,
                         NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    cr_assert(eq(str, r.err, ""));
    char *src = th_fmt("%s/%s.c", th_tmp, s->name);
    char *first = th_fmt("wrote %s: %s %s plugin whose math is a marked "
                         "PLACEHOLDER.\n",
                         src, s->kind == 1 ? "a" : "an", kind);
    cr_assert(th_starts_with(r.out, first), "%s", r.out);
    char *text = th_read(src);
    cr_assert(text != NULL, "no %s", src);
    th_assert_contains(text, "PLACEHOLDER");
    th_assert_contains(text, "#include <nnlab/plugin.h>");
    char *named = th_fmt(".name = \"%s\"", s->name);
    th_assert_contains(text, named);

    /* It compiles as is, warnings as errors. */
    char *so = th_fmt("%s/%s.so", th_tmp, s->name);
    char *cc = th_fmt("cc -std=c11 -Wall -Wextra -Werror -shared -fPIC "
                      "-I framework/include '%s' -o '%s' -lm",
                      src, so);
    cr_assert(eq(int, sh(cc), 0), "does not compile: %s", cc);

    /* The build line it printed works too. */
    char *build = line_starting(r.out, "build it:  ");
    cr_assert(build != NULL, "%s", r.out);
    char *so2 = th_fmt("%s/%s.so", th_tmp, s->name);
    cr_assert(strstr(build, so2) != NULL, "%s", build);
    cr_assert(eq(int, unlink(so), 0));
    cr_assert(eq(int, sh(build + strlen("build it:  ")), 0), "%s", build);
    cr_assert(th_exists(so));

    /* It passes its check. */
    th_run c = th_runner("plugin", "check", so, NULL);
    char *canon = th_real(so);
    assert_check_passes(&c, so, canon);
    char *header = th_fmt("%s %s 0.1.0 (%s)\n", kind, s->name, canon);
    cr_assert(th_starts_with(c.out, header), "%s", c.out);
    th_run_free(&c);

    /* It runs in an experiment, loaded by path. */
    char *slot = th_fmt("%s: {path: %s}", kind, so);
    char *cfg = write_config(th_tmp, "exp.yaml", slot);
    char *out = th_fmt("%s/out", th_tmp);
    th_run e = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, e.status, 0), "exit %d\n%s", e.status, e.err);
    char *history = th_fmt("%s/history.csv", out);
    cr_assert(th_exists(history), "no %s", history);
    th_run_free(&e);

    free(history);
    free(out);
    free(cfg);
    free(slot);
    free(header);
    free(canon);
    free(so2);
    free(build);
    free(cc);
    free(so);
    free(named);
    free(text);
    free(first);
    free(src);
    th_run_free(&r);
}

Test(plugin_new, never_overwrites, .init = th_tmp_init, .fini = th_tmp_fini)
{
    char *src = th_fmt("%s/mine.c", th_tmp);
    cr_assert(eq(int, th_write(src, "/* my work */\n"), 0));
    for (size_t i = 0; i < COUNT(kinds); i++) {
        th_run r = th_runner("plugin", "new", kinds[i], "mine", "--dir",
                             th_tmp, NULL);
        cr_assert(eq(int, r.status, 2), "exit %d", r.status);
        cr_assert(eq(str, r.out, ""));
        char *want = th_fmt("runner: %s: already exists; not overwriting it\n",
                            src);
        cr_assert(eq(str, r.err, want));
        free(want);
        th_run_free(&r);
    }
    char *text = th_read(src);
    cr_assert(eq(str, text, "/* my work */\n"));
    free(text);
    free(src);
}

/* A scaffold named like a built-in of its kind builds and is written,
 * with a note: by name, a config would get the built-in. */
Test(plugin_new, a_built_in_name_gets_a_note, .init = th_tmp_init,
     .fini = th_tmp_fini)
{
    th_run r = th_runner("plugin", "new", "activation", "sigmoid", "--dir",
                         th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "exit %d", r.status);
    cr_assert(eq(str, r.err, "runner: note: 'sigmoid' is also a built-in "
                             "activation, which a config's name: sigmoid "
                             "gets; load this one with path:, or rename "
                             "it\n"));
    cr_assert(th_exists_in(th_tmp, "sigmoid.c"));
    th_run_free(&r);
    r = th_runner("plugin", "new", "activation", "mse", "--dir", th_tmp, "-q",
                  NULL); /* mse is a built-in loss, not an activation */
    cr_assert(eq(int, r.status, 0), "exit %d", r.status);
    cr_assert(eq(str, r.err, ""));
    th_run_free(&r);
}

/* README's walkthrough: its Swish code, put in place of the scaffold's two
 * placeholder functions, builds with the command it shows and passes the
 * check (a README that stops compiling fails here, not for a newcomer). */
Test(plugin_new, the_readme_swish_builds_and_passes, .init = th_tmp_init,
     .fini = th_tmp_fini, .timeout = 60)
{
    th_run r = th_runner("plugin", "new", "activation", "swish", "--dir",
                         th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.err);
    th_run_free(&r);
    char *readme = th_read("README.md");
    cr_assert(readme != NULL);
    const char *intro = strstr(readme, "for Swish,");
    cr_assert(intro != NULL, "README has no Swish walkthrough");
    const char *code = strstr(intro, "```c\n");
    cr_assert(code != NULL);
    code += strlen("```c\n");
    const char *code_end = strstr(code, "```\n");
    cr_assert(code_end != NULL);
    char *src = th_fmt("%s/swish.c", th_tmp);
    char *made = th_read(src);
    const char *from = strstr(made, "/* a[i] = f(z[i]).  PLACEHOLDER");
    const char *to = strstr(made, "static const nl_param params[]");
    cr_assert(from != NULL && to != NULL && from < to,
              "the scaffold's placeholder functions moved");
    char *swish = th_fmt("%.*s%.*s\n%s", (int)(from - made), made,
                         (int)(code_end - code), code, to);
    cr_assert(eq(int, th_write(src, swish), 0));
    char *so = th_fmt("%s/swish.so", th_tmp);
    char *cc = th_fmt("cc -std=c11 -Wall -Wextra -Werror -shared -fPIC "
                      "-Iframework/include '%s' -o '%s' -lm", src, so);
    cr_assert(eq(int, system(cc), 0), "%s\n%s", cc, swish);
    r = th_runner("plugin", "check", so, NULL);
    cr_assert(eq(int, r.status, 0), "exit %d\n%s", r.status, r.out);
    th_assert_contains(r.out, "derivative       matches central finite "
                              "differences");
    th_run_free(&r);
    free(cc);
    free(so);
    free(swish);
    free(made);
    free(src);
    free(readme);
}

Test(plugin_new, bad_kind_or_name_exits_2, .init = th_tmp_init,
     .fini = th_tmp_fini)
{
    th_run r = th_runner("plugin", "new", "widget", "foo", "--dir", th_tmp,
                         NULL);
    cr_assert(eq(int, r.status, 2));
    th_assert_contains(r.err, "plugin new: unknown kind 'widget' (activation, "
                              "loss or optimizer)");
    th_run_free(&r);

    static const char *const bad_names[] = {"Foo", "my-plugin", "a.b", "",
                                            "../escape"};
    for (size_t i = 0; i < COUNT(bad_names); i++) {
        r = th_runner("plugin", "new", "activation", bad_names[i], "--dir",
                      th_tmp, NULL);
        cr_assert(eq(int, r.status, 2), "'%s': exit %d", bad_names[i],
                  r.status);
        char *want = th_fmt("plugin new: '%s' is not a plugin name",
                            bad_names[i]);
        th_assert_contains(r.err, want);
        free(want);
        th_run_free(&r);
    }
    /* A name of 65 bytes is one too many. */
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    r = th_runner("plugin", "new", "loss", long_name, "--dir", th_tmp, NULL);
    cr_assert(eq(int, r.status, 2));
    th_run_free(&r);

    r = th_runner("plugin", "new", "activation", NULL);
    cr_assert(eq(int, r.status, 2));
    th_run_free(&r);

    /* Nothing was written. */
    char *empty = th_fmt("test -z \"$(ls -A '%s')\"", th_tmp);
    cr_assert(eq(int, sh(empty), 0), "%s is not empty", th_tmp);
    free(empty);
}

/* ---- make install / uninstall ---- */

Test(install, destdir_out_of_tree_plugin_and_uninstall, .init = th_tmp_init,
     .fini = th_tmp_fini, .timeout = 180)
{
    char *root = th_fmt("%s/root", th_tmp), *work = th_fmt("%s/work", th_tmp);
    make_dir(work);
    /* -o all: copy what is built (make test builds `all` first) rather
     * than rebuild it under the feet of the tests running beside this
     * one. */
    char *make = th_fmt("make -s -o all install BUILD='%s' DESTDIR='%s' "
                        "PREFIX=/usr/local >'%s/make.log' 2>&1",
                        th_build(), root, th_tmp);
    int rc = sh(make);
    char *log = th_fmt("%s/make.log", th_tmp);
    char *log_text = th_read(log);
    cr_assert(eq(int, rc, 0), "make install failed:\n%s", log_text);
    free(log_text);

    const char *files[] = {
        "bin/runner", "include/nnlab/plugin.h", "lib/pkgconfig/nnlab.pc",
        "share/man/man1/runner.1", "lib/nnlab/plugins/tanh.so",
        "lib/nnlab/plugins/sigmoid.so", "lib/nnlab/plugins/adam.so"};
    for (size_t i = 0; i < COUNT(files); i++) {
        char *p = th_fmt("%s/usr/local/%s", root, files[i]);
        cr_assert(th_exists(p), "not installed: %s", p);
        free(p);
    }

    /* The installed runner finds its plugins at $ORIGIN/../lib/nnlab/
     * plugins. */
    char *runner = th_fmt("%s/usr/local/bin/runner", root);
    char *plugdir = th_fmt("%s/usr/local/lib/nnlab/plugins", root);
    char *list = th_fmt("'%s' plugins > '%s/plugins.txt' 2>&1", runner, work);
    cr_assert(eq(int, sh(list), 0));
    char *listing_path = th_fmt("%s/plugins.txt", work);
    char *listed_text = th_read(listing_path);
    char *tanh_line = th_fmt(
        "activation  tanh                1.0.0    %s/tanh.so\n", plugdir);
    th_assert_contains(listed_text, tanh_line);
    char *also = th_fmt("builtin (also %s/sigmoid.so)", plugdir);
    th_assert_contains(listed_text, also);
    char *path_line = th_fmt("plugins; plugin path: %s/usr/local/lib/nnlab/"
                             "plugins\n",
                             root);
    th_assert_contains(listed_text, path_line);

    /* pkg-config, with the DESTDIR as the sysroot. */
    char *env = th_fmt("PKG_CONFIG_PATH='%s/usr/local/lib/pkgconfig' "
                       "PKG_CONFIG_SYSROOT_DIR='%s'",
                       root, root);
    char *pc = th_fmt("%s pkg-config --cflags nnlab > '%s/cflags.txt'", env,
                      work);
    cr_assert(eq(int, sh(pc), 0), "%s", pc);
    char *cflags_path = th_fmt("%s/cflags.txt", work);
    char *cflags = th_read(cflags_path);
    char *want_cflags = th_fmt("-I%s/usr/local/include", root);
    cr_assert(cflags != NULL);
    cflags[strcspn(cflags, "\n")] = '\0';
    while (*cflags && cflags[strlen(cflags) - 1] == ' ')
        cflags[strlen(cflags) - 1] = '\0';
    cr_assert(eq(str, cflags, want_cflags));

    /* Scaffold with the installed runner; it points at the installed
     * header. */
    char *new_cmd = th_fmt("cd '%s' && '%s' plugin new activation outside "
                           "> new.txt 2>&1",
                           work, runner);
    cr_assert(eq(int, sh(new_cmd), 0), "%s", new_cmd);
    char *new_path = th_fmt("%s/new.txt", work);
    char *new_text = th_read(new_path);
    char *hint = th_fmt("build it:  cc -shared -fPIC -I%s/usr/local/include ",
                        root);
    th_assert_contains(new_text, hint);

    /* Build it out of tree, with pkg-config's flags only. */
    char *cc = th_fmt("cd '%s' && cc -std=c11 -Wall -Wextra -Werror -shared "
                      "-fPIC $(%s pkg-config --cflags nnlab) outside.c "
                      "-o outside.so -lm",
                      work, env);
    cr_assert(eq(int, sh(cc), 0), "%s", cc);

    /* The installed runner checks it, and tanh by name. */
    char *check = th_fmt("'%s' plugin check -q '%s/outside.so'", runner, work);
    cr_assert(eq(int, sh(check), 0), "%s", check);
    char *check_tanh = th_fmt("'%s' plugin check tanh > '%s/check.txt'", runner,
                              work);
    cr_assert(eq(int, sh(check_tanh), 0), "%s", check_tanh);
    char *check_path = th_fmt("%s/check.txt", work);
    char *check_text = th_read(check_path);
    char *check_header =
        th_fmt("activation tanh 1.0.0 (%s/tanh.so)\n", plugdir);
    cr_assert(th_starts_with(check_text, check_header), "%s", check_text);
    th_assert_contains(check_text, "\nresult: all checks passed\n");

    /* An experiment with the installed runner: the out-of-tree plugin by
     * path, and tanh by name from the installed plugin directory. */
    char *slot = th_fmt("activation: {path: %s/outside.so}", work);
    char *cfg = write_config(work, "exp.yaml", slot);
    char *run = th_fmt("'%s' '%s' -q -o '%s/res1'", runner, cfg, work);
    cr_assert(eq(int, sh(run), 0), "%s", run);
    char *hist = th_fmt("%s/res1/history.csv", work);
    cr_assert(th_exists(hist));
    char *cfg2 = write_config(work, "exp2.yaml",
                              "activation: tanh\nloss: mse");
    char *run2 = th_fmt("'%s' '%s' -q -o '%s/res2'", runner, cfg2, work);
    cr_assert(eq(int, sh(run2), 0), "%s", run2);

    /* make uninstall removes what install put there. */
    char *un = th_fmt("make -s uninstall BUILD='%s' DESTDIR='%s' "
                      "PREFIX=/usr/local >'%s/make.log' 2>&1",
                      th_build(), root, th_tmp);
    cr_assert(eq(int, sh(un), 0), "%s", un);
    for (size_t i = 0; i < COUNT(files); i++) {
        char *p = th_fmt("%s/usr/local/%s", root, files[i]);
        cr_assert(missing(p), "not uninstalled: %s", p);
        free(p);
    }
    cr_assert(missing(plugdir));
    char *left = th_fmt("test -z \"$(find '%s' -type f)\"", root);
    cr_assert(eq(int, sh(left), 0), "files left under %s", root);

    free(left);
    free(un);
    free(run2);
    free(cfg2);
    free(hist);
    free(run);
    free(cfg);
    free(slot);
    free(check_header);
    free(check_text);
    free(check_path);
    free(check_tanh);
    free(check);
    free(cc);
    free(hint);
    free(new_text);
    free(new_path);
    free(new_cmd);
    free(want_cflags);
    free(cflags);
    free(cflags_path);
    free(pc);
    free(env);
    free(path_line);
    free(also);
    free(tanh_line);
    free(listed_text);
    free(listing_path);
    free(list);
    free(plugdir);
    free(runner);
    free(log);
    free(make);
    free(work);
    free(root);
}
