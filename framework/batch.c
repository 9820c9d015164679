/* batch.c - child processes for a study's runs. */
#define _DEFAULT_SOURCE /* realpath, plus POSIX 2008 */
#include "batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "config.h"
#include "progress.h"

typedef struct slot {
    pid_t pid;                 /* 0: free */
    int fd;                    /* readable when pid ends (a pidfd), or -1 */
    size_t run;
    double started;
    bool timed_out;
} slot;

/* Seconds between two progress lines. */
#define PROGRESS_PERIOD 0.1
/* Where a child has no pidfd, the loop looks for its end this often. */
#define NAP_SECONDS 0.002

/* A descriptor that polls readable when the child ends (pidfd_open, Linux
 * 5.3; close-on-exec), or -1 where the system has none, or where it would
 * leave fewer than FDS_SPARE descriptors for settling the runs (their
 * summaries and logs: a batch at -j1024 must not run out).  The number
 * of the new descriptor stands for how many are open: descriptors come
 * lowest first, though an inherited high one makes the guess short. */
#define FDS_SPARE 16
static int child_fd(pid_t pid, rlim_t max_fds)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0 && max_fds != RLIM_INFINITY &&
        (rlim_t)fd + FDS_SPARE >= max_fds) {
        close(fd);
        fd = -1;
    }
    return fd;
#else
    (void)pid, (void)max_fds;
    return -1;
#endif
}

/* Sleeps until a child ends, at most `seconds`: a poll on the children's
 * pidfds (a signal, SIGINT among them, ends it early), or a short nap
 * when one of them has none or the poll fails.  A run of a few
 * milliseconds is reaped as it ends, not at the next turn of a nap. */
static void wait_for_children(const slot *slots, int jobs,
                              struct pollfd *fds, double seconds)
{
    nfds_t n = 0;
    for (int j = 0; j < jobs; j++) {
        if (slots[j].pid == 0)
            continue;
        if (slots[j].fd >= 0)
            fds[n++] = (struct pollfd){.fd = slots[j].fd, .events = POLLIN};
        else if (seconds > NAP_SECONDS)
            seconds = NAP_SECONDS;
    }
    if (seconds > PROGRESS_PERIOD)
        seconds = PROGRESS_PERIOD;
    int ms = seconds > 0 ? (int)(seconds * 1000 + 0.999) : 0;
    if (poll(fds, n, ms) < 0 && errno != EINTR) {
        struct timespec nap = {0, (long)(NAP_SECONDS * 1e9)};
        nanosleep(&nap, NULL);
    }
}

static char *run_dir(const char *out, const nl_study_run *run)
{
    size_t len = strlen(out) + strlen(run->id) + 8;
    char *dir = malloc(len);
    if (dir != NULL)
        snprintf(dir, len, "%s/runs/%s", out, run->id);
    return dir;
}

/* The child's argument vector (pointers into s, o and dir). */
static const char **child_argv(const nl_study_run *run,
                               const nl_batch_options *o, const char *dir)
{
    size_t n = 8 + 2 * run->n_overrides + 2 * o->n_plugin_dirs;
    const char **argv = calloc(n, sizeof(*argv));
    if (argv == NULL)
        return NULL;
    size_t k = 0;
    argv[k++] = o->runner;
    argv[k++] = run->config;
    for (size_t i = 0; i < run->n_overrides; i++) {
        argv[k++] = "--set";
        argv[k++] = run->overrides[i];
    }
    argv[k++] = "-o";
    argv[k++] = dir;
    argv[k++] = "-q";
    if (o->settings != NULL) {
        argv[k++] = "--settings";
        argv[k++] = o->settings;
    }
    for (size_t i = 0; i < o->n_plugin_dirs; i++) {
        argv[k++] = "-P";
        argv[k++] = o->plugin_dirs[i];
    }
    argv[k] = NULL;
    return argv;
}

static pid_t launch(const nl_study_run *run, const nl_batch_options *o,
                    const char *dir, nl_diag *d)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        nl_fail(d, NL_EFAIL, "%s: cannot create directory: %s", dir,
                strerror(errno));
        return -1;
    }
    char log[PATH_MAX];
    snprintf(log, sizeof(log), "%s/runner.log", dir);
    const char **argv = child_argv(run, o, dir);
    if (argv == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            close(null_fd);
        }
        if (log_fd >= 0) {
            dup2(log_fd, 2);
            close(log_fd);
        }
        execv(o->runner, (char *const *)argv);
        dprintf(2, "cannot start %s: %s\n", o->runner, strerror(errno));
        _exit(127);
    }
    free(argv);
    if (pid < 0)
        nl_fail(d, NL_EFAIL, "cannot start a run: %s", strerror(errno));
    return pid;
}

