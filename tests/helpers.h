/*
 * helpers.h - what the test suites share: running the real runner binary,
 * temporary directories, small file and string helpers, and a CSV reader.
 * Header-only (static inline), one copy per test binary.  It includes
 * Criterion itself, as many helpers assert.
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
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

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

/* ---- strings and paths (malloc'd; they assert instead of failing) ---- */

/* asprintf that cannot fail: returns the malloc'd string. */
__attribute__((format(printf, 1, 2)))
static inline char *th_fmt(const char *f, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    cr_assert(n >= 0, "out of memory");
    return s;
}

/* "<dir>/<name>", malloc'd. */
static inline char *th_join(const char *dir, const char *name)
{
    return th_fmt("%s/%s", dir, name);
}

/* a followed by b, malloc'd. */
static inline char *th_cat2(const char *a, const char *b)
{
    return th_fmt("%s%s", a, b);
}

/* True when s starts with prefix. */
static inline bool th_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when s ends with suffix. */
static inline bool th_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Asserts that hay (not NULL) contains needle. */
static inline void th_assert_contains(const char *hay, const char *needle)
{
    cr_assert(hay != NULL && strstr(hay, needle) != NULL,
              "expected\n  %s\nin\n  %s", needle, hay ? hay : "(null)");
}

/* Asserts that hay (not NULL) does not contain needle. */
static inline void th_assert_lacks(const char *hay, const char *needle)
{
    cr_assert(hay != NULL && strstr(hay, needle) == NULL,
              "did not expect\n  %s\nin\n%s", needle, hay ? hay : "(null)");
}

/* Asserts that s (not NULL) starts with prefix. */
static inline void th_assert_starts_with(const char *s, const char *prefix)
{
    cr_assert(s != NULL && strncmp(s, prefix, strlen(prefix)) == 0,
              "expected\n  %s\nto start with\n  %s", s ? s : "(null)",
              prefix);
}

/* ---- files ---- */

/* True when path exists (a dangling link does not). */
static inline bool th_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* True when DIR/NAME exists. */
static inline bool th_exists_in(const char *dir, const char *name)
{
    char *p = th_join(dir, name);
    bool yes = th_exists(p);
    free(p);
    return yes;
}

/* Writes text to DIR/NAME (asserting it could); returns the malloc'd path. */
static inline char *th_put(const char *dir, const char *name, const char *text)
{
    char *p = th_join(dir, name);
    cr_assert(eq(int, th_write(p, text), 0), "cannot write %s", p);
    return p;
}

/* Reads DIR/NAME, which must exist; returns the malloc'd text. */
static inline char *th_get(const char *dir, const char *name)
{
    char *p = th_join(dir, name);
    char *text = th_read(p);
    cr_assert(text != NULL, "missing %s", p);
    free(p);
    return text;
}

/* Reads DIR/NAME; returns the malloc'd text, or NULL when it is not there. */
static inline char *th_read_in(const char *dir, const char *name)
{
    char *p = th_join(dir, name);
    char *text = th_read(p);
    free(p);
    return text;
}

/* realpath(), malloc'd; the path must exist. */
static inline char *th_real(const char *path)
{
    char *r = realpath(path, NULL);
    cr_assert(r != NULL, "realpath(%s): %s", path, strerror(errno));
    return r;
}

/* <build>/fixtures/<name>.so, as the build names it (not canonical),
 * malloc'd; it must exist. */
static inline char *th_fixture(const char *name)
{
    char *rel = th_fmt("fixtures/%s.so", name);
    char *p = th_build_path(rel);
    free(rel);
    cr_assert(p != NULL);
    cr_assert(eq(int, access(p, R_OK), 0),
              "%s is missing: run make %s first", p, p);
    return p;
}

/* The loader's message for the library at `path` whose constructor
 * raises SIGSEGV (tests/fixtures/crash_on_load.c), malloc'd. */
static inline char *th_crashed_while_loading(const char *path)
{
    return th_fmt("%s: cannot load plugin: it crashed while loading "
                  "(killed by signal 11, SIGSEGV), in its constructors or in "
                  "nnlab_plugin_entry(); a plugin must load without crashing",
                  path);
}

