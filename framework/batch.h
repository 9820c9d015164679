/*
 * batch.h - running a study's variants, each in its own child process
 * (a crashing plugin fails that run alone), up to `jobs` at once.
 *
 * Layout of a batch directory:
 *   OUT/runs.yaml            the resolved run list
 *   OUT/runs/<id>/           one result directory per run (SPEC section 4),
 *                            plus runner.log (the child's stderr)
 */
#ifndef NL_BATCH_H
#define NL_BATCH_H

#include <signal.h>
#include <stdio.h>

#include "diag.h"
#include "plugin_loader.h"
#include "study.h"

typedef struct nl_batch_options {
    const char *runner;        /* the runner executable to start */
    const char *out_dir;       /* the batch directory (created) */
    int jobs;                  /* at most this many runs at once */
    double timeout;            /* seconds per run; 0: none */
    const char *settings;      /* passed on as --settings, or NULL */
    const char *const *plugin_dirs; /* passed on as -P */
    size_t n_plugin_dirs;
    FILE *progress;            /* progress line, or NULL */
    const volatile sig_atomic_t *interrupt; /* stop launching when set */
} nl_batch_options;

typedef struct nl_batch_tally {
    size_t done, failed, skipped;
} nl_batch_tally;

/* Runs every run of s.  A run that crashes, times out or fails is recorded
 * in its directory (summary.json with status "failed" and the reason, and
 * the resolved config.yaml), and the others go on.  Returns 0 when the
 * batch ran (whatever its runs did; see *tally), or -1 with d set when it
 * could not start (the directory could not be made). */
int nl_batch_run(const nl_study *s, const nl_batch_options *o,
                 nl_registry *reg, nl_batch_tally *tally, nl_diag *d);

/* Writes to `out` one self-contained shell command per run: the runner with
 * absolute paths, the run's --set overrides and -o OUT/runs/<id>. */
int nl_batch_list_jobs(const nl_study *s, const nl_batch_options *o,
                       FILE *out, nl_diag *d);

#endif
