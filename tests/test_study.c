/*
 * test_study.c - study files (SPEC section 5, issue 3): sweep expansion
 * (product size, odometer order, ids, each run's overrides), `range`
 * values (in a sweep and nl_range_values itself), `runs:` lists, the
 * overrides reaching each run's resolved config.yaml through the real
 * `runner batch`, and every study error pointing at the study file's
 * FILE:LINE:COL.
 *
 * Library tests use nl_study_load with a registry of the built-ins only
 * (nl_registry_new(NULL, 0)); each test writes its base config and study
 * into a fresh temporary directory.
 */
#include "helpers.h"

#include <limits.h>
#include <math.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "plugin_loader.h"
#include "study.h"

/* A small AND gate that trains in a few epochs: every run of these
 * studies finishes at once. */
static const char base_config[] =
    "name: tiny\n"
    "seed: 1\n"
    "data: {generator: and}\n"
    "model: {init: uniform, init_scale: 0.5}\n"
    "activation: sigmoid\n"
    "loss: mse\n"
    "optimizer: {name: gradient_descent, learning_rate: 2.0}\n"
    "training:\n"
    "  epochs: 20\n"
    "  stop: {loss_below: 0.01}\n";

static nl_registry *reg;

static void setup(void)
{
    th_tmp_init();
    reg = nl_registry_new(NULL, 0);
    cr_assert(reg != NULL);
}

static void teardown(void)
{
    nl_registry_free(reg);
    th_tmp_fini();
}

TestSuite(study, .init = setup, .fini = teardown);
TestSuite(range, .init = setup, .fini = teardown);
TestSuite(study_errors, .init = setup, .fini = teardown);
TestSuite(study_runner, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------ */
/* helpers                                                              */

/* Writes tmp/base.yaml and tmp/study.yaml (text), loads the study; the
 * load must succeed.  Returns the study path. */
static char *load_ok(nl_study *s, const char *study_text)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *path = th_put(th_tmp, "study.yaml", study_text);
    nl_diag d = {.status = NL_OK, .message = ""};
    int rc = nl_study_load(s, path, reg, &d);
    cr_assert(eq(int, rc, 0), "nl_study_load failed: %s", d.message);
    return path;
}

/* Writes tmp/base.yaml and tmp/study.yaml, loads the study, which must
 * fail with NL_EINPUT and a message starting "<study path>:LINE:COL:
 * error: ".  Returns the message (malloc'd). */
static char *load_fails_at(const char *study_text, int line, int col)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *path = th_put(th_tmp, "study.yaml", study_text);
    nl_study s;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_study_load(&s, path, reg, &d), -1),
              "the study loaded, but should not have");
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT), "status %d: %s",
              (int)d.status, d.message);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s:%d:%d: error: ", path, line, col);
    cr_assert(strncmp(d.message, want, strlen(want)) == 0,
              "message '%s' does not start with '%s'", d.message, want);
    free(path);
    return strdup(d.message);
}

static void assert_overrides(const nl_study_run *run, size_t n, ...)
{
    cr_assert(eq(sz, run->n_overrides, n), "run %s has %zu overrides",
              run->id, run->n_overrides);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        cr_assert(eq(str, run->overrides[i], (char *)want),
                  "run %s, override %zu", run->id, i);
    }
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* sweeps                                                               */

