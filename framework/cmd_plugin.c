/*
 * cmd_plugin.c - `runner plugins`, `runner plugin new` and `runner plugin
 * check`: finding, scaffolding and checking plugins.
 */
#define _DEFAULT_SOURCE /* realpath, d_type */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "params.h"
#include "plugin_check.h"
#include "plugin_loader.h"
#include "plugin_template.h"
#include "suggest.h"

typedef struct listing {
    const nl_plugin *plugin;
    char origin[PATH_MAX];
    bool path_only; /* in a library not named after it: no name finds it */
} listing;

static int by_kind_name(const void *pa, const void *pb)
{
    const listing *a = pa, *b = pb;
    if (a->plugin->kind != b->plugin->kind)
        return (int)a->plugin->kind - (int)b->plugin->kind;
    return strcmp(a->plugin->name, b->plugin->name);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line a parameter, its help after the colon; the first follows
 * "params: ", the others line up under it. */
static void print_params(const nl_plugin *p)
{
    if (p->n_params == 0) {
        fputs("-", stdout);
        return;
    }
    for (size_t i = 0; i < p->n_params; i++) {
        const nl_param *q = &p->params[i];
        static const char *const types[] = {"", "real", "int", "bool",
                                            "choice"};
        char def[128], range[256];
        nl_param_format(q, q->default_value, 0, def, sizeof(def));
        nl_param_range_text(q, range, sizeof(range));
        if (i > 0)
            printf("\n%-10s  %-18s  %-7s  %-8s", "", "", "", "");
        printf("%s (%s, default %s, %s)", q->name, types[q->type], def,
               range);
        if (q->help != NULL && q->help[0] != '\0')
            printf(": %s", q->help);
    }
}

/* Adds every plugin of lib to the listing; a kind and name seen before is
 * an error naming both files, unless it is a reference plugin's own .so
 * (the same name and version as the built-in). */
static int add_library(listing **rows, size_t *n, const nl_library *lib,
                       const char *listed)
{
    for (size_t i = 0; i < lib->n_plugins; i++) {
        const nl_plugin *p = lib->plugins[i];
        for (size_t k = 0; k < *n; k++) {
            const nl_plugin *q = (*rows)[k].plugin;
            if (q->kind != p->kind || strcmp(q->name, p->name) != 0)
                continue;
            if (q == p)
                goto next; /* the same file, reached through two dirs */
            bool builtin_copy = strncmp((*rows)[k].origin, NL_BUILTIN_ORIGIN,
                                        strlen(NL_BUILTIN_ORIGIN)) == 0 &&
                                strcmp(q->version, p->version) == 0;
            if (builtin_copy) {
                size_t len = strlen((*rows)[k].origin);
                if (strstr((*rows)[k].origin, "also") == NULL)
                    snprintf((*rows)[k].origin + len,
                             sizeof((*rows)[k].origin) - len, " (also %s)",
                             lib->path);
                goto next;
            }
            fprintf(stderr, "runner: two %s plugins named '%s': %s and %s; "
                    "rename or remove one (nnlab never shadows a plugin "
                    "silently)\n", nl_kind_name(p->kind), p->name,
                    (*rows)[k].origin, lib->path);
            return NL_EPLUGIN;
        }
        listing *grown = realloc(*rows, (*n + 1) * sizeof(**rows));
        if (grown == NULL)
            return NL_EFAIL;
        *rows = grown;
        (*rows)[*n].plugin = p;
        /* A name finds NAME.so only: the others of a library are reached
         * with path: (and name:).  The name in the directory, which may
         * be a link to another. */
        const char *file = strrchr(listed, '/');
        file = file != NULL ? file + 1 : listed;
        bool by_name = strncmp(file, p->name, strlen(p->name)) == 0 &&
                       strcmp(file + strlen(p->name), ".so") == 0;
        (*rows)[*n].path_only = !by_name;
        snprintf((*rows)[*n].origin, sizeof((*rows)[*n].origin), "%s",
                 lib->path);
        (*n)++;
    next:;
    }
    return 0;
}

/* The .so files of one directory, sorted. */
static size_t so_files(const char *dir, char ***out)
{
    DIR *dh = opendir(dir);
    size_t n = 0;
    *out = NULL;
    if (dh == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        char **grown = realloc(*out, (n + 1) * sizeof(**out));
        if (grown == NULL)
            break;
        *out = grown;
        if (((*out)[n] = malloc(strlen(dir) + len + 2)) == NULL)
            break;
        sprintf((*out)[n++], "%s/%s", dir, e->d_name);
    }
    closedir(dh);
    qsort(*out, n, sizeof(**out), by_string);
    return n;
}

static int cmd_plugins(const nl_cli *cli, const nl_settings *s)
{
    listing *rows = NULL;
    size_t n = 0;
    int status = 0, broken = 0;
    nl_library **libs = NULL;
    size_t n_libs = 0;
    for (size_t i = 0; i < nl_builtin_count(); i++) {
        listing *grown = realloc(rows, (n + 1) * sizeof(*rows));
        if (grown == NULL)
            return NL_EFAIL;
        rows = grown;
        rows[n].plugin = nl_builtin(i);
        rows[n].path_only = false;
        snprintf(rows[n++].origin, sizeof(rows->origin), "%s",
                 NL_BUILTIN_ORIGIN);
    }
    for (size_t i = 0; i < s->n_plugin_dirs && status == 0; i++) {
        char **files;
        size_t n_files = so_files(s->plugin_dirs[i], &files);
        for (size_t f = 0; f < n_files; f++) {
            nl_diag d;
            /* Listing runs no plugin code: a plugin that crashes must not
             * take the listing down (plugin check is for that). */
            nl_library *lib = status ? NULL
                                     : nl_library_open_unchecked(files[f], &d);
            if (lib == NULL && status == 0) {
                fprintf(stderr, "runner: skipped: %s\n", d.message);
                broken++;
            } else if (lib != NULL) {
                nl_library **grown = realloc(libs, (n_libs + 1) * sizeof(*libs));
                if (grown == NULL) {
                    nl_library_close(lib);
                    status = NL_EFAIL;
                } else {
                    libs = grown;
                    libs[n_libs++] = lib;
                    status = add_library(&rows, &n, lib, files[f]);
                }
            }
            free(files[f]);
        }
        free(files);
    }
    if (status == 0) {
        qsort(rows, n, sizeof(*rows), by_kind_name);
        printf("%-10s  %-18s  %-7s  %s\n", "kind", "name", "version",
               "origin / summary / parameters");
        for (size_t i = 0; i < n; i++) {
            const nl_plugin *p = rows[i].plugin;
            printf("%-10s  %-18s  %-7s  %s%s\n", nl_kind_name(p->kind),
                   p->name, p->version, rows[i].origin,
                   rows[i].path_only ? " (by path: only, with name:)" : "");
            printf("%-10s  %-18s  %-7s  %s\n", "", "", "", p->summary);
            printf("%-10s  %-18s  %-7s  params: ", "", "", "");
            print_params(p);
            fputc('\n', stdout);
        }
        if (!cli->quiet) {
            printf("\n%zu plugins; plugin path:", n);
            for (size_t i = 0; i < s->n_plugin_dirs; i++)
                printf(" %s", s->plugin_dirs[i]);
            printf("\n");
        }
        if (broken > 0)
            status = NL_EPLUGIN;
    }
    for (size_t i = 0; i < n_libs; i++)
        nl_library_close(libs[i]);
    free(libs);
    free(rows);
    return status;
}

static int cmd_plugin_new(const nl_cli *cli)
{
    static const char *const kinds[] = {"activation", "loss", "optimizer"};
    if (cli->n_inputs != 3)
        return nl_cli_usage_error("usage: runner plugin new KIND NAME "
                                  "[--dir DIR] (KIND: activation, loss or "
                                  "optimizer)");
    const char *kind_word = cli->inputs[1], *name = cli->inputs[2];
    nl_kind kind = 0;
    for (int k = 0; k < 3; k++)
        if (strcmp(kind_word, kinds[k]) == 0)
            kind = (nl_kind)(k + 1);
    if (kind == 0)
        return nl_cli_usage_error("plugin new: unknown kind '%s' (activation, "
                                  "loss or optimizer)", kind_word);
    if (!nl_plugin_name_ok(name))
        return nl_cli_usage_error("plugin new: '%s' is not a plugin name "
                                  "([a-z0-9_]+, at most 64)", name);
    char path[PATH_MAX];
    const char *dir = cli->dir ? cli->dir : ".";
    snprintf(path, sizeof(path), "%s/%s.c", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "runner: %s: %s\n", path, errno == EEXIST
                ? "already exists; not overwriting it" : strerror(errno));
        return errno == EEXIST ? NL_EINPUT : NL_EFAIL;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL || nl_template_write(kind, name, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "runner: %s: cannot write: %s\n", path,
                strerror(errno));
        unlink(path);
        return NL_EFAIL;
    }
    for (size_t i = 0; i < nl_builtin_count(); i++)
        if (nl_builtin(i)->kind == kind && strcmp(nl_builtin(i)->name,
                                                  name) == 0)
            fprintf(stderr, "runner: note: '%s' is also a built-in %s, "
                    "which a config's name: %s gets; load this one with "
                    "path:, or rename it\n", name, kind_word, name);
    if (!cli->quiet) {
        /* The header: beside the source tree, or installed beside bin/. */
        char origin[PATH_MAX], include[PATH_MAX + 32], real[PATH_MAX];
        nl_cli_exe(origin, sizeof(origin), NULL, 0);
        snprintf(include, sizeof(include), "%s/../framework/include", origin);
        if (realpath(include, real) == NULL) {
            snprintf(include, sizeof(include), "%s/../include", origin);
            if (realpath(include, real) == NULL)
                snprintf(real, sizeof(real), "<nnlab include dir>");
        }
        printf("wrote %s: %s %s plugin whose math is a marked "
               "PLACEHOLDER.\n"
               "build it:  cc -shared -fPIC -I%s %s -o %s/%s.so -lm\n"
               "check it:  runner plugin check %s/%s.so\n", path,
               kind == NL_KIND_LOSS ? "a" : "an", kind_word,
               real, path, dir, name, dir, name);
    }
    return 0;
}

