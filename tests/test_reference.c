/*
 * test_reference.c - the real `runner` binary against an independent,
 * deliberately naive implementation of SPEC section 1 ("The math"),
 * epoch by epoch.
 *
 * Nothing here includes or calls framework/ code: the reference below is
 * written from the SPEC alone (per-sample loops, its own CSV reader, its own
 * normalisation, its own stop rules).  Each case writes a config (and maybe
 * a CSV) into a temporary directory, runs `runner CONFIG -q -o OUT`, reads
 * OUT/history.csv and OUT/summary.json, and compares every epoch's loss and
 * accuracy, the epoch count, the stop reason and the final parameters with
 * the reference, to 1e-9 relative.
 *
 * Only `shuffle: false` mini-batches are covered: a shuffled order comes
 * from the runner's seeded generator and cannot be reproduced
 * independently.
 *
 * The two implementations round differently (the order of sums, where the
 * 1/n is applied), so every case also checks that it is well conditioned:
 * no decision (step z against its threshold, sigmoid z against 0 for the
 * accuracy, loss against loss_below, improvement against min_delta) is
 * within 1e-9 of a tie, where a last-bit difference could flip it.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* The reference: SPEC section 1, written naively.                      */
/* ------------------------------------------------------------------ */

#define REF_MAX_ROWS 40000 /* enough for a pass split over threads */
#define REF_MAX_COLS 8
#define REF_MAX_EPOCHS 2000
#define REF_TIE 1e-9 /* a decision closer than this to its tie is fragile */

typedef enum { ACT_SIGMOID, ACT_STEP } ref_act;
typedef enum { NORM_NONE, NORM_STANDARDIZE, NORM_MINMAX } ref_norm;

typedef struct ref_config {
    const char *gate;     /* "and", "or", "nand", "nor", "xor", or NULL */
    const char *csv;      /* the CSV text when gate is NULL */
    const char *target;   /* NULL: the last column */
    const char *features[REF_MAX_COLS]; /* NULL-terminated; none: default */
    ref_norm normalize;
    bool explicit_init;   /* else zeros */
    double weights[REF_MAX_COLS];
    double bias;
    ref_act act;
    double threshold;     /* step */
    bool surrogate_zero;  /* step: f' = 0 instead of 1 */
    double lr;
    unsigned epochs;
    size_t batch;         /* 0: full */
    double loss_below;
    double min_delta;
    unsigned patience;
} ref_config;

typedef struct ref_result {
    size_t n, d;
    unsigned epochs;      /* epochs run */
    double loss[REF_MAX_EPOCHS + 1];
    double acc[REF_MAX_EPOCHS + 1];
    const char *stop;
    double w[REF_MAX_COLS];
    double b;
    double margin;        /* closest any decision came to a tie */
    double tie_value;     /* what was compared at that closest point */
    unsigned tie_epoch;
} ref_result;

typedef struct ref_data {
    size_t n, d;
    double x[REF_MAX_ROWS][REF_MAX_COLS];
    double y[REF_MAX_ROWS];
} ref_data;

/* Copies the next line of *p into buf (without the newline); false at end. */
static bool next_text_line(const char **p, char *buf, size_t cap)
{
    if (**p == '\0')
        return false;
    size_t len = 0;
    while (**p != '\0' && **p != '\n') {
        if (len + 1 < cap)
            buf[len++] = **p;
        (*p)++;
    }
    if (**p == '\n')
        (*p)++;
    while (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return true;
}

/* Splits line at commas in place; returns the cell count. */
static size_t split_commas(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        cr_assert(n < max, "reference CSV: too many cells");
        cells[n++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            return n;
        *comma = '\0';
        p = comma + 1;
    }
}

/* A CSV with a header row: target by name (default: last column),
 * features by name in the listed order (default: every other column in
 * file order). */
static void ref_load_csv(const ref_config *c, ref_data *data)
{
    const char *p = c->csv;
    char header[512], line[512];
    char *names[REF_MAX_COLS + 1];
    cr_assert(next_text_line(&p, header, sizeof(header)), "reference: no header");
    size_t n_cols = split_commas(header, names, REF_MAX_COLS + 1);
    size_t target = n_cols - 1;
    if (c->target != NULL) {
        target = SIZE_MAX;
        for (size_t i = 0; i < n_cols; i++)
            if (strcmp(names[i], c->target) == 0)
                target = i;
        cr_assert(target != SIZE_MAX, "reference: no column %s", c->target);
    }
    size_t cols[REF_MAX_COLS], d = 0;
    if (c->features[0] == NULL) {
        for (size_t i = 0; i < n_cols; i++)
            if (i != target)
                cols[d++] = i;
    } else {
        for (; c->features[d] != NULL; d++) {
            cols[d] = SIZE_MAX;
            for (size_t i = 0; i < n_cols; i++)
                if (strcmp(names[i], c->features[d]) == 0)
                    cols[d] = i;
            cr_assert(cols[d] != SIZE_MAX, "reference: no column %s",
                      c->features[d]);
        }
    }
    data->d = d;
    data->n = 0;
    while (next_text_line(&p, line, sizeof(line))) {
        if (line[0] == '\0')
            continue;
        char *cells[REF_MAX_COLS + 1];
        size_t n = split_commas(line, cells, REF_MAX_COLS + 1);
        cr_assert(n == n_cols && data->n < REF_MAX_ROWS, "reference: bad row");
        data->y[data->n] = strtod(cells[target], NULL);
        for (size_t j = 0; j < d; j++)
            data->x[data->n][j] = strtod(cells[cols[j]], NULL);
        data->n++;
    }
}

/* The gates: rows (0,0) (0,1) (1,0) (1,1). */
static void ref_load_gate(const char *gate, ref_data *data)
{
    static const struct {
        const char *name;
        double y[4];
    } table[] = {{"and", {0, 0, 0, 1}}, {"or", {0, 1, 1, 1}},
                 {"nand", {1, 1, 1, 0}}, {"nor", {1, 0, 0, 0}},
                 {"xor", {0, 1, 1, 0}}};
    data->n = 4;
    data->d = 2;
    for (size_t g = 0; g < sizeof(table) / sizeof(table[0]); g++) {
        if (strcmp(table[g].name, gate) != 0)
            continue;
        for (size_t i = 0; i < 4; i++) {
            data->x[i][0] = (double)(i / 2);
            data->x[i][1] = (double)(i % 2);
            data->y[i] = table[g].y[i];
        }
        return;
    }
    cr_fail("reference: unknown gate %s", gate);
}

/* Fit on the training rows (all rows here: no test_fraction).
 * standardize = (x - mean)/std, population std; minmax = (x - min)/(max -
 * min); a constant column becomes 0. */
static void ref_normalize(ref_norm how, ref_data *data)
{
    if (how == NORM_NONE)
        return;
    for (size_t j = 0; j < data->d; j++) {
        if (how == NORM_STANDARDIZE) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < data->n; i++)
                mean += data->x[i][j];
            mean /= (double)data->n;
            for (size_t i = 0; i < data->n; i++)
                var += (data->x[i][j] - mean) * (data->x[i][j] - mean);
            var /= (double)data->n;
            double sd = sqrt(var);
            bool constant = true; /* the mean's rounding can leave sd > 0 */
            for (size_t i = 1; i < data->n; i++)
                constant = constant && data->x[i][j] == data->x[0][j];
            for (size_t i = 0; i < data->n; i++)
                data->x[i][j] = constant ? 0 : (data->x[i][j] - mean) / sd;
        } else {
            double lo = data->x[0][j], hi = data->x[0][j];
            for (size_t i = 1; i < data->n; i++) {
                lo = fmin(lo, data->x[i][j]);
                hi = fmax(hi, data->x[i][j]);
            }
            for (size_t i = 0; i < data->n; i++)
                data->x[i][j] =
                    hi == lo ? 0 : (data->x[i][j] - lo) / (hi - lo);
        }
    }
}