/* th_fixture(name), canonical (realpath), malloc'd. */
static inline char *th_fixture_real(const char *name)
{
    char *p = th_fixture(name);
    char *r = th_real(p);
    free(p);
    return r;
}

/* Copies src to dst and sets dst's mode. */
static inline void th_copy_file(const char *src, const char *dst, mode_t mode)
{
    FILE *in = fopen(src, "rb");
    cr_assert(in != NULL, "%s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    cr_assert(out != NULL, "%s: %s", dst, strerror(errno));
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        cr_assert(eq(sz, fwrite(buf, 1, n, out), n));
    fclose(in);
    cr_assert(eq(int, fclose(out), 0));
    cr_assert(eq(int, chmod(dst, mode), 0));
}

/* ---- the per-test temporary directory ---- */

/* The current test's temporary directory, made by th_tmp_init (a suite's
 * .init) and removed by th_tmp_fini (its .fini).  Each test runs in its
 * own process, so this is per test. */
static char *th_tmp __attribute__((unused));

/* Suite .init: makes th_tmp. */
static inline void th_tmp_init(void)
{
    th_tmp = th_tempdir();
    cr_assert(th_tmp != NULL, "cannot make a temporary directory");
}

/* Suite .fini: removes th_tmp and all it holds. */
static inline void th_tmp_fini(void)
{
    th_rmtree(th_tmp);
    free(th_tmp);
    th_tmp = NULL;
}

/* Seconds on the monotonic clock. */
static inline double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ASan reserves terabytes of address space and aborts on a failed
 * malloc, so tests that make malloc fail for real do not run under it. */
#if defined(__SANITIZE_ADDRESS__)
#define TH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_ASAN 1
#endif
#endif

/* Caps this process's address space (Criterion runs each test in a
 * process of its own) at what it maps now plus `more` bytes, so that a
 * bigger allocation fails for real; *old gets the limit to put back. */
static inline void th_cap_address_space(size_t more, struct rlimit *old)
{
    FILE *f = fopen("/proc/self/status", "r");
    cr_assert(f != NULL);
    char line[256];
    unsigned long kib = 0;
    while (kib == 0 && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmSize: %lu kB", &kib) != 1)
            kib = 0;
    fclose(f);
    cr_assert(kib > 0, "no VmSize in /proc/self/status");
    cr_assert(getrlimit(RLIMIT_AS, old) == 0);
    struct rlimit cap = {.rlim_cur = (rlim_t)kib * 1024 + more,
                         .rlim_max = old->rlim_max};
    if (old->rlim_max != RLIM_INFINITY && old->rlim_max < cap.rlim_cur)
        cap.rlim_cur = old->rlim_max;
    cr_assert(setrlimit(RLIMIT_AS, &cap) == 0);
}

/* ---- a small CSV reader (quoted fields, "" inside quotes) ---- */

/* A parsed CSV text: rows[r][f], row 0 the header. */
typedef struct th_csv {
    char ***rows;            /* rows[r][f] */
    size_t *n_fields;
    size_t n_rows;
} th_csv;

/* Parses CSV text (no trailing empty row); free with th_csv_free. */
static inline th_csv th_csv_parse(const char *text)
{
    th_csv t = {NULL, NULL, 0};
    const char *p = text;
    while (*p) {
        t.rows = realloc(t.rows, (t.n_rows + 1) * sizeof(*t.rows));
        t.n_fields = realloc(t.n_fields, (t.n_rows + 1) * sizeof(size_t));
        cr_assert(t.rows != NULL && t.n_fields != NULL);
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            char *field = malloc(strlen(p) + 1);
            size_t k = 0;
            cr_assert(field != NULL);
            if (*p == '"') {
                p++;
                while (*p && !(*p == '"' && p[1] != '"')) {
                    if (*p == '"')
                        p++;
                    field[k++] = *p++;
                }
                if (*p == '"')
                    p++;
            } else {
                while (*p && *p != ',' && *p != '\n')
                    field[k++] = *p++;
            }
            field[k] = '\0';
            fields = realloc(fields, (nf + 1) * sizeof(*fields));
            cr_assert(fields != NULL);
            fields[nf++] = field;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == '\n')
                p++;
            break;
        }
        t.rows[t.n_rows] = fields;
        t.n_fields[t.n_rows++] = nf;
    }
    return t;
}

