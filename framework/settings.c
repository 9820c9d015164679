/* settings.c - runner.ini through inih. */
#define _DEFAULT_SOURCE /* realpath */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "suggest.h"

typedef struct ini_ctx {
    nl_settings *s;
    const char *path;
    const char *origin;
    char *base;          /* directory of the .ini, for relative paths */
    nl_diag *d;
    nl_diag first;       /* the first error, reported with its line */
    int failed;
    FILE *f;
    int line;            /* lines read so far, counted as inih counts them */
    int failed_line;     /* the line of the first error */
    int too_long;        /* a line longer than inih's buffer, or 0 */
    int max_line;
    /* The section being read: an unknown one with no key would pass
     * unseen (inih reports keys, not sections), so its end is checked. */
    char section[50];    /* as long as inih's own (MAX_SECTION) */
    int section_line;    /* 0 before the first [section] */
    bool section_has_keys;
    int empty_unknown;   /* the line of an unknown section with no key, or 0 */
} ini_ctx;

/* The settings there are, as section.key, and their sections. */
static const char *const known_keys[] = {"plugins.path", "results.root",
                                         "terminal.progress"};
#define N_KEYS (sizeof(known_keys) / sizeof(known_keys[0]))
static const char *const known_sections[] = {"plugins", "results",
                                             "terminal"};
#define N_SECTIONS (sizeof(known_sections) / sizeof(known_sections[0]))

/* " (known: [plugins] path, [results] root, ...)" */
static void append_known_keys(nl_diag *d)
{
    nl_diag_append(d, " (known:");
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *dot = strchr(known_keys[i], '.');
        nl_diag_append(d, "%s [%.*s] %s", i ? "," : "",
                       (int)(dot - known_keys[i]), known_keys[i], dot + 1);
    }
    nl_diag_append(d, ")");
}

/* " (known: [plugins], [results], ...)" */
static void append_known_sections(nl_diag *d)
{
    nl_diag_append(d, " (known:");
    for (size_t i = 0; i < N_SECTIONS; i++)
        nl_diag_append(d, "%s [%s]", i ? "," : "", known_sections[i]);
    nl_diag_append(d, ")");
}

static bool section_known(const char *name)
{
    for (size_t i = 0; i < N_SECTIONS; i++)
        if (strcmp(name, known_sections[i]) == 0)
            return true;
    return false;
}

/* At a [section] line or the end of the file: was the section that ends
 * unknown, with no key?  (With a key, on_key reports it.) */
static bool section_ends_badly(ini_ctx *c)
{
    if (c->section_line > 0 && !c->section_has_keys &&
        !section_known(c->section)) {
        c->empty_unknown = c->section_line;
        return true;
    }
    return false;
}

/* inih's line reader, counting lines: a failing key knows its own line.
 * inih would split a line longer than its buffer in two: stop there. */
static char *read_line(char *str, int num, void *stream)
{
    ini_ctx *c = stream;
    char *s = fgets(str, num, c->f);
    if (s == NULL) {
        section_ends_badly(c);
        return NULL;
    }
    c->line++;
    /* A section line as inih reads one: after a UTF-8 byte order mark on
     * the first line, and not indented after a key (that is the key's
     * continued value). */
    const char *open = s;
    if (c->line == 1 && strncmp(open, "\xef\xbb\xbf", 3) == 0)
        open += 3;
    while (isspace((unsigned char)*open))
        open++;
    const char *close = strchr(open, ']');
    if (*open == '[' && close != NULL && !(open > s && c->section_has_keys)) {
        if (section_ends_badly(c))
            return NULL;
        snprintf(c->section, sizeof(c->section), "%.*s",
                 (int)(close - open - 1), open + 1);
        c->section_line = c->line;
        c->section_has_keys = false;
    }
    size_t len = strlen(s);
    if (len + 1 == (size_t)num && s[len - 1] != '\n') {
        int next = fgetc(c->f);
        if (next != '\n' && next != EOF) {
            c->too_long = c->line;
            c->max_line = num - 1;
            return NULL;
        }
    }
    return s;
}

