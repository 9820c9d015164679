/* compare.c - read result directories, rank, find swept keys, group. */
#define _DEFAULT_SOURCE /* d_type, strdup */
#include "compare.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yaml_tree.h"

#define MAX_DEPTH 4

static const char *const kinds[3] = {"activation", "loss", "optimizer"};

typedef struct strlist {
    char **items;
    size_t n;
} strlist;

static int strlist_add(strlist *l, const char *s)
{
    char **items = realloc(l->items, (l->n + 1) * sizeof(*items));
    if (items == NULL)
        return -1;
    l->items = items;
    if ((l->items[l->n] = strdup(s)) == NULL)
        return -1;
    l->n++;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_run(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    return access(path, F_OK) == 0;
}

/* Adds dir if it is a run, else the runs below it (sorted by name). */
static int find_runs(const char *dir, int depth, strlist *out)
{
    if (is_run(dir))
        return strlist_add(out, dir);
    if (depth == MAX_DEPTH)
        return 0;
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return 0;
    strlist subs = {0};
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rc = strlist_add(&subs, path);
    }
    closedir(dh);
    if (subs.n > 1) /* items is NULL when empty: qsort must not see it */
        qsort(subs.items, subs.n, sizeof(*subs.items), by_string);
    for (size_t i = 0; rc == 0 && i < subs.n; i++)
        rc = find_runs(subs.items[i], depth + 1, out);
    strlist_free(&subs);
    return rc;
}

static char *text_of(const nl_ynode *map, const char *key)
{
    const nl_ynode *v = nl_ynode_get(map, key);
    if (v == NULL || v->type != NL_YSCALAR || nl_ynode_is_null(v))
        return NULL;
    return strdup(v->text);
}

static double number_of(const nl_ynode *map, const char *key)
{
    const nl_ynode *v = nl_ynode_get(map, key);
    double x;
    if (v == NULL || v->type != NL_YSCALAR || !nl_parse_double(v->text, &x))
        return NAN;
    return x;
}

/* Whether v is one of the words, "" ending them. */
static bool is_word(const nl_ynode *v, const char *const *words)
{
    for (size_t i = 0; v->type == NL_YSCALAR && words[i][0] != '\0'; i++)
        if (strcmp(v->text, words[i]) == 0)
            return true;
    return false;
}

/* What the comparison reads of a summary, checked: a damaged one is an
 * error (exit 2), not a run of unknown status.  A failed run's summary
 * may have no epochs or losses (README: results). */
static int check_summary(const nl_ynode *root, const char *path, nl_diag *d)
{
    static const char *const statuses[] = {"ok", "failed", ""};
    static const char *const bools[] = {"true", "false", ""};
    static const struct {
        const char *key;
        bool whole; /* else a number or null */
    } numbers[] = {{"epochs", true}, {"final_loss", false}};
    if (root->type != NL_YMAP)
        return nl_fail_at(d, NL_EINPUT, path, 0, 0,
                          "not an nnlab summary (not a JSON object)");
    const nl_ynode *v;
    if ((v = nl_ynode_get(root, "status")) == NULL || !is_word(v, statuses))
        return nl_fail_at(d, NL_EINPUT, path, v ? v->line : 0, v ? v->col : 0,
                          "not an nnlab summary: status must be \"ok\" or "
                          "\"failed\"");
    bool ok = strcmp(v->text, "ok") == 0;
    if ((v = nl_ynode_get(root, "stop_reason")) == NULL ||
        v->type != NL_YSCALAR || nl_ynode_is_null(v))
        return nl_fail_at(d, NL_EINPUT, path, v ? v->line : 0, v ? v->col : 0,
                          "not an nnlab summary: no stop_reason");
    if ((v = nl_ynode_get(root, "converged")) == NULL || !is_word(v, bools))
        return nl_fail_at(d, NL_EINPUT, path, v ? v->line : 0, v ? v->col : 0,
                          "not an nnlab summary: converged must be true or "
                          "false");
    for (size_t i = 0; ok && i < sizeof(numbers) / sizeof(*numbers); i++) {
        double x = 0;
        v = nl_ynode_get(root, numbers[i].key);
        bool good = v != NULL && v->type == NL_YSCALAR &&
                    (numbers[i].whole
                         ? nl_parse_double(v->text, &x) && x >= 0 &&
                               x == floor(x)
                         : nl_ynode_is_null(v) ||
                               nl_parse_double(v->text, &x));
        if (!good)
            return nl_fail_at(d, NL_EINPUT, path, v ? v->line : 0,
                              v ? v->col : 0, "not an nnlab summary: %s "
                              "must be %s", numbers[i].key,
                              numbers[i].whole ? "a whole number"
                                               : "a number or null");
    }
    return 0;
}

