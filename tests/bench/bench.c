/*
 * bench.c - `make bench`: nnlab's training loop against the memory
 * bandwidth limit, numpy (OpenBLAS) and FANN on the same data, plus
 * start-up time, CSV loading speed and batch scaling.  Prints a table and
 * writes it to tests/bench/RESULTS.md.  Not part of `make test`.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dataset.h"
#include "perceptron.h"
#include "plugin_loader.h"
#include "progress.h"
#include "train.h"

#ifdef NL_HAVE_FANN
#include <doublefann.h>
#endif

/* Runs per figure (the median is reported): 7, or NL_BENCH_REPEATS. */
#define MAX_REPEATS 64
static int REPEATS = 7;

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define NL_BENCH_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NL_BENCH_CLONES
#endif

typedef struct size_case {
    size_t n, d;
    unsigned epochs;
} size_case;

static const size_case cases[] = {
    {1000000, 16, 10},
    {100000, 64, 10},
    {1000, 2, 20000},
};

/* NL_BENCH_MIN=1: report the fastest run instead of the median (for
 * comparing two builds on a machine whose neighbours come and go). */
static bool use_min;

static void sort_values(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static double median(double *v, int n)
{
    sort_values(v, n);
    return use_min ? v[0] : v[n / 2];
}

static int no_epoch(void *ctx, const nl_epoch *e, const nl_perceptron *p,
                    nl_diag *d)
{
    (void)ctx, (void)e, (void)p, (void)d;
    return 0;
}

/* A config with the reference plugins, built in or loaded from .so. */
static int make_config(nl_config *cfg, nl_registry *reg, bool from_so,
                       unsigned epochs, double lr)
{
    char text[1024];
    const char *bp = "build/plugins";
    if (from_so)
        snprintf(text, sizeof(text),
                 "data: {generator: and}\n"
                 "activation: {path: %s/sigmoid.so}\n"
                 "loss: {path: %s/mse.so}\n"
                 "optimizer: {path: %s/gradient_descent.so, learning_rate: %g}\n"
                 "training: {epochs: %u, stop: {loss_below: 0}}\n",
                 bp, bp, bp, lr, epochs);
    else
        snprintf(text, sizeof(text),
                 "data: {generator: and}\n"
                 "optimizer: {name: gradient_descent, learning_rate: %g}\n"
                 "training: {epochs: %u, stop: {loss_below: 0}}\n",
                 lr, epochs);
    nl_diag d;
    nl_ynode *root = nl_yaml_parse(text, strlen(text), "bench.yaml", &d);
    int rc = root ? nl_config_from_tree(cfg, root, "./bench.yaml", reg, &d) : -1;
    nl_ynode_free(root);
    if (rc < 0)
        fprintf(stderr, "bench: %s\n", d.message);
    return rc;
}

/* The sum of x[0..count): 16 independent sums, so that the adds keep up
 * with memory (one running sum waits 4 cycles per add and measures the
 * adder's latency, not the bandwidth). */
NL_BENCH_CLONES
static double read_sum(const double *x, size_t count)
{
    double acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= count; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[i + l];
    for (; i < count; i++)
        acc[0] += x[i];
    double sum = 0;
    for (int l = 0; l < 16; l++)
        sum += acc[l];
    return sum;
}

/* Seconds to read X once (the best of 3): the memory-bandwidth limit. */
static double time_read(const nl_dataset *ds, int threads)
{
    size_t count = ds->n * ds->d;
    double best = HUGE_VAL, sink = 0;
    for (int r = 0; r < 3; r++) {
        double start = nl_now(), sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
        {
            size_t me = (size_t)omp_get_thread_num();
            size_t all = (size_t)omp_get_num_threads();
            size_t first = count * me / all, last = count * (me + 1) / all;
            sum += read_sum(ds->x + first, last - first);
        }
        best = fmin(best, nl_now() - start);
        sink += sum;
    }
    if (sink == 42.4242)
        puts("");
    return best;
}

/* Seconds per epoch of one run of nnlab's loop with cfg; its final loss. */
static double time_nnlab_once(const nl_dataset *ds, const nl_config *cfg,
                              int threads, double *loss)
{
    nl_dataset none = {0};
    none.d = ds->d;
    nl_perceptron p;
    nl_train_result res;
    nl_diag d;
    if (nl_perceptron_new(&p, cfg, ds->d, &d) < 0) {
        fprintf(stderr, "bench: %s\n", d.message);
        exit(1);
    }
    if (threads < p.n_threads)
        p.n_threads = threads;
    double start = nl_now();
    if (nl_train(&p, &cfg->training, ds, &none, 1, NULL, no_epoch, NULL, &res,
                 &d) < 0) {
        fprintf(stderr, "bench: %s\n", d.message);
        exit(1);
    }
    /* nl_train makes epochs + 1 passes (epoch 0 is measured too). */
    double t = (nl_now() - start) / (double)(cfg->training.epochs + 1);
    *loss = res.last.loss;
    nl_perceptron_free(&p);
    return t;
}

/* X then y of ds, as float64, into a file with no name for numpy_gd.py:
 * its descriptor (numpy opens it as /dev/fd/N; close it when done), or -1.
 * Nameless, so that no exit leaves 100 MB behind in /tmp. */
static int write_numpy_data(const nl_dataset *ds)
{
    char path[] = "/tmp/nnlab-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    int copy = dup(fd); /* for stdio, which closes its own */
    FILE *f = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (f == NULL) {
        if (copy >= 0)
            close(copy);
        close(fd);
        return -1;
    }
    bool ok = fwrite(ds->x, sizeof(double), ds->n * ds->d, f) ==
                  ds->n * ds->d &&
              fwrite(ds->y, sizeof(double), ds->n, f) == ds->n;
    if (fclose(f) != 0 || !ok) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One run of numpy_gd.py on data: seconds per epoch into *sec, the final
 * loss and OpenBLAS's threads; -1 when numpy is not there. */
static int time_numpy_once(const char *data, const size_case *c, double *sec,
                           double *loss, char threads[32])
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
             "OPENBLAS_NUM_THREADS=2 %s tests/bench/numpy_gd.py %s %zu "
             "%zu %u 0.5 2>/dev/null",
             access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                   : "python3",
             data, c->n, c->d, c->epochs);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    int got = fscanf(p, "%lf %lf %31s", sec, loss, threads);
    return pclose(p) == 0 && got == 3 && *sec > 0 ? 0 : -1;
}

