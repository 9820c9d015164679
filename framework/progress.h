/* progress.h - the live progress line on a terminal (stderr). */
#ifndef NL_PROGRESS_H
#define NL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct nl_progress_line {
    FILE *out;             /* NULL: disabled */
    uint64_t max_epochs;
    double start, last_draw;
    bool drawn;
} nl_progress_line;

/* Seconds on a monotonic clock. */
double nl_now(void);

/* Starts a progress line on `out` (NULL disables every call). */
void nl_progress_start(nl_progress_line *pl, FILE *out, uint64_t max_epochs);

/* Redraws at most ten times a second: epoch, loss, accuracy, rate. */
void nl_progress_update(nl_progress_line *pl, uint64_t epoch, double loss,
                        double accuracy);

/* Erases the line. */
void nl_progress_end(nl_progress_line *pl);

#endif
