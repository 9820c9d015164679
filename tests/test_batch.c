/*
 * test_batch.c - `runner batch` end to end (SPEC section 5, issue 3):
 * a run whose plugin segfaults (tests/fixtures/crash.c) fails alone, a run
 * that hangs (tests/fixtures/hang.c) is killed by --timeout, --list-jobs
 * run through GNU parallel compares the same as the batch itself,
 * convergence.svg is well-formed XML (xmllint) with one line per run or
 * group, report.html renders in headless Chromium with the table and the
 * chart (a screenshot decoded here and checked non-blank), and SIGINT
 * stops a batch cleanly with exit 130.
 *
 * Needs /usr/bin/parallel, /usr/bin/xmllint and /usr/bin/chromium (`make
 * deps`).  Every study is tiny so the whole binary runs in seconds.
 */
#include "helpers.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <zlib.h>

/* An AND gate from small random weights: converges in a few hundred
 * epochs (sigmoid) or a handful (step). */
static const char base_config[] =
    "name: tiny\n"
    "seed: 1\n"
    "data: {generator: and}\n"
    "model: {init: uniform, init_scale: 0.5}\n"
    "activation: sigmoid\n"
    "loss: mse\n"
    "optimizer: {name: gradient_descent, learning_rate: 2.0}\n"
    "training:\n"
    "  epochs: 2000\n"
    "  stop: {loss_below: 0.01}\n";

static char *fixtures; /* absolute <build>/fixtures */

static void setup(void)
{
    /* A crashing run must not leave a core file in the repository. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    th_tmp_init();
    char *rel = th_build_path("fixtures");
    fixtures = realpath(rel, NULL);
    cr_assert(fixtures != NULL, "no %s: run make first", rel);
    free(rel);
}

static void teardown(void)
{
    th_tmp_fini();
    free(fixtures);
}

TestSuite(batch, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(report, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Runs a shell command; returns its exit status (or -1). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0);
    int ws = system(cmd);
    free(cmd);
    return ws != -1 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* ---- reading a CSV (th_csv_read) ---- */

static size_t column(const th_csv *t, const char *name)
{
    for (size_t f = 0; f < t->n_fields[0]; f++)
        if (strcmp(t->rows[0][f], name) == 0)
            return f;
    cr_assert(false, "no column %s", name);
    return 0;
}

/* The row whose id column is `id`. */
static char **row_of(const th_csv *t, const char *id)
{
    size_t c = column(t, "id");
    for (size_t r = 1; r < t->n_rows; r++)
        if (strcmp(t->rows[r][c], id) == 0)
            return t->rows[r];
    cr_assert(false, "no row %s", id);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* a crashing plugin, a hanging plugin                                  */

/* Asserts that run `id` finished with a result of its own. */
static void assert_run_ok(const char *out, const char *id)
{
    char *dir = NULL;
    cr_assert(asprintf(&dir, "%s/runs/%s", out, id) >= 0);
    char *sum = th_get(dir, "summary.json");
    th_assert_contains(sum, "\"status\": \"ok\"");
    th_assert_contains(sum, "\"converged\": true");
    cr_assert(th_exists_in(dir, "history.csv"), "%s has no history", dir);
    cr_assert(th_exists_in(dir, "config.yaml"), "%s has no config", dir);
    free(sum);
    free(dir);
}

/* The batch's parent checks every run's config before any starts, and
 * so loads the plugins they name: one whose constructor crashes is loaded
 * in a child process first, and the batch stops with the reason instead
 * of dying.  Nothing is written. */
Test(batch, a_library_that_crashes_while_loading_stops_the_batch)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "name: crashy\n"
                         "base: base.yaml\n"
                         "runs:\n"
                         "  - {seed: 1}\n"
                         "  - {activation.name: crash_on_load}\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-P", fixtures, "-o", out, NULL);
    cr_assert(eq(int, r.status, 3), "exit %d; stderr: %s", r.status, r.err);
    char *so = th_fmt("%s/crash_on_load.so", fixtures);
    char *msg = th_crashed_while_loading(so);
    char *want = th_fmt("%s:5:23: error: %s\n", study, msg);
    cr_assert(eq(str, r.err, want));
    cr_assert(th_exists(out) == false, "nothing runs");
    free(want);
    free(msg);
    free(so);
    th_run_free(&r);
    free(out);
    free(study);
}

