/*
 * experiment.h - one run from config file to result directory: settings,
 * plugins, config, data, training, results.  The runner's `main` and, later,
 * each batch child are thin layers over nl_experiment_run().
 */
#ifndef NL_EXPERIMENT_H
#define NL_EXPERIMENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "settings.h"
#include "train.h"

typedef struct nl_run_options {
    const char *config_path;
    const nl_override *overrides;   /* --set, in order */
    size_t n_overrides;
    const char *out_dir;            /* -o, or NULL */
    bool force;                     /* --force: out_dir need not be empty
                                       or an earlier result */
    const nl_settings *settings;
    FILE *progress;                 /* progress line, or NULL */
    const volatile sig_atomic_t *interrupt;
} nl_run_options;

/* What the runner tells the user at the end. */
typedef struct nl_run_report {
    char *name;
    char *dir;                      /* the result directory */
    nl_train_result result;
    double loss_below;
    double *theta;                  /* d weights, then the bias */
    size_t d;
    size_t train_rows, test_rows;
    double wall_seconds;
} nl_run_report;

/* Runs the experiment.  Returns 0 when a result was written (converged or
 * not), or -1 with d set; nothing is left half-written either way.  Free
 * the report with nl_run_report_free() in both cases. */
int nl_experiment_run(const nl_run_options *o, nl_run_report *rep,
                      nl_diag *d);

void nl_run_report_free(nl_run_report *rep);

#endif
