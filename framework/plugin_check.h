/*
 * plugin_check.h - the conformance checks of `runner plugin check`, and
 * the cheap part of them that the loader runs on every plugin it loads.
 */
#ifndef NL_PLUGIN_CHECK_H
#define NL_PLUGIN_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include <nnlab/plugin.h>

#include "diag.h"

/* Tolerances of the derivative checks: a derivative d passes against the
 * central finite difference fd when |d - fd| <= ATOL + RTOL * max(|d|,|fd|). */
#define NL_CHECK_RTOL 1e-4
#define NL_CHECK_ATOL 1e-6

/* Runs the checks on p (with its default parameters) and prints each as
 * "PASS"/"FAIL"/"info" with its numbers to `out` (NULL: silent).  `full`
 * runs everything; otherwise only the cheap load-time part (ABI, metadata,
 * a derivative spot-check).  Returns the number of failed checks; d, when
 * not NULL, gets the first failure (NL_EPLUGIN), prefixed with `origin`. */
int nl_plugin_check(const nl_plugin *p, const char *origin, bool full,
                    FILE *out, nl_diag *d);

/* The derivative spot-check of the load-time part, on an instance a run
 * made (self, with the run's parameters): 0, or -1 with d set (NL_EPLUGIN)
 * naming the worst point. */
int nl_plugin_spot_check(const nl_plugin *p, void *self, const char *origin,
                         nl_diag *d);

#endif
