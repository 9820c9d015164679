/*
 * cmd_batch.c - `runner batch` and `runner compare`: the command-line
 * layer over study.c, batch.c, compare.c and report.c.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "compare.h"
#include "report.h"
#include "results.h"
#include "study.h"

static int report_error(const nl_diag *d)
{
    fprintf(stderr, "%s\n", d->message);
    return d->status == NL_OK ? NL_EFAIL : (int)d->status;
}

/* An absolute version of path (which need not exist yet); truncated to
 * size - 1 bytes at worst. */
static void absolute(const char *path, char *out, size_t size)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        cwd[0] = '\0';
    if (snprintf(out, size, "%s%s%s", cwd, cwd[0] ? "/" : "", path) >=
        (int)size)
        out[size - 1] = '\0';
}

/* Compares the runs under `dirs` and writes the report into out_dir;
 * prints the ranked table unless quiet. */
static int compare_and_report(char *const *dirs, size_t n_dirs,
                              char *const *group_by, size_t n_group_by,
                              const char *out_dir, bool quiet)
{
    nl_comparison c;
    nl_diag d;
    if (nl_compare_load(&c, dirs, n_dirs, &d) < 0 ||
        nl_compare_finish(&c, group_by, n_group_by, &d) < 0) {
        nl_compare_free(&c);
        return report_error(&d);
    }
    if (nl_make_dirs(out_dir, &d) < 0) {
        nl_compare_free(&c);
        return report_error(&d);
    }
    int rc = nl_report_write(&c, out_dir, &d);
    if (rc == 0 && !quiet) {
        nl_report_table(&c, stdout);
        printf("report: %s/report.html\n", out_dir);
    }
    nl_compare_free(&c);
    return rc < 0 ? report_error(&d) : 0;
}

static int load_study(const nl_cli *cli, nl_registry *reg, nl_study *s,
                      nl_diag *d)
{
    if (cli->n_inputs == 1) {
        nl_ynode *root = nl_yaml_load(cli->inputs[0], d);
        if (root == NULL)
            return -1;
        bool study = nl_study_is_study(root);
        nl_ynode_free(root);
        if (study)
            return nl_study_load(s, cli->inputs[0], reg, d);
    }
    return nl_study_of_configs(s, cli->inputs, cli->n_inputs, reg, d);
}

int nl_cmd_batch(const nl_cli *cli)
{
    nl_settings settings;
    int status = nl_cli_settings(cli, &settings);
    if (status != 0)
        return status;
    nl_registry *reg = nl_registry_new((const char *const *)settings.plugin_dirs,
                                       settings.n_plugin_dirs);
    nl_study study = {0};
    nl_diag d;
    if (reg == NULL) {
        nl_settings_free(&settings);
        return NL_EFAIL;
    }
    /* This process must outlive a plugin whose maths crashes or hangs:
     * only the runs' own processes call it (here plugins are only loaded
     * and described). */
    nl_registry_skip_numeric_check(reg);
    if (load_study(cli, reg, &study, &d) < 0) {
        status = report_error(&d);
        goto out;
    }
    char out_dir[PATH_MAX], exe_dir[PATH_MAX], exe[PATH_MAX];
    char settings_path[PATH_MAX];
    if (cli->out_dir != NULL) {
        absolute(cli->out_dir, out_dir, sizeof(out_dir));
    } else if (cli->list_jobs) { /* named, not made: nothing runs here */
        char root[PATH_MAX], stamp[32];
        absolute(settings.results_root, root, sizeof(root));
        nl_run_stamp(stamp, sizeof(stamp));
        if (snprintf(out_dir, sizeof(out_dir), "%s/%s/%s", root, study.name,
                     stamp) >= (int)sizeof(out_dir)) {
            status = NL_EFAIL;
            fprintf(stderr, "runner: %s: results root path too long\n",
                    root);
            goto out;
        }
    } else { /* made now, so no other batch can take the same name */
        char root[PATH_MAX];
        absolute(settings.results_root, root, sizeof(root));
        char *made = nl_make_run_dir(root, study.name, &d);
        if (made == NULL) {
            status = report_error(&d);
            goto out;
        }
        snprintf(out_dir, sizeof(out_dir), "%s", made);
        free(made);
    }
    nl_cli_exe(exe_dir, sizeof(exe_dir), exe, sizeof(exe));
    /* Children get the same settings and plugin directories, absolute. */
    char **dirs = calloc(cli->n_plugin_dirs + 1, sizeof(*dirs));
    if (dirs == NULL) {
        status = NL_EFAIL;
        goto out;
    }
    for (size_t i = 0; i < cli->n_plugin_dirs; i++) {
        if ((dirs[i] = malloc(PATH_MAX)) == NULL) {
            status = NL_EFAIL;
            fprintf(stderr, "runner: out of memory\n");
            goto free_dirs;
        }
        absolute(cli->plugin_dirs[i], dirs[i], PATH_MAX);
    }
    const char *ini = cli->settings ? cli->settings
                      : access("runner.ini", F_OK) == 0 ? "runner.ini" : NULL;
    if (ini != NULL)
        absolute(ini, settings_path, sizeof(settings_path));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    nl_batch_options o = {
        .runner = exe,
        .out_dir = out_dir,
        .jobs = cli->jobs > 0 ? cli->jobs : cores > 0 ? (int)cores : 1,
        .timeout = cli->timeout,
        .settings = ini ? settings_path : NULL,
        .plugin_dirs = (const char *const *)dirs,
        .n_plugin_dirs = cli->n_plugin_dirs,
        .progress = nl_cli_progress(cli, &settings) ? stderr : NULL,
        .interrupt = &nl_interrupted,
    };
    /* What a batch writes; a directory holding anything else (or an
     * earlier batch's runs, which would mix into this comparison unless
     * the user says so) needs --force. */
    static const char *const ours[] = {"comparison.csv", "groups.csv",
                                       "comparison.md", "convergence.svg",
                                       "report.html"};
    struct stat st;
    char earlier[PATH_MAX + 16];
    snprintf(earlier, sizeof(earlier), "%s/runs.yaml", out_dir);
    if (!cli->force && access(earlier, F_OK) == 0) { /* jobs listed too */
        nl_fail(&d, NL_EINPUT, "runner: %s holds an earlier batch, whose "
                "runs would mix into this one's comparison; choose another "
                "-o DIR, or add --force to add to it", out_dir);
        status = report_error(&d);
    } else if (cli->list_jobs) {
        status = nl_batch_list_jobs(&study, &o, stdout, &d) < 0
                     ? report_error(&d) : 0;
    } else if (!cli->force && stat(out_dir, &st) == 0 &&
               nl_check_output_dir(out_dir, ours, sizeof(ours) / sizeof(*ours),
                                   &d) < 0) {
        status = report_error(&d);
    } else if (nl_make_dirs(out_dir, &d) < 0) {
        status = report_error(&d);
    } else {
        nl_batch_tally tally;
        if (nl_batch_run(&study, &o, reg, &tally, &d) < 0) {
            status = report_error(&d);
        } else {
            char runs[PATH_MAX + 8];
            snprintf(runs, sizeof(runs), "%s/runs", out_dir);
            char *run_dirs[1] = {runs};
            status = tally.done + tally.failed == 0
                         ? 0
                         : compare_and_report(run_dirs, 1, study.group_by,
                                              study.n_group_by, out_dir,
                                              cli->quiet);
            if (!cli->quiet)
                printf("%zu runs: %zu finished, %zu failed%s\n",
                       study.n_runs, tally.done, tally.failed,
                       tally.skipped ? ", the rest not started" : "");
            if (tally.failed > 0) /* an error, even where the table is */
                fprintf(stderr, "runner: %zu of %zu runs failed; the reasons "
                        "are in %s/comparison.csv\n", tally.failed,
                        study.n_runs, out_dir);
            if (status == 0 && nl_interrupted)
                status = 128 + nl_interrupted;
            else if (status == 0 && tally.failed > 0)
                status = NL_EFAIL;
        }
    }
free_dirs:
    for (size_t i = 0; i < cli->n_plugin_dirs; i++)
        free(dirs[i]);
    free(dirs);
out:
    nl_study_free(&study);
    nl_registry_free(reg);
    nl_settings_free(&settings);
    return status;
}