/* Notes how close a decision came to its tie (exact ties, e.g. z = 0
 * with zero parameters, are computed exactly by both and are fine). */
static void ref_near(ref_result *r, double value, double tie, unsigned epoch)
{
    double gap = fabs(value - tie);
    if (isfinite(gap) && gap > 0 && gap < r->margin) {
        r->margin = gap;
        r->tie_value = value;
        r->tie_epoch = epoch;
    }
}

/* Sigmoid without overflow for any finite z. */
static double ref_sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static double ref_z(const ref_config *c, const ref_data *data, size_t i,
                    const double *w, double b, ref_result *r, unsigned epoch)
{
    double z = 0;
    for (size_t j = 0; j < data->d; j++)
        z += w[j] * data->x[i][j];
    z += b;
    ref_near(r, z, c->act == ACT_STEP ? c->threshold : 0.0, epoch);
    return z;
}

static double ref_f(const ref_config *c, double z)
{
    if (c->act == ACT_SIGMOID)
        return ref_sigmoid(z);
    return z >= c->threshold ? 1.0 : 0.0;
}

static double ref_fprime(const ref_config *c, double yhat)
{
    if (c->act == ACT_SIGMOID)
        return yhat * (1.0 - yhat);
    return c->surrogate_zero ? 0.0 : 1.0;
}

/* C over the whole training set and the accuracy, for epoch `epoch`. */
static void ref_measure(const ref_config *c, const ref_data *data,
                        const double *w, double b, ref_result *r,
                        unsigned epoch)
{
    double sum = 0;
    size_t correct = 0;
    for (size_t i = 0; i < data->n; i++) {
        double yhat = ref_f(c, ref_z(c, data, i, w, b, r, epoch));
        sum += (yhat - data->y[i]) * (yhat - data->y[i]);
        double predicted = yhat >= 0.5 ? 1.0 : 0.0;
        if (predicted == data->y[i])
            correct++;
    }
    r->loss[epoch] = sum / (double)data->n;
    r->acc[epoch] = (double)correct / (double)data->n;
}

/* One gradient-descent update on rows [lo, hi): the mean is over them. */
static void ref_update(const ref_config *c, const ref_data *data, size_t lo,
                       size_t hi, double *w, double *b, ref_result *r,
                       unsigned epoch)
{
    double gw[REF_MAX_COLS] = {0}, gb = 0;
    double m = (double)(hi - lo);
    for (size_t i = lo; i < hi; i++) {
        double z = ref_z(c, data, i, w, *b, r, epoch);
        double yhat = ref_f(c, z);
        double dc_dyhat = (2.0 / m) * (yhat - data->y[i]);
        double dc_dz = dc_dyhat * ref_fprime(c, yhat);
        for (size_t j = 0; j < data->d; j++)
            gw[j] += dc_dz * data->x[i][j];
        gb += dc_dz;
    }
    for (size_t j = 0; j < data->d; j++)
        w[j] -= c->lr * gw[j];
    *b -= c->lr * gb;
}

static void ref_train(const ref_config *c, ref_result *r)
{
    ref_data *data = malloc(sizeof(*data)); /* megabytes: not the stack */
    cr_assert(data != NULL);
    memset(r, 0, sizeof(*r));
    r->margin = HUGE_VAL;
    if (c->gate != NULL)
        ref_load_gate(c->gate, data);
    else
        ref_load_csv(c, data);
    ref_normalize(c->normalize, data);
    r->n = data->n;
    r->d = data->d;
    double *w = r->w, b = c->explicit_init ? c->bias : 0.0;
    for (size_t j = 0; j < data->d; j++)
        w[j] = c->explicit_init ? c->weights[j] : 0.0;
    cr_assert(c->epochs >= 1 && c->epochs <= REF_MAX_EPOCHS);
    ref_measure(c, data, w, b, r, 0);
    unsigned stalled = 0;
    for (unsigned k = 1;; k++) {
        size_t m = c->batch == 0 || c->batch > data->n ? data->n : c->batch;
        for (size_t lo = 0; lo < data->n; lo += m)
            ref_update(c, data, lo, lo + m < data->n ? lo + m : data->n, w, &b,
                       r, k);
        ref_measure(c, data, w, b, r, k);
        r->epochs = k;
        double improvement = r->loss[k - 1] - r->loss[k];
        stalled = improvement < c->min_delta ? stalled + 1 : 0;
        bool finite = isfinite(r->loss[k]) && isfinite(b);
        for (size_t j = 0; j < data->d; j++)
            finite = finite && isfinite(w[j]);
        if (!finite) {
            r->stop = "diverged";
            break;
        }
        ref_near(r, r->loss[k], c->loss_below, k);
        if (r->loss[k] < c->loss_below) {
            r->stop = "loss_below";
            break;
        }
        if (c->patience > 0)
            ref_near(r, improvement, c->min_delta, k);
        if (c->patience > 0 && stalled >= c->patience) {
            r->stop = "plateau";
            break;
        }
        if (k == c->epochs) {
            r->stop = "max_epochs";
            break;
        }
    }
    r->b = b;
    free(data);
}

/* ------------------------------------------------------------------ */
/* Running the real runner and reading its results.                    */
/* ------------------------------------------------------------------ */

typedef struct run_out {
    size_t rows;                 /* history.csv rows */
    unsigned long long epoch[REF_MAX_EPOCHS + 2];
    double loss[REF_MAX_EPOCHS + 2];
    double acc[REF_MAX_EPOCHS + 2];
    size_t n_w;
    double w[REF_MAX_COLS];
    double bias;                 /* NaN when summary.json says null */
    long long epochs;
    char stop[32];
} run_out;

