/*
 * results.h - one run's result directory (SPEC section 4): history.csv
 * streamed as training goes, then summary.json and the resolved
 * config.yaml, every file written atomically.
 */
#ifndef NL_RESULTS_H
#define NL_RESULTS_H

#include <stdbool.h>

#include "atomic_file.h"
#include "config.h"
#include "dataset.h"
#include "diag.h"
#include "perceptron.h"
#include "train.h"

typedef struct nl_results {
    char *dir;               /* the run's directory */
    bool made_dir;           /* created by us: removed again on failure */
    bool has_test;
    nl_atomic_file history;
} nl_results;

/* Picks and creates the run's directory: `out_dir` when not NULL (created
 * with its parents if missing), else ROOT/NAME/YYYYMMDD-HHMMSS (with -2,
 * -3, ... when taken: an earlier run is never overwritten); then starts
 * history.csv.  An existing out_dir must be empty or an nnlab result (only
 * history.csv, summary.json, config.yaml, runner.log and temporary
 * .NAME.tmp-PID files) unless `force`.  Returns 0, or -1 with d set
 * (NL_EINPUT for an out_dir that is not a result, else NL_EFAIL). */
int nl_results_open(nl_results *r, const char *out_dir, bool force,
                    const char *root, const char *name, bool has_test,
                    nl_diag *d);

/* mkdir -p.  Returns 0, or -1 with d set (NL_EFAIL). */
int nl_make_dirs(const char *path, nl_diag *d);

/* Writes the time now as a result directory's name: YYYYMMDD-HHMMSS, UTC. */
void nl_run_stamp(char *buf, size_t size);

/* Creates ROOT/NAME/YYYYMMDD-HHMMSS (UTC), or -2, -3, ... when taken: each
 * tried with mkdir, so two processes never get the same one.  Returns the
 * malloc'd path, or NULL with d set (NL_EFAIL). */
char *nl_make_run_dir(const char *root, const char *name, nl_diag *d);

/* Fails (NL_EINPUT, "... add --force ...") unless the existing directory
 * `dir` holds nothing but the n names in `ours` and temporary .NAME.tmp-PID
 * files: an -o that points at someone's other files is refused. */
int nl_check_output_dir(const char *dir, const char *const *ours, size_t n,
                        nl_diag *d);

/* Appends one epoch to history.csv (buffered).  Returns 0, or -1 with d
 * set. */
int nl_results_epoch(nl_results *r, const nl_epoch *e, nl_diag *d);

/* What the summary says about the data. */
typedef struct nl_data_info {
    size_t train_rows, test_rows, features;
} nl_data_info;

/* Commits history.csv and writes summary.json (with "error": `error` when
 * it is not NULL: why a failed run failed) and config.yaml.  Returns 0, or
 * -1 with d set; on failure no result file is left half-written. */
int nl_results_finish(nl_results *r, const nl_config *cfg,
                      const nl_perceptron *p, const nl_train_result *res,
                      const nl_data_info *info, double wall_seconds,
                      const char *error, nl_diag *d);

/* Drops what was not committed (and the directory, if we made it and it is
 * empty), then frees r.  Safe after finish. */
void nl_results_close(nl_results *r);

#endif
