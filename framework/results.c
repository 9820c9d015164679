/* results.c - the files of a run's result directory. */
#define _POSIX_C_SOURCE 200809L
#include "results.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin_loader.h"

int nl_make_dirs(const char *path, nl_diag *d)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return nl_fail(d, NL_EFAIL, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return nl_fail(d, NL_EFAIL, "%s: cannot create directory: %s",
                           buf, strerror(errno));
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return nl_fail(d, NL_EFAIL, "%s: not a directory", path);
    return 0;
}

void nl_run_stamp(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y%m%d-%H%M%S", &tm);
}

char *nl_make_run_dir(const char *root, const char *name, nl_diag *d)
{
    char parent[PATH_MAX], dir[PATH_MAX + 64];
    if (snprintf(parent, sizeof(parent), "%s/%s", root, name) >=
        (int)sizeof(parent)) {
        nl_fail(d, NL_EFAIL, "%s: results root path too long", root);
        return NULL;
    }
    if (nl_make_dirs(parent, d) < 0)
        return NULL;
    char stamp[32];
    nl_run_stamp(stamp, sizeof(stamp));
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(dir, sizeof(dir), "%s/%s", parent, stamp);
        else
            snprintf(dir, sizeof(dir), "%s/%s-%d", parent, stamp, k);
        if (mkdir(dir, 0777) == 0)
            return strdup(dir);
        if (errno != EEXIST) {
            nl_fail(d, NL_EFAIL, "%s: cannot create directory: %s", dir,
                    strerror(errno));
            return NULL;
        }
    }
    nl_fail(d, NL_EFAIL, "%s: too many runs in the same second", parent);
    return NULL;
}

int nl_check_output_dir(const char *dir, const char *const *ours, size_t n,
                        nl_diag *d)
{
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return nl_fail(d, NL_EFAIL, "%s: cannot read directory: %s", dir,
                       strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        const char *name = e->d_name;
        bool ok = strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                  (name[0] == '.' && strstr(name, ".tmp-") != NULL);
        for (size_t i = 0; !ok && i < n; i++)
            ok = strcmp(name, ours[i]) == 0;
        if (!ok)
            rc = nl_fail(d, NL_EINPUT, "%s: not empty and not an nnlab "
                         "result directory (it holds '%s'); choose another "
                         "-o DIR, or add --force to write there anyway",
                         dir, name);
    }
    closedir(dh);
    return rc;
}

/* An existing -o directory must be empty or hold only what a run writes
 * there (an earlier result, a batch's runner.log, temporary files), so a
 * mistyped -o never mixes a result into someone's other files. */
static int check_result_dir(const char *dir, nl_diag *d)
{
    static const char *const ours[] = {"history.csv", "summary.json",
                                       "config.yaml", "runner.log"};
    return nl_check_output_dir(dir, ours, sizeof(ours) / sizeof(ours[0]), d);
}

int nl_results_open(nl_results *r, const char *out_dir, bool force,
                    const char *root, const char *name, bool has_test,
                    nl_diag *d)
{
    memset(r, 0, sizeof(*r));
    r->has_test = has_test;
    if (out_dir != NULL) {
        struct stat st;
        r->made_dir = stat(out_dir, &st) != 0;
        if (!r->made_dir && S_ISDIR(st.st_mode) && !force &&
            check_result_dir(out_dir, d) < 0)
            return -1;
        if (nl_make_dirs(out_dir, d) < 0)
            return -1;
        r->dir = strdup(out_dir);
    } else {
        r->dir = nl_make_run_dir(root, name, d);
        if (r->dir == NULL)
            return -1;
        r->made_dir = true;
    }
    if (r->dir == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    if (nl_atomic_open(&r->history, r->dir, "history.csv", d) < 0) {
        nl_results_close(r);
        return -1;
    }
    /* Rows are written in 64 KiB blocks, not per epoch. */
    setvbuf(r->history.f, NULL, _IOFBF, 1 << 16);
    fputs(has_test ? "epoch,loss,accuracy,test_loss,test_accuracy\n"
                   : "epoch,loss,accuracy\n",
          r->history.f);
    return 0;
}

int nl_results_epoch(nl_results *r, const nl_epoch *e, nl_diag *d)
{
    FILE *f = r->history.f;
    fprintf(f, "%llu,%.17g,%.17g", (unsigned long long)e->epoch, e->loss,
            e->accuracy);
    if (r->has_test)
        fprintf(f, ",%.17g,%.17g", e->test_loss, e->test_accuracy);
    if (fputc('\n', f) == EOF)
        return nl_fail(d, NL_EFAIL, "%s: cannot write: %s", r->history.path,
                       strerror(errno));
    return 0;
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f); /* JSON has no NaN or infinity */
}