static int read_summary(nl_cmp_run *run, nl_diag *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/summary.json", run->dir);
    nl_ynode *root = nl_yaml_load(path, d);
    if (root == NULL)
        return -1;
    if (check_summary(root, path, d) < 0) {
        nl_ynode_free(root);
        return -1;
    }
    run->status = text_of(root, "status");
    run->stop_reason = text_of(root, "stop_reason");
    run->error = text_of(root, "error");
    const nl_ynode *conv = nl_ynode_get(root, "converged");
    run->converged = conv != NULL && conv->type == NL_YSCALAR &&
                     strcmp(conv->text, "true") == 0;
    run->epochs = number_of(root, "epochs");
    run->final_loss = number_of(root, "final_loss");
    run->accuracy = number_of(root, "accuracy");
    run->wall_seconds = number_of(root, "wall_seconds");
    const nl_ynode *plugins = nl_ynode_get(root, "plugins");
    for (size_t i = 0; plugins && plugins->type == NL_YSEQ && i < plugins->n;
         i++) {
        const nl_ynode *p = plugins->items[i];
        char *kind = text_of(p, "kind");
        for (int k = 0; kind != NULL && k < 3; k++)
            if (strcmp(kind, kinds[k]) == 0 && run->plugin[k] == NULL) {
                run->plugin[k] = text_of(p, "name");
                run->plugin_version[k] = text_of(p, "version");
            }
        free(kind);
    }
    nl_ynode_free(root);
    return run->status && run->stop_reason ? 0
                                           : nl_fail(d, NL_EFAIL, "out of memory");
}

/* Flattens a config tree into dotted keys and flow values. */
static int flatten(const nl_ynode *node, const char *prefix, strlist *keys,
                   strlist *values)
{
    if (node->type != NL_YMAP) {
        /* A scalar's own text (a quoted path without its quotes); a list
         * as flow YAML. */
        char *flow = node->type == NL_YSCALAR ? strdup(node->text)
                                              : nl_ynode_to_flow(node);
        int rc = flow == NULL || strlist_add(keys, prefix) < 0 ||
                         strlist_add(values, flow) < 0
                     ? -1 : 0;
        free(flow);
        return rc;
    }
    for (size_t i = 0; i < node->n; i++) {
        char key[512];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
                 node->keys[i]->text);
        if (strcmp(key, "name") != 0 &&
            flatten(node->items[i], key, keys, values) < 0)
            return -1;
    }
    return 0;
}

