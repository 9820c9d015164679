/*
 * runner.c - main(): parses the command line and hands it to a command.
 * `runner CONFIG.yaml` (one experiment) lives here; batch and compare live
 * in cmd_batch.c.  All the work is in the library; this layer prints and
 * exits.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nnlab/plugin.h>

#include "atomic_file.h"
#include "cli.h"
#include "diag.h"
#include "experiment.h"
#include "settings.h"

#ifndef NL_VERSION
#define NL_VERSION "0.2.0"
#endif
/* In the build tree the plugins sit beside the runner (build/plugins);
 * installed, under PREFIX/lib/nnlab/plugins.  Relative to the executable,
 * so a DESTDIR or relocated install finds them too. */
#ifndef NL_DEFAULT_PLUGIN_PATH
#define NL_DEFAULT_PLUGIN_PATH "$ORIGIN/plugins:$ORIGIN/../lib/nnlab/plugins"
#endif

volatile sig_atomic_t nl_interrupted;

static void on_signal(int sig)
{
    nl_interrupted = sig;
}

/* The help, in the pieces a command's own --help takes. */
static const char help_usage_run[] =
    "usage: runner CONFIG.yaml [options]          train one experiment\n";
static const char help_usage_batch[] =
    "       runner batch STUDY.yaml|CONFIG.yaml... [options]\n"
    "                                             run many, compare them\n";
static const char help_usage_compare[] =
    "       runner compare RESULT_DIR... [options]\n"
    "                                             compare finished runs\n";
static const char help_usage_plugins[] =
    "       runner plugins                        list every plugin found\n";
static const char help_usage_plugin[] =
    "       runner plugin new KIND NAME [--dir DIR]\n"
    "                                             write a plugin source\n"
    "                                             that builds as is\n"
    "       runner plugin check PATH.so|NAME      check a plugin: ABI,\n"
    "                                             metadata, numerics,\n"
    "                                             derivatives\n";
static const char help_about[] =
    "       runner --help | --version\n"
    "\n"
    "A run writes history.csv, summary.json and the resolved config.yaml\n"
    "to its result directory.  A batch runs each variant of a study (a\n"
    "base config and a sweep) in its own process and writes\n"
    "comparison.csv, groups.csv, comparison.md, convergence.svg and\n"
    "report.html beside the runs.\n"
    "\n";
static const char help_common[] =
    "options for every command:\n"
    "  -q, --quiet         no progress and no summary; errors still go\n"
    "                      to stderr\n"
    "  --settings FILE     framework settings (default: ./runner.ini if\n"
    "                      present, else built-in defaults)\n"
    "  -P DIR              search DIR for plugins first (repeatable)\n";
static const char help_out[] =
    "run, batch, compare:\n"
    "  -o DIR              write the results to DIR (default:\n"
    "                      <results root>/<name>/<timestamp>; compare:\n"
    "                      the one directory given)\n";
static const char help_run[] =
    "run:\n"
    "  --set KEY=VALUE     override a config key by dotted path, e.g.\n"
    "                      --set optimizer.learning_rate=0.5 (repeatable)\n"
    "  --seed N            same as --set seed=N\n"
    "  --force             write into -o DIR even when it holds files\n"
    "                      that are not an nnlab result\n";
static const char help_batch[] =
    "batch:\n"
    "  -j N                run N at once (default: the number of cores)\n"
    "  --timeout SECONDS   fail a run that takes longer (default: none)\n"
    "  --force             write into -o DIR even when it holds other\n"
    "                      files or an earlier batch's runs\n"
    "  --list-jobs         print one self-contained runner command per\n"
    "                      run (for GNU parallel or a Slurm array) and\n"
    "                      run nothing\n";
static const char help_compare[] =
    "compare:\n"
    "  --group-by KEY      aggregate runs that share KEY's value\n"
    "                      (repeatable; a dotted config key)\n";
static const char help_plugin[] =
    "plugin new:\n"
    "  --dir DIR           write the source into DIR (default: .)\n";
static const char help_rest[] =
    "other:\n"
    "  -h, --help          show this help\n"
    "  --version           show the version and the plugin ABI\n"
    "environment:\n"
    "  NNLAB_THREADS=N     threads for large passes (default: the\n"
    "                      cores); results are the same for any N\n"
    "  NNLAB_VECTOR_WIDTH=W  at most W doubles per vector in the\n"
    "                      training loop: 8, 4 or 2 (default: the\n"
    "                      widest the CPU has); results are the same\n"
    "                      for any W\n"
    "\n"
    "exit status:\n";