static void json_plugin(FILE *f, const nl_plugin_use *use, const char *sep)
{
    const nl_plugin *p = use->found.plugin;
    fprintf(f, "    {\"kind\": \"%s\", \"name\": ", nl_kind_name(p->kind));
    nl_write_quoted(f, p->name);
    fputs(", \"version\": ", f);
    nl_write_quoted(f, p->version);
    fputs(", \"origin\": ", f);
    nl_write_quoted(f, use->found.origin);
    fputs(", \"params\": {", f);
    for (size_t i = 0; i < p->n_params; i++) {
        char value[128];
        nl_param_format(&p->params[i], use->params[i], 1, value,
                        sizeof(value));
        fprintf(f, "%s\"%s\": %s", i ? ", " : "", p->params[i].name, value);
    }
    fprintf(f, "}}%s\n", sep);
}

static void write_summary(FILE *f, const nl_config *cfg,
                          const nl_perceptron *p, const nl_train_result *res,
                          const nl_data_info *info, double wall,
                          const char *error)
{
    const nl_epoch *e = &res->last;
    fputs("{\n  \"name\": ", f);
    nl_write_quoted(f, cfg->name);
    fprintf(f, ",\n  \"status\": \"%s\",\n  \"stop_reason\": \"%s\",\n"
            "  \"converged\": %s,\n  \"epochs\": %llu,\n  \"final_loss\": ",
            res->stop == NL_STOP_FAILED ? "failed" : "ok",
            nl_stop_word(res->stop),
            res->stop == NL_STOP_LOSS_BELOW ? "true" : "false",
            (unsigned long long)e->epoch);
    json_number(f, e->loss);
    fputs(",\n  \"accuracy\": ", f);
    json_number(f, e->accuracy);
    if (e->has_test) {
        fputs(",\n  \"test_loss\": ", f);
        json_number(f, e->test_loss);
        fputs(",\n  \"test_accuracy\": ", f);
        json_number(f, e->test_accuracy);
    }
    fputs(",\n  \"weights\": [", f);
    for (size_t j = 0; j < p->d; j++) {
        fputs(j ? ", " : "", f);
        json_number(f, p->theta[j]);
    }
    fputs("],\n  \"bias\": ", f);
    json_number(f, p->theta[p->d]);
    fprintf(f, ",\n  \"seed\": %llu,\n  \"plugins\": [\n",
            (unsigned long long)cfg->seed);
    json_plugin(f, &cfg->activation, ",");
    json_plugin(f, &cfg->loss, ",");
    json_plugin(f, &cfg->optimizer, "");
    fputs("  ],\n  \"data\": {\"source\": ", f);
    if (cfg->data.source == NL_SOURCE_CSV)
        nl_write_quoted(f, cfg->data.csv);
    else
        fprintf(f, "\"generator:%s\"", cfg->data.generator);
    fprintf(f, ", \"rows\": %zu, \"train_rows\": %zu, \"test_rows\": %zu, "
            "\"features\": %zu},\n  \"wall_seconds\": ",
            info->train_rows + info->test_rows, info->train_rows,
            info->test_rows, info->features);
    json_number(f, wall);
    if (error != NULL) {
        fputs(",\n  \"error\": ", f);
        nl_write_quoted(f, error);
    }
    fputs("\n}\n", f);
}

int nl_results_finish(nl_results *r, const nl_config *cfg,
                      const nl_perceptron *p, const nl_train_result *res,
                      const nl_data_info *info, double wall_seconds,
                      const char *error, nl_diag *d)
{
    /* All three are finished under temporary names first, then renamed
     * together: a failure leaves no result file at all. */
    nl_atomic_file summary = {0}, config = {0};
    int rc = -1;
    if (nl_atomic_finish(&r->history, d) < 0 ||
        nl_atomic_open(&summary, r->dir, "summary.json", d) < 0)
        goto out;
    write_summary(summary.f, cfg, p, res, info, wall_seconds, error);
    if (nl_atomic_finish(&summary, d) < 0 ||
        nl_atomic_open(&config, r->dir, "config.yaml", d) < 0)
        goto out;
    nl_config_write(cfg, config.f);
    if (nl_atomic_finish(&config, d) < 0 ||
        nl_atomic_commit(&r->history, d) < 0 ||
        nl_atomic_commit(&summary, d) < 0 ||
        nl_atomic_commit(&config, d) < 0)
        goto out;
    rc = 0;
out:
    nl_atomic_abort(&summary);
    nl_atomic_abort(&config);
    return rc;
}

void nl_results_close(nl_results *r)
{
    nl_atomic_abort(&r->history);
    if (r->made_dir && r->dir != NULL)
        rmdir(r->dir); /* fails, as it should, unless the run left nothing */
    free(r->dir);
    memset(r, 0, sizeof(*r));
}