Test(batch, a_segfaulting_plugin_fails_its_run_alone)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "name: crashy\n"
                         "base: base.yaml\n"
                         "runs:\n"
                         "  - {seed: 1}\n"
                         "  - {activation.name: crash}\n"
                         "  - {seed: 2}\n"
                         "  - {seed: 3}\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-P", fixtures, "-o", out, "-j", "2",
                         NULL);
    cr_assert(eq(int, r.status, 1), "a failed run makes the batch exit 1; "
              "stderr: %s", r.err);
    /* The others succeeded and were written. */
    assert_run_ok(out, "seed=1");
    assert_run_ok(out, "seed=2");
    assert_run_ok(out, "seed=3");
    /* The crashed run is recorded as failed, with the signal. */
    char *crash_dir = th_join(out, "runs/activation.name=crash");
    char *sum = th_get(crash_dir, "summary.json");
    th_assert_contains(sum, "\"status\": \"failed\"");
    th_assert_contains(sum, "SIGSEGV");
    free(sum);
    char *cfg = th_get(crash_dir, "config.yaml");
    th_assert_contains(cfg, "name: crash");
    free(cfg);
    /* ... and in the table. */
    th_csv t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 5), "4 runs and the header");
    char **row = row_of(&t, "activation.name=crash");
    cr_assert(eq(str, row[column(&t, "status")], "failed"));
    cr_assert(eq(str, row[column(&t, "converged")], "false"));
    th_assert_contains(row[column(&t, "error")], "signal 11");
    th_assert_contains(row[column(&t, "error")], "SIGSEGV");
    cr_assert(eq(str, t.rows[t.n_rows - 1][column(&t, "id")],
                 "activation.name=crash"), "failed runs rank last");
    for (size_t i = 1; i < 4; i++)
        cr_assert(eq(str, t.rows[i][column(&t, "status")], "ok"));
    th_csv_free(&t);
    /* The terminal table shows it too, and the tally. */
    th_assert_contains(r.out, "SIGSEGV");
    th_assert_contains(r.out, "4 runs: 3 finished, 1 failed");
    /* And stderr, where errors go, says so with or without the table. */
    char *said = th_fmt("runner: 1 of 4 runs failed; the reasons are in "
                        "%s/comparison.csv\n", out);
    th_assert_contains(r.err, said);
    free(said);
    /* Every report file is there. */
    cr_assert(th_exists_in(out, "groups.csv") &&
              th_exists_in(out, "comparison.md") &&
              th_exists_in(out, "convergence.svg") &&
              th_exists_in(out, "report.html") &&
              th_exists_in(out, "runs.yaml"));
    /* A killed child leaves no temporary file behind. */
    cr_assert(eq(int, sh("ls -A '%s' | grep -q tmp", crash_dir), 1),
              "leftover temporary file in %s", crash_dir);
    free(crash_dir);
    th_run_free(&r);
    free(out);
    free(study);
}

Test(batch, a_hanging_run_is_killed_by_the_timeout)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "name: hangy\n"
                         "base: base.yaml\n"
                         "runs:\n"
                         "  - {activation.name: hang}\n"
                         "  - {seed: 1}\n"
                         "  - {seed: 2}\n");
    char *out = th_join(th_tmp, "out");
    double t0 = th_now();
    th_run r = th_runner("batch", study, "-P", fixtures, "-o", out, "-j", "2",
                         "--timeout", "1", "-q", NULL);
    double took = th_now() - t0;
    cr_assert(eq(int, r.status, 1), "stderr: %s", r.err);
    cr_assert(took >= 1.0 && took < 15.0, "took %.2f s", took);
    assert_run_ok(out, "seed=1");
    assert_run_ok(out, "seed=2");
    th_csv t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 4));
    char **row = row_of(&t, "activation.name=hang");
    cr_assert(eq(str, row[column(&t, "status")], "failed"));
    th_assert_contains(row[column(&t, "error")], "timed out");
    th_csv_free(&t);
    th_run_free(&r);
    free(out);
    free(study);
}

