/*
 * config.h - the experiment config (SPEC section 3): read from YAML, with
 * --set overrides, checked against the schema and against each plugin's
 * parameter table, every default filled in; and written back out as the
 * resolved config.yaml that reproduces the run.
 */
#ifndef NL_CONFIG_H
#define NL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nnlab/plugin.h>

#include "diag.h"
#include "params.h"
#include "plugin_loader.h"
#include "yaml_tree.h"

typedef enum nl_source { NL_SOURCE_GATE, NL_SOURCE_BLOBS, NL_SOURCE_CSV } nl_source;
typedef enum nl_normalize {
    NL_NORMALIZE_NONE,
    NL_NORMALIZE_STANDARDIZE,
    NL_NORMALIZE_MINMAX
} nl_normalize;
typedef enum nl_init { NL_INIT_ZEROS, NL_INIT_UNIFORM, NL_INIT_NORMAL } nl_init;

typedef struct nl_data_config {
    nl_source source;
    char *generator;          /* and|or|nand|nor|xor|blobs, or NULL (csv) */
    size_t samples, features; /* blobs */
    double separation, noise; /* blobs */
    char *csv;                /* csv: absolute path */
    nl_where csv_at;          /* where it was named */
    char *target;             /* csv: column name, or NULL: the last */
    char **columns;           /* csv: feature names, or NULL: all others */
    size_t n_columns;
    nl_normalize normalize;
    double test_fraction;
    nl_where test_fraction_at; /* for the split's error (file NULL: unset) */
} nl_data_config;

typedef struct nl_model_config {
    nl_init init;
    double init_scale;
    double *weights;          /* explicit initial weights, or NULL */
    size_t n_weights;
    nl_where weights_at;      /* for an error once the data's width is known */
    double bias;              /* explicit initial bias (with weights) */
} nl_model_config;

/* A plugin chosen by the config, with its bound parameters. */
typedef struct nl_plugin_use {
    nl_found found;           /* descriptor and origin */
    double params[NL_MAX_PARAMS];
    nl_where at;              /* where it was chosen (the config, or a
                                 --set; file NULL: not chosen, the default) */
} nl_plugin_use;

typedef struct nl_training_config {
    uint64_t epochs;
    size_t batch_size;        /* 0: full batch */
    bool shuffle;
    double loss_below;
    double min_delta;
    uint64_t patience;        /* 0: plateau stop off */
} nl_training_config;

typedef struct nl_config {
    char *path;               /* the config file as given */
    char *name;
    uint64_t seed;
    nl_data_config data;
    nl_model_config model;
    nl_plugin_use activation, loss, optimizer;
    nl_training_config training;
} nl_config;

/* Limits that keep a hostile config from exhausting the machine. */
#define NL_MAX_EPOCHS 1000000000ull
#define NL_MAX_ROWS 100000000ull
#define NL_MAX_FEATURES 100000ull

/* One --set override: "dotted.key=value". */
typedef struct nl_override {
    const char *arg;          /* the KEY=VALUE text (borrowed) */
} nl_override;

/* Parses the YAML at `path`, applies the overrides in order, checks the
 * result, resolves plugins through `reg` and fills *cfg.  Returns 0, or -1
 * with d set (NL_EINPUT for the config, NL_EPLUGIN for a plugin that can't
 * be loaded); *cfg is then empty.  Free with nl_config_free(). */
int nl_config_load(nl_config *cfg, const char *path,
                   const nl_override *overrides, size_t n_overrides,
                   nl_registry *reg, nl_diag *d);

/* As nl_config_load, from an already parsed tree (borrowed, not changed).
 * `path` is the file the tree came from (for relative paths). */
int nl_config_from_tree(nl_config *cfg, const nl_ynode *root, const char *path,
                        nl_registry *reg, nl_diag *d);

/* Applies one override "KEY=VALUE" to `root`.  Returns 0, or -1 with d
 * set (NL_EINPUT). */
int nl_config_override(nl_ynode *root, const char *arg, nl_diag *d);

void nl_config_free(nl_config *cfg);

/* Writes cfg as YAML with every default filled in; feeding the output back
 * to the runner reproduces the run.  Returns 0, or -1 on a write error. */
int nl_config_write(const nl_config *cfg, FILE *out);

/* Quotes s as a YAML/JSON double-quoted string into out. */
void nl_write_quoted(FILE *out, const char *s);

/* Resolves `rel` against the directory of the file `base` (absolute when
 * the file exists).  Returns a malloc'd path, or NULL when out of memory. */
char *nl_resolve_relative(const char *base, const char *rel);

/* True when `name` can name a results directory: letters, digits, '_',
 * '-' and '.', not starting with '.', at most 128 bytes. */
bool nl_run_name_ok(const char *name);

/* The file name of `path` without directory and extension (malloc'd). */
char *nl_file_stem(const char *path);

const char *nl_normalize_name(nl_normalize n);
const char *nl_init_name(nl_init i);

#endif
