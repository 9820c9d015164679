/* test_runner.c - the real runner binary end to end: help, the shipped
 * configs, result directories, reproduction from config.yaml, signals. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <time.h>

#include "helpers.h"

TestSuite(runner, .init = th_tmp_init, .fini = th_tmp_fini);

/* Counts the entries of dir whose name starts with '.' (temporary files). */
static int hidden_entries(const char *dir)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "ls -A '%s' | grep -c '^\\.' > '%s/.count'",
                       dir, th_tmp) >= 0);
    int rc = system(cmd);
    (void)rc;
    free(cmd);
    char *count = th_read_in(th_tmp, ".count");
    int n = count ? atoi(count) : -1;
    free(count);
    return n;
}

Test(runner, help_lists_usage_and_options)
{
    th_run r = th_runner("--help", NULL);
    cr_assert(eq(int, r.status, 0));
    cr_assert(strstr(r.out, "usage: runner CONFIG.yaml") != NULL);
    const char *options[] = {"-o DIR", "--set KEY=VALUE", "--seed N", "-q",
                             "--settings FILE", "-P DIR", "--version"};
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        cr_assert(strstr(r.out, options[i]) != NULL, "help lacks %s",
                  options[i]);
    th_run_free(&r);
}

/* A command's --help is its part of the help: its usage, the options it
 * takes, and where the rest is. */
Test(runner, a_commands_help_is_its_own)
{
    static const struct {
        const char *command, *usage, *has, *lacks;
    } cases[] = {
        {"batch", "usage: runner batch STUDY.yaml", "--list-jobs",
         "--set KEY"},
        {"compare", "usage: runner compare RESULT_DIR", "--group-by",
         "--list-jobs"},
        {"plugins", "usage: runner plugins", "-P DIR", "-o DIR"},
        {"plugin", "usage: runner plugin new KIND NAME", "--dir DIR",
         "-o DIR"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        th_run r = th_runner(cases[i].command, "--help", NULL);
        cr_assert(eq(int, r.status, 0));
        th_assert_starts_with(r.out, cases[i].usage);
        th_assert_contains(r.out, cases[i].has);
        th_assert_lacks(r.out, cases[i].lacks);
        th_assert_contains(r.out, "Every command, the environment and the "
                                  "exit statuses: runner --help\n");
        th_run_free(&r);
    }
}

Test(runner, version_names_the_abi)
{
    th_run r = th_runner("--version", NULL);
    cr_assert(eq(int, r.status, 0));
    cr_assert(strstr(r.out, "plugin ABI 1") != NULL);
    th_run_free(&r);
}

Test(runner, bad_usage_exits_2)
{
    th_run r = th_runner("--frobnicate", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(strstr(r.err, "--frobnicate is not an option of runner CONFIG.yaml") != NULL);
    th_run_free(&r);
    r = th_runner(NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(strstr(r.err, "no config given") != NULL);
    th_run_free(&r);
    r = th_runner("configs/sigmoid_mse.yaml", "-o", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(strstr(r.err, "-o needs a value") != NULL);
    th_run_free(&r);
}

Test(runner, missing_config_file_exits_2)
{
    th_run r = th_runner("no/such/config.yaml", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "no/such/config.yaml: error: cannot open: No "
                             "such file or directory\n"));
    th_run_free(&r);
}

Test(runner, seed_example_converges_and_reports)
{
    char *out = th_join(th_tmp, "run");
    th_run r = th_runner("configs/sigmoid_mse.yaml", "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    /* stderr is not a terminal here: no progress line, no chatter. */
    cr_assert(eq(str, r.err, ""));
    cr_assert(strstr(r.out, "sigmoid_mse: converged at epoch ") != NULL,
              "stdout: %s", r.out);
    cr_assert(strstr(r.out, "accuracy     100.00% of 4 training rows") != NULL);
    cr_assert(strstr(r.out, "weights      [") != NULL);
    cr_assert(strstr(r.out, "bias ") != NULL);
    cr_assert(strstr(r.out, out) != NULL, "summary names the results");
    char *summary = th_read_in(out, "summary.json");
    cr_assert(summary != NULL);
    cr_assert(strstr(summary, "\"status\": \"ok\"") != NULL);
    cr_assert(strstr(summary, "\"stop_reason\": \"loss_below\"") != NULL);
    cr_assert(strstr(summary, "\"converged\": true") != NULL);
    free(summary);
    th_run_free(&r);
    free(out);
}

Test(runner, quiet_prints_nothing)
{
    char *out = th_join(th_tmp, "run");
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 0));
    cr_assert(eq(str, r.out, ""));
    cr_assert(eq(str, r.err, ""));
    th_run_free(&r);
    free(out);
}

Test(runner, shipped_configs_all_run)
{
    const char *configs[] = {"configs/sigmoid_mse.yaml", "configs/step_mse.yaml",
                             "configs/iris_sigmoid.yaml"};
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "run%zu", i);
        char *out = th_join(th_tmp, name);
        th_run r = th_runner(configs[i], "-q", "-o", out, NULL);
        cr_assert(eq(int, r.status, 0), "%s: %s", configs[i], r.err);
        char *summary = th_read_in(out, "summary.json");
        cr_assert(summary && strstr(summary, "\"converged\": true"),
                  "%s did not converge", configs[i]);
        free(summary);
        th_run_free(&r);
        free(out);
    }
}