/* The whole help (runner --help), or a command's part of it (runner batch
 * --help and the like). */
static void usage(FILE *out, nl_command command)
{
    if (command != NL_CMD_RUN) {
        const char *line = command == NL_CMD_BATCH     ? help_usage_batch
                           : command == NL_CMD_COMPARE ? help_usage_compare
                           : command == NL_CMD_PLUGINS ? help_usage_plugins
                                                       : help_usage_plugin;
        fprintf(out, "usage:%s\n%s", line + strlen("usage:"), help_common);
        if (command == NL_CMD_BATCH || command == NL_CMD_COMPARE)
            fputs(help_out, out);
        fputs(command == NL_CMD_BATCH     ? help_batch
              : command == NL_CMD_COMPARE ? help_compare
              : command == NL_CMD_PLUGIN  ? help_plugin
                                          : "",
              out);
        fputs("\nEvery command, the environment and the exit statuses: "
              "runner --help\n", out);
        return;
    }
    fputs(help_usage_run, out);
    fputs(help_usage_batch, out);
    fputs(help_usage_compare, out);
    fputs(help_usage_plugins, out);
    fputs(help_usage_plugin, out);
    fputs(help_about, out);
    fputs(help_common, out);
    fputs(help_out, out);
    fputs(help_run, out);
    fputs(help_batch, out);
    fputs(help_compare, out);
    fputs(help_plugin, out);
    fputs(help_rest, out);
    for (int status = NL_OK; status <= NL_EPLUGIN; status++)
        fprintf(out, "  %d  %s\n", status, nl_status_text((nl_status)status));
    fputs("  130, 143  interrupted by SIGINT, SIGTERM (results were written)\n",
          out);
}

int nl_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("runner: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'runner --help'\n", stderr);
    return NL_EINPUT;
}

void nl_cli_exe(char *dir, size_t dir_size, char *path, size_t path_size)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        snprintf(buf, sizeof(buf), "./runner");
    else
        buf[n] = '\0';
    if (path != NULL)
        snprintf(path, path_size, "%s", buf);
    char *slash = strrchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(dir, dir_size, "%s", slash ? buf : ".");
}

int nl_cli_settings(const nl_cli *cli, nl_settings *s)
{
    char origin[PATH_MAX];
    nl_diag d;
    nl_cli_exe(origin, sizeof(origin), NULL, 0);
    const char *ini = cli->settings;
    if (ini == NULL && access("runner.ini", F_OK) == 0)
        ini = "runner.ini";
    if (nl_settings_load(s, ini, NL_DEFAULT_PLUGIN_PATH, origin, &d) < 0)
        goto fail;
    /* A -P that names nothing is a typo, not an empty directory (the
     * first such, in the order given). */
    for (size_t i = 0; i < cli->n_plugin_dirs; i++) {
        struct stat st;
        if (stat(cli->plugin_dirs[i], &st) != 0) {
            nl_fail(&d, NL_EINPUT, "runner: -P %s: %s", cli->plugin_dirs[i],
                    strerror(errno));
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            nl_fail(&d, NL_EINPUT, "runner: -P %s: not a directory",
                    cli->plugin_dirs[i]);
            goto fail;
        }
    }
    for (size_t i = cli->n_plugin_dirs; i-- > 0;) /* each goes first */
        if (nl_settings_add_plugin_dir(s, cli->plugin_dirs[i], &d) < 0)
            goto fail;
    return 0;
fail:
    fprintf(stderr, "%s\n", d.message);
    nl_settings_free(s);
    return d.status;
}

bool nl_cli_progress(const nl_cli *cli, const nl_settings *s)
{
    return !cli->quiet && s->progress != NL_PROGRESS_OFF &&
           (s->progress == NL_PROGRESS_ON || isatty(2));
}

