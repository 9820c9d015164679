/*
 * atomic_file.h - files that appear whole or not at all: written under a
 * temporary name in the same directory, flushed to disk, then renamed.
 */
#ifndef NL_ATOMIC_FILE_H
#define NL_ATOMIC_FILE_H

#include <stdio.h>

#include "diag.h"

typedef struct nl_atomic_file {
    FILE *f;
    char *path;      /* final name */
    char *tmp_path;  /* where it is written until commit */
} nl_atomic_file;

/* Creates DIR/.NAME.tmp-PID for writing.  Returns 0, or -1 with d set
 * (NL_EFAIL). */
int nl_atomic_open(nl_atomic_file *af, const char *dir, const char *name,
                   nl_diag *d);

/* Flushes, syncs and closes the temporary file, without renaming it yet
 * (so that several files can be finished first, then renamed together).
 * On failure the temporary file is removed.  Returns 0, or -1 with d set. */
int nl_atomic_finish(nl_atomic_file *af, nl_diag *d);

/* Finishes (if not done yet) and renames to the final name.  On any failure
 * the temporary file is removed and the final name left as it was.
 * Returns 0, or -1 with d set (NL_EFAIL). */
int nl_atomic_commit(nl_atomic_file *af, nl_diag *d);


/* Closes and removes the temporary file.  Safe on a zeroed struct. */
void nl_atomic_abort(nl_atomic_file *af);

/* From now on a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: a plugin's
 * bug) first removes the temporary files open at the time, then ends the
 * process by the same signal. */
void nl_atomic_remove_on_crash(void);

#endif
