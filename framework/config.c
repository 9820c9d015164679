/* config.c - the experiment config: schema, defaults, plugins, output. */
#define _DEFAULT_SOURCE /* realpath, strdup */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "suggest.h"

/* Defaults for what the config leaves out (README lists them). */
#define DEFAULT_SEED 42
#define DEFAULT_EPOCHS 1000
#define DEFAULT_LOSS_BELOW 0.01
#define DEFAULT_INIT_SCALE 0.1
#define DEFAULT_BLOBS_SAMPLES 100
#define DEFAULT_BLOBS_FEATURES 2
#define DEFAULT_BLOBS_SEPARATION 3.0
#define DEFAULT_BLOBS_NOISE 1.0

static const char *const generators[] = {"and",  "or",  "nand",
                                         "nor",  "xor", "blobs"};
static const char *const normalizations[] = {"none", "standardize", "minmax"};
static const char *const inits[] = {"zeros", "uniform", "normal"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *nl_normalize_name(nl_normalize n)
{
    return normalizations[n];
}

const char *nl_init_name(nl_init i)
{
    return inits[i];
}

static char *dup_or_fail(const char *s, nl_diag *d)
{
    char *c = strdup(s);
    if (c == NULL)
        nl_fail(d, NL_EFAIL, "out of memory");
    return c;
}

static int expect_map(const nl_ynode *node, const char *what, nl_diag *d)
{
    if (node->type == NL_YMAP)
        return 0;
    return nl_ynode_fail(d, node, "%s must be a map of keys", what);
}

/* Looks `word` up in `words`, or fails at node with a did-you-mean. */
static int pick_word(const nl_ynode *node, const char *what,
                     const char *const *words, size_t n, size_t *out,
                     nl_diag *d)
{
    const char *text;
    if (nl_ynode_string(node, &text, d) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(words[i], text) == 0) {
            *out = i;
            return 0;
        }
    nl_suggester s;
    nl_ynode_fail(d, node, "unknown %s '%s'", what, text);
    if (nl_suggest(text, words, n, &s) != NULL)
        nl_diag_append(d, "; did you mean '%s'?", s.best);
    else {
        nl_diag_append(d, " (expected one of:");
        for (size_t i = 0; i < n; i++)
            nl_diag_append(d, " %s", words[i]);
        nl_diag_append(d, ")");
    }
    return -1;
}

/* Remembers where v was written, for an error found later. */
static int note_where(const nl_ynode *v, nl_where *at, nl_diag *d)
{
    if ((at->file = strdup(v->file)) == NULL)
        return nl_fail(d, NL_EFAIL, "out of memory");
    at->line = v->line;
    at->col = v->col;
    return 0;
}

static int read_finite(const nl_ynode *node, const char *what, double lo,
                       double hi, double *out, nl_diag *d)
{
    if (nl_ynode_double(node, out, d) < 0)
        return -1;
    if (isfinite(*out) && *out >= lo && *out <= hi)
        return 0;
    nl_ynode_fail(d, node, "%s must be a finite number", what);
    if (lo > -HUGE_VAL && hi < HUGE_VAL)
        nl_diag_append(d, " in [%g, %g]", lo, hi);
    else if (lo > -HUGE_VAL)
        nl_diag_append(d, ", at least %g", lo);
    else if (hi < HUGE_VAL)
        nl_diag_append(d, ", at most %g", hi);
    nl_diag_append(d, ", got %s", node->text);
    return -1;
}

static int read_count(const nl_ynode *node, const char *what,
                      unsigned long long min, unsigned long long max,
                      uint64_t *out, nl_diag *d)
{
    unsigned long long v;
    if (nl_ynode_uint(node, max, &v, d) < 0)
        return -1;
    if (v < min)
        return nl_ynode_fail(d, node, "%s must be at least %llu", what, min);
    *out = v;
    return 0;
}

char *nl_resolve_relative(const char *base, const char *rel)
{
    char joined[PATH_MAX];
    if (rel[0] == '/') {
        snprintf(joined, sizeof(joined), "%s", rel);
    } else {
        const char *slash = strrchr(base, '/');
        if (slash == NULL)
            snprintf(joined, sizeof(joined), "%s", rel);
        else
            snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - base),
                     base, rel);
    }
    char real[PATH_MAX];
    if (realpath(joined, real) != NULL)
        return strdup(real);
    return strdup(joined);
}