/* The batch waits on a descriptor per running run (a pidfd) only while
 * 16 descriptors are to spare: with more jobs than the limit allows (40
 * at once under 24 descriptors: the first few runs get pidfds, the others
 * are looked for every 2 ms), every run still gets its summary and config,
 * the crashed ones too, whose summaries the batch writes itself (they
 * come first).  It fails when pidfds may take every descriptor. */
Test(batch, more_jobs_than_descriptors_still_settles_every_run)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml",
                         "name: many\n"
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  activation.name: [crash, step]\n"
                         "  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,\n"
                         "         13, 14, 15, 16, 17, 18, 19, 20]\n");
    char *out = th_join(th_tmp, "out");
    struct rlimit old, few;
    cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &old), 0));
    few = (struct rlimit){.rlim_cur = 24, .rlim_max = old.rlim_max};
    cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &few), 0));
    th_run r = th_runner("batch", study, "-P", fixtures, "-o", out, "-j", "40",
                         "-q", NULL);
    cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &old), 0));
    cr_assert(eq(int, r.status, 1), "stderr: %s", r.err);
    for (int seed = 1; seed <= 20; seed++) {
        char id[64];
        snprintf(id, sizeof(id), "activation.name=step,seed=%d", seed);
        assert_run_ok(out, id);
        snprintf(id, sizeof(id), "%s/runs/activation.name=crash,seed=%d",
                 out, seed);
        char *sum = th_get(id, "summary.json");
        th_assert_contains(sum, "\"status\": \"failed\"");
        cr_assert(th_exists_in(id, "config.yaml"), "%s has no config", id);
        free(sum);
    }
    th_run_free(&r);
    free(out);
    free(study);
}

/* ------------------------------------------------------------------ */
/* --list-jobs and GNU parallel                                         */

static const char sweep_study[] =
    "name: grid\n"
    "base: base.yaml\n"
    "sweep:\n"
    "  activation.name: [sigmoid, step]\n"
    "  seed: [1, 2]\n"
    "group_by: [activation.name]\n";

static const char *const sweep_ids[4] = {
    "activation.name=sigmoid,seed=1", "activation.name=sigmoid,seed=2",
    "activation.name=step,seed=1", "activation.name=step,seed=2"};

/* The CSV text with the column `drop` removed (and every row intact). */
static char *without_column(const char *dir, const char *name,
                            const char *drop)
{
    th_csv t = th_csv_read(dir, name);
    size_t skip = column(&t, drop);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert(f != NULL);
    for (size_t r = 0; r < t.n_rows; r++) {
        bool first = true;
        for (size_t k = 0; k < t.n_fields[r]; k++) {
            if (k == skip)
                continue;
            fprintf(f, "%s\"%s\"", first ? "" : ",", t.rows[r][k]);
            first = false;
        }
        fputc('\n', f);
    }
    fclose(f);
    th_csv_free(&t);
    return text;
}

/* --list-jobs without -o names a directory under the results root but
 * makes nothing; into an earlier batch it is refused, as the batch is. */
Test(batch, list_jobs_writes_nothing_and_respects_an_earlier_batch)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml", sweep_study);
    char *root = th_join(th_tmp, "root");
    char *ini = th_put(th_tmp, "runner.ini", "");
    char *text = th_fmt("[results]\nroot = %s\n", root);
    cr_assert(eq(int, th_write(ini, text), 0));
    th_run r = th_runner("batch", study, "--list-jobs", "--settings", ini,
                         NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *under = th_fmt("-o %s/", root);
    th_assert_contains(r.out, under);
    cr_assert(th_exists(root) == false, "--list-jobs made %s", root);
    th_run_free(&r);

    char *out = th_join(th_tmp, "out");
    r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    r = th_runner("batch", study, "--list-jobs", "-o", out, NULL);
    cr_assert(eq(int, r.status, 2));
    th_assert_contains(r.err, "holds an earlier batch");
    cr_assert(eq(str, r.out, ""));
    th_run_free(&r);
    free(out);
    free(under);
    free(text);
    free(ini);
    free(root);
    free(study);
}

