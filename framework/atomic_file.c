/* atomic_file.c - temporary name, fsync, rename. */
#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The temporary files open now, for the crash handler: fixed storage, as
 * a handler may not allocate.  A run has three open at once. */
#define LIVE_MAX 8
static char live[LIVE_MAX][PATH_MAX];
static volatile sig_atomic_t live_set[LIVE_MAX];

static void live_add(const char *tmp_path)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (!live_set[i] && strlen(tmp_path) < PATH_MAX) {
            strcpy(live[i], tmp_path);
            live_set[i] = 1;
            return;
        }
}

static void live_remove(const char *tmp_path)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (live_set[i] && strcmp(live[i], tmp_path) == 0)
            live_set[i] = 0;
}

static void on_crash(int sig)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (live_set[i])
            unlink(live[i]); /* async-signal-safe */
    raise(sig); /* SA_RESETHAND: now the default action */
}

void nl_atomic_remove_on_crash(void)
{
    static const int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++)
        sigaction(crashes[i], &sa, NULL);
}

static char *join(const char *dir, const char *prefix, const char *name,
                  const char *suffix)
{
    size_t len = strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
    char *s = malloc(len);
    if (s != NULL)
        snprintf(s, len, "%s/%s%s%s", dir, prefix, name, suffix);
    return s;
}

int nl_atomic_open(nl_atomic_file *af, const char *dir, const char *name,
                   nl_diag *d)
{
    char suffix[32];
    snprintf(suffix, sizeof(suffix), ".tmp-%ld", (long)getpid());
    memset(af, 0, sizeof(*af));
    af->path = join(dir, "", name, "");
    af->tmp_path = join(dir, ".", name, suffix);
    if (af->path == NULL || af->tmp_path == NULL) {
        nl_atomic_abort(af);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    af->f = fopen(af->tmp_path, "w");
    if (af->f == NULL) {
        int err = errno;
        nl_fail(d, NL_EFAIL, "%s: cannot write: %s", af->path, strerror(err));
        nl_atomic_abort(af);
        return -1;
    }
    live_add(af->tmp_path);
    return 0;
}

int nl_atomic_finish(nl_atomic_file *af, nl_diag *d)
{
    if (af->f == NULL)
        return 0;
    int err = 0;
    if (fflush(af->f) != 0 || ferror(af->f))
        err = errno ? errno : EIO;
    else if (fsync(fileno(af->f)) != 0 && errno != EINVAL)
        err = errno;
    if (fclose(af->f) != 0 && err == 0)
        err = errno;
    af->f = NULL;
    if (err != 0) {
        nl_fail(d, NL_EFAIL, "%s: cannot write: %s", af->path, strerror(err));
        nl_atomic_abort(af);
        return -1;
    }
    return 0;
}

int nl_atomic_commit(nl_atomic_file *af, nl_diag *d)
{
    if (nl_atomic_finish(af, d) < 0)
        return -1;
    if (rename(af->tmp_path, af->path) != 0) {
        nl_fail(d, NL_EFAIL, "%s: cannot write: %s", af->path,
                strerror(errno));
        nl_atomic_abort(af);
        return -1;
    }
    live_remove(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof(*af));
    return 0;
}

void nl_atomic_abort(nl_atomic_file *af)
{
    if (af->f != NULL)
        fclose(af->f);
    if (af->tmp_path != NULL) {
        live_remove(af->tmp_path);
        unlink(af->tmp_path);
    }
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof(*af));
}
