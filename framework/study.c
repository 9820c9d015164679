/* study.c - study files: sweeps and run lists, expanded and checked. */
#define _POSIX_C_SOURCE 200809L
#include "study.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dataset.h"
#include "suggest.h"

/* One swept key and its values (value nodes are the study's own). */
typedef struct axis {
    const nl_ynode *key;
    nl_ynode **values;       /* borrowed from the study tree, or owned */
    size_t n_values;
    nl_ynode *owned;         /* a SEQ built for a range:, or NULL */
} axis;

bool nl_study_is_study(const nl_ynode *root)
{
    return root != NULL && root->type == NL_YMAP &&
           (nl_ynode_get(root, "base") != NULL ||
            nl_ynode_get(root, "sweep") != NULL ||
            nl_ynode_get(root, "runs") != NULL);
}

long nl_range_values(double start, double stop, double step, double *out,
                     size_t max)
{
    if (!isfinite(start) || !isfinite(stop) || !isfinite(step) || step == 0)
        return -1;
    /* The count is computed once, with a tolerance of a millionth of a
     * step, so that 0.1 .. 1.0 by 0.1 stops before 1.0 as it should. */
    double span = (stop - start) / step;
    if (!(span > 1e-6))
        return -1;
    double count = ceil(span - 1e-6);
    if (count > (double)max)
        return -1;
    for (long i = 0; i < (long)count; i++)
        out[i] = start + (double)i * step;
    return (long)count;
}

/* Builds a SEQ of scalars for {range: [start, stop, step]}. */
static nl_ynode *expand_range(const nl_ynode *spec, nl_diag *d)
{
    const nl_ynode *r = nl_ynode_get(spec, "range");
    if (r == NULL || spec->n != 1 || r->type != NL_YSEQ || r->n != 3) {
        nl_ynode_fail(d, spec, "a sweep value is a list [a, b, ...] or "
                      "{range: [start, stop, step]}");
        return NULL;
    }
    double v[3];
    for (int i = 0; i < 3; i++)
        if (nl_ynode_double(r->items[i], &v[i], d) < 0)
            return NULL;
    double *values = malloc(10000 * sizeof(double));
    if (values == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        return NULL;
    }
    long n = nl_range_values(v[0], v[1], v[2], values, 10000);
    if (n < 0) {
        free(values);
        nl_ynode_fail(d, r, "range [%s, %s, %s] is empty, endless or longer "
                      "than 10000 values (stop is exclusive)",
                      r->items[0]->text, r->items[1]->text, r->items[2]->text);
        return NULL;
    }
    char text[64];
    nl_ynode *seq = NULL;
    /* Let the YAML parser build the sequence: one code path for nodes. */
    size_t cap = (size_t)n * 32 + 3, len = 0;
    char *flow = malloc(cap);
    if (flow != NULL) {
        flow[len++] = '[';
        for (long i = 0; i < n; i++) {
            snprintf(text, sizeof(text), "%s%.15g", i ? ", " : "", values[i]);
            memcpy(flow + len, text, strlen(text));
            len += strlen(text);
        }
        flow[len++] = ']';
        seq = nl_yaml_parse(flow, len, spec->file, d);
    } else {
        nl_fail(d, NL_EFAIL, "out of memory");
    }
    free(flow);
    free(values);
    if (seq != NULL)
        for (size_t i = 0; i < seq->n; i++) {
            seq->items[i]->line = r->line;
            seq->items[i]->col = r->col;
        }
    return seq;
}

/* Ids longer than this are cut and end in a hash of the whole id, so a
 * run's directory name stays within the file system's 255 bytes. */
#define NL_MAX_ID 200

/* A directory-safe rendering of "k=v,k=v" (id has room for NL_MAX_ID). */
static void sanitize_id(char *id)
{
    for (char *c = id; *c; c++)
        if (*c == '/' || *c == ' ' || (unsigned char)*c < 0x20)
            *c = '_';
    if (id[0] == '.')
        id[0] = '_';
    size_t len = strlen(id);
    if (len > NL_MAX_ID) {
        uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the whole id */
        for (size_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)id[i]) * 0x100000001b3ull;
        snprintf(id + NL_MAX_ID - 17, 18, "~%016llx", (unsigned long long)h);
    }
}

