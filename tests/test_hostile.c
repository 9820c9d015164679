/*
 * test_hostile.c - inputs written to make nnlab load or write what it
 * should not, or exhaust the machine, refused through the real runner
 * binary with a message that names the limit or the reason, and nothing
 * written: plugin names that are paths (from --set and from a study),
 * plugin paths that are directories or sit in a directory anyone may write
 * to, YAML bombs (aliases, depth, node count, size), ten-billion epochs,
 * batch sizes and samples, non-finite or non-positive learning rates, a
 * -o directory that is not a result, a study whose base is not a config,
 * and a runs: list big enough to be slow to check.
 *
 * The same refusals already held elsewhere (plugin names with / or .. in
 * a config file, a symlink loop, a file anyone may write to, the 40-level
 * flow nesting, zero, negative and infinite learning rates, epochs over
 * the limit) are listed with their tests in tests/README.md.
 */
#include "helpers.h"

#include <limits.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

TestSuite(hostile, .init = th_tmp_init, .fini = th_tmp_fini);

/* ---- helpers ---- */

/* Runs `runner CONFIG -q -o DIR [extra...]` on a config file with `text`
 * and checks it exits `status`, prints `message` (the whole of stderr,
 * after "<config path>" when starts_with_path) and makes no result
 * directory. */
static void refused_run(const char *text, const char *extra1,
                        const char *extra2, int status, bool starts_with_path,
                        const char *message)
{
    char *cfg = th_put(th_tmp, "exp.yaml", text);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, extra1, extra2, NULL);
    cr_assert(eq(int, r.status, status), "exit %d, stderr: %s", r.status,
              r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s%s\n", starts_with_path ? cfg : "",
                       message) >= 0);
    cr_assert(eq(str, r.err, want));
    cr_assert(eq(str, r.out, ""));
    cr_assert(th_exists(out) == false, "a result directory was made");
    free(want);
    th_run_free(&r);
    free(out);
    free(cfg);
}

#define DATA "data: {generator: and}\n"

/* ---- plugin names that are paths ---- */

Test(hostile, plugin_name_with_a_path_from_set_is_refused)
{
    refused_run(DATA, "--set", "activation.name=../../tmp/evil", 2, false,
                "activation.name=../../tmp/evil: error: '../../tmp/evil' is "
                "not a plugin name ([a-z0-9_]+; a name is never a path): "
                "write path: FILE.so to load a file");
    refused_run(DATA, "--set", "loss=lib/mse", 2, false,
                "loss=lib/mse: error: 'lib/mse' is not a plugin name "
                "([a-z0-9_]+; a name is never a path): write path: FILE.so "
                "to load a file");
}

Test(hostile, plugin_name_with_a_path_in_a_study_stops_the_batch)
{
    free(th_put(th_tmp, "base.yaml", DATA));
    char *study = th_put(th_tmp, "study.yaml",
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  activation.name: [sigmoid, ../evil]\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:3:30: error: '../evil' is not a plugin name "
                              "([a-z0-9_]+; a name is never a path): write "
                              "path: FILE.so to load a file\n", study) >= 0);
    cr_assert(eq(str, r.err, want));
    cr_assert(th_exists(out) == false, "nothing runs");
    free(want);
    th_run_free(&r);
    free(out);
    free(study);
}

/* ---- plugin paths ---- */

Test(hostile, plugin_path_that_is_a_directory_exits_3)
{
    char *dir = th_join(th_tmp, "plugins.so");
    cr_assert(eq(int, mkdir(dir, 0755), 0));
    char real_dir[PATH_MAX];
    cr_assert(realpath(dir, real_dir) != NULL);
    char *msg = NULL;
    cr_assert(asprintf(&msg, ":2:20: error: %s: cannot load plugin: not a "
                             "regular file (a directory)", real_dir) >= 0);
    refused_run(DATA "activation: {path: plugins.so}\n", NULL, NULL, 3, true,
                msg);
    free(msg);
    free(dir);
}

/* Anyone could swap the file for their own code between the check and
 * the load: refused unless the directory has the sticky bit, as /tmp. */