/* The figures of one size, in seconds per epoch (NAN: not measured). */
typedef struct turn_figures {
    double lim1, lim2, t1, t2, tso, tnp;
    double so_cost;          /* .so / built-in - 1, the median of turns */
    double loss[3], loss_np; /* nnlab 1t, 2t, .so; numpy */
    char np_threads[32];     /* OpenBLAS's threads, as numpy reports them */
} turn_figures;

/* The limit, nnlab's loop (built in, 1 and 2 threads; from .so, 1 thread)
 * and numpy (when np_data names its data), in turns, so that a slow spell
 * of the machine hits all of them alike; medians of REPEATS. */
static void time_turns(const nl_dataset *ds, const size_case *c,
                       nl_registry *reg, const char *np_data,
                       turn_figures *out)
{
    nl_config builtin, so;
    if (make_config(&builtin, reg, false, c->epochs, 0.5) < 0 ||
        make_config(&so, reg, true, c->epochs, 0.5) < 0)
        exit(1);
    double v[6][MAX_REPEATS], cost[MAX_REPEATS];
    int np_runs = 0;
    for (int r = 0; r < REPEATS; r++) {
        v[0][r] = time_read(ds, 1);
        v[1][r] = time_read(ds, 2);
        v[2][r] = time_nnlab_once(ds, &builtin, 1, &out->loss[0]);
        v[4][r] = time_nnlab_once(ds, &so, 1, &out->loss[2]);
        v[3][r] = time_nnlab_once(ds, &builtin, 2, &out->loss[1]);
        cost[r] = v[4][r] / v[2][r] - 1;
        if (np_data != NULL && np_runs == r &&
            time_numpy_once(np_data, c, &v[5][r], &out->loss_np,
                            out->np_threads) == 0)
            np_runs++;
    }
    out->lim1 = median(v[0], REPEATS);
    out->lim2 = median(v[1], REPEATS);
    out->t1 = median(v[2], REPEATS);
    out->t2 = median(v[3], REPEATS);
    out->tso = median(v[4], REPEATS);
    /* The .so's cost as a pair of runs, one after the other in each turn:
     * the machine's slow spells come and go within seconds, and two
     * medians taken apart can each fall in a different one. */
    sort_values(cost, REPEATS);
    out->so_cost = cost[REPEATS / 2];
    /* numpy counts only when every turn ran it. */
    out->tnp = np_runs == REPEATS ? median(v[5], REPEATS) : NAN;
    nl_config_free(&builtin);
    nl_config_free(&so);
}

