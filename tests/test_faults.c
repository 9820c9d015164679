/*
 * test_faults.c - faults a run or a batch must survive, through the real
 * runner binary: SIGINT/SIGTERM during a batch, a results directory that
 * cannot be made, a full disk (a file-size limit), a plugin whose outputs
 * turn NaN or infinite, and a 1,000,000-row CSV.  Each leaves every
 * earlier result intact and no temporary file behind.
 *
 * SIGINT/SIGTERM during a single run, a crashing or hanging plugin in a
 * batch and a plugin that refuses its parameters are held by
 * test_runner.c, test_batch.c and test_loader.c (see tests/README.md).
 */
#include "helpers.h"

#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

TestSuite(faults, .init = th_tmp_init, .fini = th_tmp_fini);

/* ---- helpers ---- */

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Temporary files (".NAME.tmp-PID") anywhere under a directory. */
static int temp_files;
static int count_temp(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    const char *name = path + ftw->base;
    if (name[0] == '.' && strstr(name, ".tmp-") != NULL)
        temp_files++;
    return 0;
}

static int temp_files_under(const char *dir)
{
    temp_files = 0;
    nftw(dir, count_temp, 16, FTW_PHYS);
    return temp_files;
}

/* True when dir holds an entry whose name starts with `prefix`. */
static bool has_entry_starting(const char *dir, const char *prefix)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "ls -A '%s' 2>/dev/null | grep -q '^%s'", dir,
                       prefix) >= 0);
    int rc = system(cmd);
    free(cmd);
    return rc == 0;
}

/* A runner started in the background, its output in files. */
typedef struct child {
    pid_t pid;
    char *out_log, *err_log;
} child;

typedef struct limits {
    rlim_t fsize;            /* RLIMIT_FSIZE in bytes; 0: none */
} limits;

/* Starts <build>/runner with the NULL-terminated arguments. */
static child start(const limits *lim, const char *arg, ...)
{
    const char *argv[32];
    char *exe = th_build_path("runner");
    int argc = 0;
    argv[argc++] = exe;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && argc < 31;
         a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    child c = {0, th_join(th_tmp, "child.out"), th_join(th_tmp, "child.err")};
    /* A full disk, as a file-size limit (see th_spawn). */
    c.pid = th_spawn_logs(argv, c.out_log, c.err_log, NULL,
                          lim != NULL ? lim->fsize : 0);
    free(exe);
    return c;
}

/* Waits at most `seconds`; returns the exit status (128 + signal when
 * killed).  Fills *usage when not NULL. */
static int finish(child *c, double seconds, struct rusage *usage)
{
    int ws = 0;
    pid_t done = 0;
    struct rusage ru;
    double t0 = th_now();
    while ((done = wait4(c->pid, &ws, WNOHANG, &ru)) == 0 &&
           th_now() - t0 < seconds)
        nap(5);
    if (done == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &ws, 0);
        cr_assert(false, "the runner did not finish within %g s", seconds);
    }
    if (usage != NULL)
        *usage = ru;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void child_free(child *c)
{
    unlink(c->out_log);
    unlink(c->err_log);
    free(c->out_log);
    free(c->err_log);
}

/* ---- SIGINT and SIGTERM during a batch ---- */

/* Runs a batch of four endless runs two at a time, signals the batch once
 * both have begun training, and checks what is left. */