/* A JSON number, or null (a non-finite value) as NaN. */
static double json_value(const char *p, const char **end)
{
    while (*p == ' ')
        p++;
    if (strncmp(p, "null", 4) == 0) {
        *end = p + 4;
        return NAN;
    }
    char *e;
    double v = strtod(p, &e);
    cr_assert(e != p, "summary.json: expected a number at '%.20s'", p);
    *end = e;
    return v;
}

static const char *json_key(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "\"%s\":", key);
    const char *p = strstr(json, pattern);
    cr_assert(p != NULL, "summary.json has no \"%s\":\n%s", key, json);
    return p + strlen(pattern);
}

static void parse_summary(const char *json, run_out *out)
{
    const char *p = json_key(json, "stop_reason"), *end;
    while (*p == ' ')
        p++;
    cr_assert(p[0] == '"', "summary.json: stop_reason is not a string");
    size_t len = strcspn(p + 1, "\"");
    cr_assert(len < sizeof(out->stop));
    memcpy(out->stop, p + 1, len);
    out->stop[len] = '\0';
    out->epochs = strtoll(json_key(json, "epochs"), NULL, 10);
    p = json_key(json, "weights");
    while (*p == ' ')
        p++;
    cr_assert(p[0] == '[', "summary.json: weights is not an array");
    p++;
    out->n_w = 0;
    while (*p == ' ')
        p++;
    while (*p != ']') {
        cr_assert(out->n_w < REF_MAX_COLS, "summary.json: too many weights");
        out->w[out->n_w++] = json_value(p, &end);
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
    }
    out->bias = json_value(json_key(json, "bias"), &end);
}

static void parse_history(const char *csv, run_out *out)
{
    const char *p = csv;
    char line[256];
    cr_assert(next_text_line(&p, line, sizeof(line)) &&
                  strcmp(line, "epoch,loss,accuracy") == 0,
              "history.csv header is '%s', want 'epoch,loss,accuracy'", line);
    out->rows = 0;
    while (next_text_line(&p, line, sizeof(line))) {
        if (line[0] == '\0')
            continue;
        cr_assert(out->rows < REF_MAX_EPOCHS + 2, "history.csv: too many rows");
        char *e1, *e2, *e3;
        out->epoch[out->rows] = strtoull(line, &e1, 10);
        cr_assert(e1[0] == ',', "history.csv: bad row '%s'", line);
        out->loss[out->rows] = strtod(e1 + 1, &e2);
        cr_assert(e2[0] == ',', "history.csv: bad row '%s'", line);
        out->acc[out->rows] = strtod(e2 + 1, &e3);
        cr_assert(e3[0] == '\0', "history.csv: bad row '%s'", line);
        out->rows++;
    }
}

/* Writes config.yaml (and data.csv when csv_text is given) into a fresh
 * directory, runs `runner config.yaml -q -o DIR/out`, reads the results. */
static void run_case(const char *label, const char *yaml,
                     const char *csv_text, run_out *out)
{
    char *dir = th_tempdir();
    cr_assert(dir != NULL, "cannot make a temporary directory");
    char cfg[512], data[512], res[512], path[600];
    snprintf(cfg, sizeof(cfg), "%s/config.yaml", dir);
    snprintf(data, sizeof(data), "%s/data.csv", dir);
    snprintf(res, sizeof(res), "%s/out", dir);
    cr_assert(th_write(cfg, yaml) == 0);
    if (csv_text != NULL)
        cr_assert(th_write(data, csv_text) == 0);
    th_run r = th_runner(cfg, "-q", "-o", res, NULL);
    cr_assert(r.status == 0, "%s: runner exited %d\nstderr:\n%s\nconfig:\n%s",
              label, r.status, r.err ? r.err : "", yaml);
    snprintf(path, sizeof(path), "%s/history.csv", res);
    char *history = th_read(path);
    snprintf(path, sizeof(path), "%s/summary.json", res);
    char *summary = th_read(path);
    cr_assert(history != NULL && summary != NULL,
              "%s: history.csv or summary.json missing", label);
    memset(out, 0, sizeof(*out));
    parse_history(history, out);
    parse_summary(summary, out);
    free(history);
    free(summary);
    th_run_free(&r);
    th_rmtree(dir);
    free(dir);
}

/* |a - b| <= 1e-9 * max(1, |b|); a non-finite reference value matches a
 * NaN (summary.json writes null for both) or the same infinity. */
static bool close_to(double got, double want)
{
    if (!isfinite(want))
        return isnan(got) || got == want;
    return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}

/* Checks the case is well conditioned, then compares runner and
 * reference: every epoch, the epoch count, the stop reason, the
 * parameters. */
static void compare(const char *label, const ref_result *ref,
                    const run_out *got)
{
    cr_assert(ref->margin > REF_TIE,
              "%s: ill-conditioned case: at epoch %u a decision value %.17g "
              "is within %g of its tie; change the case", label,
              ref->tie_epoch, ref->tie_value, ref->margin);
    for (size_t k = 0; k < got->rows && k <= ref->epochs; k++) {
        cr_assert(got->epoch[k] == k, "%s: history row %zu is epoch %llu",
                  label, k, got->epoch[k]);
        cr_assert(close_to(got->loss[k], ref->loss[k]),
                  "%s: epoch %zu loss: runner %.17g, reference %.17g", label,
                  k, got->loss[k], ref->loss[k]);
        cr_assert(close_to(got->acc[k], ref->acc[k]),
                  "%s: epoch %zu accuracy: runner %.17g, reference %.17g",
                  label, k, got->acc[k], ref->acc[k]);
    }
    cr_assert(got->rows == (size_t)ref->epochs + 1,
              "%s: history.csv has %zu rows (epochs 0..%zu), reference "
              "stopped after epoch %u (%s)", label, got->rows,
              got->rows ? got->rows - 1 : 0, ref->epochs, ref->stop);
    cr_assert(got->epochs == (long long)ref->epochs,
              "%s: summary epochs %lld, reference %u", label, got->epochs,
              ref->epochs);
    cr_assert(strcmp(got->stop, ref->stop) == 0,
              "%s: stop_reason runner '%s', reference '%s' (epoch %u)", label,
              got->stop, ref->stop, ref->epochs);
    cr_assert(got->n_w == ref->d, "%s: %zu weights, reference %zu", label,
              got->n_w, ref->d);
    for (size_t j = 0; j < ref->d; j++)
        cr_assert(close_to(got->w[j], ref->w[j]),
                  "%s: final weight %zu: runner %.17g, reference %.17g", label,
                  j, got->w[j], ref->w[j]);
    cr_assert(close_to(got->bias, ref->b),
              "%s: final bias: runner %.17g, reference %.17g", label,
              got->bias, ref->b);
}