/* The pass built with vectors of 8, 4 and 2 (NNLAB_VECTOR_WIDTH; the
 * plugins keep their own build), 1 thread, in turns: ns per sample-epoch
 * into ns[0..3), the medians.  What a machine with AVX2 only, or with
 * neither, would get from the pass (on this one, 8 falls back where the
 * CPU lacks AVX-512). */
static void time_widths(const nl_dataset *ds, const size_case *c,
                        nl_registry *reg, double ns[3])
{
    static const char *const widths[] = {"8", "4", "2"};
    nl_config cfg;
    if (make_config(&cfg, reg, false, c->epochs, 0.5) < 0)
        exit(1);
    double v[3][MAX_REPEATS], loss;
    for (int r = 0; r < REPEATS; r++)
        for (int k = 0; k < 3; k++) {
            setenv("NNLAB_VECTOR_WIDTH", widths[k], 1);
            v[k][r] = time_nnlab_once(ds, &cfg, 1, &loss) * 1e9 /
                      (double)c->n;
        }
    unsetenv("NNLAB_VECTOR_WIDTH");
    for (int k = 0; k < 3; k++)
        ns[k] = median(v[k], REPEATS);
    nl_config_free(&cfg);
}

#ifdef NL_HAVE_FANN
/* FANN 2.2 doublefann, one sigmoid neuron, FANN_TRAIN_BATCH. */
static double time_fann(const nl_dataset *ds, const size_case *c)
{
    struct fann *ann = fann_create_standard(2, (unsigned)ds->d, 1);
    struct fann_train_data *data =
        fann_create_train((unsigned)ds->n, (unsigned)ds->d, 1);
    for (size_t i = 0; i < ds->n; i++) {
        memcpy(data->input[i], ds->x + i * ds->d, ds->d * sizeof(double));
        data->output[i][0] = ds->y[i];
    }
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_BATCH);
    fann_set_learning_rate(ann, 0.5f);
    unsigned epochs = c->epochs > 200 ? 200 : c->epochs;
    double t[MAX_REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double start = nl_now();
        for (unsigned e = 0; e < epochs; e++)
            fann_train_epoch(ann, data);
        t[r] = (nl_now() - start) / epochs;
    }
    fann_destroy_train(data);
    fann_destroy(ann);
    return median(t, REPEATS);
}
#endif

/* Seconds of a whole command, median of n runs. */
static double time_command(const char *cmd, int n)
{
    double t[32];
    for (int r = 0; r < n && r < 32; r++) {
        double start = nl_now();
        if (system(cmd) != 0) {
            fprintf(stderr, "bench: '%s' failed\n", cmd);
            exit(1);
        }
        t[r] = nl_now() - start;
    }
    return median(t, n < 32 ? n : 32);
}

/* Runs in the batch that times a batch of many short runs. */
#define TINY_RUNS 200