static int read_config(nl_cmp_run *run, nl_diag *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.yaml", run->dir);
    if (access(path, F_OK) != 0)
        return 0; /* a run that failed before its config was known */
    nl_ynode *root = nl_yaml_load(path, d);
    if (root == NULL)
        return -1;
    strlist keys = {0}, values = {0};
    int rc = flatten(root, "", &keys, &values);
    nl_ynode_free(root);
    if (rc < 0) {
        strlist_free(&keys);
        strlist_free(&values);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    run->cfg_keys = keys.items;
    run->cfg_values = values.items;
    run->n_cfg = keys.n;
    return 0;
}

static int read_history(nl_cmp_run *run, nl_diag *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/history.csv", run->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0; /* failed runs may have none */
    char line[512];
    size_t cap = 0;
    if (fgets(line, sizeof(line), f) == NULL) { /* the header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *comma = strchr(line, ',');
        if (comma == NULL)
            continue;
        double loss = strtod(comma + 1, NULL);
        if (run->n_curve == cap) {
            cap = cap ? cap * 2 : 1024;
            double *c = realloc(run->curve, cap * sizeof(*c));
            if (c == NULL) {
                fclose(f);
                return nl_fail(d, NL_EFAIL, "out of memory");
            }
            run->curve = c;
        }
        run->curve[run->n_curve++] = loss;
    }
    fclose(f);
    return 0;
}

static char *base_name(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    const char *start = dir + len;
    while (start > dir && start[-1] != '/')
        start--;
    return strndup(start, (size_t)(dir + len - start));
}

/* Drops the runs found twice (a directory named twice, or a run and the
 * directory above it), by where they really are; the first stays. */
static void drop_repeats(strlist *runs)
{
    char **real = calloc(runs->n, sizeof(*real));
    size_t kept = 0;
    for (size_t i = 0; real != NULL && i < runs->n; i++) {
        real[i] = realpath(runs->items[i], NULL);
        bool seen = false;
        for (size_t j = 0; real[i] != NULL && j < i && !seen; j++)
            seen = real[j] != NULL && strcmp(real[i], real[j]) == 0;
        if (seen)
            free(runs->items[i]);
        else
            runs->items[kept++] = runs->items[i];
    }
    if (real != NULL) {
        for (size_t i = 0; i < runs->n; i++)
            free(real[i]);
        runs->n = kept;
    }
    free(real);
}

int nl_compare_load(nl_comparison *c, char *const *dirs, size_t n_dirs,
                    nl_diag *d)
{
    memset(c, 0, sizeof(*c));
    strlist found = {0};
    for (size_t i = 0; i < n_dirs; i++) {
        size_t before = found.n;
        struct stat st;
        if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            strlist_free(&found);
            return nl_fail(d, NL_EINPUT, "%s: not a directory", dirs[i]);
        }
        if (find_runs(dirs[i], 0, &found) < 0) {
            strlist_free(&found);
            return nl_fail(d, NL_EFAIL, "out of memory");
        }
        if (found.n == before) {
            strlist_free(&found);
            return nl_fail(d, NL_EINPUT, "%s: no run results here (no "
                           "summary.json within %d levels)", dirs[i],
                           MAX_DEPTH);
        }
    }
    drop_repeats(&found);
    c->runs = calloc(found.n, sizeof(*c->runs));
    if (c->runs == NULL) {
        strlist_free(&found);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    for (size_t i = 0; i < found.n; i++) {
        nl_cmp_run *run = &c->runs[c->n_runs++];
        run->dir = found.items[i];
        found.items[i] = NULL;
        run->id = base_name(run->dir);
        for (size_t j = 0; run->id != NULL && j + 1 < c->n_runs; j++)
            if (strcmp(c->runs[j].id, run->id) == 0) { /* same name: */
                free(run->id);                   /* use the full path */
                run->id = strdup(run->dir);
                break;
            }
        if (run->id == NULL || read_summary(run, d) < 0 ||
            read_config(run, d) < 0 || read_history(run, d) < 0) {
            strlist_free(&found);
            if (run->id == NULL)
                nl_fail(d, NL_EFAIL, "out of memory");
            return -1;
        }
    }
    strlist_free(&found);
    return 0;
}

static const char *config_value(const nl_cmp_run *run, const char *key)
{
    for (size_t i = 0; i < run->n_cfg; i++)
        if (strcmp(run->cfg_keys[i], key) == 0)
            return run->cfg_values[i];
    return NULL;
}

static bool key_listed(const strlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], key) == 0)
            return true;
    return false;
}

/* Whether run's config has key, or keys below it (key.*: a map, such as
 * a plugin reference). */
static bool has_key(const nl_cmp_run *run, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < run->n_cfg; i++)
        if (strncmp(run->cfg_keys[i], key, len) == 0 &&
            (run->cfg_keys[i][len] == '\0' || run->cfg_keys[i][len] == '.'))
            return true;
    return false;
}

/* run's value of key, malloc'd: its text, or a map's keys below it as flow
 * YAML ("{name: step, threshold: 0.5}"), or "" when it has neither. */
static char *value_of(const nl_cmp_run *run, const char *key)
{
    const char *v = config_value(run, key);
    if (v != NULL || !has_key(run, key))
        return strdup(v != NULL ? v : "");
    size_t len = strlen(key), size = 3;
    for (size_t i = 0; i < run->n_cfg; i++)
        if (strncmp(run->cfg_keys[i], key, len) == 0 &&
            run->cfg_keys[i][len] == '.')
            size += strlen(run->cfg_keys[i]) + strlen(run->cfg_values[i]) + 4;
    char *map = malloc(size);
    if (map == NULL)
        return NULL;
    strcpy(map, "{");
    for (size_t i = 0; i < run->n_cfg; i++)
        if (strncmp(run->cfg_keys[i], key, len) == 0 &&
            run->cfg_keys[i][len] == '.')
            sprintf(map + strlen(map), "%s%s: %s", map[1] ? ", " : "",
                    run->cfg_keys[i] + len + 1, run->cfg_values[i]);
    strcat(map, "}");
    return map;
}

/* Whether key has one value in every run that has a config (missing
 * counts as a value of its own). */