Test(batch, list_jobs_through_gnu_parallel_compares_like_the_batch)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    char *study = th_put(th_tmp, "study.yaml", sweep_study);
    char *spread = th_join(th_tmp, "spread"), *whole = th_join(th_tmp, "whole");

    /* One self-contained command per run; nothing runs yet. */
    th_run r = th_runner("batch", study, "--list-jobs", "-o", spread, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    cr_assert(eq(sz, count(r.out, "\n"), 4), "one line per run:\n%s", r.out);
    cr_assert(eq(int, access(spread, F_OK), -1), "--list-jobs runs nothing");
    char *runner_abs = th_build_path("runner"), runner_real[PATH_MAX];
    cr_assert(realpath(runner_abs, runner_real) != NULL);
    const char *line = r.out;
    for (size_t i = 0; i < 4; i++) {
        cr_assert(strncmp(line, runner_real, strlen(runner_real)) == 0,
                  "line %zu does not start with %s: %s", i + 1, runner_real,
                  line);
        const char *end = strchr(line, '\n');
        char *l = strndup(line, (size_t)(end - line));
        char want[PATH_MAX * 2];
        snprintf(want, sizeof(want), "-o %s/runs/%s", spread, sweep_ids[i]);
        th_assert_contains(l, want);
        th_assert_contains(l, "--set activation.name=");
        th_assert_contains(l, "--set seed=");
        free(l);
        line = end + 1;
    }
    char *jobs = th_put(th_tmp, "jobs.txt", r.out);
    th_run_free(&r);

    /* GNU parallel runs the list; runner compare merges the outputs. */
    cr_assert(eq(int, sh("parallel --will-cite -j2 < '%s' > '%s/parallel.log' "
                         "2>&1", jobs, th_tmp), 0),
              "parallel failed: see %s/parallel.log", th_tmp);
    for (size_t i = 0; i < 4; i++) {
        char *dir = th_join(spread, "runs");
        char *run = th_join(dir, sweep_ids[i]);
        cr_assert(th_exists_in(run, "summary.json"), "parallel left no %s",
                  run);
        free(run);
        free(dir);
    }
    r = th_runner("compare", spread, "-o", spread, "--group-by",
                  "activation.name", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);

    /* The same study as one batch. */
    r = th_runner("batch", study, "-o", whole, "-j", "2", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);

    char *a = without_column(spread, "comparison.csv", "wall_seconds");
    char *b = without_column(whole, "comparison.csv", "wall_seconds");
    cr_assert(eq(str, a, b), "runner compare after parallel:\n%s\n"
              "runner batch:\n%s", a, b);
    cr_assert(eq(sz, count(a, "\n"), 5));
    free(a);
    free(b);
    a = th_get(spread, "groups.csv");
    b = th_get(whole, "groups.csv");
    cr_assert(eq(str, a, b), "groups.csv differ");
    free(a);
    free(b);
    free(jobs);
    free(runner_abs);
    free(spread);
    free(whole);
    free(study);
}

/* ------------------------------------------------------------------ */
/* convergence.svg                                                      */

static void assert_well_formed(const char *dir, const char *name)
{
    char *p = th_join(dir, name);
    cr_assert(eq(int, sh("xmllint --noout '%s' > '%s.xmllint' 2>&1", p, p),
                 0),
              "xmllint rejects %s (see %s.xmllint)", p, p);
    free(p);
}

/* Runs the four-run sweep study (tmp/study.yaml on tmp/base.yaml) into
 * tmp/out, two at once.  Returns tmp/out; *study gets the study's path. */