/* The first line of the run's log, for the failure reason. */
static void log_first_line(const char *dir, char *buf, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/runner.log", dir);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(buf, (int)size, f) != NULL)
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

/* Removes temporary files a killed child left behind (".NAME.tmp-PID"). */
static void remove_leftovers(const char *dir)
{
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL)
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp-") != NULL) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(dh);
}

/* Records a run that left no result of its own: the resolved config (as
 * the parent sees it) and a summary with status "failed" and the reason. */
static void record_failure(const nl_study_run *run, const char *dir,
                           const char *reason, nl_registry *reg)
{
    remove_leftovers(dir);
    nl_diag d;
    nl_override *ov = calloc(run->n_overrides + 1, sizeof(*ov));
    nl_config cfg;
    bool have_cfg = false;
    if (ov != NULL) {
        for (size_t i = 0; i < run->n_overrides; i++)
            ov[i].arg = run->overrides[i];
        have_cfg = nl_config_load(&cfg, run->config, ov, run->n_overrides,
                                  reg, &d) == 0;
    }
    free(ov);
    nl_atomic_file af;
    if (have_cfg && nl_atomic_open(&af, dir, "config.yaml", &d) == 0) {
        nl_config_write(&cfg, af.f);
        nl_atomic_commit(&af, &d);
    }
    if (nl_atomic_open(&af, dir, "summary.json", &d) == 0) {
        fputs("{\n  \"name\": ", af.f);
        nl_write_quoted(af.f, have_cfg ? cfg.name : run->id);
        fputs(",\n  \"status\": \"failed\",\n  \"stop_reason\": \"failed\",\n"
              "  \"converged\": false,\n  \"error\": ", af.f);
        nl_write_quoted(af.f, reason);
        fputs("\n}\n", af.f);
        nl_atomic_commit(&af, &d);
    }
    if (have_cfg)
        nl_config_free(&cfg);
}

static bool has_summary(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    return access(path, F_OK) == 0;
}

/* Settles a finished child: returns true when the run failed. */
static bool settle(const nl_study_run *run, const char *dir, int ws,
                   bool timed_out, double timeout, nl_registry *reg)
{
    char reason[512], log[400];
    log_first_line(dir, log, sizeof(log));
    if (timed_out) {
        snprintf(reason, sizeof(reason), "timed out after %g s (killed)",
                 timeout);
    } else if (WIFSIGNALED(ws) &&
               (WTERMSIG(ws) == SIGINT || WTERMSIG(ws) == SIGTERM)) {
        /* Signalled before its handler was in place: not a crash. */
        snprintf(reason, sizeof(reason), "interrupted (%s) before it wrote a "
                 "result", nl_signal_name(WTERMSIG(ws)));
    } else if (WIFSIGNALED(ws)) {
        int sig = WTERMSIG(ws);
        snprintf(reason, sizeof(reason), "crashed: killed by signal %d (%s)",
                 sig, nl_signal_name(sig));
    } else {
        int code = WEXITSTATUS(ws);
        if (code == 0 || code == 128 + SIGINT || code == 128 + SIGTERM)
            return false; /* a result: converged, not, or interrupted */
        if (has_summary(dir))
            return true;  /* the runner wrote its own failed result */
        snprintf(reason, sizeof(reason), "exit status %d: %s", code,
                 log[0] ? log : "no message");
    }
    record_failure(run, dir, reason, reg);
    return true;
}

static void draw_progress(const nl_batch_options *o, const nl_batch_tally *t,
                          size_t running, size_t total, double start)
{
    if (o->progress == NULL)
        return;
    double elapsed = nl_now() - start;
    size_t finished = t->done + t->failed;
    fprintf(o->progress, "\r\033[Kruns %zu/%zu done, %zu failed, %zu "
            "running, %.1f s elapsed", finished, total, t->failed, running,
            elapsed);
    if (finished > 0 && finished < total)
        fprintf(o->progress, ", ETA %.1f s",
                elapsed / (double)finished * (double)(total - finished));
    fflush(o->progress);
}