/* Frees what th_csv_parse returned. */
static inline void th_csv_free(th_csv *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t f = 0; f < t->n_fields[r]; f++)
            free(t->rows[r][f]);
        free(t->rows[r]);
    }
    free(t->rows);
    free(t->n_fields);
}

/* Reads and parses DIR/NAME, which must exist and have a header row. */
static inline th_csv th_csv_read(const char *dir, const char *name)
{
    char *text = th_get(dir, name);
    th_csv t = th_csv_parse(text);
    free(text);
    cr_assert(t.n_rows >= 1, "%s/%s has no header", dir, name);
    return t;
}

/* ---- running the runner ---- */

/* What a run of the runner produced. */
typedef struct th_run {
    int status;    /* exit status, or 128 + signal */
    char *out;     /* stdout */
    char *err;     /* stderr */
} th_run;

/* Frees a th_run's output. */
static inline void th_run_free(th_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Forks and execs argv[0] (argv NULL-terminated) with stdin from /dev/null
 * and stdout, stderr on out_fd, err_fd; in directory cwd unless NULL; with
 * a file-size limit of fsize bytes unless 0 (writes past it then fail with
 * EFBIG instead of SIGXFSZ killing the process: a full disk).  The child
 * exits 126 when it cannot chdir or set the limit, 127 when it cannot
 * exec.  Returns its pid. */
static inline pid_t th_spawn(const char *const *argv, int out_fd, int err_fd,
                             const char *cwd, rlim_t fsize)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        /* Only 0, 1 and 2: a test that counts descriptors (a batch under
         * a low limit) must not find strays. */
        if (null_fd > 2)
            close(null_fd);
        if (out_fd > 2)
            close(out_fd);
        if (err_fd > 2 && err_fd != out_fd)
            close(err_fd);
        if (cwd != NULL && chdir(cwd) != 0)
            _exit(126);
        if (fsize > 0) {
            struct rlimit rl = {fsize, fsize};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* th_spawn with stdout and stderr written to the files out_log, err_log
 * (created or truncated). */
static inline pid_t th_spawn_logs(const char *const *argv, const char *out_log,
                                  const char *err_log, const char *cwd,
                                  rlim_t fsize)
{
    int o = open(out_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(o >= 0 && e >= 0, "cannot write %s or %s", out_log, err_log);
    pid_t pid = th_spawn(argv, o, e, cwd, fsize);
    close(o);
    close(e);
    return pid;
}

/* th_runner's work on a va_list, in directory cwd unless NULL (then the
 * runner is named by its absolute path). */
static inline th_run th_runner_vin(const char *cwd, const char *arg,
                                   va_list ap)
{
    th_run r = {-1, NULL, NULL};
    char *exe;
    if (cwd == NULL) {
        exe = th_build_path("runner");
    } else {
        char *build = th_real(th_build());
        exe = th_join(build, "runner");
        free(build);
    }
    const char *argv[64];
    int argc = 0;
    argv[argc++] = exe;
    for (const char *a = arg; a != NULL && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    argv[argc] = NULL;
    char out_path[] = "/tmp/nnlab-out-XXXXXX", err_path[] = "/tmp/nnlab-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    cr_assert(out_fd >= 0 && err_fd >= 0);
    pid_t pid = th_spawn(argv, out_fd, err_fd, cwd, 0);
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

/* Runs <build>/runner with the NULL-terminated argument list (argv[0] is
 * added), stdin from /dev/null, capturing stdout and stderr.  Extra
 * environment: none; the working directory is the current one. */
static inline th_run th_runner(const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    th_run r = th_runner_vin(NULL, arg, ap);
    va_end(ap);
    return r;
}

/* Like th_runner, but the runner (by its absolute path) runs in working
 * directory cwd. */
static inline th_run th_runner_in(const char *cwd, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    th_run r = th_runner_vin(cwd, arg, ap);
    va_end(ap);
    return r;
}

#endif