static bool same_everywhere(const nl_comparison *c, const char *key)
{
    const char *first = NULL;
    bool seen = false;
    for (size_t r = 0; r < c->n_runs; r++) {
        if (c->runs[r].n_cfg == 0) /* failed before its config was known */
            continue;
        const char *v = config_value(&c->runs[r], key);
        if (!seen)
            first = v, seen = true;
        else if ((v == NULL) != (first == NULL) ||
                 (v != NULL && strcmp(v, first) != 0))
            return false;
    }
    return true;
}

/* The keys whose value is not the same in every run, and those grouped
 * by, in config order.  Each key of any run is looked at once (with 10,000
 * runs, asking every run about every key of every run took 8 minutes). */
static int find_keys(nl_comparison *c)
{
    strlist all = {0}, keys = {0};
    for (size_t r = 0; r < c->n_runs; r++)
        for (size_t i = 0; i < c->runs[r].n_cfg; i++)
            if (!key_listed(&all, c->runs[r].cfg_keys[i]) &&
                strlist_add(&all, c->runs[r].cfg_keys[i]) < 0)
                goto fail;
    for (size_t i = 0; i < all.n; i++) {
        bool grouped = false;
        for (size_t g = 0; g < c->n_group_by; g++)
            grouped |= strcmp(c->group_by[g], all.items[i]) == 0;
        if ((grouped || !same_everywhere(c, all.items[i])) &&
            strlist_add(&keys, all.items[i]) < 0)
            goto fail;
    }
    /* A map grouped by as a whole (group_by: [activation]). */
    for (size_t g = 0; g < c->n_group_by; g++)
        if (!key_listed(&keys, c->group_by[g]) &&
            strlist_add(&keys, c->group_by[g]) < 0)
            goto fail;
    strlist_free(&all);
    c->keys = keys.items;
    c->n_keys = keys.n;
    for (size_t r = 0; r < c->n_runs; r++) {
        nl_cmp_run *run = &c->runs[r];
        run->values = calloc(c->n_keys + 1, sizeof(*run->values));
        if (run->values == NULL)
            return -1;
        for (size_t k = 0; k < c->n_keys; k++)
            if ((run->values[k] = value_of(run, c->keys[k])) == NULL)
                return -1;
    }
    return 0;
fail:
    strlist_free(&all);
    strlist_free(&keys);
    return -1;
}

static bool failed(const nl_cmp_run *r)
{
    return strcmp(r->status, "ok") != 0;
}

/* Converged first, then fewer epochs to converge (runs that did not
 * converge have none, and tie), then lower final loss (NaN last); failed
 * runs after all the others; the id breaks what is left. */
static int by_rank(const void *pa, const void *pb)
{
    const nl_cmp_run *a = pa, *b = pb;
    if (failed(a) != failed(b))
        return failed(a) ? 1 : -1;
    if (a->converged != b->converged)
        return a->converged ? -1 : 1;
    if (a->converged && a->epochs != b->epochs)
        return a->epochs < b->epochs ? -1 : 1;
    bool na = isnan(a->final_loss), nb = isnan(b->final_loss);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->final_loss != b->final_loss)
        return a->final_loss < b->final_loss ? -1 : 1;
    return strcmp(a->id, b->id);
}