static void interrupt_batch(int sig, int want_status)
{
    free(th_put(th_tmp, "long.yaml", "name: long\n"
                                     "data: {generator: xor}\n"
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
    char *run1 = th_join(out, "runs/seed=1"),
         *run2 = th_join(out, "runs/seed=2");
    child c = start(NULL, "batch", study, "-o", out, "-j", "2", "-q", NULL);
    /* Both runs are training once their history files exist. */
    double t0 = th_now();
    while (!(has_entry_starting(run1, ".history.csv.tmp-") &&
             has_entry_starting(run2, ".history.csv.tmp-")) &&
           th_now() - t0 < 10)
        nap(10);
    nap(200);
    cr_assert(eq(int, kill(c.pid, sig), 0));
    int status = finish(&c, 20, NULL);
    char *err = th_read(c.err_log);
    cr_assert(eq(int, status, want_status), "stderr: %s", err);
    free(err);
    /* The runs under way wrote their results so far ... */
    for (int i = 0; i < 2; i++) {
        const char *dir = i ? run2 : run1;
        char *sum = th_get(dir, "summary.json");
        th_assert_contains(sum, "\"stop_reason\": \"interrupted\"");
        th_assert_contains(sum, "\"status\": \"ok\"");
        free(sum);
        char *hist = th_get(dir, "history.csv");
        cr_assert(strncmp(hist, "epoch,loss,accuracy\n0,", 22) == 0);
        free(hist);
        cr_assert(th_exists_in(dir, "config.yaml"));
    }
    /* ... nothing else was started, the comparison of what finished is
     * written, and no temporary file is left anywhere. */
    cr_assert(th_exists_in(out, "runs/seed=3") == false &&
              th_exists_in(out, "runs/seed=4") == false);
    cr_assert(th_exists_in(out, "comparison.csv") &&
              th_exists_in(out, "report.html"));
    cr_assert(eq(int, temp_files_under(out), 0), "temporary files left");
    child_free(&c);
    free(run1);
    free(run2);
    free(out);
    free(study);
}

Test(faults, sigint_during_a_batch_writes_results_and_exits_130,
     .timeout = 60)
{
    interrupt_batch(SIGINT, 130);
}

Test(faults, sigterm_during_a_batch_writes_results_and_exits_143,
     .timeout = 60)
{
    interrupt_batch(SIGTERM, 143);
}

/* ---- results that cannot be written ---- */

/* The results root (from the settings) cannot be made: a plain file is
 * where a directory should be, so mkdir fails with ENOTDIR (which even
 * root cannot get round). */
Test(faults, unwritable_results_root_is_a_clear_error_and_exit_1)
{
    char *file = th_put(th_tmp, "plain", "not a directory\n");
    char *ini = NULL;
    cr_assert(asprintf(&ini, "[results]\nroot = %s/results\n", file) >= 0);
    char *ini_path = th_put(th_tmp, "runner.ini", ini);
    th_run r = th_runner("configs/step_mse.yaml", "-q", "--settings",
                         ini_path, NULL);
    cr_assert(eq(int, r.status, 1), "stderr: %s", r.err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s/results: cannot create directory: Not a "
                              "directory\n", file) >= 0);
    cr_assert(eq(str, r.err, want));
    cr_assert(eq(str, r.out, ""));
    char *text = th_read(file);
    cr_assert(eq(str, text, "not a directory\n"), "the file is untouched");
    free(text);
    free(want);
    th_run_free(&r);
    free(ini_path);
    free(ini);
    free(file);
}

Test(faults, unwritable_batch_directory_is_a_clear_error_and_exit_1)
{
    char *file = th_put(th_tmp, "plain", "x");
    char *study = th_put(th_tmp, "study.yaml", "base: base.yaml\n"
                                               "sweep: {seed: [1, 2]}\n");
    free(th_put(th_tmp, "base.yaml", "data: {generator: and}\n"));
    char *out = th_join(file, "batch");
    th_run r = th_runner("batch", study, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 1), "stderr: %s", r.err);
    th_assert_contains(r.err,
                       "batch: cannot create directory: Not a directory");
    th_run_free(&r);
    free(out);
    free(study);
    free(file);
}

/* A long history.csv against a 64 KiB file-size limit: the run fails with
 * a clear error and exit 1, writes no result file (not even a partial
 * one), leaves no temporary file, and the earlier result in the same
 * directory stays exactly as it was. */
