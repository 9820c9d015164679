/*
 * runner.c - the command line: parses arguments, loads settings, runs the
 * experiment and tells the user what happened.  All the work is in the
 * library; this file only prints and exits.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nnlab/plugin.h>

#include "diag.h"
#include "experiment.h"
#include "settings.h"

#ifndef NL_VERSION
#define NL_VERSION "0.1.0"
#endif
#ifndef NL_DEFAULT_PLUGIN_PATH
#define NL_DEFAULT_PLUGIN_PATH "$ORIGIN/plugins"
#endif

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static void usage(FILE *out)
{
    fputs(
        "usage: runner CONFIG.yaml [options]      train one experiment\n"
        "       runner --help | --version\n"
        "\n"
        "Trains the perceptron a YAML experiment describes and writes\n"
        "history.csv, summary.json and the resolved config.yaml to a result\n"
        "directory.\n"
        "\n"
        "options:\n"
        "  -o DIR              write the results to DIR (default:\n"
        "                      <results root>/<name>/<timestamp>)\n"
        "  --set KEY=VALUE     override a config key by dotted path, e.g.\n"
        "                      --set optimizer.learning_rate=0.5 (repeatable)\n"
        "  --seed N            same as --set seed=N\n"
        "  -q, --quiet         no progress and no summary; errors still go\n"
        "                      to stderr\n"
        "  --settings FILE     framework settings (default: ./runner.ini if\n"
        "                      present, else built-in defaults)\n"
        "  -P DIR              search DIR for plugins first (repeatable)\n"
        "  -h, --help          show this help\n"
        "  --version           show the version and the plugin ABI\n"
        "\n"
        "commands still to come (see the issues): batch, compare, plugins,\n"
        "plugin new, plugin check.\n"
        "\n"
        "exit status:\n"
        "  0  the run finished (converged or not)\n"
        "  1  I/O or internal error\n"
        "  2  bad usage, config, data or settings\n"
        "  3  a plugin could not be loaded or failed\n"
        "  130, 143  interrupted by SIGINT, SIGTERM (results were written)\n",
        out);
}

/* The directory of the running executable, for $ORIGIN. */
static void exe_dir(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0) {
        snprintf(buf, size, ".");
        return;
    }
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
}

typedef struct cli {
    const char *config;
    const char *out_dir;
    const char *settings;
    nl_override *overrides;
    size_t n_overrides;
    const char **plugin_dirs;
    size_t n_plugin_dirs;
    bool quiet;
    char seed_arg[64];
} cli;

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("runner: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'runner --help'\n", stderr);
    return NL_EINPUT;
}

/* Parses argv into c.  Returns -1 to go on, or an exit status. */
static int parse_args(cli *c, int argc, char **argv)
{
    c->overrides = calloc((size_t)argc, sizeof(*c->overrides));
    c->plugin_dirs = calloc((size_t)argc, sizeof(*c->plugin_dirs));
    if (c->overrides == NULL || c->plugin_dirs == NULL)
        return NL_EFAIL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("runner (nnlab) %s, plugin ABI %d\n", NL_VERSION,
                   NL_ABI_VERSION);
            return 0;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            c->quiet = true;
            continue;
        }
        if (strncmp(a, "--set=", 6) == 0) {
            c->overrides[c->n_overrides++].arg = a + 6;
            continue;
        }
        bool takes_value = strcmp(a, "-o") == 0 || strcmp(a, "--set") == 0 ||
                           strcmp(a, "--seed") == 0 ||
                           strcmp(a, "--settings") == 0 || strcmp(a, "-P") == 0;
        if (takes_value && value == NULL)
            return bad_usage("%s needs a value", a);
        if (strcmp(a, "-o") == 0)
            c->out_dir = value;
        else if (strcmp(a, "--set") == 0)
            c->overrides[c->n_overrides++].arg = value;
        else if (strcmp(a, "--seed") == 0) {
            snprintf(c->seed_arg, sizeof(c->seed_arg), "seed=%s", value);
            if (strlen(value) > 40)
                return bad_usage("--seed %s: not a seed", value);
        } else if (strcmp(a, "--settings") == 0)
            c->settings = value;
        else if (strcmp(a, "-P") == 0)
            c->plugin_dirs[c->n_plugin_dirs++] = value;
        else if (a[0] == '-' && a[1] != '\0')
            return bad_usage("unknown option %s", a);
        else if (c->config != NULL)
            return bad_usage("one config at a time (got a second: %s); "
                             "batches of runs are `runner batch`, still to "
                             "come", a);
        else if (strcmp(a, "batch") == 0 || strcmp(a, "compare") == 0 ||
                 strcmp(a, "plugins") == 0 || strcmp(a, "plugin") == 0)
            return bad_usage("'%s' is not implemented yet in this version",
                             a);
        else
            c->config = a;
        if (takes_value)
            i++;
    }
    if (c->seed_arg[0] != '\0')
        c->overrides[c->n_overrides++].arg = c->seed_arg;
    if (c->config == NULL)
        return bad_usage("%s", "no config given: runner CONFIG.yaml");
    return -1;
}