Test(study, sweep_is_the_cartesian_product_in_odometer_order)
{
    nl_study s;
    char *path = load_ok(&s,
                         "name: shootout\n"
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  activation.name: [sigmoid, step]\n"
                         "  optimizer.learning_rate: [0.5, 1]\n"
                         "  seed: [1, 2, 3]\n"
                         "group_by: [activation.name]\n");
    cr_assert(eq(str, s.name, "shootout"));
    cr_assert(eq(sz, s.n_runs, 12), "2 x 2 x 3 runs");
    /* The first key varies slowest, the last fastest. */
    static const char *const want[12] = {
        "activation.name=sigmoid,optimizer.learning_rate=0.5,seed=1",
        "activation.name=sigmoid,optimizer.learning_rate=0.5,seed=2",
        "activation.name=sigmoid,optimizer.learning_rate=0.5,seed=3",
        "activation.name=sigmoid,optimizer.learning_rate=1,seed=1",
        "activation.name=sigmoid,optimizer.learning_rate=1,seed=2",
        "activation.name=sigmoid,optimizer.learning_rate=1,seed=3",
        "activation.name=step,optimizer.learning_rate=0.5,seed=1",
        "activation.name=step,optimizer.learning_rate=0.5,seed=2",
        "activation.name=step,optimizer.learning_rate=0.5,seed=3",
        "activation.name=step,optimizer.learning_rate=1,seed=1",
        "activation.name=step,optimizer.learning_rate=1,seed=2",
        "activation.name=step,optimizer.learning_rate=1,seed=3",
    };
    char *base = th_join(th_tmp, "base.yaml");
    char base_real[PATH_MAX], cfg_real[PATH_MAX];
    cr_assert(realpath(base, base_real) != NULL);
    for (size_t i = 0; i < 12; i++) {
        cr_assert(eq(str, s.runs[i].id, (char *)want[i]), "run %zu", i);
        cr_assert(realpath(s.runs[i].config, cfg_real) != NULL,
                  "run %zu config %s", i, s.runs[i].config);
        cr_assert(eq(str, cfg_real, base_real),
                  "every run starts from the base config");
    }
    assert_overrides(&s.runs[7], 3, "activation.name=step",
                     "optimizer.learning_rate=0.5", "seed=2");
    assert_overrides(&s.runs[3], 3, "activation.name=sigmoid",
                     "optimizer.learning_rate=1", "seed=1");
    cr_assert(eq(sz, s.n_group_by, 1));
    cr_assert(eq(str, s.group_by[0], "activation.name"));
    nl_study_free(&s);
    free(base);
    free(path);
}

Test(study, ids_name_every_swept_key)
{
    nl_study s;
    char *path = load_ok(&s, "base: base.yaml\n"
                             "sweep:\n"
                             "  activation.name: [sigmoid, step]\n"
                             "  seed: [1, 2]\n");
    cr_assert(eq(str, s.name, "study"), "the name defaults to the stem");
    cr_assert(eq(sz, s.n_runs, 4));
    cr_assert(eq(str, s.runs[0].id, "activation.name=sigmoid,seed=1"));
    cr_assert(eq(str, s.runs[1].id, "activation.name=sigmoid,seed=2"));
    cr_assert(eq(str, s.runs[2].id, "activation.name=step,seed=1"));
    cr_assert(eq(str, s.runs[3].id, "activation.name=step,seed=2"));
    assert_overrides(&s.runs[3], 2, "activation.name=step", "seed=2");
    cr_assert(eq(sz, s.n_group_by, 0));
    /* Ids are unique and safe as directory names. */
    for (size_t i = 0; i < s.n_runs; i++) {
        cr_assert(strchr(s.runs[i].id, '/') == NULL);
        for (size_t j = 0; j < i; j++)
            cr_assert(strcmp(s.runs[i].id, s.runs[j].id) != 0);
    }
    nl_study_free(&s);
    free(path);
}

Test(study, a_single_key_sweep)
{
    nl_study s;
    char *path = load_ok(&s, "base: base.yaml\n"
                             "sweep:\n"
                             "  training.epochs: [5, 10, 15, 20, 25]\n");
    cr_assert(eq(sz, s.n_runs, 5));
    cr_assert(eq(str, s.runs[4].id, "training.epochs=25"));
    assert_overrides(&s.runs[2], 1, "training.epochs=15");
    nl_study_free(&s);
    free(path);
}

Test(study, a_study_without_sweep_or_runs_is_the_base_alone)
{
    nl_study s;
    char *path = load_ok(&s, "base: base.yaml\n");
    cr_assert(eq(sz, s.n_runs, 1));
    cr_assert(eq(str, s.runs[0].id, "base"));
    cr_assert(eq(sz, s.runs[0].n_overrides, 0));
    nl_study_free(&s);
    free(path);
}