Test(faults, disk_full_fails_cleanly_and_keeps_the_earlier_result)
{
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    const char *files[] = {"history.csv", "summary.json", "config.yaml"};
    char *before[3];
    for (int i = 0; i < 3; i++)
        before[i] = th_get(out, files[i]);

    /* 100000 epochs of XOR: about 5 MB of history. */
    char *cfg = th_put(th_tmp, "long.yaml", "name: long\n"
                                            "data: {generator: xor}\n"
                                            "training: {epochs: 100000, "
                                            "stop: {loss_below: 0}}\n");
    limits lim = {64 * 1024};
    child c = start(&lim, cfg, "-q", "-o", out, NULL);
    int status = finish(&c, 30, NULL);
    char *err = th_read(c.err_log);
    cr_assert(eq(int, status, 1), "stderr: %s", err);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s/history.csv: cannot write: File too "
                              "large\n", out) >= 0);
    cr_assert(eq(str, err, want));
    for (int i = 0; i < 3; i++) {
        char *after = th_get(out, files[i]);
        cr_assert(eq(str, after, before[i]), "%s changed", files[i]);
        free(after);
        free(before[i]);
    }
    cr_assert(eq(int, temp_files_under(out), 0), "temporary files left");

    /* Into a new directory: nothing at all is left. */
    char *fresh = th_join(th_tmp, "fresh");
    child c2 = start(&lim, cfg, "-q", "-o", fresh, NULL);
    cr_assert(eq(int, finish(&c2, 30, NULL), 1));
    cr_assert(th_exists_in(fresh, "history.csv") == false &&
              th_exists_in(fresh, "summary.json") == false &&
              th_exists_in(fresh, "config.yaml") == false);
    cr_assert(eq(int, access(fresh, F_OK), -1),
              "the directory the run made is removed again");
    child_free(&c2);
    free(fresh);
    free(want);
    free(err);
    child_free(&c);
    free(cfg);
    free(out);
}

/* ---- a plugin whose outputs turn NaN or infinite ---- */

static void nan_plugin_diverges(const char *inf)
{
    char *so = th_build_path("fixtures/nan_forward.so");
    char real_so[PATH_MAX];
    cr_assert(realpath(so, real_so) != NULL, "%s is missing", so);
    char *text = NULL;
    cr_assert(asprintf(&text, "name: nan\n"
                              "data: {generator: and}\n"
                              "activation: {path: %s, after: 20, inf: %s}\n"
                              "training: {epochs: 1000}\n",
                       real_so, inf) >= 0);
    char *cfg = th_put(th_tmp, "nan.yaml", text);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "a diverged run is a result; stderr: %s",
              r.err);
    th_assert_contains(r.out, "nan: diverged at epoch ");
    char *sum = th_get(out, "summary.json");
    th_assert_contains(sum, "\"status\": \"ok\"");
    th_assert_contains(sum, "\"stop_reason\": \"diverged\"");
    th_assert_contains(sum, "\"converged\": false");
    th_assert_contains(sum, "\"final_loss\": null");
    free(sum);
    cr_assert(th_exists_in(out, "history.csv") &&
              th_exists_in(out, "config.yaml"));
    th_run_free(&r);
    free(out);
    free(cfg);
    free(text);
    free(so);
}

Test(faults, plugin_returning_nan_makes_the_run_diverge)
{
    nan_plugin_diverges("false");
}

Test(faults, plugin_returning_inf_makes_the_run_diverge)
{
    nan_plugin_diverges("true");
}

/* ---- a 1,000,000-row CSV ---- */

#define BIG_ROWS 1000000
#define BIG_COLUMNS 5 /* four features and the target */