static bool parse_count(const char *s, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= 0) || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses argv into cli.  Returns -1 to go on, or an exit status. */
static int parse_args(nl_cli *cli, int argc, char **argv)
{
    size_t n = (size_t)argc + 1;
    cli->inputs = calloc(n, sizeof(*cli->inputs));
    cli->overrides = calloc(n, sizeof(*cli->overrides));
    cli->plugin_dirs = calloc(n, sizeof(*cli->plugin_dirs));
    cli->group_by = calloc(n, sizeof(*cli->group_by));
    if (!cli->inputs || !cli->overrides || !cli->plugin_dirs || !cli->group_by)
        return NL_EFAIL;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "batch") == 0)
        cli->command = NL_CMD_BATCH, first = 2;
    else if (argc > 1 && strcmp(argv[1], "compare") == 0)
        cli->command = NL_CMD_COMPARE, first = 2;
    else if (argc > 1 && strcmp(argv[1], "plugins") == 0)
        cli->command = NL_CMD_PLUGINS, first = 2;
    else if (argc > 1 && strcmp(argv[1], "plugin") == 0)
        cli->command = NL_CMD_PLUGIN, first = 2;
    bool run = cli->command == NL_CMD_RUN;
    bool batch = cli->command == NL_CMD_BATCH;
    bool compare = cli->command == NL_CMD_COMPARE;
    bool plugin = cli->command == NL_CMD_PLUGIN;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, cli->command);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("runner (nnlab) %s, plugin ABI %d\n", NL_VERSION,
                   NL_ABI_VERSION);
            return 0;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->quiet = true;
            continue;
        }
        if (batch && strncmp(a, "-j", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            double j; /* -jN, as make and parallel take it */
            if (!parse_count(a + 2, 1024, &j) || j < 1 || j != (int)j)
                return nl_cli_usage_error("%s: expected a number of runs "
                                          "from 1 to 1024", a);
            cli->jobs = (int)j;
            continue;
        }
        if (batch && strcmp(a, "--list-jobs") == 0) {
            cli->list_jobs = true;
            continue;
        }
        if ((run || batch) && strcmp(a, "--force") == 0) {
            cli->force = true;
            continue;
        }
        if (run && strncmp(a, "--set=", 6) == 0) {
            cli->overrides[cli->n_overrides++].arg = a + 6;
            continue;
        }
        const char *const with_value[] = {"-o", "--settings", "-P", "--set",
                                          "--seed", "-j", "--timeout",
                                          "--group-by", "--dir"};
        bool takes = false;
        for (size_t k = 0; k < sizeof(with_value) / sizeof(*with_value); k++)
            takes |= strcmp(a, with_value[k]) == 0;
        if (takes && value == NULL)
            return nl_cli_usage_error("%s needs a value", a);
        if (takes)
            i++;
        if (strcmp(a, "-o") == 0 && (run || batch || compare))
            cli->out_dir = value;
        else if (strcmp(a, "--settings") == 0)
            cli->settings = value;
        else if (strcmp(a, "-P") == 0)
            cli->plugin_dirs[cli->n_plugin_dirs++] = (char *)value;
        else if (run && strcmp(a, "--set") == 0)
            cli->overrides[cli->n_overrides++].arg = value;
        else if (run && strcmp(a, "--seed") == 0) {
            if (strlen(value) > 40)
                return nl_cli_usage_error("--seed %s: not a seed", value);
            snprintf(cli->seed_arg, sizeof(cli->seed_arg), "seed=%s", value);
            /* In its place among the --set: the last one wins. */
            cli->overrides[cli->n_overrides++].arg = cli->seed_arg;
        } else if (batch && strcmp(a, "-j") == 0) {
            double j;
            if (!parse_count(value, 1024, &j) || j < 1 || j != (int)j)
                return nl_cli_usage_error("-j %s: expected a number of "
                                          "runs from 1 to 1024", value);
            cli->jobs = (int)j;
        } else if (batch && strcmp(a, "--timeout") == 0) {
            if (!parse_count(value, 1e9, &cli->timeout) || cli->timeout == 0)
                return nl_cli_usage_error("--timeout %s: expected seconds "
                                          "> 0", value);
        } else if (compare && strcmp(a, "--group-by") == 0)
            cli->group_by[cli->n_group_by++] = (char *)value;
        else if (plugin && strcmp(a, "--dir") == 0)
            cli->dir = value;
        else if (takes || (a[0] == '-' && a[1] != '\0'))
            return nl_cli_usage_error("%s is not an option of %s", a,
                                      run ? "runner CONFIG.yaml"
                                      : batch ? "runner batch"
                                      : compare ? "runner compare"
                                      : plugin ? "runner plugin"
                                               : "runner plugins");
        else
            cli->inputs[cli->n_inputs++] = (char *)a;
    }
    if (cli->command == NL_CMD_PLUGINS && cli->n_inputs > 0)
        return nl_cli_usage_error("runner plugins takes no argument (got "
                                  "%s); -P DIR adds a directory",
                                  cli->inputs[0]);
    if (cli->n_inputs == 0 && cli->command == NL_CMD_PLUGIN)
        return nl_cli_usage_error("usage: runner plugin new KIND NAME | "
                                  "runner plugin check PATH.so|NAME");
    if (cli->n_inputs == 0 && cli->command != NL_CMD_PLUGINS)
        return nl_cli_usage_error("%s", run ? "no config given: runner "
                                  "CONFIG.yaml" : batch ? "no study or config "
                                  "given: runner batch STUDY.yaml"
                                  : "no result directory given: runner "
                                    "compare DIR...");
    if (run && cli->n_inputs > 1)
        return nl_cli_usage_error("one config at a time (got %s and %s); "
                                  "runner batch runs several",
                                  cli->inputs[0], cli->inputs[1]);
    return -1;
}