Test(study, the_resolved_run_list_is_written_as_yaml)
{
    nl_study s;
    char *path = load_ok(&s, "name: w\n"
                             "base: base.yaml\n"
                             "sweep:\n"
                             "  activation.name: [sigmoid, step]\n"
                             "  seed: [1, 2]\n"
                             "group_by: [activation.name]\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f != NULL);
    cr_assert(eq(int, nl_study_write(&s, f), 0));
    fclose(f);
    th_assert_contains(buf, "name: \"w\"");
    th_assert_contains(buf, "group_by: [\"activation.name\"]");
    th_assert_contains(buf, "- id: \"activation.name=step,seed=2\"");
    th_assert_contains(buf, "set: [\"activation.name=step\", \"seed=2\"]");
    free(buf);
    nl_study_free(&s);
    free(path);
}

/* ------------------------------------------------------------------ */
/* ranges                                                               */

Test(range, a_sweep_range_excludes_stop)
{
    nl_study s;
    char *path = load_ok(&s, "base: base.yaml\n"
                             "sweep:\n"
                             "  optimizer.learning_rate: {range: [0.1, 0.5, 0.1]}\n");
    /* 0.1 0.2 0.3 0.4: stop is exclusive, and 0.1 + 3 * 0.1 =
     * 0.30000000000000004 is written as 0.3. */
    cr_assert(eq(sz, s.n_runs, 4));
    static const char *const want[4] = {
        "optimizer.learning_rate=0.1", "optimizer.learning_rate=0.2",
        "optimizer.learning_rate=0.3", "optimizer.learning_rate=0.4"};
    for (size_t i = 0; i < 4; i++) {
        assert_overrides(&s.runs[i], 1, want[i]);
        cr_assert(eq(str, s.runs[i].id, (char *)want[i]));
    }
    nl_study_free(&s);
    free(path);
}

Test(range, a_range_combines_with_lists)
{
    nl_study s;
    char *path = load_ok(&s, "base: base.yaml\n"
                             "sweep:\n"
                             "  seed: {range: [1, 4, 1]}\n"
                             "  activation.name: [sigmoid, step]\n");
    cr_assert(eq(sz, s.n_runs, 6), "3 seeds x 2 activations");
    cr_assert(eq(str, s.runs[0].id, "seed=1,activation.name=sigmoid"));
    cr_assert(eq(str, s.runs[5].id, "seed=3,activation.name=step"));
    nl_study_free(&s);
    free(path);
}

Test(range, values_directly)
{
    double v[16];
    /* Integers. */
    cr_assert(eq(long, nl_range_values(0, 5, 1, v, 16), 5));
    for (int i = 0; i < 5; i++)
        cr_assert(eq(dbl, v[i], (double)i));
    /* Floats: 0.1 .. 0.5 by 0.1 gives four values, stop excluded even
     * though (0.5 - 0.1) / 0.1 is 4.000000000000001 in floating point. */
    cr_assert(eq(long, nl_range_values(0.1, 0.5, 0.1, v, 16), 4));
    static const double want[4] = {0.1, 0.2, 0.3, 0.4};
    for (int i = 0; i < 4; i++)
        cr_assert(fabs(v[i] - want[i]) < 1e-12, "v[%d] = %.17g", i, v[i]);
    /* 0 .. 1 by 0.1: ten values, the last 0.9. */
    cr_assert(eq(long, nl_range_values(0, 1, 0.1, v, 16), 10));
    cr_assert(fabs(v[9] - 0.9) < 1e-12);
    /* A step that does not divide the span: 0, 0.3, 0.6, 0.9. */
    cr_assert(eq(long, nl_range_values(0, 1, 0.3, v, 16), 4));
    cr_assert(fabs(v[3] - 0.9) < 1e-12);
    /* Counting down. */
    cr_assert(eq(long, nl_range_values(1, 0, -0.25, v, 16), 4));
    cr_assert(eq(dbl, v[0], 1.0));
    cr_assert(eq(dbl, v[3], 0.25));
    /* Exactly max values fit. */
    cr_assert(eq(long, nl_range_values(0, 16, 1, v, 16), 16));
}

Test(range, empty_and_invalid_ranges)
{
    double v[8];
    cr_assert(eq(long, nl_range_values(1, 1, 0.5, v, 8), -1), "empty");
    cr_assert(eq(long, nl_range_values(5, 1, 1, v, 8), -1),
              "stop below start with a positive step");
    cr_assert(eq(long, nl_range_values(0, 1, -0.1, v, 8), -1),
              "stop above start with a negative step");
    cr_assert(eq(long, nl_range_values(0, 1, 0, v, 8), -1), "step 0");
    cr_assert(eq(long, nl_range_values(NAN, 1, 0.1, v, 8), -1));
    cr_assert(eq(long, nl_range_values(0, INFINITY, 1, v, 8), -1));
    cr_assert(eq(long, nl_range_values(0, 1, NAN, v, 8), -1));
    cr_assert(eq(long, nl_range_values(0, 9, 1, v, 8), -1),
              "longer than max");
}

Test(range, an_empty_range_in_a_study_is_an_error_at_its_line)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n"
                              "  optimizer.learning_rate: {range: [0.5, 0.1, 0.1]}\n",
                              4, 36);
    th_assert_contains(msg, "range [0.5, 0.1, 0.1] is empty");
    free(msg);
}