/* Runs one case through both and compares; the results stay in *ref and
 * *got (heap) for case-specific checks; the caller frees them. */
static void check_case(const char *label, const char *yaml,
                       const char *csv_text, const ref_config *cfg,
                       ref_result **ref, run_out **got)
{
    *ref = malloc(sizeof(**ref));
    *got = malloc(sizeof(**got));
    cr_assert(ref[0] != NULL && got[0] != NULL);
    ref_train(cfg, *ref);
    run_case(label, yaml, csv_text, *got);
    compare(label, *ref, *got);
}

static void check_only(const char *label, const char *yaml,
                       const char *csv_text, const ref_config *cfg)
{
    ref_result *ref;
    run_out *got;
    check_case(label, yaml, csv_text, cfg, &ref, &got);
    free(ref);
    free(got);
}

/* ------------------------------------------------------------------ */
/* The cases.                                                          */
/* ------------------------------------------------------------------ */

/* Twelve rows, three features; the target `label` sits in the MIDDLE of
 * the header, so "default: the last column" and "every other column"
 * cannot be confused with it. */
static const char CSV12[] =
    "alpha,beta,label,gamma\n"
    "1.2,3.4,0,10.5\n"
    "2.7,1.1,0,12.0\n"
    "0.5,4.8,0,9.75\n"
    "3.9,2.2,1,15.25\n"
    "4.4,0.3,1,14.0\n"
    "1.8,2.9,0,11.5\n"
    "5.1,1.7,1,16.75\n"
    "3.3,3.6,1,13.5\n"
    "2.2,4.1,0,10.0\n"
    "4.8,2.5,1,12.25\n"
    "0.9,0.8,0,14.5\n"
    "3.6,0.6,1,11.0\n";

/* (a) The AND gate, sigmoid, zeros, lr 0.5, 200 epochs. */
Test(reference, and_gate_sigmoid)
{
    ref_config c = {.gate = "and", .act = ACT_SIGMOID, .lr = 0.5,
                    .epochs = 200, .loss_below = 0.01};
    ref_result *ref;
    run_out *got;
    check_case("and/sigmoid",
               "name: ref_and\n"
               "data: {generator: and}\n"
               "model: {init: zeros}\n"
               "activation: sigmoid\n"
               "loss: mse\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.5}\n"
               "training: {epochs: 200}\n",
               NULL, &c, &ref, &got);
    cr_assert(strcmp(ref->stop, "max_epochs") == 0 && ref->epochs == 200,
              "the case should run all 200 epochs, reference: %s after %u",
              ref->stop, ref->epochs);
    free(ref);
    free(got);
}

/* (b) CSV, target in the middle, default features (alpha, beta, gamma in
 * file order), standardize, explicit initial parameters. */
Test(reference, csv_standardize_explicit_init)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .normalize = NORM_STANDARDIZE, .explicit_init = true,
                    .weights = {-0.23, 0.41, 0.07}, .bias = 0.15,
                    .act = ACT_SIGMOID, .lr = 0.37, .epochs = 150,
                    .loss_below = 0.01};
    check_only("csv/standardize",
               "name: ref_csv_std\n"
               "seed: 7\n"
               "data:\n"
               "  csv: data.csv\n"
               "  target: label\n"
               "  normalize: standardize\n"
               "model: {weights: [-0.23, 0.41, 0.07], bias: 0.15}\n"
               "activation: {name: sigmoid}\n"
               "loss: mse\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.37}\n"
               "training:\n"
               "  epochs: 150\n",
               CSV12, &c);
}

/* (b2) A constant column whose mean does not round to its value (twelve
 * 0.1s: 0.09999999999999999): standardize makes it 0, not a second bias
 * of +1 (which moved the loss in the third digit).  Eight rows of twelve
 * are 1s, so that the bias, and such a column, learn. */
Test(reference, csv_standardize_constant_column)
{
    char csv[1024] = "alpha,tenth,label\n";
    for (size_t i = 0, at = strlen(csv); i < 12; i++, at = strlen(csv)) {
        size_t k = i * 7 % 12; /* the rows out of order */
        snprintf(csv + at, sizeof(csv) - at, "%.1f,0.1,%d\n",
                 0.5 + 0.4 * (double)k, k >= 4);
    }
    ref_config c = {.csv = csv, .target = "label",
                    .normalize = NORM_STANDARDIZE, .act = ACT_SIGMOID,
                    .lr = 0.5, .epochs = 60, .loss_below = 0.01};
    check_only("csv/standardize/constant",
               "name: ref_csv_constant\n"
               "data: {csv: data.csv, target: label, normalize: standardize}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.5}\n"
               "training: {epochs: 60}\n",
               csv, &c);
}

/* (c) The same CSV, minmax, and `features:` picking two columns in an
 * order that is not the file's. */
Test(reference, csv_minmax_feature_selection)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .features = {"gamma", "alpha", NULL},
                    .normalize = NORM_MINMAX, .explicit_init = true,
                    .weights = {0.62, -0.18}, .bias = -0.05,
                    .act = ACT_SIGMOID, .lr = 0.83, .epochs = 120,
                    .loss_below = 0.01};
    check_only("csv/minmax/features",
               "name: ref_csv_minmax\n"
               "data:\n"
               "  csv: data.csv\n"
               "  target: label\n"
               "  features: [gamma, alpha]\n"
               "  normalize: minmax\n"
               "model:\n"
               "  weights: [0.62, -0.18]\n"
               "  bias: -0.05\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.83}\n"
               "training: {epochs: 120, batch_size: full}\n",
               CSV12, &c);
}

/* (d) Step at threshold 0.5 with the identity surrogate: the batch
 * perceptron rule, on NAND and on OR; both are separable, so the loss
 * reaches 0 and training stops with loss_below. */
Test(reference, step_threshold_nand)
{
    ref_config c = {.gate = "nand", .explicit_init = true,
                    .weights = {0.31, -0.23}, .bias = 0.11, .act = ACT_STEP,
                    .threshold = 0.5, .lr = 0.37, .epochs = 60,
                    .loss_below = 0.01};
    ref_result *ref;
    run_out *got;
    check_case("nand/step",
               "name: ref_nand_step\n"
               "data: {generator: nand}\n"
               "model: {weights: [0.31, -0.23], bias: 0.11}\n"
               "activation: {name: step, threshold: 0.5, surrogate: identity}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.37}\n"
               "training: {epochs: 60}\n",
               NULL, &c, &ref, &got);
    cr_assert(strcmp(ref->stop, "loss_below") == 0 && ref->loss[ref->epochs] == 0,
              "NAND is separable: the perceptron rule should reach loss 0 "
              "(reference: %s after %u)", ref->stop, ref->epochs);
    cr_assert(ref->epochs > 1, "the case should take several epochs");
    free(ref);
    free(got);
}

