/*
 * helpers.h - what the test suites share: running the real runner binary,
 * temporary directories, and small file helpers.  Header-only (static),
 * one copy per test binary.
 *
 * The Makefile runs each test binary from the repository root with
 * NL_BUILD set to the build directory (build, or build-asan).
 */
#ifndef NL_TEST_HELPERS_H
#define NL_TEST_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also set by the Makefile, before any header */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The build directory (build/ unless NL_BUILD says otherwise). */
static inline const char *th_build(void)
{
    const char *b = getenv("NL_BUILD");
    return b && *b ? b : "build";
}

/* Returns a malloc'd path "<build>/<rel>". */
static inline char *th_build_path(const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", th_build(), rel) < 0)
        return NULL;
    return p;
}

/* Makes a fresh temporary directory; returns its malloc'd path. */
static inline char *th_tempdir(void)
{
    char *t = strdup("/tmp/nnlab-test-XXXXXX");
    if (t == NULL || mkdtemp(t) == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

/* rm -rf path. */
static inline void th_rmtree(const char *path)
{
    char *cmd = NULL;
    if (path && asprintf(&cmd, "rm -rf '%s'", path) >= 0) {
        if (system(cmd) != 0) { /* best effort */ }
    }
    free(cmd);
}

/* Writes text to path (creating or truncating).  Returns 0 or -1. */
static inline int th_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* Reads a whole file; returns a malloc'd NUL-terminated string or NULL. */
static inline char *th_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* What a run of the runner produced. */
typedef struct th_run {
    int status;    /* exit status, or 128 + signal */
    char *out;     /* stdout */
    char *err;     /* stderr */
} th_run;

static inline void th_run_free(th_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Runs <build>/runner with the NULL-terminated argument list (argv[0] is
 * added), stdin from /dev/null, capturing stdout and stderr.  Extra
 * environment: none; the working directory is the current one. */
static inline th_run th_runner(const char *arg, ...)
{
    th_run r = {-1, NULL, NULL};
    const char *argv[64];
    int argc = 0;
    char *exe = th_build_path("runner");
    argv[argc++] = exe;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char out_path[] = "/tmp/nnlab-out-XXXXXX", err_path[] = "/tmp/nnlab-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    close(out_fd);
    close(err_fd);
    r.out = th_read(out_path);
    r.err = th_read(err_path);
    unlink(out_path);
    unlink(err_path);
    free(exe);
    return r;
}

#endif