Test(range, a_malformed_range_is_an_error)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  optimizer.learning_rate: {range: [0.1, 0.5]}\n",
                              3, 28);
    th_assert_contains(msg, "{range: [start, stop, step]}");
    free(msg);
}

/* ------------------------------------------------------------------ */
/* runs: lists                                                          */

Test(study, runs_list_gives_one_run_per_entry)
{
    nl_study s;
    char *path = load_ok(&s,
                         "base: base.yaml\n"
                         "runs:\n"
                         "  - {seed: 7}\n" /* the base's seed is 1 */
                         "  - {activation.name: step, activation.threshold: 0.25}\n"
                         "  - optimizer.learning_rate: 0.5\n"
                         "    seed: 3\n"
                         "  - {}\n"
                         "group_by: [seed]\n");
    cr_assert(eq(sz, s.n_runs, 4));
    cr_assert(eq(str, s.runs[0].id, "seed=7"));
    assert_overrides(&s.runs[0], 1, "seed=7");
    cr_assert(eq(str, s.runs[1].id,
                 "activation.name=step,activation.threshold=0.25"));
    assert_overrides(&s.runs[1], 2, "activation.name=step",
                     "activation.threshold=0.25");
    cr_assert(eq(str, s.runs[2].id, "optimizer.learning_rate=0.5,seed=3"));
    assert_overrides(&s.runs[2], 2, "optimizer.learning_rate=0.5", "seed=3");
    cr_assert(eq(str, s.runs[3].id, "base"), "a run with no override");
    cr_assert(eq(sz, s.runs[3].n_overrides, 0));
    cr_assert(eq(sz, s.n_group_by, 1));
    nl_study_free(&s);
    free(path);
}

/* Runs that mean the same, however spelt, are one run twice; runs whose
 * ids meet though they differ would share a directory. */