Test(hostile, plugin_in_a_directory_anyone_may_write_to_exits_3)
{
    char *dir = th_join(th_tmp, "shared");
    cr_assert(eq(int, mkdir(dir, 0700), 0));
    cr_assert(eq(int, chmod(dir, 0777), 0));
    char *so = th_build_path("fixtures/fixture_relu.so");
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "cp '%s' '%s/relu.so' && chmod 644 "
                             "'%s/relu.so'", so, dir, dir) >= 0);
    cr_assert(eq(int, system(cmd), 0));
    char real_dir[PATH_MAX];
    cr_assert(realpath(dir, real_dir) != NULL);
    char *msg = NULL;
    cr_assert(asprintf(&msg, ":2:20: error: %s/relu.so: refusing to load a "
                             "plugin from %s, which anyone may write to "
                             "(mode 0777); move the plugin or run chmod o-w "
                             "on the directory", real_dir, real_dir) >= 0);
    refused_run(DATA "activation: {path: shared/relu.so}\n", NULL, NULL, 3,
                true, msg);

    /* With the sticky bit others cannot replace the file: it loads. */
    cr_assert(eq(int, chmod(dir, 01777), 0));
    char *cfg = th_put(th_tmp, "ok.yaml",
                       DATA "activation: {path: shared/relu.so}\n"
                            "training: {epochs: 5}\n");
    char *out = th_join(th_tmp, "ok");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(msg);
    free(cmd);
    free(so);
    free(dir);
}

/* ---- YAML bombs ---- */

/* The billion laughs: refused at the first anchor, before anything is
 * expanded. */
Test(hostile, alias_bomb_is_refused_at_the_first_anchor)
{
    refused_run("a: &a [x, x, x, x, x, x, x, x, x]\n"
                "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" DATA,
                NULL, NULL, 2, true,
                ":1:4: error: anchors (&a) and aliases are not supported in "
                "nnlab files; write the value out");
}

Test(hostile, alias_bomb_in_a_study_is_refused)
{
    free(th_put(th_tmp, "base.yaml", DATA));
    char *study = th_put(th_tmp, "study.yaml", "base: base.yaml\n"
                                               "x: &x [1, 2, 3]\n"
                                               "sweep: {seed: *x}\n");
    th_run r = th_runner("batch", study, "--list-jobs", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "study.yaml:2:4: error: anchors (&x) and aliases "
                              "are not supported in nnlab files");
    cr_assert(eq(str, r.out, ""));
    th_run_free(&r);
    free(study);
}

Test(hostile, deep_block_nesting_is_refused_at_the_limit)
{
    char text[8192] = DATA "model:\n";
    for (int i = 0; i < 34; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof(text) - len, "%*sk%d:\n", 2 * (i + 1), "",
                 i);
    }
    strcat(text, "                                                                      v\n");
    refused_run(text, NULL, NULL, 2, true,
                ":34:65: error: nesting deeper than 32 levels (limit)");
}

Test(hostile, too_many_nodes_are_refused_at_the_limit)
{
    size_t n = 100001, len = 0;
    char *text = malloc(2 * n + 64);
    cr_assert(text != NULL);
    len += (size_t)sprintf(text, DATA "model: [");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, i ? ",1" : "1");
    strcpy(text + len, "]\n");
    refused_run(text, NULL, NULL, 2, true,
                ":2:199995: error: more than 100000 nodes in one document "
                "(limit); split the file");
    free(text);
}

Test(hostile, file_over_one_mebibyte_is_refused_at_the_limit)
{
    size_t size = (1u << 20) + 64;
    char *text = malloc(size + 1);
    cr_assert(text != NULL);
    memset(text, ' ', size);
    memcpy(text, DATA "#", strlen(DATA) + 1);
    text[size - 1] = '\n';
    text[size] = '\0';
    refused_run(text, NULL, NULL, 2, true,
                ": larger than 1048576 bytes (limit)");
    free(text);
}

/* ---- sizes that would exhaust the machine ---- */

Test(hostile, ten_billion_epochs_is_refused)
{
    refused_run(DATA "training: {epochs: 10000000000}\n", NULL, NULL, 2, true,
                ":2:20: error: 10000000000 is too large (at most "
                "1000000000)");
    refused_run(DATA, "--set", "training.epochs=10000000000", 2, false,
                "training.epochs=10000000000: error: 10000000000 is too large "
                "(at most 1000000000)");
}

Test(hostile, ten_billion_batch_size_is_refused)
{
    refused_run(DATA "training: {batch_size: 10000000000}\n", NULL, NULL, 2,
                true,
                ":2:24: error: training.batch_size must be full or a row "
                "count from 1 to 100000000, got 10000000000");
}

Test(hostile, ten_billion_generated_rows_are_refused)
{
    refused_run("data: {generator: blobs, samples: 10000000000}\n", NULL, NULL,
                2, true,
                ":1:35: error: 10000000000 is too large (at most 100000000)");
    refused_run("data: {generator: blobs, samples: 100000, features: "
                "100000}\n", NULL, NULL, 2, true,
                ":1:7: error: data.samples x data.features is over 100000000 "
                "values (limit)");
}