void nl_mean_std(const double *v, size_t n, double *mean, double *std)
{
    if (n == 0) {
        *mean = *std = NAN;
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    *mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

static int make_groups(nl_comparison *c)
{
    size_t *key_index = calloc(c->n_group_by + 1, sizeof(*key_index));
    double *buf = malloc((c->n_runs + 1) * sizeof(*buf));
    /* Members grow as runs join (a group per run, 10,000 of them, would
     * otherwise take 10,000 slots each). */
    size_t *room = calloc(c->n_runs + 1, sizeof(*room));
    if (key_index == NULL || buf == NULL || room == NULL)
        goto oom;
    for (size_t g = 0; g < c->n_group_by; g++)
        for (size_t k = 0; k < c->n_keys; k++)
            if (strcmp(c->keys[k], c->group_by[g]) == 0)
                key_index[g] = k;
    c->groups = calloc(c->n_runs + 1, sizeof(*c->groups));
    if (c->groups == NULL)
        goto oom;
    /* Runs are in rank order, so each group's members are too, and groups
     * come out in the order of their best run. */
    for (size_t r = 0; r < c->n_runs; r++) {
        const nl_cmp_run *run = &c->runs[r];
        size_t g = 0;
        for (; g < c->n_groups; g++) {
            size_t k = 0;
            while (k < c->n_group_by &&
                   strcmp(c->groups[g].values[k],
                          run->values[key_index[k]]) == 0)
                k++;
            if (k == c->n_group_by)
                break;
        }
        nl_cmp_group *grp = &c->groups[g];
        if (g == c->n_groups) {
            c->n_groups++;
            grp->values = calloc(c->n_group_by + 1, sizeof(*grp->values));
            size_t len = 4;
            for (size_t k = 0; k < c->n_group_by; k++)
                len += strlen(c->group_by[k]) +
                       strlen(run->values[key_index[k]]) + 2;
            grp->label = malloc(len);
            if (grp->values == NULL || grp->label == NULL)
                goto oom;
            strcpy(grp->label, c->n_group_by ? "" : "all");
            for (size_t k = 0; k < c->n_group_by; k++) {
                grp->values[k] = strdup(run->values[key_index[k]]);
                if (grp->values[k] == NULL)
                    goto oom;
                sprintf(grp->label + strlen(grp->label), "%s%s=%s",
                        k ? "," : "", c->group_by[k], grp->values[k]);
            }
        }
        if (grp->n_members == room[g]) {
            size_t more = room[g] ? 2 * room[g] : 4;
            size_t *grown = realloc(grp->members, more * sizeof(*grown));
            if (grown == NULL)
                goto oom;
            grp->members = grown;
            room[g] = more;
        }
        grp->members[grp->n_members++] = r;
        grp->n_converged += run->converged;
    }
    for (size_t g = 0; g < c->n_groups; g++) {
        nl_cmp_group *grp = &c->groups[g];
        size_t n = 0;
        for (size_t m = 0; m < grp->n_members; m++)
            if (c->runs[grp->members[m]].converged)
                buf[n++] = c->runs[grp->members[m]].epochs;
        nl_mean_std(buf, n, &grp->epochs_mean, &grp->epochs_std);
        n = 0;
        for (size_t m = 0; m < grp->n_members; m++)
            if (isfinite(c->runs[grp->members[m]].final_loss))
                buf[n++] = c->runs[grp->members[m]].final_loss;
        nl_mean_std(buf, n, &grp->loss_mean, &grp->loss_std);
    }
    free(key_index);
    free(buf);
    free(room);
    return 0;
oom:
    free(key_index);
    free(buf);
    free(room);
    return -1;
}

int nl_compare_finish(nl_comparison *c, char *const *group_by,
                      size_t n_group_by, nl_diag *d)
{
    c->group_by = calloc(n_group_by + 1, sizeof(*c->group_by));
    if (c->group_by == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    for (size_t g = 0; g < n_group_by; g++) {
        bool known = false;
        for (size_t r = 0; r < c->n_runs && !known; r++)
            known = has_key(&c->runs[r], group_by[g]);
        if (!known)
            return nl_fail(d, NL_EINPUT, "--group-by %s: no run has that "
                           "config key (keys are dotted paths such as "
                           "activation.name or optimizer.learning_rate)",
                           group_by[g]);
        if ((c->group_by[c->n_group_by++] = strdup(group_by[g])) == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
    }
    qsort(c->runs, c->n_runs, sizeof(*c->runs), by_rank);
    if (find_keys(c) < 0 || make_groups(c) < 0)
        return nl_fail(d, NL_EFAIL, "out of memory");
    return 0;
}

void nl_compare_free(nl_comparison *c)
{
    for (size_t r = 0; r < c->n_runs; r++) {
        nl_cmp_run *run = &c->runs[r];
        free(run->id);
        free(run->dir);
        free(run->status);
        free(run->stop_reason);
        free(run->error);
        for (int k = 0; k < 3; k++) {
            free(run->plugin[k]);
            free(run->plugin_version[k]);
        }
        for (size_t k = 0; run->values && k < c->n_keys; k++)
            free(run->values[k]);
        free(run->values);
        for (size_t i = 0; i < run->n_cfg; i++) {
            free(run->cfg_keys[i]);
            free(run->cfg_values[i]);
        }
        free(run->cfg_keys);
        free(run->cfg_values);
        free(run->curve);
    }
    free(c->runs);
    for (size_t k = 0; k < c->n_keys; k++)
        free(c->keys[k]);
    free(c->keys);
    for (size_t g = 0; g < c->n_groups; g++) {
        nl_cmp_group *grp = &c->groups[g];
        for (size_t k = 0; grp->values && k < c->n_group_by; k++)
            free(grp->values[k]);
        free(grp->values);
        free(grp->members);
        free(grp->label);
    }
    free(c->groups);
    for (size_t g = 0; g < c->n_group_by; g++)
        free(c->group_by[g]);
    free(c->group_by);
    memset(c, 0, sizeof(*c));
}
