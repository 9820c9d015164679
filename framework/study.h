/*
 * study.h - a study file (SPEC section 5): a base config and the variants
 * to run, as a cartesian `sweep:` over dotted-path overrides or an explicit
 * `runs:` list, plus the keys to aggregate by (`group_by:`).
 *
 *   name: activation_shootout
 *   base: ../configs/sigmoid_mse.yaml
 *   sweep:
 *     activation.name: [sigmoid, step]
 *     optimizer.learning_rate: {range: [0.1, 1.0, 0.3]}
 *     seed: [1, 2, 3]
 *   group_by: [activation.name]
 */
#ifndef NL_STUDY_H
#define NL_STUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "plugin_loader.h"
#include "yaml_tree.h"

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
/* Fuzzing (make fuzz): checking a run costs a hundred times more under the
 * sanitizers; a lower limit keeps every input well under the fuzzer's 1 s
 * timeout while still exercising the limit. */
#define NL_MAX_STUDY_RUNS 1000
#else
#define NL_MAX_STUDY_RUNS 100000
#endif

/* One variant: its overrides, "key=value" as --set takes them. */
typedef struct nl_study_run {
    char *id;              /* "activation.name=step,seed=2": stable, and
                              safe as a directory name */
    char *config;          /* the config file the run starts from */
    char **overrides;      /* n_overrides "key=value" strings */
    size_t n_overrides;
    uint64_t resolved;     /* a hash of its resolved config.yaml: runs
                              alike in it are one run */
} nl_study_run;

typedef struct nl_study {
    char *name;
    nl_study_run *runs;
    size_t n_runs;
    char **group_by;
    size_t n_group_by;
} nl_study;

/* Reads the study at `path`, expands it and checks every run's config
 * (base plus overrides) through `reg`, so that an unknown path or a bad
 * value is reported at the study's line before anything runs.  Returns 0,
 * or -1 with d set (NL_EINPUT, or NL_EPLUGIN).  Free with nl_study_free(). */
int nl_study_load(nl_study *s, const char *path, nl_registry *reg,
                  nl_diag *d);

/* Makes a study of plain config files, one run each, ids from the file
 * stems (made unique).  Each config is checked through `reg`. */
int nl_study_of_configs(nl_study *s, char *const *paths, size_t n,
                        nl_registry *reg, nl_diag *d);

/* True when the YAML at `root` looks like a study (has base:, sweep: or
 * runs:). */
bool nl_study_is_study(const nl_ynode *root);

/* Values of a sweep `range`: start, start+step, ... below stop (exclusive,
 * like Python's range; floats allowed).  Returns the count written to out
 * (at most max), or -1 when the range is empty or invalid. */
long nl_range_values(double start, double stop, double step, double *out,
                     size_t max);

/* Writes the resolved run list as YAML (runs.yaml beside the results). */
int nl_study_write(const nl_study *s, FILE *out);

void nl_study_free(nl_study *s);

#endif