int nl_batch_run(const nl_study *s, const nl_batch_options *o,
                 nl_registry *reg, nl_batch_tally *tally, nl_diag *d)
{
    memset(tally, 0, sizeof(*tally));
    char runs[PATH_MAX];
    snprintf(runs, sizeof(runs), "%s/runs", o->out_dir);
    if ((mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) ||
        (mkdir(runs, 0777) != 0 && errno != EEXIST))
        return nl_fail(d, NL_EFAIL, "%s: cannot create directory: %s",
                       o->out_dir, strerror(errno));
    nl_atomic_file af;
    if (nl_atomic_open(&af, o->out_dir, "runs.yaml", d) < 0)
        return -1;
    nl_study_write(s, af.f);
    if (nl_atomic_commit(&af, d) < 0)
        return -1;

    int jobs = o->jobs > 0 ? o->jobs : 1;
    slot *slots = calloc((size_t)jobs, sizeof(*slots));
    struct pollfd *fds = calloc((size_t)jobs, sizeof(*fds));
    char **dirs = calloc(s->n_runs, sizeof(*dirs));
    if (slots == NULL || fds == NULL || dirs == NULL) {
        free(slots);
        free(fds);
        free(dirs);
        return nl_fail(d, NL_EFAIL, "out of memory");
    }
    size_t next = 0, running = 0;
    double start = nl_now(), last_draw = 0;
    struct rlimit fd_limit;
    rlim_t max_fds = getrlimit(RLIMIT_NOFILE, &fd_limit) == 0
                         ? fd_limit.rlim_cur
                         : RLIM_INFINITY;
    int rc = 0;
    bool forwarded = false;
    for (;;) {
        bool stopping = o->interrupt != NULL && *o->interrupt;
        /* Launch while there is room. */
        for (int j = 0; j < jobs && !stopping && next < s->n_runs; j++) {
            if (slots[j].pid != 0)
                continue;
            if ((dirs[next] = run_dir(o->out_dir, &s->runs[next])) == NULL) {
                rc = nl_fail(d, NL_EFAIL, "out of memory");
                stopping = true;
                break;
            }
            pid_t pid = launch(&s->runs[next], o, dirs[next], d);
            if (pid < 0) {
                rc = -1;
                stopping = true;
                break;
            }
            slots[j] = (slot){pid, child_fd(pid, max_fds), next, nl_now(),
                              false};
            running++;
            next++;
        }
        if (stopping && !forwarded) {
            /* Children write `interrupted` results on SIGINT. */
            for (int j = 0; j < jobs; j++)
                if (slots[j].pid != 0)
                    kill(slots[j].pid, SIGINT);
            forwarded = true;
        }
        if (running == 0 && (stopping || next == s->n_runs))
            break;
        /* Reap what finished; kill what ran over its time. */
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        if (pid > 0) {
            for (int j = 0; j < jobs; j++) {
                if (slots[j].pid != pid)
                    continue;
                size_t r = slots[j].run;
                if (slots[j].fd >= 0) /* first: settling opens files */
                    close(slots[j].fd);
                if (settle(&s->runs[r], dirs[r], ws, slots[j].timed_out,
                           o->timeout, reg))
                    tally->failed++;
                else
                    tally->done++;
                slots[j].pid = 0;
                running--;
            }
            continue;
        }
        double now = nl_now(), wait = PROGRESS_PERIOD;
        for (int j = 0; j < jobs; j++) {
            if (slots[j].pid == 0 || o->timeout <= 0 || slots[j].timed_out)
                continue;
            double left = slots[j].started + o->timeout - now;
            if (left <= 0) {
                kill(slots[j].pid, SIGKILL);
                slots[j].timed_out = true;
            } else if (left < wait) {
                wait = left;
            }
        }
        if (now - last_draw >= PROGRESS_PERIOD) {
            draw_progress(o, tally, running, s->n_runs, start);
            last_draw = now;
        }
        if (last_draw + PROGRESS_PERIOD - now < wait)
            wait = last_draw + PROGRESS_PERIOD - now;
        wait_for_children(slots, jobs, fds, wait);
    }
    tally->skipped = s->n_runs - next;
    if (o->progress != NULL) {
        draw_progress(o, tally, 0, s->n_runs, start);
        fputs("\n", o->progress);
    }
    for (size_t r = 0; r < s->n_runs; r++)
        free(dirs[r]);
    free(dirs);
    free(fds);
    free(slots);
    return rc;
}

/* Writes s shell-quoted (single quotes unless it is plainly safe). */
static void shell_word(FILE *out, const char *s)
{
    bool plain = *s != '\0';
    for (const char *c = s; *c && plain; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_./=:,+-@%", *c) != NULL;
    if (plain) {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (const char *c = s; *c; c++)
        if (*c == '\'')
            fputs("'\\''", out);
        else
            fputc(*c, out);
    fputc('\'', out);
}

int nl_batch_list_jobs(const nl_study *s, const nl_batch_options *o,
                       FILE *out, nl_diag *d)
{
    for (size_t r = 0; r < s->n_runs; r++) {
        char *dir = run_dir(o->out_dir, &s->runs[r]);
        char config[PATH_MAX];
        if (dir == NULL)
            return nl_fail(d, NL_EFAIL, "out of memory");
        nl_study_run run = s->runs[r];
        if (realpath(run.config, config) != NULL)
            run.config = config;
        const char **argv = child_argv(&run, o, dir);
        if (argv == NULL) {
            free(dir);
            return nl_fail(d, NL_EFAIL, "out of memory");
        }
        for (size_t k = 0; argv[k] != NULL; k++) {
            fputs(k ? " " : "", out);
            shell_word(out, argv[k]);
        }
        fputc('\n', out);
        free(argv);
        free(dir);
    }
    return ferror(out) ? nl_fail(d, NL_EFAIL, "cannot write the job list")
                       : 0;
}