Test(study_errors, runs_alike_in_their_config_are_one_run)
{
    static const struct {
        const char *study;
        int line, col;
        const char *says;
    } cases[] = {
        {"base: base.yaml\nsweep:\n  seed: [1, 01]\n", 3, 3,
         "the sweep makes one run twice: seed=1 and seed=01 resolve to the "
         "same config (values that mean the same, such as 1 and 1.0)"},
        {"base: base.yaml\nsweep:\n  optimizer.learning_rate: [1, 1.0]\n",
         3, 3,
         "optimizer.learning_rate=1 and optimizer.learning_rate=1.0 resolve "
         "to the same config"},
        {"base: base.yaml\nruns:\n  - {seed: 2, activation.name: step}\n"
         "  - {activation.name: step, seed: 2}\n", 4, 5,
         "this run is run 1 again (activation.name=step,seed=2 resolves to "
         "the same config as seed=2,activation.name=step)"},
        {"base: base.yaml\nruns:\n  - {seed: 3}\n  - {}\n"
         "  - {seed: 1}\n", 5, 5, /* the base's own seed */
         "this run is run 2 again (seed=1 resolves to the same config as "
         "base)"},
        {"base: base.yaml\nruns:\n  - {data: {csv: d/x.csv}}\n"
         "  - {data: {csv: d_x.csv}}\n", 4, 5,
         "two different runs get the id data={csv:_d_x.csv}: their values "
         "differ only in characters a directory name cannot hold"},
    };
    char *sub = th_join(th_tmp, "d"); /* the two data files are there */
    cr_assert(eq(int, mkdir(sub, 0755), 0));
    free(th_put(th_tmp, "d/x.csv", "a,y\n1,0\n"));
    free(th_put(th_tmp, "d_x.csv", "a,y\n1,0\n"));
    free(sub);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *msg = load_fails_at(cases[i].study, cases[i].line,
                                  cases[i].col);
        th_assert_contains(msg, cases[i].says);
        free(msg);
    }
}

/* A run's data file that is not there stops the study before any run,
 * at the line that named it. */
Test(study_errors, a_missing_data_file_is_found_before_any_run)
{
    char *msg = load_fails_at("base: base.yaml\nruns:\n"
                              "  - {data: {csv: nothere.csv}}\n", 3, 18);
    th_assert_contains(msg, "/nothere.csv: No such file or directory "
                            "(data.csv is relative to the config file)");
    free(msg);
}

Test(study_errors, a_group_by_key_listed_twice)
{
    char *msg = load_fails_at("base: base.yaml\nsweep:\n  seed: [1, 2]\n"
                              "group_by: [seed, seed]\n", 4, 18);
    th_assert_contains(msg, "group_by lists 'seed' twice");
    free(msg);
}

Test(study_errors, a_repeated_run_is_an_error)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "runs:\n"
                              "  - {seed: 1}\n"
                              "  - {seed: 2}\n"
                              "  - {seed: 1}\n",
                              5, 5);
    th_assert_contains(msg, "repeats run 1 (seed=1)");
    free(msg);
}

Test(study_errors, a_value_listed_twice_in_a_sweep)
{
    /* Two runs with one id would share (and race on) one directory. */
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2, 1]\n"
                              "  activation.name: [step]\n",
                              3, 3);
    th_assert_contains(msg, "seed=1,activation.name=step twice");
    free(msg);
}

/* ------------------------------------------------------------------ */
/* errors at the study's FILE:LINE:COL                                  */

Test(study_errors, unknown_dotted_path_points_at_the_sweep_key)
{
    char *msg = load_fails_at("name: typo\n"
                              "base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n"
                              "  optimizer.learning_rat: [0.1, 0.2]\n",
                              5, 3);
    th_assert_contains(msg, "'learning_rat'");
    th_assert_contains(msg, "did you mean 'learning_rate'?");
    free(msg);
}

Test(study_errors, unknown_top_level_section_points_at_the_sweep_key)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  trainng.epochs: [1, 2]\n",
                              3, 3);
    th_assert_contains(msg, "'trainng'");
    th_assert_contains(msg, "did you mean 'training'?");
    free(msg);
}

Test(study_errors, unknown_path_in_a_runs_entry)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "runs:\n"
                              "  - {seed: 1}\n"
                              "  - {optimizer.learnin_rate: 0.3}\n",
                              4, 6);
    th_assert_contains(msg, "did you mean 'learning_rate'?");
    free(msg);
}