Test(faults, million_row_csv_loads_in_bounded_time_and_memory,
     .timeout = 120)
{
    char *csv = th_join(th_tmp, "big.csv");
    FILE *f = fopen(csv, "w");
    cr_assert(f != NULL);
    fputs("a,b,c,d,label\n", f);
    for (long i = 0; i < BIG_ROWS; i++) {
        long y = i % 2, k = (i * 7919) % 1000;
        fprintf(f, "%ld.%03ld,%ld.5,-%ld.25,0.%03ld,%ld\n", y, k, k % 7, y,
                999 - k, y);
    }
    cr_assert(eq(int, fclose(f), 0));
    char *cfg = th_put(th_tmp, "big.yaml",
                       "name: big\n"
                       "data: {csv: big.csv, normalize: standardize}\n"
                       "training: {epochs: 1}\n");
    char *out = th_join(th_tmp, "out");
    double t0 = th_now();
    child c = start(NULL, cfg, "-q", "-o", out, NULL);
    struct rusage ru;
    int status = finish(&c, 60, &ru);
    double seconds = th_now() - t0;
    char *err = th_read(c.err_log);
    cr_assert(eq(int, status, 0), "stderr: %s", err);
    free(err);
    cr_assert(lt(dbl, seconds, 20.0), "took %.1f s", seconds);
    char *sum = th_get(out, "summary.json");
    th_assert_contains(sum, "\"rows\": 1000000");
    th_assert_contains(sum, "\"epochs\": 1,");
    free(sum);
    /* The data is 1e6 x 5 doubles (40 MB); the whole runner, libraries
     * and all, must peak within twice that.  Not under AddressSanitizer,
     * whose realloc always copies and whose shadow memory adds its own. */
    double data_mb = BIG_ROWS * BIG_COLUMNS * 8.0 / 1e6;
    double peak_mb = (double)ru.ru_maxrss * 1024 / 1e6;
    cr_log_info("1M-row CSV: %.2f s, peak %.1f MB for %.0f MB of data",
                seconds, peak_mb, data_mb);
    if (strstr(th_build(), "asan") == NULL)
        cr_assert(le(dbl, peak_mb, 2 * data_mb),
                  "peak %.1f MB for %.0f MB of data", peak_mb, data_mb);
    child_free(&c);
    free(out);
    free(cfg);
    free(csv);
}

/* Skips the test where valgrind cannot run the runner. */
static void need_valgrind(void)
{
#ifdef TH_ASAN
    cr_skip_test("the runner is built with ASan, which valgrind cannot run");
#endif
    if (system("command -v valgrind >/dev/null 2>&1") != 0)
        cr_skip_test("valgrind is not installed");
}

/* A plugin that leaks memory across calls trains normally but is reported
 * by valgrind as make check-valgrind runs it (--leak-check=full): its
 * blocks are "definitely lost", allocated under the training pass. */
Test(faults, a_leaking_plugin_is_reported_by_valgrind, .timeout = 120)
{
    need_valgrind();
    char *so = th_fixture_real("leaky");
    char *text = th_fmt("data: {generator: and}\nactivation: {path: %s}\n"
                        "training: {epochs: 20}\n", so);
    char *cfg = th_put(th_tmp, "leaky.yaml", text);
    char *out = th_join(th_tmp, "out"), *log = th_join(th_tmp, "vg.log");
    char *runner = th_build_path("runner");
    char *cmd = th_fmt("valgrind -q --leak-check=full --error-exitcode=99 "
                       "--log-file=%s %s %s -q -o %s", log, runner, cfg, out);
    int ws = system(cmd);
    int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    cr_assert(eq(int, status, 99), "valgrind found no leak");
    char *report = th_read(log);
    cr_assert(report != NULL);
    th_assert_contains(report, "definitely lost");
    /* The .so is closed by then, so its frames show as ???: the blocks come
     * from the plugin's forward(), called from the pass. */
    th_assert_contains(report, "pass_chunk");
    cr_assert(th_exists_in(out, "summary.json"), "the run itself finished");
    free(report);
    free(cmd);
    free(runner);
    free(log);
    free(out);
    free(cfg);
    free(text);
    free(so);
}

/* Issue 2's acceptance: the runner is valgrind-clean (no error, no leak)
 * on a good config and on a bad one (which exits 2 and writes nothing). */
Test(faults, valgrind_clean_on_a_good_and_a_bad_config, .timeout = 120)
{
    need_valgrind();
    char *bad = th_put(th_tmp, "bad.yaml", "data: {generator: and}\n"
                                           "activation: {name: step, "
                                           "treshold: 1}\n");
    const char *configs[] = {"configs/iris_sigmoid.yaml", bad};
    const int want[] = {0, 2};
    char *runner = th_build_path("runner");
    for (int i = 0; i < 2; i++) {
        char *out = th_fmt("%s/out%d", th_tmp, i);
        char *cmd = th_fmt("valgrind -q --leak-check=full --error-exitcode=99 "
                           "%s %s -q -o %s 2>/dev/null", runner, configs[i],
                           out);
        int ws = system(cmd);
        int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        cr_assert(eq(int, status, want[i]), "%s: exit %d (99: valgrind "
                  "found an error or a leak)", configs[i], status);
        free(cmd);
        free(out);
    }
    free(runner);
    free(bad);
}