/* ---- learning rates ---- */

Test(hostile, nan_learning_rate_is_refused)
{
    refused_run(DATA "optimizer: {name: gradient_descent, "
                "learning_rate: .nan}\n", NULL, NULL, 2, true,
                ":2:52: error: optimizer 'gradient_descent': learning_rate = "
                ".nan is not finite (allowed: > 0)");
}

Test(hostile, minus_infinite_and_negative_learning_rates_from_set)
{
    refused_run(DATA, "--set", "optimizer.learning_rate=-.inf", 2, false,
                "optimizer.learning_rate=-.inf: error: optimizer "
                "'gradient_descent': learning_rate = -.inf is not finite "
                "(allowed: > 0)");
    refused_run(DATA, "--set", "optimizer.learning_rate=-0.5", 2, false,
                "optimizer.learning_rate=-0.5: error: optimizer "
                "'gradient_descent': learning_rate = -0.5 is below the "
                "minimum (allowed: > 0)");
}

/* ---- -o DIR that is not a result ---- */

static char *dir_with(const char *name, const char *const *files, size_t n)
{
    char *dir = th_join(th_tmp, name);
    cr_assert(eq(int, mkdir(dir, 0755), 0));
    for (size_t i = 0; i < n; i++) {
        char *p = th_join(dir, files[i]);
        cr_assert(eq(int, th_write(p, "keep me\n"), 0));
        free(p);
    }
    return dir;
}

Test(hostile, output_directory_that_is_not_a_result_is_refused)
{
    const char *files[] = {"thesis.tex", "history.csv"};
    char *dir = dir_with("papers", files, 2);
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", dir, NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s: not empty and not an nnlab result "
                              "directory (it holds 'thesis.tex'); choose "
                              "another -o DIR, or add --force to write there "
                              "anyway\n", dir) >= 0);
    cr_assert(eq(str, r.err, want));
    th_run_free(&r);
    /* Nothing was written or touched. */
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "test \"$(ls -A '%s' | tr '\\n' ' ')\" = "
                             "'history.csv thesis.tex '", dir) >= 0);
    cr_assert(eq(int, system(cmd), 0), "the directory changed");
    char *p = th_join(dir, "history.csv"), *text = th_read(p);
    cr_assert(eq(str, text, "keep me\n"));
    free(text);
    free(p);

    /* --force writes the result beside the other files. */
    r = th_runner("configs/step_mse.yaml", "-q", "-o", dir, "--force", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    p = th_join(dir, "summary.json");
    cr_assert(th_exists(p));
    free(p);
    p = th_join(dir, "thesis.tex");
    text = th_read(p);
    cr_assert(eq(str, text, "keep me\n"));
    free(text);
    free(p);
    free(cmd);
    free(want);
    free(dir);
}

Test(hostile, a_subdirectory_makes_it_not_a_result)
{
    char *dir = th_join(th_tmp, "batch");
    char *runs = th_join(dir, "runs");
    cr_assert(eq(int, mkdir(dir, 0755), 0));
    cr_assert(eq(int, mkdir(runs, 0755), 0));
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", dir, NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "(it holds 'runs')");
    th_run_free(&r);
    free(runs);
    free(dir);
}

/* What a run or a batch leaves in a directory is fine: an earlier result
 * (replaced), a batch's runner.log, a killed run's temporary files. */