Test(reference, step_threshold_or)
{
    ref_config c = {.gate = "or", .explicit_init = true,
                    .weights = {-0.23, 0.09}, .bias = 0.71, .act = ACT_STEP,
                    .threshold = 0.5, .lr = 0.29, .epochs = 60,
                    .loss_below = 0.01};
    ref_result *ref;
    run_out *got;
    check_case("or/step",
               "name: ref_or_step\n"
               "data: {generator: or}\n"
               "model: {weights: [-0.23, 0.09], bias: 0.71}\n"
               "activation: {name: step, threshold: 0.5}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.29}\n"
               "training: {epochs: 60}\n",
               NULL, &c, &ref, &got);
    cr_assert(strcmp(ref->stop, "loss_below") == 0 && ref->epochs > 1,
              "reference: %s after %u", ref->stop, ref->epochs);
    free(ref);
    free(got);
}

/* (e) Mini-batches of 5 on 12 rows without shuffling: 3 updates per
 * epoch (rows 0-4, 5-9, 10-11), each the mean over its own batch. */
Test(reference, minibatch_no_shuffle)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .normalize = NORM_STANDARDIZE, .explicit_init = true,
                    .weights = {0.13, -0.27, 0.05}, .bias = -0.19,
                    .act = ACT_SIGMOID, .lr = 0.61, .epochs = 90,
                    .batch = 5, .loss_below = 0.01};
    check_only("csv/minibatch5",
               "name: ref_minibatch\n"
               "data: {csv: data.csv, target: label, normalize: standardize}\n"
               "model: {weights: [0.13, -0.27, 0.05], bias: -0.19}\n"
               "activation: sigmoid\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.61}\n"
               "training: {epochs: 90, batch_size: 5, shuffle: false}\n",
               CSV12, &c);
}

/* Mini-batches of 11 on the raw (unnormalised) 12 rows: two updates per
 * epoch, the second on a last batch of a single row (its mean is over 1). */
Test(reference, minibatch_last_batch_of_one)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .explicit_init = true, .weights = {0.02, -0.04, 0.01},
                    .bias = 0.03, .act = ACT_SIGMOID, .lr = 0.047,
                    .epochs = 40, .batch = 11, .loss_below = 0.01};
    check_only("csv/minibatch11",
               "name: ref_minibatch11\n"
               "data: {csv: data.csv, target: label}\n"
               "model: {weights: [0.02, -0.04, 0.01], bias: 0.03}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.047}\n"
               "training: {epochs: 40, batch_size: 11, shuffle: false}\n",
               CSV12, &c);
}

/* (f) A plateau stop: patience 3, min_delta 1e-3.  The stopping epoch is
 * also pinned as a literal (found with this reference and re-derived with
 * an arbitrary-precision script), so the runner and the reference cannot
 * drift together unnoticed. */
#define PLATEAU_EPOCH 38u
Test(reference, plateau_stop)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .normalize = NORM_STANDARDIZE, .explicit_init = true,
                    .weights = {-0.23, 0.41, 0.07}, .bias = 0.15,
                    .act = ACT_SIGMOID, .lr = 0.37, .epochs = 500,
                    .loss_below = 0.01, .min_delta = 1e-3, .patience = 3};
    ref_result *ref;
    run_out *got;
    check_case("csv/plateau",
               "name: ref_plateau\n"
               "data: {csv: data.csv, target: label, normalize: standardize}\n"
               "model: {weights: [-0.23, 0.41, 0.07], bias: 0.15}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.37}\n"
               "training:\n"
               "  epochs: 500\n"
               "  stop: {loss_below: 0.01, min_delta: 1e-3, patience: 3}\n",
               CSV12, &c, &ref, &got);
    cr_assert(strcmp(got->stop, "plateau") == 0 && got->epochs == PLATEAU_EPOCH,
              "expected a plateau stop at epoch %u, runner: %s at %lld",
              PLATEAU_EPOCH, got->stop, got->epochs);
    /* The rule itself: the last `patience` improvements are all < min_delta
     * and the one before them is not. */
    unsigned k = ref->epochs;
    for (unsigned i = k - 2; i <= k; i++)
        cr_assert(got->loss[i - 1] - got->loss[i] < 1e-3,
                  "epoch %u improved by %g", i, got->loss[i - 1] - got->loss[i]);
    cr_assert(got->loss[k - 4] - got->loss[k - 3] >= 1e-3,
              "epoch %u improved by only %g: the plateau came earlier", k - 3,
              got->loss[k - 4] - got->loss[k - 3]);
    free(ref);
    free(got);
}

/* A plateau where the loss goes up and down: the perceptron rule (step,
 * threshold -0.3) on the minmax-scaled CSV.  Losses x 12 run 3 6 6 2 2 3 1
 * 2 3 4: a rise counts as "improved by less than min_delta", and a real
 * improvement (epochs 3 and 6) resets the count, so the third stalled
 * epoch in a row is epoch 9 (a count that never reset would stop at 4). */
Test(reference, plateau_count_resets)
{
    ref_config c = {.csv = CSV12, .target = "label",
                    .normalize = NORM_MINMAX, .explicit_init = true,
                    .weights = {0.13, -0.27, 0.05}, .bias = -0.19,
                    .act = ACT_STEP, .threshold = -0.3, .lr = 0.37,
                    .epochs = 100, .loss_below = 0.01, .min_delta = 1e-3,
                    .patience = 3};
    ref_result *ref;
    run_out *got;
    check_case("csv/step/plateau",
               "name: ref_plateau_resets\n"
               "data: {csv: data.csv, target: label, normalize: minmax}\n"
               "model: {weights: [0.13, -0.27, 0.05], bias: -0.19}\n"
               "activation: {name: step, threshold: -0.3}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.37}\n"
               "training:\n"
               "  epochs: 100\n"
               "  stop: {min_delta: 0.001, patience: 3}\n",
               CSV12, &c, &ref, &got);
    static const double twelfths[] = {3, 6, 6, 2, 2, 3, 1, 2, 3, 4};
    cr_assert(strcmp(got->stop, "plateau") == 0 && got->epochs == 9,
              "expected a plateau stop at epoch 9, runner: %s at %lld",
              got->stop, got->epochs);
    for (size_t k = 0; k < 10; k++)
        cr_assert(fabs(got->loss[k] * 12 - twelfths[k]) < 1e-12,
                  "epoch %zu: loss %.17g, want %g/12", k, got->loss[k],
                  twelfths[k]);
    free(ref);
    free(got);
}

