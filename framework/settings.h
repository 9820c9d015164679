/*
 * settings.h - the framework's own settings, runner.ini (read with inih):
 *
 *   [plugins]
 *   path = DIR[:DIR...]      ; searched after the built-ins, in order
 *   [results]
 *   root = DIR               ; where runs go without -o
 *   [terminal]
 *   progress = auto|on|off   ; the live progress line
 *
 * Relative directories are relative to the .ini file.  "$ORIGIN" in the
 * plugin path is the directory of the runner executable.
 */
#ifndef NL_SETTINGS_H
#define NL_SETTINGS_H

#include <stddef.h>

#include "diag.h"

typedef enum nl_progress { NL_PROGRESS_AUTO, NL_PROGRESS_ON, NL_PROGRESS_OFF } nl_progress;

#define NL_MAX_PLUGIN_DIRS 32

typedef struct nl_settings {
    char *source;                      /* the .ini read, or NULL: defaults */
    char *plugin_dirs[NL_MAX_PLUGIN_DIRS];
    size_t n_plugin_dirs;
    char *results_root;
    nl_progress progress;
} nl_settings;

/* Fills s with the built-in defaults (plugin path `default_plugin_path`,
 * results root "results", progress auto), then reads `path` when not NULL.
 * `origin` replaces "$ORIGIN".  Returns 0, or -1 with d set (NL_EINPUT,
 * "FILE:LINE: error: ..."). */
int nl_settings_load(nl_settings *s, const char *path,
                     const char *default_plugin_path, const char *origin,
                     nl_diag *d);

/* Adds a plugin directory (from -P) before the others.  Returns 0 or -1. */
int nl_settings_add_plugin_dir(nl_settings *s, const char *dir, nl_diag *d);

void nl_settings_free(nl_settings *s);

#endif