static void print_summary(const nl_run_report *r)
{
    const nl_epoch *e = &r->result.last;
    printf("%s: ", r->name);
    switch (r->result.stop) {
    case NL_STOP_LOSS_BELOW:
        printf("converged at epoch %llu (loss below %g)\n",
               (unsigned long long)e->epoch, r->loss_below);
        break;
    case NL_STOP_MAX_EPOCHS:
        printf("did not converge in %llu epochs (loss never fell below %g)\n",
               (unsigned long long)e->epoch, r->loss_below);
        break;
    case NL_STOP_PLATEAU:
        printf("stopped on a plateau at epoch %llu\n",
               (unsigned long long)e->epoch);
        break;
    case NL_STOP_DIVERGED:
        printf("diverged at epoch %llu (loss or a weight is not finite; try "
               "a smaller learning rate)\n", (unsigned long long)e->epoch);
        break;
    case NL_STOP_INTERRUPTED:
        printf("interrupted after epoch %llu\n", (unsigned long long)e->epoch);
        break;
    case NL_STOP_FAILED:
        printf("failed after epoch %llu\n", (unsigned long long)e->epoch);
        break;
    }
    printf("  final loss   %.6g\n", e->loss);
    printf("  accuracy     %.2f%% of %zu training rows\n", 100 * e->accuracy,
           r->train_rows);
    if (e->has_test)
        printf("  test         loss %.6g, accuracy %.2f%% of %zu held-out "
               "rows\n", e->test_loss, 100 * e->test_accuracy, r->test_rows);
    printf("  weights      [");
    for (size_t j = 0; j < r->d && r->theta != NULL; j++)
        printf("%s%.6g", j ? ", " : "", r->theta[j]);
    printf("]\n  bias         %.6g\n", r->theta ? r->theta[r->d] : 0.0);
    printf("  wall time    %.3f s\n", r->wall_seconds);
    printf("  results      %s\n", r->dir);
}

int main(int argc, char **argv)
{
    cli c = {0};
    nl_settings settings = {0};
    nl_diag d = {0};
    int status = parse_args(&c, argc, argv);
    if (status >= 0)
        goto out;
    char origin[PATH_MAX];
    exe_dir(origin, sizeof(origin));
    const char *ini = c.settings;
    if (ini == NULL && access("runner.ini", F_OK) == 0)
        ini = "runner.ini";
    if (nl_settings_load(&settings, ini, NL_DEFAULT_PLUGIN_PATH, origin,
                         &d) < 0)
        goto fail;
    /* -P directories come first, in the order given. */
    for (size_t i = c.n_plugin_dirs; i-- > 0;)
        if (nl_settings_add_plugin_dir(&settings, c.plugin_dirs[i], &d) < 0)
            goto fail;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    bool progress = !c.quiet && settings.progress != NL_PROGRESS_OFF &&
                    (settings.progress == NL_PROGRESS_ON || isatty(2));
    nl_run_options o = {
        .config_path = c.config,
        .overrides = c.overrides,
        .n_overrides = c.n_overrides,
        .out_dir = c.out_dir,
        .settings = &settings,
        .progress = progress ? stderr : NULL,
        .interrupt = &interrupted,
    };
    nl_run_report report;
    int rc = nl_experiment_run(&o, &report, &d);
    if (report.dir != NULL && !c.quiet)
        print_summary(&report);
    nl_run_report_free(&report);
    if (rc < 0)
        goto fail;
    status = interrupted ? 128 + interrupted : 0;
    goto out;
fail:
    fprintf(stderr, "%s\n", d.message);
    status = d.status == NL_OK ? NL_EFAIL : (int)d.status;
out:
    nl_settings_free(&settings);
    free(c.overrides);
    free(c.plugin_dirs);
    return status;
}