/* Runs that share a name and a second still get their own directories. */
Test(runner, default_directory_never_overwrites)
{
    char *ini = th_join(th_tmp, "runner.ini");
    char *text = NULL;
    cr_assert(asprintf(&text, "[results]\nroot = %s/res\n", th_tmp) >= 0);
    cr_assert(th_write(ini, text) == 0);
    for (int i = 0; i < 3; i++) {
        th_run r = th_runner("configs/step_mse.yaml", "-q", "--settings", ini,
                             NULL);
        cr_assert(eq(int, r.status, 0), "%s", r.err);
        th_run_free(&r);
    }
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "ls '%s/res/step_mse' | wc -l > '%s/n'", th_tmp,
                       th_tmp) >= 0);
    cr_assert(system(cmd) == 0);
    char *n = th_read_in(th_tmp, "n");
    cr_assert(eq(int, atoi(n), 3));
    free(n);
    free(cmd);
    free(text);
    free(ini);
}

/* config.yaml, given back to the runner, reproduces history.csv byte for
 * byte: here with every random choice in play (blobs, split, init,
 * shuffled mini-batches). */
Test(runner, resolved_config_reproduces_history)
{
    char *cfg = th_join(th_tmp, "random.yaml");
    cr_assert(th_write(cfg,
                       "data: {generator: blobs, samples: 57, features: 3,\n"
                       "       separation: 2.5, noise: 0.8,\n"
                       "       normalize: minmax, test_fraction: 0.25}\n"
                       "seed: 99\n"
                       "model: {init: uniform, init_scale: 0.3}\n"
                       "activation: {name: step, threshold: 0.1}\n"
                       "optimizer: {name: gradient_descent, learning_rate: 0.05}\n"
                       "training: {epochs: 60, batch_size: 8,\n"
                       "           stop: {loss_below: 0.0, patience: 0}}\n") ==
              0);
    char *a = th_join(th_tmp, "a"), *b = th_join(th_tmp, "b");
    th_run r = th_runner(cfg, "-q", "-o", a, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    char *resolved = th_join(a, "config.yaml");
    r = th_runner(resolved, "-q", "-o", b, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    char *ha = th_read_in(a, "history.csv"), *hb = th_read_in(b, "history.csv");
    cr_assert(ha && hb);
    cr_assert(strstr(ha, "epoch,loss,accuracy,test_loss,test_accuracy\n") == ha);
    cr_assert(eq(str, ha, hb));
    char *ca = th_read_in(a, "config.yaml"), *cb = th_read_in(b, "config.yaml");
    cr_assert(eq(str, ca, cb), "the resolved config is a fixed point");
    free(ca);
    free(cb);
    free(ha);
    free(hb);
    free(resolved);
    free(a);
    free(b);
    free(cfg);
}

/* A plugin found by name on a -P directory: config.yaml names the file,
 * so that it reproduces the run without the -P. */
Test(runner, resolved_config_names_the_file_of_a_plugin_found_by_name)
{
    char *fixtures = th_build_path("fixtures");
    char *cfg = th_join(th_tmp, "relu.yaml");
    cr_assert(th_write(cfg, "data: {generator: or}\n"
                            "activation: fixture_relu\n"
                            "training: {epochs: 20}\n") == 0);
    char *a = th_join(th_tmp, "a"), *b = th_join(th_tmp, "b");
    th_run r = th_runner(cfg, "-q", "-o", a, "-P", fixtures, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    char *resolved = th_join(a, "config.yaml");
    r = th_runner(resolved, "-q", "-o", b, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    char *ca = th_read_in(a, "config.yaml");
    char *so = th_fixture_real("fixture_relu");
    char *named = th_fmt("activation:\n  name: fixture_relu\n  path: \"%s\"\n",
                         so);
    th_assert_contains(ca, named);
    char *ha = th_read_in(a, "history.csv"), *hb = th_read_in(b, "history.csv");
    cr_assert(ha && hb);
    cr_assert(eq(str, ha, hb));
    free(ha);
    free(hb);
    free(named);
    free(so);
    free(ca);
    free(resolved);
    free(a);
    free(b);
    free(cfg);
    free(fixtures);
}

/* --seed N is --set seed=N in its place: the last of them wins. */
Test(runner, seed_and_set_seed_apply_in_order)
{
    const char *orders[][4] = {{"--seed", "7", "--set", "seed=8"},
                               {"--set", "seed=8", "--seed", "7"}};
    const char *want[] = {"\"seed\": 8,", "\"seed\": 7,"};
    for (size_t k = 0; k < 2; k++) {
        char *out = th_fmt("%s/o%zu", th_tmp, k);
        th_run r = th_runner("configs/sigmoid_mse.yaml", "-q", "-o", out,
                             orders[k][0], orders[k][1], orders[k][2],
                             orders[k][3], NULL);
        cr_assert(eq(int, r.status, 0), "%s", r.err);
        th_run_free(&r);
        char *summary = th_read_in(out, "summary.json");
        th_assert_contains(summary, want[k]);
        free(summary);
        free(out);
    }
}

/* A study is not a config: given to runner itself, or with another file
 * to runner batch (which takes one study alone), it says how to run it. */
Test(runner, a_study_where_a_config_belongs_says_how_to_run_it)
{
    const char *study = "experiments/activation_shootout.yaml";
    char *want = th_fmt("%s:6:7: error: base: makes this file a study, not a "
                        "config; run it with: runner batch %s (one study at "
                        "a time)\n", study, study);
    th_run r = th_runner(study, "-q", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, want));
    th_run_free(&r);
    r = th_runner("batch", study, "experiments/learning_rate_sweep.yaml",
                  "-q", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, want));
    th_run_free(&r);
    free(want);
}

/* batch_size: "full", quoted, is the word full like any quoted word. */
Test(runner, a_quoted_word_is_the_word)
{
    char *cfg = th_join(th_tmp, "quoted.yaml");
    cr_assert(th_write(cfg, "data: {generator: \"and\"}\n"
                            "training: {batch_size: \"full\", epochs: 3}\n")
              == 0);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    free(out);
    free(cfg);
}

/* -o where nothing is written is refused, not ignored. */
Test(runner, o_is_refused_where_nothing_is_written)
{
    th_run r = th_runner("plugin", "new", "activation", "foo", "--dir",
                         th_tmp, "-o", th_tmp, NULL);
    cr_assert(eq(int, r.status, 2));
    th_assert_contains(r.err, "runner: -o is not an option of runner plugin");
    cr_assert(th_exists_in(th_tmp, "foo.c") == false);
    th_run_free(&r);
    r = th_runner("plugins", "-o", th_tmp, NULL);
    cr_assert(eq(int, r.status, 2));
    th_assert_contains(r.err, "runner: -o is not an option of runner plugins");
    th_run_free(&r);
}

/* A -P that names no directory is a typo: exit 2, whatever the command. */
Test(runner, a_plugin_directory_that_is_not_there_is_refused)
{
    th_run r = th_runner("plugins", "-P", "/nonexistent/plugins", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "runner: -P /nonexistent/plugins: No such file "
                             "or directory\n"));
    th_run_free(&r);
    r = th_runner("configs/sigmoid_mse.yaml", "-q", "-P", "configs/step_mse.yaml",
                  NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "runner: -P configs/step_mse.yaml: not a "
                             "directory\n"));
    th_run_free(&r);
}