Test(study_errors, bad_value_points_at_the_study_line)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1]\n"
                              "  optimizer.learning_rate: [0.5, -1]\n",
                              4, 34);
    th_assert_contains(msg, "learning_rate = -1");
    th_assert_contains(msg, "minimum");
    free(msg);
}

Test(study_errors, bad_value_alone)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  optimizer.learning_rate: [-1]\n",
                              3, 29);
    th_assert_contains(msg, "learning_rate = -1");
    free(msg);
}

Test(study_errors, unknown_plugin_name_in_a_sweep)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *path = th_put(th_tmp, "study.yaml",
                        "base: base.yaml\n"
                        "sweep:\n"
                        "  activation.name: [sigmoid, sigmoud]\n");
    nl_study s;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_study_load(&s, path, reg, &d), -1));
    char want[PATH_MAX + 16];
    snprintf(want, sizeof(want), "%s:3:30:", path);
    th_assert_contains(d.message, want);
    th_assert_contains(d.message, "sigmoud");
    free(path);
}

Test(study_errors, group_by_a_key_that_is_not_swept)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n"
                              "group_by: [activation.name]\n",
                              4, 12);
    th_assert_contains(msg, "group_by key 'activation.name' is not swept");
    free(msg);
    msg = load_fails_at("base: base.yaml\n"
                        "sweep:\n"
                        "  seed: [1, 2]\n"
                        "  activation.name: [sigmoid, step]\n"
                        "group_by: [activation.name, sed]\n",
                        5, 29);
    th_assert_contains(msg, "'sed' is not swept; did you mean 'seed'?");
    free(msg);
}

Test(study_errors, sweep_and_runs_both_given)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n"
                              "runs:\n"
                              "  - {seed: 3}\n",
                              5, 3);
    th_assert_contains(msg, "not both");
    free(msg);
}

Test(study_errors, missing_base)
{
    char *msg = load_fails_at("name: nobase\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n",
                              1, 1);
    th_assert_contains(msg, "missing base:");
    free(msg);
}

Test(study_errors, base_that_does_not_exist)
{
    char *msg = load_fails_at("base: nothere.yaml\n"
                              "sweep:\n"
                              "  seed: [1, 2]\n",
                              1, 7);
    th_assert_contains(msg, "nothere.yaml");
    free(msg);
}

Test(study_errors, unknown_study_key_has_a_hint)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweeps:\n"
                              "  seed: [1, 2]\n",
                              2, 1);
    th_assert_contains(msg, "did you mean 'sweep'?");
    free(msg);
}

Test(study_errors, sweep_values_must_be_a_non_empty_list)
{
    char *msg = load_fails_at("base: base.yaml\n"
                              "sweep:\n"
                              "  seed: []\n",
                              3, 9);
    th_assert_contains(msg, "seed");
    free(msg);
    msg = load_fails_at("base: base.yaml\n"
                        "sweep:\n"
                        "  seed: 3\n",
                        3, 9);
    th_assert_contains(msg, "non-empty list");
    free(msg);
}

/* ------------------------------------------------------------------ */
/* through the real runner                                              */

/* Reads tmp/out/runs/<id>/<file>; asserts it is there. */
static char *run_file(const char *out, const char *id, const char *file)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/runs/%s/%s", out, id, file) >= 0);
    char *text = th_read(p);
    cr_assert(text != NULL, "missing %s", p);
    free(p);
    return text;
}