Test(hostile, output_directory_that_is_a_result_or_empty_is_accepted)
{
    char *empty = dir_with("empty", NULL, 0);
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", empty, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    /* The same directory again: it now holds a result. */
    r = th_runner("configs/sigmoid_mse.yaml", "-q", "-o", empty, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    char *p = th_join(empty, "summary.json"), *text = th_read(p);
    th_assert_contains(text, "\"name\": \"sigmoid_mse\"");
    free(text);
    free(p);

    const char *files[] = {"runner.log", ".history.csv.tmp-12345",
                           "config.yaml"};
    char *dir = dir_with("batch_run", files, 3);
    r = th_runner("configs/step_mse.yaml", "-q", "-o", dir, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    free(dir);
    free(empty);
}

/* ---- studies ---- */

/* Found while fuzzing the study loader: a base config that is a list
 * crashed the runner (a NULL key array indexed while applying the sweep). */
Test(hostile, study_whose_base_is_a_list_is_refused)
{
    free(th_put(th_tmp, "base.yaml", "- data\n- name: x\n"));
    char *study = th_put(th_tmp, "study.yaml", "base: base.yaml\n"
                                               "sweep: {seed: [1, 2]}\n");
    th_run r = th_runner("batch", study, "--list-jobs", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s/base.yaml:1:1: error: a config is a map of "
                              "keys (name:, data:, activation:, ...)\n",
                       th_tmp) >= 0);
    cr_assert(eq(str, r.err, want));
    free(want);
    th_run_free(&r);
    free(study);
}

/* 33 000 runs (the node limit allows about that many) with the repeat at
 * the end: each run was compared with every earlier one, which took 5 s;
 * sorted, it takes a fraction of a second. */
Test(hostile, a_long_runs_list_is_checked_in_bounded_time, .timeout = 60)
{
    free(th_put(th_tmp, "base.yaml", DATA "training: {epochs: 1}\n"));
    size_t n = 33000;
    char *text = malloc(n * 24 + 64), *p = text;
    cr_assert(text != NULL);
    p += sprintf(p, "base: base.yaml\nruns:\n");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "- {seed: %zu}\n", i == n - 1 ? (size_t)7 : i);
    char *study = th_put(th_tmp, "study.yaml", text);
    double t0 = th_now();
    th_run r = th_runner("batch", study, "--list-jobs", NULL);
    double seconds = th_now() - t0;
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:33002:3: error: this run repeats run 8 "
                              "(seed=7)\n", study) >= 0);
    cr_assert(eq(str, r.err, want));
    double limit = strstr(th_build(), "asan") ? 30 : 3;
    cr_assert(lt(dbl, seconds, limit), "took %.1f s", seconds);
    free(want);
    th_run_free(&r);
    free(study);
    free(text);
}

/* runner batch -o: a directory holding other files, or an earlier batch
 * (whose runs/ would mix into the new comparison), is refused unless
 * --force; nothing is written there. */
Test(hostile, batch_output_directory_that_is_not_empty_is_refused)
{
    char *out = th_join(th_tmp, "mine");
    cr_assert(eq(int, mkdir(out, 0755), 0));
    free(th_put(out, "notes.txt", "keep me\n"));
    th_run r = th_runner("batch", "configs/step_mse.yaml", "-q", "-o", out,
                         NULL);
    cr_assert(eq(int, r.status, 2), "%s", r.err);
    char *want = th_fmt("%s: not empty and not an nnlab result directory (it "
                        "holds 'notes.txt'); choose another -o DIR, or add "
                        "--force to write there anyway\n", out);
    cr_assert(eq(str, r.err, want));
    cr_assert(eq(int, th_exists_in(out, "runs"), 0), "nothing written");
    th_run_free(&r);
    free(want);
    /* An earlier batch in the way is refused too ... */
    char *earlier = th_join(th_tmp, "earlier");
    r = th_runner("batch", "configs/step_mse.yaml", "-q", "-o", earlier, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    r = th_runner("batch", "configs/step_mse.yaml", "-q", "-o", earlier, NULL);
    cr_assert(eq(int, r.status, 2), "%s", r.err);
    th_assert_contains(r.err, "holds an earlier batch");
    th_run_free(&r);
    /* ... unless --force, which writes beside the files. */
    r = th_runner("batch", "configs/step_mse.yaml", "-q", "--force", "-o",
                  out, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(th_exists_in(out, "comparison.csv"));
    cr_assert(th_exists_in(out, "notes.txt"));
    th_run_free(&r);
    free(earlier);
    free(out);
}

/* A compute call that fails says why, through describe_error: the run
 * stops with exit 3 and the plugin's reason. */
Test(hostile, a_failing_loss_says_why)
{
    char *csv = th_put(th_tmp, "bad.csv", "a,b,y\n1,2,0\n2,1,2\n");
    char *so = th_build_path("plugins/cross_entropy.so");
    char *so_real = th_real(so);
    char *text = th_fmt("data: {csv: %s}\nloss: {path: %s}\n"
                        "training: {epochs: 3}\n", csv, so_real);
    char *cfg = th_put(th_tmp, "exp.yaml", text);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 3), "%s", r.err);
    char *want = th_fmt("loss cross_entropy (%s): value() failed (returned 1)"
                        ": a target outside [0, 1] (or NaN); binary "
                        "cross-entropy needs targets in [0, 1]\n", so_real);
    cr_assert(eq(str, r.err, want));
    char *summary = th_get(out, "summary.json");
    th_assert_contains(summary, "\"status\": \"failed\"");
    th_run_free(&r);
    free(summary);
    free(want);
    free(out);
    free(cfg);
    free(text);
    free(so_real);
    free(so);
    free(csv);
}