static int run_add_override(nl_study_run *run, const nl_ynode *key,
                            const nl_ynode *value, nl_diag *d)
{
    char *flow = nl_ynode_to_flow(value);
    char *kv = NULL;
    char **o = realloc(run->overrides,
                       (run->n_overrides + 1) * sizeof(*run->overrides));
    if (flow == NULL || o == NULL ||
        (kv = malloc(strlen(key->text) + strlen(flow) + 2)) == NULL) {
        free(flow);
        if (o != NULL)
            run->overrides = o;
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    run->overrides = o;
    sprintf(kv, "%s=%s", key->text, flow);
    free(flow);
    run->overrides[run->n_overrides++] = kv;
    /* The id is the overrides joined with ','. */
    size_t old = run->id ? strlen(run->id) : 0;
    char *id = realloc(run->id, old + strlen(kv) + 2);
    if (id == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    sprintf(id + old, "%s%s", old ? "," : "", kv);
    run->id = id;
    return 0;
}

/* FNV-1a of cfg as config.yaml writes it: what the run does, whatever the
 * spelling of the study's values (1, 01 and 1.0; true and yes). */
static int resolved_hash(const nl_config *cfg, uint64_t *hash, nl_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL || nl_config_write(cfg, f) < 0 || fclose(f) != 0) {
        free(text);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    free(text);
    *hash = h;
    return 0;
}

/* Applies a run's overrides (the study's own nodes) to a copy of `base`
 * and checks the config that results; *resolved gets its hash. */
static int check_run(const nl_ynode *base, const char *base_path,
                     const nl_ynode *const *keys, const nl_ynode *const *values,
                     size_t n, nl_registry *reg, uint64_t *resolved,
                     nl_diag *d)
{
    nl_ynode *tree = nl_ynode_copy(base);
    if (tree == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        nl_ynode *v = nl_ynode_copy(values[i]);
        if (v == NULL) {
            rc = nl_fail(d, NL_EFAIL, "out of memory");
            break;
        }
        rc = nl_ynode_set_path(tree, keys[i]->text, v, keys[i], d);
    }
    if (rc == 0) {
        nl_config cfg;
        rc = nl_config_from_tree(&cfg, tree, base_path, reg, d);
        if (rc == 0) { /* else nothing is left to free */
            /* A data file that is not there fails now, at the line that
             * named it, not when its run starts. */
            if (cfg.data.source == NL_SOURCE_CSV &&
                access(cfg.data.csv, R_OK) != 0)
                rc = nl_data_unreadable(cfg.data.csv, &cfg.data.csv_at,
                                        errno, d);
            if (rc == 0)
                rc = resolved_hash(&cfg, resolved, d);
            nl_config_free(&cfg);
        }
    }
    nl_ynode_free(tree);
    return rc;
}

static nl_study_run *add_run(nl_study *s, const char *config, nl_diag *d)
{
    if (s->n_runs == NL_MAX_STUDY_RUNS) {
        nl_fail(d, NL_EINPUT, "more than %d runs in one study",
                NL_MAX_STUDY_RUNS);
        return NULL;
    }
    /* The capacity doubles (it is the next power of two): growing by one
     * run at a time copied the list once per run, quadratic in a large
     * sweep. */
    size_t n = s->n_runs;
    if ((n & (n - 1)) == 0) { /* 0 or a power of two: full */
        nl_study_run *runs = realloc(s->runs,
                                     (n ? 2 * n : 1) * sizeof(*runs));
        if (runs == NULL) {
            nl_fail(d, NL_EFAIL, "out of memory");
            return NULL;
        }
        s->runs = runs;
    }
    nl_study_run *run = &s->runs[s->n_runs++];
    memset(run, 0, sizeof(*run));
    if ((run->config = strdup(config)) == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        return NULL;
    }
    return run;
}

/* Finishes a run: id "base" when it has no override; checks it. */
static int finish_run(nl_study_run *run, const nl_ynode *base,
                      const char *base_path, const nl_ynode *const *keys,
                      const nl_ynode *const *values, size_t n,
                      nl_registry *reg, nl_diag *d)
{
    if (run->id == NULL && (run->id = strdup("base")) == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    sanitize_id(run->id);
    return check_run(base, base_path, keys, values, n, reg, &run->resolved,
                     d);
}

/* A run's id, resolved config and place in the study. */
typedef struct run_ref {
    const char *id;
    uint64_t resolved;
    size_t r;
} run_ref;

static int by_resolved(const run_ref *x, const run_ref *y)
{
    return (x->resolved > y->resolved) - (x->resolved < y->resolved);
}

static int by_resolved_then_place(const void *a, const void *b)
{
    const run_ref *x = a, *y = b;
    int c = by_resolved(x, y);
    return c != 0 ? c : (x->r > y->r) - (x->r < y->r);
}

static int by_id_then_place(const void *a, const void *b)
{
    const run_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c != 0 ? c : (x->r > y->r) - (x->r < y->r);
}

/* The first run (in study order) that repeats an earlier one, in its
 * resolved config or else in its id: *first, and *of, the earliest it
 * repeats.  Sorted, not compared pairwise: a runs: list of 30 000 entries
 * took seconds.  Returns 1 when found, 0 when not, -1 out of memory. */
static int find_repeat(const nl_study *s, bool by_id, size_t *first,
                       size_t *of)
{
    run_ref *refs = malloc((s->n_runs + 1) * sizeof(*refs));
    if (refs == NULL)
        return -1;
    for (size_t r = 0; r < s->n_runs; r++)
        refs[r] = (run_ref){s->runs[r].id, s->runs[r].resolved, r};
    qsort(refs, s->n_runs, sizeof(*refs),
          by_id ? by_id_then_place : by_resolved_then_place);
    *first = s->n_runs;
    for (size_t k = 1; k < s->n_runs; k++) {
        bool same = by_id ? strcmp(refs[k - 1].id, refs[k].id) == 0
                          : by_resolved(&refs[k - 1], &refs[k]) == 0;
        bool second = k < 2 || (by_id ? strcmp(refs[k - 2].id, refs[k].id)
                                      : by_resolved(&refs[k - 2],
                                                    &refs[k])) != 0;
        if (same && second && refs[k].r < *first) {
            *first = refs[k].r; /* the second of its kind: the first repeat */
            *of = refs[k - 1].r;
        }
    }
    free(refs);
    return *first < s->n_runs;
}

/* Every run must do something of its own, in a directory of its own: a
 * run whose resolved config another has (a value listed twice, or two
 * that mean the same: 1 and 1.0) is refused, and so are two runs whose
 * ids (directory names) meet though their configs differ.  At the runs:
 * entry when there is a list (runs), else at the sweep. */
static int check_distinct(const nl_study *s, const nl_ynode *sweep,
                          const nl_ynode *runs, nl_diag *d)
{
    size_t first = 0, of = 0;
    int found = find_repeat(s, false, &first, &of);
    if (found < 0)
        return nl_fail(d, NL_EFAIL, "out of memory");
    const nl_study_run *a = &s->runs[of], *b = &s->runs[first];
    bool alike = found && strcmp(a->id, b->id) == 0;
    if (found && runs != NULL)
        return alike ? nl_ynode_fail(d, runs->items[first], "this run "
                                     "repeats run %zu (%s)", of + 1, b->id)
                     : nl_ynode_fail(d, runs->items[first], "this run is "
                                     "run %zu again (%s resolves to the same "
                                     "config as %s)", of + 1, b->id, a->id);
    if (found)
        return alike ? nl_ynode_fail(d, sweep, "the sweep makes run %s "
                                     "twice (a value is listed twice)",
                                     b->id)
                     : nl_ynode_fail(d, sweep, "the sweep makes one run "
                                     "twice: %s and %s resolve to the same "
                                     "config (values that mean the same, "
                                     "such as 1 and 1.0)", a->id, b->id);
    if ((found = find_repeat(s, true, &first, &of)) < 0)
        return nl_fail(d, NL_EFAIL, "out of memory");
    if (found)
        return nl_ynode_fail(d, runs != NULL ? runs->items[first] : sweep,
                             "two different runs get the id %s: their "
                             "values differ only in characters a directory "
                             "name cannot hold", s->runs[first].id);
    return 0;
}

static int expand_sweep(nl_study *s, const nl_ynode *sweep,
                        const nl_ynode *base, const char *base_path,
                        nl_registry *reg, nl_diag *d)
{
    if (sweep->type != NL_YMAP || sweep->n == 0)
        return nl_ynode_fail(d, sweep, "sweep: is a map of dotted keys to "
                             "lists of values");
    size_t n = sweep->n;
    axis *axes = calloc(n, sizeof(*axes));
    size_t *at = calloc(n, sizeof(*at));
    const nl_ynode **keys = calloc(n, sizeof(*keys));
    const nl_ynode **values = calloc(n, sizeof(*values));
    int rc = -1;
    if (axes == NULL || at == NULL || keys == NULL || values == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    double total = 1;
    for (size_t i = 0; i < n; i++) {
        const nl_ynode *v = sweep->items[i];
        axes[i].key = keys[i] = sweep->keys[i];
        if (v->type == NL_YMAP) {
            if ((axes[i].owned = expand_range(v, d)) == NULL)
                goto out;
            v = axes[i].owned;
        }
        if (v->type != NL_YSEQ || v->n == 0) {
            nl_ynode_fail(d, v, "sweep values for %s: a non-empty list "
                          "[a, b, ...] or {range: [start, stop, step]}",
                          sweep->keys[i]->text);
            goto out;
        }
        axes[i].values = v->items;
        axes[i].n_values = v->n;
        total *= (double)v->n;
    }
    if (total > NL_MAX_STUDY_RUNS) {
        nl_ynode_fail(d, sweep, "the sweep makes %.0f runs (limit %d)", total,
                      NL_MAX_STUDY_RUNS);
        goto out;
    }
    /* Odometer order: the first key varies slowest. */
    for (;;) {
        nl_study_run *run = add_run(s, base_path, d);
        if (run == NULL)
            goto out;
        for (size_t i = 0; i < n; i++) {
            values[i] = axes[i].values[at[i]];
            if (run_add_override(run, keys[i], values[i], d) < 0)
                goto out;
        }
        if (finish_run(run, base, base_path, keys, values, n, reg, d) < 0)
            goto out;
        size_t i = n;
        while (i > 0 && ++at[i - 1] == axes[i - 1].n_values)
            at[--i] = 0;
        if (i == 0)
            break;
    }
    if (check_distinct(s, sweep, NULL, d) < 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; axes != NULL && i < n; i++)
        nl_ynode_free(axes[i].owned);
    free(axes);
    free(at);
    free(keys);
    free(values);
    return rc;
}

static int expand_runs(nl_study *s, const nl_ynode *runs, const nl_ynode *base,
                       const char *base_path, nl_registry *reg, nl_diag *d)
{
    if (runs->type != NL_YSEQ || runs->n == 0)
        return nl_ynode_fail(d, runs, "runs: is a list of maps of dotted "
                             "keys to values, e.g. - {seed: 1}");
    for (size_t r = 0; r < runs->n; r++) {
        const nl_ynode *m = runs->items[r];
        if (m->type != NL_YMAP)
            return nl_ynode_fail(d, m, "each run is a map of dotted keys to "
                                 "values, e.g. {activation.name: step}");
        nl_study_run *run = add_run(s, base_path, d);
        if (run == NULL)
            return -1;
        for (size_t i = 0; i < m->n; i++)
            if (run_add_override(run, m->keys[i], m->items[i], d) < 0)
                return -1;
        if (finish_run(run, base, base_path, (const nl_ynode *const *)m->keys,
                       (const nl_ynode *const *)m->items, m->n, reg, d) < 0)
            return -1;
    }
    return check_distinct(s, NULL, runs, d);
}

/* group_by keys must be swept keys (grouping by a constant says nothing). */
static int read_group_by(nl_study *s, const nl_ynode *g, const nl_ynode *sweep,
                         const nl_ynode *runs, nl_diag *d)
{
    if (g->type != NL_YSEQ)
        return nl_ynode_fail(d, g, "group_by: is a list of dotted keys");
    s->group_by = calloc(g->n + 1, sizeof(*s->group_by));
    if (s->group_by == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    for (size_t i = 0; i < g->n; i++) {
        const char *key;
        if (nl_ynode_string(g->items[i], &key, d) < 0)
            return -1;
        bool known = nl_ynode_get(sweep, key) != NULL;
        nl_suggester sg;
        nl_suggest_init(&sg, key);
        for (size_t r = 0; !known && runs != NULL && r < runs->n; r++)
            known = nl_ynode_get(runs->items[r], key) != NULL;
        if (!known) {
            for (size_t k = 0; sweep != NULL && k < sweep->n; k++)
                nl_suggest_offer(&sg, sweep->keys[k]->text);
            nl_ynode_fail(d, g->items[i], "group_by key '%s' is not swept",
                          key);
            if (sg.best[0])
                nl_diag_append(d, "; did you mean '%s'?", sg.best);
            return -1;
        }
        for (size_t k = 0; k < s->n_group_by; k++)
            if (strcmp(s->group_by[k], key) == 0)
                return nl_ynode_fail(d, g->items[i], "group_by lists '%s' "
                                     "twice", key);
        if ((s->group_by[s->n_group_by++] = strdup(key)) == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
    }
    return 0;
}

int nl_study_load(nl_study *s, const char *path, nl_registry *reg, nl_diag *d)
{
    static const char *const keys[] = {"name", "base", "sweep", "runs",
                                       "group_by"};
    memset(s, 0, sizeof(*s));
    nl_ynode *root = nl_yaml_load(path, d), *base = NULL;
    char *base_path = NULL;
    int rc = -1;
    if (root == NULL)
        return -1;
    if (root->type != NL_YMAP) {
        nl_ynode_fail(d, root, "a study is a map with base:, sweep: or runs:");
        goto out;
    }
    if (nl_ynode_check_keys(root, "the study", keys, 5, d) < 0)
        goto out;
    const nl_ynode *v = nl_ynode_get(root, "name");
    const char *text;
    if (v != NULL) {
        if (nl_ynode_string(v, &text, d) < 0)
            goto out;
        if (!nl_run_name_ok(text)) {
            nl_ynode_fail(d, v, "name '%s' must be letters, digits, '_', '-' "
                          "or '.' (it names the results directory)", text);
            goto out;
        }
        s->name = strdup(text);
    } else {
        s->name = nl_file_stem(path);
        if (s->name != NULL && !nl_run_name_ok(s->name)) {
            nl_fail(d, NL_EINPUT, "%s: the file name does not make a valid "
                    "study name; add name: to the study", path);
            goto out;
        }
    }
    if ((v = nl_ynode_get(root, "base")) == NULL) {
        nl_fail_at(d, NL_EINPUT, path, root->line, root->col,
                   "missing base: (the config every run starts from)");
        goto out;
    }
    if (nl_ynode_string(v, &text, d) < 0)
        goto out;
    base_path = nl_resolve_relative(path, text);
    if (s->name == NULL || base_path == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    nl_diag why;
    if ((base = nl_yaml_load(base_path, &why)) == NULL) {
        nl_ynode_fail(d, v, "base config: %s", why.message);
        goto out;
    }
    if (base->type != NL_YMAP) { /* the overrides below need a map */
        nl_ynode_fail(d, base, "a config is a map of keys (name:, data:, "
                      "activation:, ...)");
        goto out;
    }
    const nl_ynode *sweep = nl_ynode_get(root, "sweep");
    const nl_ynode *runs = nl_ynode_get(root, "runs");
    if (sweep != NULL && runs != NULL) {
        nl_ynode_fail(d, runs, "give sweep: or runs:, not both");
        goto out;
    }
    if (sweep != NULL)
        rc = expand_sweep(s, sweep, base, base_path, reg, d);
    else if (runs != NULL)
        rc = expand_runs(s, runs, base, base_path, reg, d);
    else {
        nl_study_run *run = add_run(s, base_path, d);
        rc = run == NULL ? -1
                         : finish_run(run, base, base_path, NULL, NULL, 0,
                                      reg, d);
    }
    if (rc == 0 && (v = nl_ynode_get(root, "group_by")) != NULL)
        rc = read_group_by(s, v, sweep, runs, d);
out:
    if (rc < 0)
        nl_study_free(s);
    nl_ynode_free(root);
    nl_ynode_free(base);
    free(base_path);
    return rc;
}

int nl_study_of_configs(nl_study *s, char *const *paths, size_t n,
                        nl_registry *reg, nl_diag *d)
{
    memset(s, 0, sizeof(*s));
    if ((s->name = strdup("batch")) == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        nl_config cfg;
        if (nl_config_load(&cfg, paths[i], NULL, 0, reg, d) < 0)
            goto fail;
        nl_config_free(&cfg);
        nl_study_run *run = add_run(s, paths[i], d);
        if (run == NULL)
            goto fail;
        char *stem = nl_file_stem(paths[i]);
        if (stem == NULL || (run->id = malloc(strlen(stem) + 16)) == NULL) {
            free(stem);
            nl_fail(d, NL_EFAIL, "out of memory");
            goto fail;
        }
        strcpy(run->id, stem);
        for (int k = 2; ; k++) { /* same stems: stem-2, stem-3, ... */
            size_t p = 0;
            while (p < i && strcmp(s->runs[p].id, run->id) != 0)
                p++;
            if (p == i)
                break;
            sprintf(run->id, "%s-%d", stem, k);
        }
        free(stem);
        sanitize_id(run->id);
    }
    return 0;
fail:
    nl_study_free(s);
    return -1;
}

int nl_study_write(const nl_study *s, FILE *out)
{
    fputs("# The runs of this batch, as resolved by nnlab.\nname: ", out);
    nl_write_quoted(out, s->name);
    fputs("\ngroup_by: [", out);
    for (size_t i = 0; i < s->n_group_by; i++) {
        fputs(i ? ", " : "", out);
        nl_write_quoted(out, s->group_by[i]);
    }
    fputs("]\nruns:\n", out);
    for (size_t r = 0; r < s->n_runs; r++) {
        const nl_study_run *run = &s->runs[r];
        fputs("  - id: ", out);
        nl_write_quoted(out, run->id);
        fputs("\n    config: ", out);
        nl_write_quoted(out, run->config);
        fputs("\n    set: [", out);
        for (size_t i = 0; i < run->n_overrides; i++) {
            fputs(i ? ", " : "", out);
            nl_write_quoted(out, run->overrides[i]);
        }
        fputs("]\n", out);
    }
    return ferror(out) ? -1 : 0;
}

void nl_study_free(nl_study *s)
{
    for (size_t r = 0; r < s->n_runs; r++) {
        nl_study_run *run = &s->runs[r];
        for (size_t i = 0; i < run->n_overrides; i++)
            free(run->overrides[i]);
        free(run->overrides);
        free(run->id);
        free(run->config);
    }
    for (size_t i = 0; i < s->n_group_by; i++)
        free(s->group_by[i]);
    free(s->group_by);
    free(s->runs);
    free(s->name);
    memset(s, 0, sizeof(*s));
}
