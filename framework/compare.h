/*
 * compare.h - reading result directories back and comparing the runs
 * (SPEC section 5): rank them, find the parameters that differ between
 * them, and aggregate groups.
 */
#ifndef NL_COMPARE_H
#define NL_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

typedef struct nl_cmp_run {
    char *id;                /* the directory's name (made unique) */
    char *dir;
    char *status;            /* "ok" | "failed" */
    char *stop_reason;
    char *error;             /* why a failed run failed, or NULL */
    bool converged;
    double epochs;           /* NAN when unknown (a failed run) */
    double final_loss, accuracy, wall_seconds; /* NAN when unknown */
    char *plugin[3];         /* activation, loss, optimizer names */
    char *plugin_version[3];
    char **values;           /* one per nl_comparison.keys; "" if unset */
    char **cfg_keys, **cfg_values; /* the flattened config.yaml */
    size_t n_cfg;
    double *curve;           /* loss per epoch, from history.csv */
    size_t n_curve;
} nl_cmp_run;

typedef struct nl_cmp_group {
    char *label;             /* "key=value,key=value", or "all" */
    char **values;           /* one per group_by key */
    size_t *members;         /* run indexes, best first */
    size_t n_members;
    size_t n_converged;
    double epochs_mean, epochs_std;   /* over converged members; NAN if none */
    double loss_mean, loss_std;       /* over members with a finite loss */
} nl_cmp_group;

typedef struct nl_comparison {
    nl_cmp_run *runs;        /* in rank order once nl_compare_finish ran */
    size_t n_runs;
    char **keys;             /* parameters that differ between runs */
    size_t n_keys;
    char **group_by;
    size_t n_group_by;
    nl_cmp_group *groups;    /* in order of their best run */
    size_t n_groups;
} nl_comparison;

/* Finds every run under the directories (a directory with summary.json is
 * a run; others are searched a few levels down) and reads each run's
 * summary.json, config.yaml and history.csv.  Returns 0, or -1 with d set
 * (NL_EINPUT when a directory holds no run or a file is unreadable). */
int nl_compare_load(nl_comparison *c, char *const *dirs, size_t n_dirs,
                    nl_diag *d);

/* Ranks the runs (converged first, then fewer epochs to converge, then
 * lower final loss; failed runs last), finds the parameters that differ,
 * and groups by the dotted `group_by` keys (all runs in one group "all"
 * when there are none).  Returns 0, or -1 with d set (an unknown key). */
int nl_compare_finish(nl_comparison *c, char *const *group_by,
                      size_t n_group_by, nl_diag *d);

/* Mean and sample standard deviation (n - 1; 0 for one value) of the n
 * values; NAN and NAN for none. */
void nl_mean_std(const double *v, size_t n, double *mean, double *std);

void nl_compare_free(nl_comparison *c);

#endif