/* Runs the runner on cfg with a shell prefix (a tool, or variables) and
 * returns its history.csv. */
static char *history_via(const char *prefix, const char *cfg,
                         const char *out)
{
    char *runner = th_build_path("runner");
    char *cmd = th_fmt("%s %s %s -q -o %s 2>/dev/null", prefix, runner, cfg,
                       out);
    int ws = system(cmd);
    int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    cr_assert(eq(int, status, 0), "%s: exit %d", cmd, status);
    char *path = th_fmt("%s/history.csv", out);
    char *history = th_read(path);
    cr_assert(history != NULL, "%s: no history.csv", cmd);
    free(path);
    free(cmd);
    free(runner);
    return history;
}

/* Wide rows with a tail (12 features), narrow rows (3), full batch and
 * gathered mini-batches: every build of the pass must give each of these
 * the same history.csv, byte for byte. */
static const char *const vector_cases[] = {
    "features: 12}\ntraining: {epochs: 12}\n",
    "features: 12}\ntraining: {epochs: 6, batch_size: 400}\n",
    "features: 3}\ntraining: {epochs: 12}\n",
};
#define N_VECTOR_CASES (sizeof(vector_cases) / sizeof(vector_cases[0]))

static char *vector_case(size_t i)
{
    char *text = th_fmt("data: {generator: blobs, samples: 2500, "
                        "noise: 2.0, %s", vector_cases[i]);
    char *cfg = th_put(th_tmp, "vectors.yaml", text);
    free(text);
    return cfg;
}

/* The plugins are built for AVX-512, AVX2 and the baseline, and promise
 * the same bits from each.  valgrind's virtual CPU has no AVX-512, so under
 * it the AVX2 builds run (plugins and pass): history.csv must equal the
 * native one (on a machine without AVX-512 both runs take AVX2, and the
 * check is weaker). */
Test(faults, every_vector_build_gives_the_same_bits, .timeout = 180)
{
    need_valgrind();
    for (size_t i = 0; i < N_VECTOR_CASES; i++) {
        char *cfg = vector_case(i);
        char *native = th_fmt("%s/native%zu", th_tmp, i);
        char *emulated = th_fmt("%s/emulated%zu", th_tmp, i);
        char *ha = history_via("env", cfg, native);
        char *hb = history_via("valgrind -q --error-exitcode=99", cfg,
                               emulated);
        cr_assert(strcmp(ha, hb) == 0, "case %zu: history.csv differs:\n"
                  "native:\n%s\nAVX2 (valgrind):\n%s", i, ha, hb);
        free(ha);
        free(hb);
        free(emulated);
        free(native);
        free(cfg);
    }
}

/* The pass's inner loop is built with vectors of 8, 4 and 2 doubles;
 * NNLAB_VECTOR_WIDTH picks a narrower one than the CPU's widest.  Each
 * must give the same history.csv (on a machine without AVX-512, 8 falls
 * back to 4 and the check is weaker). */
Test(faults, every_vector_width_gives_the_same_bits)
{
    for (size_t i = 0; i < N_VECTOR_CASES; i++) {
        char *cfg = vector_case(i);
        char *history[3];
        static const int widths[] = {8, 4, 2};
        for (size_t k = 0; k < 3; k++) {
            char *prefix = th_fmt("NNLAB_VECTOR_WIDTH=%d", widths[k]);
            char *out = th_fmt("%s/width%zu_%d", th_tmp, i, widths[k]);
            history[k] = history_via(prefix, cfg, out);
            free(out);
            free(prefix);
        }
        for (size_t k = 1; k < 3; k++)
            cr_assert(strcmp(history[0], history[k]) == 0,
                      "case %zu: width %d differs from 8:\n%s\nagainst\n%s",
                      i, widths[k], history[k], history[0]);
        for (size_t k = 0; k < 3; k++)
            free(history[k]);
        free(cfg);
    }
}