/* A plugin that crashes mid-run (a bug: through the handler in place)
 * kills the run by its signal, and leaves no temporary file behind. */
Test(runner, a_crash_mid_run_leaves_no_temporary_file)
{
    char *fixtures = th_build_path("fixtures");
    char *cfg = th_join(th_tmp, "crash.yaml");
    cr_assert(th_write(cfg, "data: {generator: and}\n"
                            "activation: {name: crash_later, after: 300}\n"
                            "training: {epochs: 1000}\n") == 0);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, "-P", fixtures, NULL);
    cr_assert(eq(int, r.status, 128 + SIGSEGV), "exit %d: %s", r.status,
              r.err);
    th_run_free(&r);
    cr_assert(th_exists(out), "the crash came after the results began");
    cr_assert(eq(int, hidden_entries(out), 0), "a temporary file in %s", out);
    free(out);
    free(cfg);
    free(fixtures);
}

Test(runner, seed_changes_random_runs)
{
    char *a = th_join(th_tmp, "a"), *b = th_join(th_tmp, "b");
    th_run r = th_runner("configs/iris_sigmoid.yaml", "-q", "-o", a, "--seed",
                         "1", NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    r = th_runner("configs/iris_sigmoid.yaml", "-q", "-o", b, "--seed", "2",
                  NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    th_run_free(&r);
    char *ha = th_read_in(a, "history.csv"), *hb = th_read_in(b, "history.csv");
    cr_assert(strcmp(ha, hb) != 0);
    char *ca = th_read_in(a, "config.yaml");
    cr_assert(strstr(ca, "\nseed: 1\n") != NULL);
    free(ca);
    free(ha);
    free(hb);
    free(a);
    free(b);
}

Test(runner, output_path_under_a_file_fails_with_exit_1)
{
    char *file = th_join(th_tmp, "plain");
    cr_assert(th_write(file, "x") == 0);
    char *out = th_join(file, "run");
    th_run r = th_runner("configs/step_mse.yaml", "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 1));
    cr_assert(strstr(r.err, "cannot create directory") != NULL, "%s", r.err);
    th_run_free(&r);
    free(out);
    free(file);
}

/* Starts a long run, signals it once it has begun, and checks the result. */
static void interrupt_run(int sig, int want_status)
{
    char *cfg = th_join(th_tmp, "long.yaml");
    cr_assert(th_write(cfg, "data: {generator: xor}\n"
                            "training: {epochs: 1000000000}\n") == 0);
    char *out = th_join(th_tmp, "run");
    char *exe = th_build_path("runner");
    pid_t pid = fork();
    if (pid == 0) {
        execl(exe, exe, cfg, "-q", "-o", out, (char *)NULL);
        _exit(127);
    }
    /* Wait until training has begun (the history file exists). */
    char *probe = NULL;
    cr_assert(asprintf(&probe, "%s/.history.csv.tmp-%d", out, (int)pid) >= 0);
    for (int i = 0; i < 500 && access(probe, F_OK) != 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    kill(pid, sig);
    int ws;
    waitpid(pid, &ws, 0);
    int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    cr_assert(eq(int, status, want_status));
    char *summary = th_read_in(out, "summary.json");
    cr_assert(summary != NULL, "summary.json written");
    cr_assert(strstr(summary, "\"stop_reason\": \"interrupted\"") != NULL);
    char *history = th_read_in(out, "history.csv");
    cr_assert(history != NULL && strncmp(history, "epoch,loss,accuracy\n0,", 22) == 0);
    cr_assert(eq(int, hidden_entries(out), 0), "no temporary file left");
    free(history);
    free(summary);
    free(probe);
    free(exe);
    free(out);
    free(cfg);
}

Test(runner, sigint_writes_results_and_exits_130)
{
    interrupt_run(SIGINT, 130);
}

Test(runner, sigterm_writes_results_and_exits_143)
{
    interrupt_run(SIGTERM, 143);
}
