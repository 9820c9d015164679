/*
 * cli.h - the runner's command line, parsed once for every command, and
 * the commands main() dispatches to.  Commands print and return an exit
 * status; they are the only code besides main() that prints.
 */
#ifndef NL_CLI_H
#define NL_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "settings.h"

typedef enum nl_command {
    NL_CMD_RUN,
    NL_CMD_BATCH,
    NL_CMD_COMPARE,
    NL_CMD_PLUGINS,            /* runner plugins */
    NL_CMD_PLUGIN              /* runner plugin new|check ... */
} nl_command;

typedef struct nl_cli {
    nl_command command;
    char **inputs;             /* configs, studies or result directories */
    size_t n_inputs;
    const char *out_dir;       /* -o */
    const char *settings;      /* --settings */
    nl_override *overrides;    /* --set (run) */
    size_t n_overrides;
    char **plugin_dirs;        /* -P */
    size_t n_plugin_dirs;
    char **group_by;           /* --group-by (compare) */
    size_t n_group_by;
    bool quiet;
    bool list_jobs;            /* --list-jobs (batch) */
    bool force;                /* --force (run, batch): -o DIR need not be
                                  empty or a result */
    int jobs;                  /* -j (batch); 0: the number of cores */
    double timeout;            /* --timeout (batch); 0: none */
    const char *dir;           /* --dir (plugin new) */
    char seed_arg[64];         /* "seed=N" from --seed */
} nl_cli;

/* Set by SIGINT/SIGTERM to the signal's number. */
extern volatile sig_atomic_t nl_interrupted;

/* Loads the settings the command line asks for (with -P directories first,
 * in the order given).  Returns 0, or an exit status after printing. */
int nl_cli_settings(const nl_cli *cli, nl_settings *s);

/* True when progress should be drawn on stderr. */
bool nl_cli_progress(const nl_cli *cli, const nl_settings *s);

/* The directory of the running executable (for $ORIGIN), and its path. */
void nl_cli_exe(char *dir, size_t dir_size, char *path, size_t path_size);

/* Prints "runner: MESSAGE" and the --help hint; returns NL_EINPUT. */
int nl_cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The commands.  Each returns the process exit status. */
int nl_cmd_batch(const nl_cli *cli);
int nl_cmd_compare(const nl_cli *cli);
int nl_cmd_plugin(const nl_cli *cli);     /* plugins, plugin new|check */


#endif