/* The target by default (the last column), default features, and a
 * constant column, which both normalisations turn into 0 (so its weight
 * never moves). */
static const char CSV_CONST[] =
    "p,q,k,y\n"
    "0.3,-1.7,2.5,0\n"
    "1.9,0.4,2.5,1\n"
    "-0.8,2.2,2.5,0\n"
    "2.6,-0.9,2.5,1\n"
    "0.7,1.3,2.5,1\n"
    "-1.4,0.1,2.5,0\n"
    "1.1,-2.3,2.5,1\n"
    "-0.2,0.9,2.5,0\n";

Test(reference, default_target_constant_column)
{
    static const char *const yaml[] = {
        "name: ref_const_std\n"
        "data: {csv: data.csv, normalize: standardize}\n"
        "model: {weights: [0.4, -0.3, 0.9], bias: -0.07}\n"
        "optimizer: {name: gradient_descent, learning_rate: 0.43}\n"
        "training: {epochs: 70}\n",
        "name: ref_const_minmax\n"
        "data: {csv: data.csv, normalize: minmax}\n"
        "model: {weights: [0.4, -0.3, 0.9], bias: -0.07}\n"
        "optimizer: {name: gradient_descent, learning_rate: 0.43}\n"
        "training: {epochs: 70}\n",
    };
    static const ref_norm how[] = {NORM_STANDARDIZE, NORM_MINMAX};
    for (size_t i = 0; i < 2; i++) {
        ref_config c = {.csv = CSV_CONST, .normalize = how[i],
                        .explicit_init = true, .weights = {0.4, -0.3, 0.9},
                        .bias = -0.07, .act = ACT_SIGMOID, .lr = 0.43,
                        .epochs = 70, .loss_below = 0.01};
        ref_result *ref;
        run_out *got;
        check_case(i == 0 ? "const/standardize" : "const/minmax", yaml[i],
                   CSV_CONST, &c, &ref, &got);
        cr_assert(got->n_w == 3 && got->w[2] == 0.9,
                  "the constant column's weight moved: %.17g", got->w[2]);
        free(ref);
        free(got);
    }
}

/* (f) A loss_below stop at an exact epoch. */
#define LOSS_BELOW_EPOCH 43u
Test(reference, loss_below_stop)
{
    ref_config c = {.gate = "or", .act = ACT_SIGMOID, .lr = 1.7,
                    .epochs = 1000, .loss_below = 0.05};
    ref_result *ref;
    run_out *got;
    check_case("or/loss_below",
               "name: ref_loss_below\n"
               "data: {generator: or}\n"
               "optimizer: {name: gradient_descent, learning_rate: 1.7}\n"
               "training: {epochs: 1000, stop: {loss_below: 0.05}}\n",
               NULL, &c, &ref, &got);
    cr_assert(strcmp(got->stop, "loss_below") == 0 &&
                  got->epochs == LOSS_BELOW_EPOCH,
              "expected loss_below at epoch %u, runner: %s at %lld",
              LOSS_BELOW_EPOCH, got->stop, got->epochs);
    cr_assert(got->loss[LOSS_BELOW_EPOCH] < 0.05 &&
                  got->loss[LOSS_BELOW_EPOCH - 1] >= 0.05,
              "the first epoch under 0.05 should be the last one");
    free(ref);
    free(got);
}

/* (g) Step with surrogate: zero, the true derivative: nothing learns, the
 * loss is constant and training runs to max_epochs with the initial
 * parameters unchanged. */
Test(reference, step_surrogate_zero)
{
    ref_config c = {.gate = "and", .explicit_init = true,
                    .weights = {-0.23, 0.41}, .bias = 0.05, .act = ACT_STEP,
                    .threshold = 0.2, .surrogate_zero = true, .lr = 0.37,
                    .epochs = 25, .loss_below = 0.01};
    ref_result *ref;
    run_out *got;
    check_case("and/step/zero",
               "name: ref_step_zero\n"
               "data: {generator: and}\n"
               "model: {weights: [-0.23, 0.41], bias: 0.05}\n"
               "activation: {name: step, threshold: 0.2, surrogate: zero}\n"
               "optimizer: {name: gradient_descent, learning_rate: 0.37}\n"
               "training: {epochs: 25}\n",
               NULL, &c, &ref, &got);
    cr_assert(strcmp(got->stop, "max_epochs") == 0 && got->epochs == 25);
    for (size_t k = 1; k < got->rows; k++)
        cr_assert(got->loss[k] == got->loss[0] && got->acc[k] == got->acc[0],
                  "epoch %zu: loss %.17g, accuracy %g changed from epoch 0",
                  k, got->loss[k], got->acc[k]);
    /* rows (0,1) -> z = 0.46 >= 0.2 -> 1 but y = 0, and (1,1) -> z = 0.23
     * -> 1, y = 1; (0,0) -> 0.05 -> 0, (1,0) -> -0.18 -> 0: one error. */
    cr_assert(got->loss[0] == 0.25 && got->acc[0] == 0.75,
              "epoch 0: loss %.17g accuracy %g, want 0.25 and 0.75",
              got->loss[0], got->acc[0]);
    cr_assert(got->w[0] == -0.23 && got->w[1] == 0.41 && got->bias == 0.05,
              "the parameters moved: %.17g %.17g %.17g", got->w[0], got->w[1],
              got->bias);
    free(ref);
    free(got);
}

/* The diverged rule: a learning rate of 1e308 on the raw CSV overflows a
 * weight to infinity in the first update, so training stops with
 * `diverged` after epoch 1 (summary.json writes null for the infinite
 * parameters). */
Test(reference, diverged_stop)
{
    ref_config c = {.csv = CSV12, .target = "label", .explicit_init = true,
                    .weights = {0.3, 0.2, -0.1}, .bias = 0.4, .act = ACT_STEP,
                    .threshold = 0.0, .lr = 1e308, .epochs = 10,
                    .loss_below = 0.01};
    ref_result *ref;
    run_out *got;
    check_case("csv/diverged",
               "name: ref_diverged\n"
               "data: {csv: data.csv, target: label}\n"
               "model: {weights: [0.3, 0.2, -0.1], bias: 0.4}\n"
               "activation: step\n"
               "optimizer: {name: gradient_descent, learning_rate: 1e308}\n"
               "training: {epochs: 10}\n",
               CSV12, &c, &ref, &got);
    cr_assert(strcmp(got->stop, "diverged") == 0 && got->epochs == 1,
              "runner: %s at %lld", got->stop, got->epochs);
    free(ref);
    free(got);
}