/* Checks every plugin of the .so at path; a library that cannot be
 * opened counts as one failure.  With out NULL (-q) only the first failure
 * is told, on stderr. */
static int check_library(const char *path, FILE *out)
{
    nl_diag d = {0};
    nl_library *lib = nl_library_open_unchecked(path, &d);
    int failed = 0;
    if (lib == NULL) {
        failed = 1;
    } else {
        for (size_t i = 0; i < lib->n_plugins; i++)
            failed += nl_plugin_check(lib->plugins[i], lib->path, true, out,
                                      failed ? NULL : &d);
        nl_library_close(lib);
    }
    if (failed && (lib == NULL || out == NULL))
        fprintf(out ? out : stderr, "%s%s\n", out ? "FAIL  " : "", d.message);
    return failed;
}

/* Says that `name` names no plugin: the paths tried, and a near name of
 * any kind. */
static void no_plugin(const nl_settings *s, const char *name)
{
    fprintf(stderr, "runner: no plugin '%s': not built in, and %s", name,
            s->n_plugin_dirs ? "not found at " : "no plugin path is set");
    for (size_t i = 0; i < s->n_plugin_dirs; i++)
        fprintf(stderr, "%s%s/%s.so", i ? ", " : "", s->plugin_dirs[i], name);
    nl_suggester near;
    nl_suggest_init(&near, name);
    nl_registry *reg = nl_registry_new((const char *const *)s->plugin_dirs,
                                       s->n_plugin_dirs);
    for (int kind = NL_KIND_ACTIVATION; reg != NULL &&
                                        kind <= NL_KIND_OPTIMIZER; kind++)
        nl_registry_names(reg, (nl_kind)kind, nl_suggest_visit, &near);
    nl_registry_free(reg);
    if (near.best[0])
        fprintf(stderr, "; did you mean '%s'?", near.best);
    fputc('\n', stderr);
}