/* Joins a relative dir onto base; expands a leading $ORIGIN. */
static char *resolve_dir(const char *base, const char *origin, const char *dir)
{
    const char *tag = "$ORIGIN";
    size_t tag_len = strlen(tag);
    char *out;
    if (strncmp(dir, tag, tag_len) == 0) {
        size_t len = strlen(origin) + strlen(dir) + 1;
        if ((out = malloc(len)) != NULL)
            snprintf(out, len, "%s%s", origin, dir + tag_len);
    } else if (dir[0] == '/' || base == NULL) {
        out = strdup(dir);
    } else {
        size_t len = strlen(base) + strlen(dir) + 2;
        if ((out = malloc(len)) != NULL)
            snprintf(out, len, "%s/%s", base, dir);
    }
    return out;
}

static void clear_plugin_dirs(nl_settings *s)
{
    for (size_t i = 0; i < s->n_plugin_dirs; i++)
        free(s->plugin_dirs[i]);
    s->n_plugin_dirs = 0;
}

/* Sets the plugin path from "a:b:c".  Returns 0, or -1 with d set. */
static int set_plugin_path(nl_settings *s, const char *base,
                           const char *origin, const char *value, nl_diag *d)
{
    char *copy = strdup(value), *save = NULL;
    if (copy == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    clear_plugin_dirs(s);
    int rc = 0;
    for (char *dir = strtok_r(copy, ":", &save); dir != NULL && rc == 0;
         dir = strtok_r(NULL, ":", &save)) {
        if (s->n_plugin_dirs == NL_MAX_PLUGIN_DIRS)
            rc = nl_fail(d, NL_EINPUT, "more than %d plugin directories",
                         NL_MAX_PLUGIN_DIRS);
        else if ((s->plugin_dirs[s->n_plugin_dirs] =
                      resolve_dir(base, origin, dir)) == NULL)
            rc = nl_fail(d, NL_EFAIL, "out of memory");
        else
            s->n_plugin_dirs++;
    }
    free(copy);
    return rc;
}

/* The default path names both the build tree's and the installed plugin
 * directory; keep the ones that exist (or the last, if none does), so that
 * messages list only real places. */
static void drop_missing_defaults(nl_settings *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_plugin_dirs; i++) {
        struct stat st;
        bool keep = stat(s->plugin_dirs[i], &st) == 0 && S_ISDIR(st.st_mode);
        if (!keep && kept == 0 && i + 1 == s->n_plugin_dirs)
            keep = true;
        char *real = keep ? realpath(s->plugin_dirs[i], NULL) : NULL;
        if (real != NULL) { /* bin/../lib/... read as lib/... */
            free(s->plugin_dirs[i]);
            s->plugin_dirs[i] = real;
        }
        if (keep)
            s->plugin_dirs[kept++] = s->plugin_dirs[i];
        else
            free(s->plugin_dirs[i]);
    }
    s->n_plugin_dirs = kept;
}

/* inih calls this per key; returning 0 makes ini_parse return this line. */
static int on_key(void *user, const char *section, const char *key,
                  const char *value)
{
    ini_ctx *c = user;
    c->section_has_keys = true;
    if (c->failed)
        return 1; /* report the first error only */
    char full[256];
    snprintf(full, sizeof(full), "%s.%s", section, key);
    nl_diag *d = &c->first;
    int rc = 0;
    if (strcmp(full, "plugins.path") == 0) {
        rc = set_plugin_path(c->s, c->base, c->origin, value, d);
    } else if (strcmp(full, "results.root") == 0 && value[0] == '\0') {
        /* Not "the ini's directory", which `root = .` says. */
        rc = nl_fail(d, NL_EINPUT, "[results] root is empty; name a "
                     "directory (. is the one this file is in)");
    } else if (strcmp(full, "results.root") == 0) {
        free(c->s->results_root);
        c->s->results_root = resolve_dir(c->base, c->origin, value);
        if (c->s->results_root == NULL)
            rc = nl_fail(d, NL_EFAIL, "out of memory");
    } else if (strcmp(full, "terminal.progress") == 0) {
        if (strcmp(value, "auto") == 0)
            c->s->progress = NL_PROGRESS_AUTO;
        else if (strcmp(value, "on") == 0 || strcmp(value, "true") == 0)
            c->s->progress = NL_PROGRESS_ON;
        else if (strcmp(value, "off") == 0 || strcmp(value, "false") == 0)
            c->s->progress = NL_PROGRESS_OFF;
        else
            rc = nl_fail(d, NL_EINPUT, "[terminal] progress must be auto, on "
                         "or off, got '%s'", value);
    } else {
        nl_suggester sg;
        nl_fail(d, NL_EINPUT, "unknown setting '%s' in section [%s]", key,
                section);
        if (nl_suggest(full, known_keys, N_KEYS, &sg) != NULL)
            nl_diag_append(d, "; did you mean [%.*s] %s?",
                           (int)(strchr(sg.best, '.') - sg.best), sg.best,
                           strchr(sg.best, '.') + 1);
        else
            append_known_keys(d);
        rc = -1;
    }
    if (rc < 0) {
        c->failed = 1;
        c->failed_line = c->line;
        return 0;
    }
    return 1;
}