/* ------------------------------------------------------------------ */
/* 3. The first two epochs of AND by hand.                              */
/* ------------------------------------------------------------------ */

/*
 * AND: rows x = (0,0) (0,1) (1,0) (1,1), y = 0 0 0 1; sigmoid, MSE,
 * gradient descent with lr = 0.5, w = (0, 0), b = 0.
 *
 * Epoch 0.  Every z = 0, so every yhat = 1/2 and
 *     C0 = (1/4) * 4 * (1/2)^2 = 0.25 exactly.
 *   Accuracy: yhat = 0.5 >= 0.5 predicts 1 everywhere; only (1,1) is 1:
 *     0.25.
 *   Gradient: dC/dyhat_i = (2/4)(1/2 - y_i) = +1/4 for y = 0, -1/4 for
 *   y = 1; f'(0) = 1/2 * 1/2 = 1/4; so dC/dz_i = +1/16 (three rows with
 *   y = 0) and -1/16 for (1,1).
 *     dC/dw1 = (1,0): +1/16 + (1,1): -1/16 = 0, dC/dw2 = 0 likewise,
 *     dC/db  = 3/16 - 1/16 = 1/8.
 *   Update: w = (0, 0), b = 0 - 0.5 * 1/8 = -1/16 = -0.0625.
 *
 * Epoch 1.  Every z = -1/16, every yhat = s = 1/(1 + e^(1/16))
 *     e^(1/16) = 1.0644944589178594...,  s = 0.48438008427698437...
 *     C1 = (3 s^2 + (1 - s)^2) / 4 = 0.24243402390568630 (to 17 digits)
 *   Accuracy: s < 0.5 predicts 0 everywhere: 3 of 4 right, 0.75.
 *   Gradient: with f' = s(1 - s),
 *     dC/dz = (1/2) s^2 (1 - s) for y = 0, -(1/2) s (1 - s)^2 for (1,1)
 *     dC/dw1 = dC/dw2 = (1/2) s (1 - s)(2s - 1) = -0.0039011679561123827
 *     dC/db = (1/2) s (1 - s)(4s - 1)          =  0.11707567320417818
 *   Update: w1 = w2 = -0.5 * dC/dw1 = 0.0019505839780561913,
 *           b = -1/16 - 0.5 * dC/db  = -0.12103783660208909.
 *
 * Epoch 2.  z = b = -0.12103783660208909 for (0,0),
 *   b + w1 = -0.11908725262403290 for (0,1) and (1,0),
 *   b + 2 w1 = -0.11713666864597671 for (1,1):
 *     yhat = 0.46977742896326767, 0.47026332177709363 (twice),
 *            0.47074927096151624
 *     C2 = (0.46977...^2 + 2 * 0.47026...^2 + (1 - 0.47074...)^2) / 4
 *        = 0.23577308764218929
 *   Accuracy: every yhat < 0.5, still 0.75.
 * (The decimals were carried to 50 digits with Python's decimal module.)
 */
#define HAND_C1 0.24243402390568629664876905478285233
#define HAND_C2 0.23577308764218929272823568644030114
#define HAND_B1 (-0.0625)
#define HAND_W2 0.0019505839780561913327330676684409438
#define HAND_B2 (-0.12103783660208908962433043352308397)

static bool hand_close(double got, double want)
{
    return fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want));
}

Test(reference, and_gate_first_two_epochs_by_hand)
{
    static const char yaml1[] =
        "name: ref_hand\n"
        "data: {generator: and}\n"
        "model: {init: zeros}\n"
        "activation: sigmoid\n"
        "loss: mse\n"
        "optimizer: {name: gradient_descent, learning_rate: 0.5}\n"
        "training: {epochs: 1}\n";
    static const char yaml2[] =
        "name: ref_hand\n"
        "data: {generator: and}\n"
        "model: {init: zeros}\n"
        "activation: sigmoid\n"
        "loss: mse\n"
        "optimizer: {name: gradient_descent, learning_rate: 0.5}\n"
        "training: {epochs: 2}\n";
    const double want_loss[3] = {0.25, HAND_C1, HAND_C2};
    const double want_acc[3] = {0.25, 0.75, 0.75};

    run_out *got = malloc(sizeof(*got));
    ref_result *ref = malloc(sizeof(*ref));
    cr_assert(got != NULL && ref != NULL);

    /* One epoch: the epoch-1 parameters are the final ones. */
    run_case("hand/1 epoch", yaml1, NULL, got);
    cr_assert(got->rows == 2 && got->epochs == 1 &&
                  strcmp(got->stop, "max_epochs") == 0,
              "1 epoch: %zu history rows, %lld epochs, %s", got->rows,
              got->epochs, got->stop);
    cr_assert(got->loss[0] == 0.25 && got->acc[0] == 0.25,
              "epoch 0: loss %.17g (want 0.25 exactly), accuracy %g (want "
              "0.25)", got->loss[0], got->acc[0]);
    cr_assert(got->n_w == 2 && got->w[0] == 0 && got->w[1] == 0 &&
                  got->bias == HAND_B1,
              "after epoch 1: w = (%.17g, %.17g) b = %.17g, want (0, 0) and "
              "-0.0625 exactly", got->w[0], got->w[1], got->bias);

    /* Two epochs: the losses of epochs 0-2 and the epoch-2 parameters. */
    run_case("hand/2 epochs", yaml2, NULL, got);
    cr_assert(got->rows == 3 && got->epochs == 2,
              "2 epochs: %zu history rows", got->rows);
    for (size_t k = 0; k < 3; k++) {
        cr_assert(hand_close(got->loss[k], want_loss[k]),
                  "epoch %zu loss: runner %.17g, by hand %.17g", k,
                  got->loss[k], want_loss[k]);
        cr_assert(got->acc[k] == want_acc[k],
                  "epoch %zu accuracy: runner %g, by hand %g", k, got->acc[k],
                  want_acc[k]);
    }
    cr_assert(hand_close(got->w[0], HAND_W2) && hand_close(got->w[1], HAND_W2) &&
                  hand_close(got->bias, HAND_B2),
              "after epoch 2: runner w = (%.17g, %.17g) b = %.17g, by hand "
              "w = %.17g b = %.17g", got->w[0], got->w[1], got->bias,
              HAND_W2, HAND_B2);

    /* The reference agrees with the hand computation too. */
    ref_config c = {.gate = "and", .act = ACT_SIGMOID, .lr = 0.5, .epochs = 2,
                    .loss_below = 0.01};
    ref_train(&c, ref);
    cr_assert(ref->epochs == 2 && strcmp(ref->stop, "max_epochs") == 0);
    for (size_t k = 0; k < 3; k++) {
        cr_assert(hand_close(ref->loss[k], want_loss[k]),
                  "reference epoch %zu loss %.17g, by hand %.17g", k,
                  ref->loss[k], want_loss[k]);
        cr_assert(ref->acc[k] == want_acc[k]);
    }
    cr_assert(hand_close(ref->w[0], HAND_W2) && hand_close(ref->w[1], HAND_W2) &&
              hand_close(ref->b, HAND_B2));
    compare("hand/2 epochs", ref, got);
    free(got);
    free(ref);
}