static int read_data(nl_data_config *data, const nl_ynode *node,
                     const char *path, nl_diag *d)
{
    static const char *const keys[] = {
        "generator", "csv",      "target",     "features",    "normalize",
        "test_fraction", "samples", "separation", "noise"};
    if (expect_map(node, "data", d) < 0 ||
        nl_ynode_check_keys(node, "data", keys, COUNT(keys), d) < 0)
        return -1;
    const nl_ynode *gen = nl_ynode_get(node, "generator");
    const nl_ynode *csv = nl_ynode_get(node, "csv");
    if ((gen == NULL) == (csv == NULL))
        return nl_ynode_fail(d, gen ? gen : node,
                             "data needs exactly one of generator: (and, or, "
                             "nand, nor, xor, blobs) or csv: FILE");
    data->samples = DEFAULT_BLOBS_SAMPLES;
    data->features = DEFAULT_BLOBS_FEATURES;
    data->separation = DEFAULT_BLOBS_SEPARATION;
    data->noise = DEFAULT_BLOBS_NOISE;
    const nl_ynode *v;
    if (gen != NULL) {
        size_t which;
        if (pick_word(gen, "generator", generators, COUNT(generators), &which,
                      d) < 0)
            return -1;
        if ((data->generator = dup_or_fail(generators[which], d)) == NULL)
            return -1;
        bool blobs = strcmp(data->generator, "blobs") == 0;
        data->source = blobs ? NL_SOURCE_BLOBS : NL_SOURCE_GATE;
        static const char *const blob_keys[] = {"samples", "features",
                                                "separation", "noise"};
        for (size_t i = 0; i < COUNT(blob_keys); i++)
            if (!blobs && (v = nl_ynode_get(node, blob_keys[i])) != NULL)
                return nl_ynode_fail(d, v, "data.%s applies to the blobs "
                                     "generator only", blob_keys[i]);
        if ((v = nl_ynode_get(node, "target")) != NULL)
            return nl_ynode_fail(d, v, "data.target applies to csv: data "
                                 "only");
        uint64_t u = 0;
        if ((v = nl_ynode_get(node, "samples")) != NULL) {
            if (read_count(v, "data.samples", 2, NL_MAX_ROWS, &u, d) < 0)
                return -1;
            data->samples = u;
        }
        if ((v = nl_ynode_get(node, "features")) != NULL) {
            if (read_count(v, "data.features", 1, NL_MAX_FEATURES, &u, d) < 0)
                return -1;
            data->features = u;
        }
        if (data->samples * data->features > NL_MAX_ROWS)
            return nl_ynode_fail(d, node, "data.samples x data.features is "
                                 "over %llu values (limit)", NL_MAX_ROWS);
        if ((v = nl_ynode_get(node, "separation")) != NULL &&
            read_finite(v, "data.separation", 0, 1e6, &data->separation,
                        d) < 0)
            return -1;
        if ((v = nl_ynode_get(node, "noise")) != NULL &&
            read_finite(v, "data.noise", 0, 1e6, &data->noise, d) < 0)
            return -1;
    } else {
        data->source = NL_SOURCE_CSV;
        const char *file;
        if (nl_ynode_string(csv, &file, d) < 0)
            return -1;
        if ((data->csv = nl_resolve_relative(path, file)) == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
        if (note_where(csv, &data->csv_at, d) < 0)
            return -1;
        static const char *const blob_only[] = {"samples", "separation",
                                                "noise"};
        for (size_t i = 0; i < COUNT(blob_only); i++)
            if ((v = nl_ynode_get(node, blob_only[i])) != NULL)
                return nl_ynode_fail(d, v, "data.%s applies to the blobs "
                                     "generator only", blob_only[i]);
        const char *text;
        if ((v = nl_ynode_get(node, "target")) != NULL) {
            if (nl_ynode_string(v, &text, d) < 0 ||
                (data->target = dup_or_fail(text, d)) == NULL)
                return -1;
        }
        if ((v = nl_ynode_get(node, "features")) != NULL) {
            if (v->type != NL_YSEQ || v->n == 0)
                return nl_ynode_fail(d, v, "data.features must be a list of "
                                     "column names, e.g. [a, b]");
            data->columns = calloc(v->n, sizeof(*data->columns));
            if (data->columns == NULL)
                return nl_fail(d, NL_EFAIL, "out of memory");
            for (size_t i = 0; i < v->n; i++, data->n_columns++) {
                if (nl_ynode_string(v->items[i], &text, d) < 0 ||
                    (data->columns[i] = dup_or_fail(text, d)) == NULL)
                    return -1;
            }
        }
    }
    size_t which = NL_NORMALIZE_NONE;
    if ((v = nl_ynode_get(node, "normalize")) != NULL &&
        pick_word(v, "normalization", normalizations, COUNT(normalizations),
                  &which, d) < 0)
        return -1;
    data->normalize = (nl_normalize)which;
    data->test_fraction = 0;
    if ((v = nl_ynode_get(node, "test_fraction")) != NULL) {
        if (nl_ynode_double(v, &data->test_fraction, d) < 0)
            return -1;
        if (!(data->test_fraction >= 0 && data->test_fraction < 1))
            return nl_ynode_fail(d, v, "data.test_fraction must be in [0, 1), "
                                 "got %s", v->text);
        /* Whether it leaves a training row is known once the data is. */
        if (note_where(v, &data->test_fraction_at, d) < 0)
            return -1;
    }
    return 0;
}

static int read_model(nl_model_config *model, const nl_ynode *node,
                      nl_diag *d)
{
    static const char *const keys[] = {"init", "init_scale", "weights",
                                       "bias"};
    model->init = NL_INIT_ZEROS;
    model->init_scale = DEFAULT_INIT_SCALE;
    if (node == NULL)
        return 0;
    if (expect_map(node, "model", d) < 0 ||
        nl_ynode_check_keys(node, "model", keys, COUNT(keys), d) < 0)
        return -1;
    const nl_ynode *v;
    size_t which;
    if ((v = nl_ynode_get(node, "init")) != NULL) {
        if (pick_word(v, "init", inits, COUNT(inits), &which, d) < 0)
            return -1;
        model->init = (nl_init)which;
    }
    if ((v = nl_ynode_get(node, "init_scale")) != NULL &&
        read_finite(v, "model.init_scale", 0, 1e6, &model->init_scale, d) < 0)
        return -1;
    if ((v = nl_ynode_get(node, "bias")) != NULL &&
        read_finite(v, "model.bias", -HUGE_VAL, HUGE_VAL, &model->bias, d) < 0)
        return -1;
    if ((v = nl_ynode_get(node, "weights")) != NULL) {
        if (v->type != NL_YSEQ || v->n == 0 || v->n > NL_MAX_FEATURES)
            return nl_ynode_fail(d, v, "model.weights must be a list of "
                                 "numbers, one per feature");
        if ((model->weights = calloc(v->n, sizeof(double))) == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
        if (note_where(v, &model->weights_at, d) < 0)
            return -1;
        model->n_weights = v->n;
        for (size_t i = 0; i < v->n; i++)
            if (read_finite(v->items[i], "a weight", -HUGE_VAL, HUGE_VAL,
                            &model->weights[i], d) < 0)
                return -1;
    }
    return 0;
}

/* Reads a plugin reference (`word` or {name|path, params...}) of `kind`. */
static int read_plugin(nl_plugin_use *use, nl_kind kind, const nl_ynode *node,
                       const char *default_name, const char *path,
                       nl_registry *reg, nl_diag *d)
{
    const char *what = nl_kind_name(kind);
    const nl_ynode *name_node = node;
    const nl_ynode *path_node = NULL;
    memset(use, 0, sizeof(*use));
    if (node != NULL && node->type == NL_YMAP) {
        name_node = nl_ynode_get(node, "name");
        path_node = nl_ynode_get(node, "path");
        /* A map made by --set or a sweep (not from this file) sets
         * parameters of the default plugin the file left implicit. */
        if (name_node == NULL && path_node == NULL &&
            strcmp(node->file, path) == 0)
            return nl_ynode_fail(d, node, "%s needs name: (a plugin name) or "
                                 "path: (a .so file)", what);
    } else if (node != NULL && node->type == NL_YSEQ) {
        return nl_ynode_fail(d, node, "%s must be a plugin name or a map "
                             "with name: or path:", what);
    }
    /* For an error that only creating it shows (its parameters). */
    if (node != NULL && note_where(node, &use->at, d) < 0)
        return -1;
    const char *name = default_name;
    if (name_node != NULL && nl_ynode_string(name_node, &name, d) < 0)
        return -1;
    if (path_node == NULL && !nl_plugin_name_ok(name))
        return nl_ynode_fail(d, name_node, "'%s' is not a plugin name "
                             "([a-z0-9_]+; a name is never a path): write "
                             "path: FILE.so to load a file", name);
    nl_diag why;
    if (path_node != NULL) {
        const char *file;
        if (nl_ynode_string(path_node, &file, d) < 0)
            return -1;
        char *so = nl_resolve_relative(path, file);
        if (so == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
        int rc = nl_registry_open(reg, kind, so,
                                  name_node ? name : NULL, &use->found, &why);
        free(so);
        if (rc < 0)
            return nl_fail_at(d, why.status, path_node->file, path_node->line,
                              path_node->col, "%s", why.message);
    } else if (nl_registry_find(reg, kind, name, &use->found, &why) < 0) {
        if (name_node == NULL)
            return nl_fail(d, why.status, "%s", why.message);
        nl_suggester near;
        nl_suggest_init(&near, name);
        nl_registry_names(reg, kind, nl_suggest_visit, &near);
        /* The registry says which: not found at all is a config error
         * (NL_EINPUT), found but unloadable a plugin error. */
        nl_fail_at(d, why.status, name_node->file, name_node->line,
                   name_node->col, "%s", why.message);
        if (near.best[0] && why.status == NL_EINPUT)
            nl_diag_append(d, "; did you mean '%s'?", near.best);
        return -1;
    }
    return nl_params_bind(use->found.plugin,
                          node && node->type == NL_YMAP ? node : NULL,
                          use->params, d);
}

static int read_training(nl_training_config *t, const nl_ynode *node,
                         nl_diag *d)
{
    static const char *const keys[] = {"epochs", "batch_size", "shuffle",
                                       "stop"};
    static const char *const stop_keys[] = {"loss_below", "min_delta",
                                            "patience"};
    t->epochs = DEFAULT_EPOCHS;
    t->batch_size = 0;
    t->shuffle = true;
    t->loss_below = DEFAULT_LOSS_BELOW;
    t->min_delta = 0;
    t->patience = 0;
    if (node == NULL)
        return 0;
    if (expect_map(node, "training", d) < 0 ||
        nl_ynode_check_keys(node, "training", keys, COUNT(keys), d) < 0)
        return -1;
    const nl_ynode *v;
    uint64_t u = 0;
    if ((v = nl_ynode_get(node, "epochs")) != NULL) {
        if (read_count(v, "training.epochs", 0, NL_MAX_EPOCHS, &u, d) < 0)
            return -1;
        t->epochs = u;
    }
    if ((v = nl_ynode_get(node, "batch_size")) != NULL &&
        /* A word, quoted or not, as every other word key takes it. */
        !(v->type == NL_YSCALAR && strcmp(v->text, "full") == 0)) {
        unsigned long long rows = 0;
        if (v->type != NL_YSCALAR ||
            nl_ynode_uint(v, NL_MAX_ROWS, &rows, NULL) < 0)
            return nl_ynode_fail(d, v, "training.batch_size must be full or "
                                 "a row count from 1 to %llu, got %s",
                                 NL_MAX_ROWS,
                                 v->type == NL_YSCALAR ? v->text : "a list");
        if (rows == 0)
            return nl_ynode_fail(d, v, "training.batch_size must be at least "
                                 "1 (or full)");
        t->batch_size = (size_t)rows;
    }
    if ((v = nl_ynode_get(node, "shuffle")) != NULL &&
        nl_ynode_bool(v, &t->shuffle, d) < 0)
        return -1;
    const nl_ynode *stop = nl_ynode_get(node, "stop");
    if (stop == NULL)
        return 0;
    if (expect_map(stop, "training.stop", d) < 0 ||
        nl_ynode_check_keys(stop, "training.stop", stop_keys, COUNT(stop_keys), d) < 0)
        return -1;
    if ((v = nl_ynode_get(stop, "loss_below")) != NULL &&
        read_finite(v, "training.stop.loss_below", 0, HUGE_VAL,
                    &t->loss_below, d) < 0)
        return -1;
    if ((v = nl_ynode_get(stop, "min_delta")) != NULL &&
        read_finite(v, "training.stop.min_delta", 0, HUGE_VAL, &t->min_delta,
                    d) < 0)
        return -1;
    if ((v = nl_ynode_get(stop, "patience")) != NULL) {
        if (read_count(v, "training.stop.patience", 0, NL_MAX_EPOCHS, &u, d) < 0)
            return -1;
        t->patience = u;
    }
    return 0;
}

/* The run's name goes into a directory path: keep it a plain word. */
bool nl_run_name_ok(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

char *nl_file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return strndup(base, len);
}

int nl_config_from_tree(nl_config *cfg, const nl_ynode *root, const char *path,
                        nl_registry *reg, nl_diag *d)
{
    static const char *const keys[] = {"name",       "seed", "data",
                                       "model",      "activation", "loss",
                                       "optimizer",  "training"};
    memset(cfg, 0, sizeof(*cfg));
    if ((cfg->path = dup_or_fail(path, d)) == NULL)
        return -1;
    if (expect_map(root, "the config", d) < 0)
        goto fail;
    /* A study where a config belongs: given to `runner` itself, or as one
     * of several files to `runner batch` (which takes one study alone). */
    static const char *const study_keys[] = {"base", "sweep", "runs"};
    for (size_t i = 0; i < COUNT(study_keys); i++) {
        const nl_ynode *k = nl_ynode_get(root, study_keys[i]);
        if (k != NULL) {
            nl_ynode_fail(d, k, "%s: makes this file a study, not a config; "
                          "run it with: runner batch %s (one study at a "
                          "time)", study_keys[i], path);
            goto fail;
        }
    }
    if (nl_ynode_check_keys(root, "the config", keys, COUNT(keys), d) < 0)
        goto fail;
    const nl_ynode *v = nl_ynode_get(root, "name");
    if (v != NULL) {
        const char *text;
        if (nl_ynode_string(v, &text, d) < 0)
            goto fail;
        if (!nl_run_name_ok(text)) {
            nl_ynode_fail(d, v, "name '%s' must be letters, digits, '_', "
                          "'-' or '.' (it names the results directory)", text);
            goto fail;
        }
        cfg->name = strdup(text);
    } else {
        cfg->name = nl_file_stem(path);
        if (cfg->name != NULL && !nl_run_name_ok(cfg->name)) {
            nl_fail(d, NL_EINPUT, "%s: the file name does not make a valid "
                    "run name; add name: to the config", path);
            goto fail;
        }
    }
    if (cfg->name == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto fail;
    }
    cfg->seed = DEFAULT_SEED;
    if ((v = nl_ynode_get(root, "seed")) != NULL) {
        unsigned long long s;
        if (nl_ynode_uint(v, UINT64_MAX, &s, d) < 0)
            goto fail;
        cfg->seed = s;
    }
    if ((v = nl_ynode_get(root, "data")) == NULL) {
        nl_fail_at(d, NL_EINPUT, path, root->line ? root->line : 1, 0,
                   "missing data: (e.g. data: {generator: and} or data: "
                   "{csv: FILE.csv})");
        goto fail;
    }
    if (read_data(&cfg->data, v, path, d) < 0 ||
        read_model(&cfg->model, nl_ynode_get(root, "model"), d) < 0 ||
        read_plugin(&cfg->activation, NL_KIND_ACTIVATION,
                    nl_ynode_get(root, "activation"), "sigmoid", path, reg,
                    d) < 0 ||
        read_plugin(&cfg->loss, NL_KIND_LOSS, nl_ynode_get(root, "loss"),
                    "mse", path, reg, d) < 0 ||
        read_plugin(&cfg->optimizer, NL_KIND_OPTIMIZER,
                    nl_ynode_get(root, "optimizer"), "gradient_descent", path,
                    reg, d) < 0 ||
        read_training(&cfg->training, nl_ynode_get(root, "training"), d) < 0)
        goto fail;
    if (cfg->model.weights != NULL && cfg->data.source != NL_SOURCE_CSV) {
        size_t features = cfg->data.source == NL_SOURCE_GATE
                              ? 2 : cfg->data.features;
        if (cfg->model.n_weights != features) {
            nl_ynode_fail(d, nl_ynode_get(nl_ynode_get(root, "model"),
                                          "weights"),
                          "model.weights has %zu values but the data has %zu "
                          "features", cfg->model.n_weights, features);
            goto fail;
        }
    }
    return 0;
fail:
    nl_config_free(cfg);
    return -1;
}

int nl_config_override(nl_ynode *root, const char *arg, nl_diag *d)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return nl_fail(d, NL_EINPUT, "--set %s: expected KEY=VALUE, e.g. "
                       "--set optimizer.learning_rate=0.5", arg);
    char key[256];
    if ((size_t)(eq - arg) >= sizeof(key))
        return nl_fail(d, NL_EINPUT, "--set %s: key too long", arg);
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    nl_ynode *value = nl_yaml_parse(eq + 1, strlen(eq + 1), arg, d);
    if (value == NULL)
        return -1;
    /* Positions inside a --set value are not lines of a file. */
    value->line = value->col = 0;
    if (value->type == NL_YMAP && value->n == 0) { /* empty value */
        value->type = NL_YSCALAR;
        value->text = strdup("");
        if (value->text == NULL) {
            nl_ynode_free(value);
            return nl_fail(d, NL_EFAIL, "out of memory");
        }
    }
    nl_ynode where = {.type = NL_YSCALAR, .file = arg};
    return nl_ynode_set_path(root, key, value, &where, d);
}

int nl_config_load(nl_config *cfg, const char *path,
                   const nl_override *overrides, size_t n_overrides,
                   nl_registry *reg, nl_diag *d)
{
    memset(cfg, 0, sizeof(*cfg));
    nl_ynode *root = nl_yaml_load(path, d);
    if (root == NULL)
        return -1;
    int rc = 0;
    if (root->type != NL_YMAP)
        rc = nl_ynode_fail(d, root, "a config is a map of keys (name:, "
                           "data:, activation:, ...)");
    for (size_t i = 0; rc == 0 && i < n_overrides; i++)
        rc = nl_config_override(root, overrides[i].arg, d);
    if (rc == 0)
        rc = nl_config_from_tree(cfg, root, path, reg, d);
    nl_ynode_free(root);
    return rc;
}

void nl_config_free(nl_config *cfg)
{
    free(cfg->path);
    free(cfg->name);
    free(cfg->data.generator);
    free(cfg->data.csv);
    free(cfg->data.target);
    for (size_t i = 0; i < cfg->data.n_columns; i++)
        free(cfg->data.columns[i]);
    free(cfg->data.columns);
    free(cfg->model.weights);
    free(cfg->model.weights_at.file);
    free(cfg->data.test_fraction_at.file);
    free(cfg->data.csv_at.file);
    free(cfg->activation.at.file);
    free(cfg->loss.at.file);
    free(cfg->optimizer.at.file);
    memset(cfg, 0, sizeof(*cfg));
}

void nl_write_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void write_plugin(FILE *out, const char *key, const nl_plugin_use *use)
{
    const nl_plugin *p = use->found.plugin;
    fprintf(out, "%s:\n  name: %s\n", key, p->name);
    /* The file itself, however it was found (a name on a -P directory
     * would not be found again without that -P). */
    if (strcmp(use->found.origin, NL_BUILTIN_ORIGIN) != 0) {
        fputs("  path: ", out);
        nl_write_quoted(out, use->found.origin);
        fputc('\n', out);
    }
    for (size_t i = 0; i < p->n_params; i++) {
        char value[128];
        nl_param_format(&p->params[i], use->params[i], 0, value,
                        sizeof(value));
        fprintf(out, "  %s: %s\n", p->params[i].name, value);
    }
}

int nl_config_write(const nl_config *cfg, FILE *out)
{
    const nl_data_config *data = &cfg->data;
    char a[NL_NUM_MAX], b[NL_NUM_MAX];
    fputs("# Resolved by nnlab: every default filled in.  Give this file "
          "back to\n# runner to reproduce the run.\n", out);
    fputs("name: ", out);
    nl_write_quoted(out, cfg->name);
    fprintf(out, "\nseed: %llu\ndata:\n", (unsigned long long)cfg->seed);
    if (data->source == NL_SOURCE_CSV) {
        fputs("  csv: ", out);
        nl_write_quoted(out, data->csv);
        fputc('\n', out);
        if (data->target != NULL) {
            fputs("  target: ", out);
            nl_write_quoted(out, data->target);
            fputc('\n', out);
        }
        if (data->columns != NULL) {
            fputs("  features: [", out);
            for (size_t i = 0; i < data->n_columns; i++) {
                fputs(i ? ", " : "", out);
                nl_write_quoted(out, data->columns[i]);
            }
            fputs("]\n", out);
        }
    } else {
        fprintf(out, "  generator: %s\n", data->generator);
        if (data->source == NL_SOURCE_BLOBS)
            fprintf(out, "  samples: %zu\n  features: %zu\n  separation: "
                    "%s\n  noise: %s\n", data->samples, data->features,
                    nl_num(data->separation, a), nl_num(data->noise, b));
    }
    fprintf(out, "  normalize: %s\n  test_fraction: %s\n",
            nl_normalize_name(data->normalize),
            nl_num(data->test_fraction, a));
    fprintf(out, "model:\n  init: %s\n  init_scale: %s\n",
            nl_init_name(cfg->model.init), nl_num(cfg->model.init_scale, a));
    if (cfg->model.weights != NULL) {
        fputs("  weights: [", out);
        for (size_t i = 0; i < cfg->model.n_weights; i++)
            fprintf(out, "%s%s", i ? ", " : "", nl_num(cfg->model.weights[i], a));
        fputs("]\n", out);
    }
    fprintf(out, "  bias: %s\n", nl_num(cfg->model.bias, a));
    write_plugin(out, "activation", &cfg->activation);
    write_plugin(out, "loss", &cfg->loss);
    write_plugin(out, "optimizer", &cfg->optimizer);
    const nl_training_config *t = &cfg->training;
    fprintf(out, "training:\n  epochs: %llu\n",
            (unsigned long long)t->epochs);
    if (t->batch_size == 0)
        fputs("  batch_size: full\n", out);
    else
        fprintf(out, "  batch_size: %zu\n", t->batch_size);
    fprintf(out, "  shuffle: %s\n  stop:\n    loss_below: %s\n"
            "    min_delta: %s\n    patience: %llu\n",
            t->shuffle ? "true" : "false", nl_num(t->loss_below, a),
            nl_num(t->min_delta, b), (unsigned long long)t->patience);
    return ferror(out) ? -1 : 0;
}