static void print_summary(const nl_run_report *r)
{
    const nl_epoch *e = &r->result.last;
    unsigned long long epoch = (unsigned long long)e->epoch;
    printf("%s: ", r->name);
    switch (r->result.stop) {
    case NL_STOP_LOSS_BELOW:
        printf("converged at epoch %llu (loss below %g)\n", epoch,
               r->loss_below);
        break;
    case NL_STOP_MAX_EPOCHS:
        printf("did not converge in %llu epochs (loss never fell below %g)\n",
               epoch, r->loss_below);
        break;
    case NL_STOP_PLATEAU:
        printf("stopped on a plateau at epoch %llu\n", epoch);
        break;
    case NL_STOP_DIVERGED:
        printf("diverged at epoch %llu (loss or a weight is not finite; try "
               "a smaller learning rate)\n", epoch);
        break;
    case NL_STOP_INTERRUPTED:
        printf("interrupted after epoch %llu\n", epoch);
        break;
    case NL_STOP_FAILED:
        printf("failed after epoch %llu\n", epoch);
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

static int cmd_run(const nl_cli *cli)
{
    /* A plugin that crashes mid-run leaves no temporary file behind. */
    nl_atomic_remove_on_crash();
    nl_settings settings;
    int status = nl_cli_settings(cli, &settings);
    if (status != 0)
        return status;
    nl_run_options o = {
        .config_path = cli->inputs[0],
        .overrides = cli->overrides,
        .n_overrides = cli->n_overrides,
        .out_dir = cli->out_dir,
        .force = cli->force,
        .settings = &settings,
        .progress = nl_cli_progress(cli, &settings) ? stderr : NULL,
        .interrupt = &nl_interrupted,
    };
    nl_run_report report;
    nl_diag d;
    int rc = nl_experiment_run(&o, &report, &d);
    if (report.dir != NULL && !cli->quiet)
        print_summary(&report);
    bool interrupted = report.result.stop == NL_STOP_INTERRUPTED;
    nl_run_report_free(&report);
    nl_settings_free(&settings);
    if (rc < 0) {
        fprintf(stderr, "%s\n", d.message);
        return d.status == NL_OK ? NL_EFAIL : (int)d.status;
    }
    /* 130/143 only when the run stopped for the signal: one that ended
     * on its own in the same epoch is a plain result. */
    return interrupted ? 128 + nl_interrupted : 0;
}

int main(int argc, char **argv)
{
    nl_cli cli = {0};
    int status = parse_args(&cli, argc, argv);
    if (status < 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        switch (cli.command) {
        case NL_CMD_RUN:
            status = cmd_run(&cli);
            break;
        case NL_CMD_BATCH:
            status = nl_cmd_batch(&cli);
            break;
        case NL_CMD_COMPARE:
            status = nl_cmd_compare(&cli);
            break;
        case NL_CMD_PLUGINS:
        case NL_CMD_PLUGIN:
            status = nl_cmd_plugin(&cli);
            break;
        }
    }
    free(cli.inputs);
    free(cli.overrides);
    free(cli.plugin_dirs);
    free(cli.group_by);
    return status;
}