static int cmd_plugin_check(const nl_cli *cli, const nl_settings *s)
{
    if (cli->n_inputs != 2)
        return nl_cli_usage_error("usage: runner plugin check PATH.so|NAME");
    const char *what = cli->inputs[1];
    FILE *out = cli->quiet ? NULL : stdout;
    int failed = 0;
    if (strchr(what, '/') != NULL || strstr(what, ".so") != NULL) {
        failed = check_library(what, out);
    } else if (!nl_plugin_name_ok(what)) {
        return nl_cli_usage_error("plugin check: '%s' is neither a .so path "
                                  "nor a plugin name", what);
    } else {
        bool found = false;
        for (size_t i = 0; i < nl_builtin_count(); i++)
            if (strcmp(nl_builtin(i)->name, what) == 0) {
                nl_diag d = {0};
                found = true;
                failed += nl_plugin_check(nl_builtin(i), NL_BUILTIN_ORIGIN,
                                          true, out, &d);
                if (failed && out == NULL)
                    fprintf(stderr, "%s\n", d.message);
            }
        for (size_t i = 0; i < s->n_plugin_dirs && !found; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s.so", s->plugin_dirs[i], what);
            if (access(path, F_OK) == 0) {
                found = true;
                failed = check_library(path, out);
            }
        }
        if (!found) {
            no_plugin(s, what);
            return NL_EPLUGIN;
        }
    }
    if (out != NULL)
        fprintf(out, failed ? "result: %d check%s FAILED\n"
                            : "result: all checks passed\n",
                failed, failed == 1 ? "" : "s");
    return failed ? NL_EPLUGIN : 0;
}

int nl_cmd_plugin(const nl_cli *cli)
{
    nl_settings settings;
    int status = nl_cli_settings(cli, &settings);
    if (status != 0)
        return status;
    if (cli->command == NL_CMD_PLUGINS)
        status = cmd_plugins(cli, &settings);
    else if (cli->n_inputs > 0 && strcmp(cli->inputs[0], "new") == 0)
        status = cmd_plugin_new(cli);
    else if (cli->n_inputs > 0 && strcmp(cli->inputs[0], "check") == 0)
        status = cmd_plugin_check(cli, &settings);
    else
        status = nl_cli_usage_error("usage: runner plugin new KIND NAME | "
                                    "runner plugin check PATH.so|NAME");
    nl_settings_free(&settings);
    return status;
}