Test(study_runner, overrides_reach_each_runs_config)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "name: applied\n"
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  optimizer.learning_rate: [0.25, 0.75]\n"
                         "  training.epochs: [3]\n"
                         "  data.generator: [or]\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-o", out, "-j", "2", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    static const char *const ids[2] = {
        "optimizer.learning_rate=0.25,training.epochs=3,data.generator=or",
        "optimizer.learning_rate=0.75,training.epochs=3,data.generator=or"};
    static const char *const rates[2] = {"learning_rate: 0.25\n",
                                         "learning_rate: 0.75\n"};
    for (int i = 0; i < 2; i++) {
        char *cfg = run_file(out, ids[i], "config.yaml");
        th_assert_contains(cfg, rates[i]);
        th_assert_contains(cfg, "epochs: 3\n");
        th_assert_contains(cfg, "generator: or\n");
        th_assert_contains(cfg, "seed: 1\n"); /* from the base */
        free(cfg);
        char *sum = run_file(out, ids[i], "summary.json");
        th_assert_contains(sum, "\"epochs\": 3");
        th_assert_contains(sum, "\"learning_rate\": 0.");
        free(sum);
    }
    /* The resolved run list beside the results. */
    char *runs_yaml = th_join(out, "runs.yaml");
    char *text = th_read(runs_yaml);
    cr_assert(text != NULL);
    th_assert_contains(text, ids[0]);
    th_assert_contains(text, "\"optimizer.learning_rate=0.75\"");
    free(text);
    free(runs_yaml);
    th_run_free(&r);
    free(out);
    free(study);
}

Test(study_runner, a_runs_list_sets_plugin_params)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study =
        th_put(th_tmp, "study.yaml",
               "base: base.yaml\n"
               "runs:\n"
               "  - {activation.name: step, activation.threshold: 0.25}\n"
               "  - {seed: 7, training.epochs: 2}\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *cfg = run_file(out, "activation.name=step,activation.threshold=0.25",
                         "config.yaml");
    th_assert_contains(cfg, "name: step\n");
    th_assert_contains(cfg, "threshold: 0.25\n");
    free(cfg);
    cfg = run_file(out, "seed=7,training.epochs=2", "config.yaml");
    th_assert_contains(cfg, "seed: 7\n");
    th_assert_contains(cfg, "epochs: 2\n");
    th_assert_contains(cfg, "name: sigmoid\n");
    free(cfg);
    th_run_free(&r);
    free(out);
    free(study);
}

Test(study_runner, an_unknown_path_stops_the_batch_before_any_run)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  seed: [1, 2]\n"
                         "  optimizer.learning_rat: [0.1]\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 2));
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s:4:3: error: ", study);
    th_assert_contains(r.err, want);
    th_assert_contains(r.err, "did you mean 'learning_rate'?");
    cr_assert(eq(int, access(out, F_OK), -1), "nothing ran");
    th_run_free(&r);
    free(out);
    free(study);
}

/* The study's name names a directory under the results root: a name that
 * would climb out of it is refused at its line. */
Test(study_errors, a_name_that_is_a_path_is_refused)
{
    char *msg = load_fails_at("name: ../../escaped\nbase: base.yaml\n", 1, 7);
    cr_assert(strstr(msg, "name '../../escaped' must be letters, digits") !=
              NULL, "%s", msg);
    free(msg);
}

/* Many long overrides: the id is cut to 200 bytes and ends in a hash of
 * the whole id, so each run still gets its own directory name that the
 * file system accepts. */
Test(study, a_long_id_is_cut_with_a_hash)
{
    nl_study s;
    free(load_ok(&s, "base: base.yaml\nsweep:\n"
                     "  training.stop.loss_below: [0.01234567890123456, "
                     "0.01234567890123457]\n"
                     "  training.stop.min_delta: [0.00000000001234567890123]\n"
                     "  training.stop.patience: [123456789]\n"
                     "  optimizer.learning_rate: [0.1234567890123456789]\n"
                     "  model.init_scale: [0.1234567890123456789]\n"
                     "  data.test_fraction: [0.1234567890123456789]\n"));
    cr_assert(eq(sz, s.n_runs, 2));
    for (size_t r = 0; r < s.n_runs; r++) {
        cr_assert(strlen(s.runs[r].id) <= 200, "%zu bytes: %s",
                  strlen(s.runs[r].id), s.runs[r].id);
        cr_assert(strchr(s.runs[r].id, '~') != NULL, "%s", s.runs[r].id);
    }
    cr_assert(strcmp(s.runs[0].id, s.runs[1].id) != 0);
    nl_study_free(&s);
}