/* Seconds of `runner batch` at -jJOBS (the median of 3) on a study of
 * `base` (a config of this checkout) and `sweep` (its sweep: lines). */
static double time_batch(const char *base, const char *sweep, int jobs)
{
    const char *path = "/tmp/nnlab-bench-study.yaml";
    char *cwd = get_current_dir_name();
    FILE *f = fopen(path, "w");
    if (cwd == NULL || f == NULL)
        exit(1);
    fprintf(f, "name: bench\nbase: %s/%s\nsweep:\n%s", cwd, base, sweep);
    free(cwd);
    if (fclose(f) != 0)
        exit(1);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "./build/runner batch %s -q -j%d --force -o "
             "/tmp/nnlab-bench-batch", path, jobs);
    double t = time_command(cmd, 3);
    if (system("rm -rf /tmp/nnlab-bench-batch") != 0)
        exit(1);
    unlink(path);
    return t;
}

static double csv_speed(double *mb)
{
    const char *path = "/tmp/nnlab-bench.csv";
    FILE *f = fopen(path, "w");
    fputs("a,b,c,d,e,f,g,label\n", f);
    for (int i = 0; i < 1000000; i++)
        fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d\n", i * 1e-6,
                -i * 2e-6, 0.5, i % 7 * 0.25, 1e3 - i * 1e-3, 3.14159,
                i * 0.001, i % 2);
    long size = ftell(f);
    fclose(f);
    *mb = size / 1e6;
    double t[3];
    for (int r = 0; r < 3; r++) {
        nl_dataset ds;
        nl_diag d;
        double start = nl_now();
        if (nl_data_csv(path, NULL, NULL, NULL, 0, &ds, &d) < 0) {
            fprintf(stderr, "bench: %s\n", d.message);
            exit(1);
        }
        t[r] = nl_now() - start;
        nl_dataset_free(&ds);
    }
    unlink(path);
    return median(t, 3);
}

/* The cases named on the command line ("1000000x16"; any size), or all
 * of cases[] when none is.  Returns how many are in out. */
static size_t pick_cases(int argc, char **argv, size_case *out, size_t max)
{
    size_t count = 0;
    if (argc == 1) {
        for (; count < sizeof(cases) / sizeof(cases[0]); count++)
            out[count] = cases[count];
        return count;
    }
    for (int i = 1; i < argc && count < max; i++) {
        size_case c = {0, 0, 0};
        if (sscanf(argv[i], "%zux%zu", &c.n, &c.d) != 2 || c.n == 0 ||
            c.d == 0) {
            fprintf(stderr, "bench: '%s' is not a size like 1000x2\n",
                    argv[i]);
            exit(2);
        }
        double values = (double)c.n * (double)c.d;
        c.epochs = values >= 1.6e7 ? 10 : (unsigned)(1.6e8 / values);
        out[count++] = c;
    }
    return count;
}

/* One size's figures, ns per sample-epoch. */
typedef struct size_result {
    double lim1, lim2, t1, t2, tso, tnp, tf, agree, so_cost;
    bool same_bits;
} size_result;

/* One line of the targets table: the figure, the bound, met or not. */
static void target_row(FILE *md, const char *what, double figure,
                       const char *unit, double bound, bool at_most)
{
    bool met = at_most ? figure <= bound : figure >= bound;
    fprintf(md, "| %s | %.2f%s | %s %.2f%s | %s |\n", what, figure, unit,
            at_most ? "<=" : ">=", bound, unit,
            isnan(figure) ? "not measured" : met ? "met" : "**not met**");
}