static char *run_sweep(char **study)
{
    free(th_put(th_tmp, "base.yaml", base_config));
    *study = th_put(th_tmp, "study.yaml", sweep_study);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", *study, "-o", out, "-j", "2", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    return out;
}

Test(report, svg_is_xml_with_one_line_per_run_or_group)
{
    char *study;
    char *out = run_sweep(&study);
    th_run r;

    /* The study groups by activation: one line (and band) per group. */
    assert_well_formed(out, "convergence.svg");
    char *svg = th_get(out, "convergence.svg");
    cr_assert(eq(sz, count(svg, "class=\"series\""), 2), "%s", svg);
    cr_assert(eq(sz, count(svg, "class=\"band\""), 2));
    th_assert_contains(svg, "activation.name=sigmoid");
    th_assert_contains(svg, "activation.name=step");
    th_assert_contains(svg, "loss (log scale)");
    th_assert_contains(svg, ">epoch<");
    free(svg);

    /* Without a group: one line per run. */
    char *runs = th_join(out, "runs"), *flat = th_join(th_tmp, "flat");
    r = th_runner("compare", runs, "-o", flat, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    assert_well_formed(flat, "convergence.svg");
    svg = th_get(flat, "convergence.svg");
    cr_assert(eq(sz, count(svg, "class=\"series\""), 4), "%s", svg);
    cr_assert(eq(sz, count(svg, "class=\"band\""), 0));
    for (size_t i = 0; i < 4; i++)
        th_assert_contains(svg, sweep_ids[i]);
    free(svg);
    free(flat);
    free(runs);
    free(out);
    free(study);
}

/* Comparing a batch directory again, with no --group-by, groups it as the
 * batch did (its runs.yaml says how), rather than as one group. */
Test(report, a_batch_compared_again_keeps_its_groups)
{
    char *study;
    char *out = run_sweep(&study);
    char *groups = th_get(out, "groups.csv");
    th_assert_contains(groups, "activation.name=step");
    th_run r = th_runner("compare", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    char *again = th_get(out, "groups.csv");
    cr_assert(eq(str, again, groups));
    free(again);
    /* The batch again into its own directory: refused for what it is. */
    r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    char *said = th_fmt("runner: %s holds an earlier batch, whose runs would "
                        "mix into this one's comparison; choose another -o "
                        "DIR, or add --force to add to it\n", out);
    cr_assert(eq(str, r.err, said));
    free(said);
    th_run_free(&r);
    free(groups);
    free(out);
    free(study);
}

Test(report, svg_escapes_and_stays_xml_with_odd_ids)
{
    /* Ids carry the overrides' values: here file names with XML's
     * special characters, which the legend must escape. */
    static const char gate[] = "a,b,label\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n";
    free(th_put(th_tmp, "x&y.csv", gate));
    free(th_put(th_tmp, "p<q>.csv", gate));
    free(th_put(th_tmp, "base.yaml",
                "name: csvgate\n"
                "seed: 1\n"
                "data: {csv: \"x&y.csv\"}\n"
                "activation: sigmoid\n"
                "loss: mse\n"
                "optimizer: {name: gradient_descent, "
                "learning_rate: 2.0}\n"
                "training: {epochs: 2000, stop: {loss_below: 0.01}}\n"));
    char *study = th_put(th_tmp, "study.yaml",
                         "base: base.yaml\n"
                         "sweep:\n"
                         "  data.csv: [\"x&y.csv\", \"p<q>.csv\"]\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    assert_well_formed(out, "convergence.svg");
    char *svg = th_get(out, "convergence.svg");
    cr_assert(eq(sz, count(svg, "class=\"series\""), 2));
    th_assert_contains(svg, "x&amp;y.csv");
    th_assert_contains(svg, "p&lt;q&gt;.csv");
    free(svg);
    free(out);
    free(study);
}

/* ------------------------------------------------------------------ */
/* report.html in headless Chromium                                     */

/* Runs headless Chromium on file://<abs html> with `what` (--dump-dom or
 * --screenshot=... --window-size=...), stdout to `stdout_path`.  Fresh
 * profile directory every time; 60 s at most. */
static void chromium(const char *html, const char *what,
                     const char *stdout_path)
{
    char *profile = th_join(th_tmp, "chromium-profile-XXXXXX");
    cr_assert(mkdtemp(profile) != NULL);
    char abs[PATH_MAX];
    cr_assert(realpath(html, abs) != NULL);
    int rc = sh("timeout 60 chromium --headless --no-sandbox --disable-gpu "
                "--disable-quic --no-first-run --disable-background-networking "
                "--disable-component-update --disable-sync "
                "--user-data-dir='%s' %s 'file://%s' > '%s' 2> '%s.err'",
                profile, what, abs, stdout_path, stdout_path);
    cr_assert(eq(int, rc, 0), "chromium exited %d (see %s.err)", rc,
              stdout_path);
    free(profile);
}

/* Makes tmp/flat: the four-run grid compared without groups.  Returns
 * the path of its report.html. */
static char *flat_report(void)
{
    char *study;
    char *out = run_sweep(&study), *runs = th_join(out, "runs");
    char *flat = th_join(th_tmp, "flat");
    th_run r = th_runner("compare", runs, "-o", flat, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    char *html = th_join(flat, "report.html");
    free(flat);
    free(runs);
    free(out);
    free(study);
    return html;
}

Test(report, html_renders_the_table_and_the_chart)
{
    char *html = flat_report();
    char *dom_path = th_join(th_tmp, "dom.html");
    chromium(html, "--dump-dom", dom_path);
    char *dom = th_read(dom_path);
    cr_assert(dom != NULL && *dom != '\0', "chromium dumped nothing");
    /* The run table: one row per run in its body. */
    const char *table = strstr(dom, "id=\"runs\"");
    cr_assert(table != NULL, "no runs table in the DOM:\n%s", dom);
    const char *body = strstr(table, "<tbody>");
    const char *body_end = body ? strstr(body, "</tbody>") : NULL;
    cr_assert(body != NULL && body_end != NULL);
    char *rows = strndup(body, (size_t)(body_end - body));
    cr_assert(eq(sz, count(rows, "<tr"), 4), "%s", rows);
    for (size_t i = 0; i < 4; i++)
        th_assert_contains(rows, sweep_ids[i]);
    free(rows);
    /* The chart, inline: one line per run. */
    th_assert_contains(dom, "<svg");
    cr_assert(eq(sz, count(dom, "class=\"series\""), 4));
    cr_assert(count(dom, "<path") >= 4);
    /* Self-contained: nothing fetched from the network. */
    cr_assert(strstr(dom, "http://") == NULL ||
                  strstr(dom, "http://") == strstr(dom, "http://www.w3.org"),
              "report.html refers to the network");
    cr_assert(strstr(dom, "https://") == NULL);
    cr_assert(strstr(dom, "<script src") == NULL);
    cr_assert(strstr(dom, "<link") == NULL);
    free(dom);
    free(dom_path);
    free(html);
}

/* ---- a PNG decoder: 8-bit RGB or RGBA, not interlaced ---- */

typedef struct image {
    uint32_t width, height;
    unsigned channels;
    unsigned char *pixels;   /* width * height * channels */
} image;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static unsigned char *read_binary(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "cannot open %s", path);
    cr_assert(eq(int, fseek(f, 0, SEEK_END), 0));
    long size = ftell(f);
    cr_assert(size > 0, "%s is empty", path);
    rewind(f);
    unsigned char *buf = malloc((size_t)size);
    cr_assert(buf != NULL);
    cr_assert(eq(sz, fread(buf, 1, (size_t)size, f), (size_t)size));
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static image png_decode(const char *path)
{
    size_t len;
    unsigned char *png = read_binary(path, &len);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
                                         0x1a, '\n'};
    cr_assert(len > 8 && memcmp(png, sig, 8) == 0, "%s is not a PNG", path);
    image img = {0, 0, 0, NULL};
    unsigned char *idat = NULL;
    size_t idat_len = 0, at = 8;
    unsigned depth = 0, type = 0, interlace = 0;
    while (at + 12 <= len) {
        uint32_t n = be32(png + at);
        const unsigned char *kind = png + at + 4, *data = png + at + 8;
        cr_assert(at + 12 + n <= len, "truncated chunk");
        if (memcmp(kind, "IHDR", 4) == 0) {
            img.width = be32(data);
            img.height = be32(data + 4);
            depth = data[8];
            type = data[9];
            interlace = data[12];
        } else if (memcmp(kind, "IDAT", 4) == 0) {
            idat = realloc(idat, idat_len + n);
            cr_assert(idat != NULL);
            memcpy(idat + idat_len, data, n);
            idat_len += n;
        } else if (memcmp(kind, "IEND", 4) == 0) {
            break;
        }
        at += 12 + n;
    }
    cr_assert(eq(uint, depth, 8), "bit depth %u", depth);
    cr_assert(type == 2 || type == 6, "colour type %u", type);
    cr_assert(eq(uint, interlace, 0));
    cr_assert(img.width > 0 && img.height > 0 && idat_len > 0);
    img.channels = type == 6 ? 4 : 3;
    size_t stride = (size_t)img.width * img.channels;
    uLongf raw_len = (uLongf)((stride + 1) * img.height);
    unsigned char *raw = malloc(raw_len);
    cr_assert(raw != NULL);
    int zrc = uncompress(raw, &raw_len, idat, (uLong)idat_len);
    cr_assert(eq(int, zrc, Z_OK), "inflate failed: %d", zrc);
    cr_assert(eq(sz, (size_t)raw_len, (stride + 1) * img.height));
    img.pixels = malloc(stride * img.height);
    cr_assert(img.pixels != NULL);
    size_t bpp = img.channels;
    for (size_t y = 0; y < img.height; y++) {
        unsigned filter = raw[y * (stride + 1)];
        const unsigned char *src = raw + y * (stride + 1) + 1;
        unsigned char *row = img.pixels + y * stride;
        const unsigned char *up = y ? row - stride : NULL;
        cr_assert(filter <= 4, "bad filter %u on row %zu", filter, y);
        for (size_t x = 0; x < stride; x++) {
            int a = x >= bpp ? row[x - bpp] : 0;
            int b = up ? up[x] : 0;
            int c = up && x >= bpp ? up[x - bpp] : 0;
            int pred = filter == 0 ? 0
                       : filter == 1 ? a
                       : filter == 2 ? b
                       : filter == 3 ? (a + b) / 2
                                     : paeth(a, b, c);
            row[x] = (unsigned char)(src[x] + pred);
        }
    }
    free(raw);
    free(idat);
    free(png);
    return img;
}

Test(report, screenshot_is_not_blank)
{
    char *html = flat_report();
    char *png = th_join(th_tmp, "shot.png"), *log = th_join(th_tmp, "shot.log");
    char what[PATH_MAX + 64];
    snprintf(what, sizeof(what), "--screenshot='%s' --window-size=1200,900",
             png);
    chromium(html, what, log);
    image img = png_decode(png);
    cr_assert(img.width >= 1000 && img.height >= 600, "%ux%u", img.width,
              img.height);
    size_t total = (size_t)img.width * img.height, ink = 0, coloured = 0;
    for (size_t i = 0; i < total; i++) {
        const unsigned char *p = img.pixels + i * img.channels;
        int hi = p[0], lo = p[0];
        for (unsigned k = 1; k < 3; k++) {
            hi = p[k] > hi ? p[k] : hi;
            lo = p[k] < lo ? p[k] : lo;
        }
        if (lo < 240)
            ink++;            /* not white: text, grid, lines, table */
        if (hi - lo > 80)
            coloured++;       /* saturated: the chart's lines */
    }
    double ink_fraction = (double)ink / (double)total;
    cr_assert(ink_fraction > 0.02, "only %.2f%% of the pixels are not white",
              100 * ink_fraction);
    cr_assert(coloured > 500, "only %zu coloured pixels: no chart lines?",
              coloured);
    free(img.pixels);
    free(log);
    free(png);
    free(html);
}

/* ------------------------------------------------------------------ */
/* SIGINT                                                               */

Test(batch, sigint_stops_launching_and_still_compares)
{
    /* Runs that would go on for ever: XOR never gets below a loss of 0. */
    free(th_put(th_tmp, "long.yaml", "name: long\n"
                                     "seed: 1\n"
                                     "data: {generator: xor}\n"
                                     "activation: sigmoid\n"
                                     "loss: mse\n"
                                     "optimizer: {name: gradient_descent, "
                                     "learning_rate: 0.5}\n"
                                     "training:\n"
                                     "  epochs: 1000000000\n"
                                     "  stop: {loss_below: 0}\n"));
    char *study = th_put(th_tmp, "study.yaml", "name: long\n"
                                               "base: long.yaml\n"
                                               "sweep:\n"
                                               "  seed: [1, 2, 3, 4]\n");
    char *out = th_join(th_tmp, "out");
    char *exe = th_build_path("runner");
    char *out_log = th_join(th_tmp, "batch.out");
    char *err_log = th_join(th_tmp, "batch.err");
    const char *argv[] = {exe, "batch", study, "-o", out, "-j", "2", "-q",
                          NULL};
    pid_t pid = th_spawn_logs(argv, out_log, err_log, NULL, 0);
    /* Wait for the first two runs to be under way. */
    char *run1 = th_join(out, "runs/seed=1"),
         *run2 = th_join(out, "runs/seed=2");
    double t0 = th_now();
    while ((access(run1, F_OK) != 0 || access(run2, F_OK) != 0) &&
           th_now() - t0 < 10) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert(access(run1, F_OK) == 0 && access(run2, F_OK) == 0,
              "the runs did not start");
    struct timespec settle = {0, 500000000}; /* let them train a while */
    nanosleep(&settle, NULL);
    cr_assert(eq(int, kill(pid, SIGINT), 0));
    int ws = 0;
    pid_t done = 0;
    t0 = th_now();
    while ((done = waitpid(pid, &ws, WNOHANG)) == 0 && th_now() - t0 < 20) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &ws, 0);
        cr_assert(false, "the batch did not stop within 20 s of SIGINT");
    }
    char *err = th_read(err_log);
    bool exited = WIFEXITED(ws);
    cr_assert(exited, "killed by signal %d", WTERMSIG(ws));
    cr_assert(eq(int, WEXITSTATUS(ws), 130), "stderr: %s", err);
    /* The runs under way wrote `interrupted` results. */
    for (int i = 0; i < 2; i++) {
        const char *dir = i ? run2 : run1;
        char *sum = th_get(dir, "summary.json");
        th_assert_contains(sum, "\"stop_reason\": \"interrupted\"");
        th_assert_contains(sum, "\"status\": \"ok\"");
        free(sum);
        cr_assert(th_exists_in(dir, "history.csv") &&
                  th_exists_in(dir, "config.yaml"));
    }
    /* Nothing else was launched. */
    bool more =
        th_exists_in(out, "runs/seed=3") || th_exists_in(out, "runs/seed=4");
    cr_assert(eq(int, more, false),
              "runs were launched after SIGINT");
    /* The comparison of what finished is still written. */
    th_csv t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 3));
    for (size_t r = 1; r < 3; r++) {
        cr_assert(eq(str, t.rows[r][column(&t, "stop_reason")],
                     "interrupted"));
        cr_assert(eq(str, t.rows[r][column(&t, "status")], "ok"));
    }
    th_csv_free(&t);
    cr_assert(th_exists_in(out, "report.html") &&
              th_exists_in(out, "convergence.svg"));
    free(err);
    free(run1);
    free(run2);
    free(out_log);
    free(err_log);
    free(exe);
    free(out);
    free(study);
}