/* The group_by of the batch at dir (its runs.yaml), or none (*n 0): so
 * that comparing a batch again groups it as the batch did. */
static int batch_group_by(const char *dir, char ***keys, size_t *n,
                          nl_diag *d)
{
    char path[PATH_MAX];
    *keys = NULL;
    *n = 0;
    snprintf(path, sizeof(path), "%s/runs.yaml", dir);
    if (access(path, F_OK) != 0)
        return 0;
    nl_ynode *root = nl_yaml_load(path, d);
    if (root == NULL)
        return -1;
    const nl_ynode *by = nl_ynode_get(root, "group_by");
    int rc = 0;
    if (by != NULL && by->type == NL_YSEQ && by->n > 0 &&
        (*keys = calloc(by->n, sizeof(**keys))) == NULL)
        rc = nl_fail(d, NL_EFAIL, "out of memory");
    for (size_t i = 0; rc == 0 && *keys != NULL && i < by->n; i++) {
        const char *key;
        if (nl_ynode_string(by->items[i], &key, d) < 0 ||
            ((*keys)[(*n)++] = strdup(key)) == NULL)
            rc = -1;
    }
    nl_ynode_free(root);
    return rc;
}

int nl_cmd_compare(const nl_cli *cli)
{
    nl_settings settings;
    int status = nl_cli_settings(cli, &settings);
    if (status != 0)
        return status;
    char *made = NULL;
    const char *out_dir = cli->out_dir;
    if (out_dir == NULL && cli->n_inputs == 1)
        out_dir = cli->inputs[0];
    if (out_dir == NULL) {
        nl_diag d;
        if ((made = nl_make_run_dir(settings.results_root, "compare", &d)) ==
            NULL) {
            nl_settings_free(&settings);
            return report_error(&d);
        }
        out_dir = made;
    }
    char **kept = NULL; /* a batch's own grouping, when none is given */
    size_t n_kept = 0;
    nl_diag d;
    if (cli->n_group_by == 0 && cli->n_inputs == 1 &&
        batch_group_by(cli->inputs[0], &kept, &n_kept, &d) < 0)
        status = report_error(&d);
    else
        status = compare_and_report(cli->inputs, cli->n_inputs,
                                    n_kept ? kept : cli->group_by,
                                    n_kept ? n_kept : cli->n_group_by,
                                    out_dir, cli->quiet);
    for (size_t i = 0; i < n_kept; i++)
        free(kept[i]);
    free(kept);
    free(made);
    nl_settings_free(&settings);
    return status;
}