/* The targets of issue 5, from the figures of cases[] (in that order). */
static void targets(FILE *md, const size_result *r, double startup,
                    double j_ratio)
{
    fprintf(md, "\n## Targets\n\n| target | figure | bound | |\n"
                "|---|---|---|---|\n");
    char what[128];
    for (int i = 0; i < 2; i++) {
        snprintf(what, sizeof(what), "%zu x %zu, 1 thread, / 1-thread limit",
                 cases[i].n, cases[i].d);
        target_row(md, what, r[i].t1 / r[i].lim1, "x", 1.5, true);
        snprintf(what, sizeof(what),
                 "%zu x %zu, 2 threads, / 2-thread limit", cases[i].n,
                 cases[i].d);
        target_row(md, what, r[i].t2 / r[i].lim2, "x", 1.3, true);
    }
    for (int i = 0; i < 3; i++) {
        double best = fmin(r[i].t1, r[i].t2);
        snprintf(what, sizeof(what), "%zu x %zu, numpy / nnlab", cases[i].n,
                 cases[i].d);
        target_row(md, what, r[i].tnp / best, "x", 4, false);
        snprintf(what, sizeof(what), "%zu x %zu, FANN / nnlab", cases[i].n,
                 cases[i].d);
        target_row(md, what, r[i].tf / best, "x", 5, false);
        /* The cost of loading from .so: slower by at most 3% (the two are
         * the same code, so a faster .so is the machine's noise). */
        snprintf(what, sizeof(what), "%zu x %zu, .so slower than built-in "
                 "by", cases[i].n, cases[i].d);
        target_row(md, what, 100 * r[i].so_cost, "%", 3, true);
        snprintf(what, sizeof(what), "%zu x %zu, loss nnlab vs numpy",
                 cases[i].n, cases[i].d);
        fprintf(md, "| %s | %.1e | <= 1e-09 | %s |\n", what, r[i].agree,
                isnan(r[i].agree) ? "not measured"
                : r[i].agree <= 1e-9 ? "met" : "**not met**");
        snprintf(what, sizeof(what), "%zu x %zu, 1 and 2 threads",
                 cases[i].n, cases[i].d);
        fprintf(md, "| %s | %s | the same bits | %s |\n", what,
                r[i].same_bits ? "the same bits" : "different",
                r[i].same_bits ? "met" : "**not met**");
    }
    target_row(md, "1000 x 2, ns per sample-epoch",
               fmin(r[2].t1, r[2].t2), " ns", 5, true);
    target_row(md, "batch of 8: -j2 / -j1", j_ratio, "x", 0.6, true);
    target_row(md, "`runner configs/sigmoid_mse.yaml -q`", startup * 1e3,
               " ms", 20, true);
}

/* `bench` runs everything and writes RESULTS.md; `bench 1000x2 ...` runs
 * only the named sizes and writes nothing (for quick comparisons). */