int nl_settings_load(nl_settings *s, const char *path,
                     const char *default_plugin_path, const char *origin,
                     nl_diag *d)
{
    memset(s, 0, sizeof(*s));
    s->progress = NL_PROGRESS_AUTO;
    if ((s->results_root = strdup("results")) == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    if (set_plugin_path(s, NULL, origin, default_plugin_path, d) < 0)
        goto fail;
    drop_missing_defaults(s);
    if (path == NULL)
        return 0;
    ini_ctx c = {.s = s, .path = path, .origin = origin, .d = d};
    const char *slash = strrchr(path, '/');
    c.base = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    s->source = strdup(path);
    if (c.base == NULL || s->source == NULL) {
        free(c.base);
        nl_fail(d, NL_EFAIL, "out of memory");
        goto fail;
    }
    /* fopen takes a directory, whose reads then fail like an end. */
    struct stat st;
    FILE *f = stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                  ? (errno = EISDIR, NULL)
                  : fopen(path, "r");
    if (f == NULL) {
        nl_fail_at(d, NL_EINPUT, path, 0, 0, "cannot open settings: %s",
                   strerror(errno));
        free(c.base);
        goto fail;
    }
    c.f = f;
    int line = ini_parse_stream(read_line, &c, on_key, &c);
    fclose(f);
    free(c.base);
    if (line == 0 && c.too_long) {
        nl_fail_at(d, NL_EINPUT, path, (size_t)c.too_long, 0, "line longer "
                   "than %d characters (limit)", c.max_line);
        goto fail;
    }
    if (c.empty_unknown && (line == 0 || c.empty_unknown < line)) {
        nl_suggester sg;
        nl_fail_at(d, NL_EINPUT, path, (size_t)c.empty_unknown, 0,
                   "unknown section [%s]", c.section);
        if (nl_suggest(c.section, known_sections, N_SECTIONS, &sg) != NULL)
            nl_diag_append(d, "; did you mean [%s]?", sg.best);
        else
            append_known_sections(d);
        goto fail;
    }
    if (line == 0)
        return 0;
    if (line < 0) {
        nl_fail(d, NL_EFAIL, "%s: cannot read settings", path);
    } else if (c.failed && c.failed_line == line) {
        nl_fail_at(d, c.first.status, path, (size_t)line, 0, "%s",
                   c.first.message);
    } else {
        nl_fail_at(d, NL_EINPUT, path, (size_t)line, 0, "not a [section] or "
                   "key = value line");
    }
    goto fail;
fail:
    nl_settings_free(s);
    return -1;
}

int nl_settings_add_plugin_dir(nl_settings *s, const char *dir, nl_diag *d)
{
    if (s->n_plugin_dirs == NL_MAX_PLUGIN_DIRS)
        return nl_fail(d, NL_EINPUT, "more than %d plugin directories",
                       NL_MAX_PLUGIN_DIRS);
    char *copy = strdup(dir);
    if (copy == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    memmove(s->plugin_dirs + 1, s->plugin_dirs,
            s->n_plugin_dirs * sizeof(*s->plugin_dirs));
    s->plugin_dirs[0] = copy;
    s->n_plugin_dirs++;
    return 0;
}

void nl_settings_free(nl_settings *s)
{
    clear_plugin_dirs(s);
    free(s->results_root);
    free(s->source);
    memset(s, 0, sizeof(*s));
}
