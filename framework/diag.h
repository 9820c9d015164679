/*
 * diag.h - how the core reports an error to the runner.
 *
 * Library code never prints or exits: a function that can fail returns -1
 * (or NULL) and fills an nl_diag with an exit status and one message.  The
 * runner prints the message to stderr and exits with the status.
 */
#ifndef NL_DIAG_H
#define NL_DIAG_H

#include <stddef.h>

/* Exit statuses, as SPEC section 2 defines them.  X(name, code, meaning) */
#define NL_STATUS_MAP(X)                                              \
    X(NL_OK, 0, "done (a run that did not converge is a result)")     \
    X(NL_EFAIL, 1, "I/O or internal error; in a batch, a run failed") \
    X(NL_EINPUT, 2, "bad usage, config, data or settings")            \
    X(NL_EPLUGIN, 3, "a plugin could not be loaded or failed a check")

typedef enum nl_status {
#define NL_STATUS_ENUM(name, code, text) name = code,
    NL_STATUS_MAP(NL_STATUS_ENUM)
#undef NL_STATUS_ENUM
} nl_status;

#define NL_DIAG_MAX 2048

typedef struct nl_diag {
    nl_status status;
    char message[NL_DIAG_MAX];
} nl_diag;

/* Records `status` and a printf-style message in d (d may be NULL).
 * Returns -1 so callers can write `return nl_fail(d, ...)`. */
int nl_fail(nl_diag *d, nl_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As nl_fail, with the message prefixed "FILE:LINE:COL: error: " (COL
 * omitted when 0; no prefix when FILE is NULL, for a value that did not
 * come from a file).  LINE and COL count from 1. */
int nl_fail_at(nl_diag *d, nl_status status, const char *file, size_t line,
               size_t col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Where a value was written, for an error found only later (once the data
 * is read): the file (owned, or NULL), line and column. */
typedef struct nl_where {
    char *file;
    size_t line, col;
} nl_where;

/* nl_fail_at at `at`. */
int nl_fail_where(nl_diag *d, nl_status status, const nl_where *at,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends a printf-style note to d's message (e.g. a did-you-mean). */
void nl_diag_append(nl_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns the meaning of a status (for --help). */
const char *nl_status_text(nl_status status);

/* "SIGSEGV", "SIGABRT", ... for the signals a crash or a stop sends, else
 * "signal". */
const char *nl_signal_name(int sig);

#endif