int main(int argc, char **argv)
{
    use_min = getenv("NL_BENCH_MIN") != NULL;
    const char *repeats = getenv("NL_BENCH_REPEATS");
    if (repeats != NULL && atoi(repeats) > 0)
        REPEATS = atoi(repeats) < MAX_REPEATS ? atoi(repeats) : MAX_REPEATS;
    FILE *md = fopen(argc == 1 ? "tests/bench/RESULTS.md" : "/dev/null", "w");
    nl_registry *reg = nl_registry_new(NULL, 0);
    if (md == NULL || reg == NULL)
        return 1;
    char host[256] = "?";
    FILE *cpu = popen("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2", "r");
    if (cpu && fgets(host, sizeof(host), cpu)) {
        host[strcspn(host, "\n")] = '\0';
        memmove(host, host + strspn(host, " \t"), strlen(host) + 1);
    }
    if (cpu)
        pclose(cpu);
    time_t now = time(NULL);
    fprintf(md, "# nnlab benchmark\n\nMade by `make bench` on %s, %d cores,"
            " %s", host, omp_get_num_procs(), ctime(&now));
    fprintf(md, "\nFull-batch gradient descent, sigmoid + MSE, float64; "
            "nanoseconds per sample per epoch (median of %d runs); "
            "ratios measured in the same run.\n\n", REPEATS);
    fprintf(md, "| n x d | limit 1t | limit 2t | nnlab 1t | nnlab 2t | "
            ".so 1t | numpy | FANN | nnlab/limit 1t | nnlab/limit 2t | "
            "numpy/nnlab | FANN/nnlab | loss nnlab vs numpy |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    printf("%-14s %9s %9s %9s %9s %9s %9s %9s\n", "n x d", "limit1t",
           "limit2t", "nnlab1t", "nnlab2t", ".so 1t", "numpy", "FANN");
    /* NL_BENCH_QUICK=1: nnlab and the limit only, for quick comparisons. */
    bool quick = getenv("NL_BENCH_QUICK") != NULL;
    size_case chosen[16];
    size_result results[16];
    double width_ns[3] = {NAN, NAN, NAN};
    size_t n_chosen = pick_cases(argc, argv, chosen, 16);
    for (size_t i = 0; i < n_chosen; i++) {
        const size_case *c = &chosen[i];
        nl_dataset ds;
        if (nl_data_blobs(c->n, c->d, 2.0, 1.0, 7, &ds) < 0)
            return 1;
        nl_dataset_pack_labels(&ds); /* as nl_data_load leaves a set */
        double per = 1e9 / (double)c->n;
        int np_fd = quick ? -1 : write_numpy_data(&ds);
        char np_data[32];
        snprintf(np_data, sizeof(np_data), "/dev/fd/%d", np_fd);
        turn_figures fig = {.loss_np = NAN, .np_threads = "?"};
        time_turns(&ds, c, reg, np_fd >= 0 ? np_data : NULL, &fig);
        if (np_fd >= 0)
            close(np_fd);
        double lim1 = fig.lim1 * per, lim2 = fig.lim2 * per;
        double t1 = fig.t1 * per, t2 = fig.t2 * per, tso = fig.tso * per;
        double tnp = fig.tnp * per, loss_np = fig.loss_np;
        double loss1 = fig.loss[0], loss2 = fig.loss[1], loss_so = fig.loss[2];
        const char *threads = fig.np_threads;
        double tf = NAN;
#ifdef NL_HAVE_FANN
        tf = quick ? NAN : time_fann(&ds, c) * per;
#endif
        double agree = fabs(loss1 - loss_np) / fabs(loss_np);
        char size[32];
        snprintf(size, sizeof(size), "%zu x %zu", c->n, c->d);
        printf("%-14s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", size, lim1,
               lim2, t1, t2, tso, tnp, tf);
        printf("  1t vs 2t loss identical: %s; .so vs built-in: %+.1f%%; "
               "nnlab vs numpy loss: %.2g relative (numpy threads %s)\n",
               loss1 == loss2 ? "yes" : "NO", 100 * fig.so_cost, agree,
               threads);
        fprintf(md, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | "
                "%.2f | %.2f | %.1f | %.1f | %.1e |\n", size, lim1, lim2, t1,
                t2, tso, tnp, tf, t1 / lim1, t2 / lim2, tnp / fmin(t1, t2),
                tf / fmin(t1, t2), agree);
        if (loss1 != loss2 || loss1 != loss_so)
            fprintf(md, "\n**the 1-thread, 2-thread and .so losses differ**\n");
        results[i] = (size_result){lim1, lim2, t1, t2, tso, tnp, tf, agree,
                                   fig.so_cost,
                                   loss1 == loss2 && loss1 == loss_so};
        /* The widths on the first size, while its data are here. */
        if (argc == 1 && i == 0)
            time_widths(&ds, c, reg, width_ns);
        nl_dataset_free(&ds);
    }
    if (argc > 1)
        return fclose(md), nl_registry_free(reg), 0;
    double startup = time_command("./build/runner configs/sigmoid_mse.yaml -q "
                                  "-o /tmp/nnlab-bench-run", 21);
    double mb, csv = csv_speed(&mb);
    static const char eight[] = "  seed: [1, 2, 3, 4, 5, 6, 7, 8]\n"
                                "  data.samples: [100000]\n"
                                "  training.epochs: [40]\n";
    double j1 = time_batch("configs/blobs_sigmoid.yaml", eight, 1);
    double j2 = time_batch("configs/blobs_sigmoid.yaml", eight, 2);
    /* Time per run of a batch of many runs of a few ms each (start-up
     * included): what the batch adds to a run shows against start-up. */
    char tiny[16 + 8 * TINY_RUNS] = "  seed: [1";
    for (int seed = 2; seed <= TINY_RUNS; seed++)
        snprintf(tiny + strlen(tiny), sizeof(tiny) - strlen(tiny), ", %d",
                 seed);
    strcat(tiny, "]\n");
    double tiny1 = time_batch("configs/step_mse.yaml", tiny, 1) / TINY_RUNS;
    double tiny2 = time_batch("configs/step_mse.yaml", tiny, 2) / TINY_RUNS;
    if (system("rm -rf /tmp/nnlab-bench-run") != 0)
        return 1;
    printf("runner configs/sigmoid_mse.yaml -q: %.1f ms start to exit\n",
           startup * 1e3);
    printf("CSV loading: %.0f MB/s (%.0f MB, 1,000,000 rows x 8 columns)\n",
           mb / csv, mb);
    printf("batch of 8 equal runs: -j1 %.2f s, -j2 %.2f s (%.2f x)\n", j1, j2,
           j2 / j1);
    printf("batch of %d runs of configs/step_mse.yaml: -j1 %.2f ms, -j2 %.2f "
           "ms per run\n", TINY_RUNS, tiny1 * 1e3, tiny2 * 1e3);
    printf("pass with vectors of 8 / 4 / 2, %zu x %zu, 1 thread: %.2f / %.2f "
           "/ %.2f ns\n", cases[0].n, cases[0].d, width_ns[0], width_ns[1],
           width_ns[2]);
    fprintf(md, "\nlimit = one streaming read of X (16 independent sums, "
            "vectorised: what any loop that reads X once can do; the best of "
            "3 reads per turn, the median over the turns); 1t/2t = "
            "threads. This machine's timings vary by 10-30%% from run to run "
            "(a shared virtual machine); compare ratios within one run. The "
            ".so's cost (its target) is the median over the turns of its run "
            "against the built-in run just before it. numpy: "
            "`X @ w`, `X.T @ g` with OpenBLAS (2 threads), one run in "
            "each turn (its own process, after an untimed epoch); FANN 2.2 "
            "doublefann, FANN_TRAIN_BATCH; empty where not installed "
            "(`make deps-bench`).\n\n");
    fprintf(md, "| other | figure |\n|---|---|\n");
    fprintf(md, "| `runner configs/sigmoid_mse.yaml -q`, start to exit | "
            "%.1f ms |\n", startup * 1e3);
    fprintf(md, "| CSV loading, 1,000,000 rows x 8 columns (%.0f MB) | "
            "%.0f MB/s |\n", mb, mb / csv);
    fprintf(md, "| batch of 8 equal runs (100,000 x 2 blobs, 40 epochs): "
            "-j1 / -j2 | %.2f s / %.2f s (%.2f x) |\n", j1, j2, j2 / j1);
    fprintf(md, "| batch of %d runs of configs/step_mse.yaml (each alone: the "
            "start-up above): -j1 / -j2 | %.2f ms / %.2f ms per run |\n",
            TINY_RUNS, tiny1 * 1e3, tiny2 * 1e3);
    fprintf(md, "| the pass with vectors of 8 / 4 / 2 doubles (AVX-512 / AVX2 "
            "/ baseline builds, `NNLAB_VECTOR_WIDTH`), %zu x %zu, 1 thread | "
            "%.2f / %.2f / %.2f ns |\n", cases[0].n, cases[0].d,
            width_ns[0], width_ns[1], width_ns[2]);
    targets(md, results, startup, j2 / j1);
    fclose(md);
    nl_registry_free(reg);
    puts("written to tests/bench/RESULTS.md");
    return 0;
}