/* ------------------------------------------------------------------ */
/* Large passes: split over threads, still the reference's numbers.     */
/* ------------------------------------------------------------------ */

/* 36,000 rows x 8 features (288,000 values: above the 2^18 at which a
 * pass is split over threads), from a fixed generator; the label is a
 * noisy linear rule, so the classes overlap and the loss keeps moving. */
static char *large_csv(void)
{
    enum { ROWS = 36000, COLS = 8 };
    size_t cap = (size_t)ROWS * (COLS + 1) * 12 + 64, len = 0;
    char *text = malloc(cap);
    cr_assert(text != NULL);
    len += (size_t)snprintf(text, cap, "a,b,c,d,e,f,g,h,label\n");
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < ROWS; i++) {
        double sum = 0;
        for (int j = 0; j < COLS; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
            double v = (double)(s >> 11) / 9007199254740992.0 * 4 - 2;
            sum += (j % 3 - 1) * v;
            len += (size_t)snprintf(text + len, cap - len, "%.6f,", v);
        }
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double noise = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
        len += (size_t)snprintf(text + len, cap - len, "%d\n",
                                sum + noise > 0);
    }
    return text;
}

/* Full batch and mini-batches of 33,000 rows (a split pass over gathered
 * rows), each with NNLAB_THREADS=1 and 2: both match the reference, and
 * each other exactly (chunks are summed in the same order either way). */
/* The same losses, accuracies and parameters, bit for bit. */
static void expect_same_bits(const run_out *one, const run_out *other,
                             const char *what)
{
    cr_assert(eq(sz, one->rows, other->rows), "%s", what);
    for (size_t k = 0; k < one->rows; k++)
        cr_assert(one->loss[k] == other->loss[k] &&
                      one->acc[k] == other->acc[k],
                  "epoch %zu: 1 thread %.17g, %s %.17g", k, one->loss[k],
                  what, other->loss[k]);
    cr_assert(eq(sz, one->n_w, other->n_w), "%s", what);
    for (size_t j = 0; j < one->n_w; j++)
        cr_assert(one->w[j] == other->w[j], "%s: w[%zu]", what, j);
    cr_assert(one->bias == other->bias, "%s", what);
}

Test(reference, large_passes_match_with_one_or_two_threads, .timeout = 60)
{
    char *csv = large_csv();
    static const size_t batches[] = {0, 33000};
    static const char *const batch_words[] = {"full", "33000"};
    for (size_t i = 0; i < 2; i++) {
        ref_config c = {.csv = csv, .normalize = NORM_STANDARDIZE,
                        .act = ACT_SIGMOID, .lr = 0.8, .epochs = 6,
                        .batch = batches[i], .loss_below = 1e-6};
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 "name: ref_large\n"
                 "data: {csv: data.csv, normalize: standardize}\n"
                 "optimizer: {name: gradient_descent, learning_rate: 0.8}\n"
                 "training: {epochs: 6, batch_size: %s, shuffle: false, "
                 "stop: {loss_below: 1e-6}}\n",
                 batch_words[i]);
        ref_result *ref = malloc(sizeof(*ref));
        run_out *one = malloc(sizeof(*one)), *two = malloc(sizeof(*two));
        cr_assert(ref != NULL && one != NULL && two != NULL);
        ref_train(&c, ref);
        setenv("NNLAB_THREADS", "1", 1);
        run_case("large/1 thread", yaml, csv, one);
        setenv("NNLAB_THREADS", "2", 1);
        run_case("large/2 threads", yaml, csv, two);
        compare("large/1 thread", ref, one);
        compare("large/2 threads", ref, two);
        expect_same_bits(one, two, "2 threads");
        /* Nine threads (one per chunk) on fewer cores: they are held up
         * in turn, and take chunks from each other's ranges. */
        setenv("NNLAB_THREADS", "16", 1);
        run_case("large/9 threads", yaml, csv, two);
        unsetenv("NNLAB_THREADS");
        expect_same_bits(one, two, "9 threads");
        free(ref);
        free(one);
        free(two);
    }
    free(csv);
}

/* A pass split over threads that fails in two chunks reports the first
 * chunk's failure, whichever thread meets the other first: the last row
 * of chunk 3 (the first thread's range of two) has target 7, the first
 * row of chunk 4 (the second thread's first) target 9, and the loss
 * (tests/fixtures/target_codes.c) refuses both with their numbers. */
Test(reference, a_split_pass_reports_its_first_failing_chunk, .timeout = 60)
{
    enum { ROWS = 36000, COLS = 8 };
    size_t cap = (size_t)ROWS * (COLS * 2 + 3) + 64, len = 0;
    char *csv = malloc(cap);
    cr_assert(csv != NULL);
    len += (size_t)snprintf(csv, cap, "a,b,c,d,e,f,g,h,label\n");
    for (int i = 0; i < ROWS; i++) {
        for (int j = 0; j < COLS; j++)
            len += (size_t)snprintf(csv + len, cap - len, "%d,", (i + j) % 3);
        int label = i == 4 * 4096 - 1 ? 7 : i == 4 * 4096 ? 9 : i % 2;
        len += (size_t)snprintf(csv + len, cap - len, "%d\n", label);
    }
    char *dir = th_tempdir();
    free(th_put(dir, "data.csv", csv));
    char *cfg = th_put(dir, "config.yaml",
                       "data: {csv: data.csv}\n"
                       "loss: target_codes\n"
                       "training: {epochs: 3}\n");
    char *out = th_join(dir, "out");
    char *fixtures = th_fixture("target_codes");
    *strrchr(fixtures, '/') = '\0';
    static const char *const threads[] = {"1", "2", "16"};
    for (size_t i = 0; i < 3; i++) {
        setenv("NNLAB_THREADS", threads[i], 1);
        th_run r = th_runner(cfg, "-q", "-P", fixtures, "-o", out, NULL);
        unsetenv("NNLAB_THREADS");
        cr_assert(eq(int, r.status, 3), "%s threads: exit %d\n%s",
                  threads[i], r.status, r.err);
        th_assert_contains(r.err, "value() failed (returned 7): target 7 is "
                                  "refused\n");
        th_run_free(&r);
    }
    free(fixtures);
    free(out);
    free(cfg);
    th_rmtree(dir);
    free(dir);
    free(csv);
}
