/* dataset.c - generated data, the split and normalisation. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "numfmt.h"
#include "rng.h"

/* Transparent huge pages: 2 MiB on x86-64 and most arm64 kernels. */
#define HUGE_PAGE ((size_t)2 << 20)

/* A cache line: the pass's widest vector loads (64 bytes) then stay in
 * one line, where malloc's 16-byte alignment split every one of them in
 * two (17% of the pass at 500 x 64, in cache). */
#define LINE ((size_t)64)

double *nl_values_alloc(size_t count)
{
    size_t bytes = count * sizeof(double) + 1;
    if (bytes < 2 * HUGE_PAGE)
        return aligned_alloc(LINE, (bytes + LINE - 1) / LINE * LINE);
    /* Aligned and whole, so that every page of it can be a huge one. */
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    double *p = aligned_alloc(HUGE_PAGE, bytes);
#ifdef MADV_HUGEPAGE
    if (p != NULL)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: may be refused */
#endif
    return p;
}

int nl_dataset_alloc(nl_dataset *ds, size_t n, size_t d)
{
    ds->n = n;
    ds->d = d;
    ds->y = NULL;
    ds->labels = NULL;
    ds->x = nl_values_alloc(n * d + n);
    if (ds->x == NULL)
        return -1;
    ds->y = ds->x + n * d;
    return 0;
}

void nl_dataset_free(nl_dataset *ds)
{
    free(ds->x);
    free(ds->labels);
    memset(ds, 0, sizeof(*ds));
}

void nl_dataset_pack_labels(nl_dataset *ds)
{
    free(ds->labels);
    ds->labels = NULL;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] != 1.0 && (ds->y[i] != 0.0 || signbit(ds->y[i])))
            return;
    if (ds->n == 0 || (ds->labels = malloc(ds->n)) == NULL)
        return;
    for (size_t i = 0; i < ds->n; i++)
        ds->labels[i] = ds->y[i] == 1.0;
}

int nl_data_gate(const char *name, nl_dataset *out)
{
    static const struct {
        const char *name;
        double y[4];
    } gates[] = {
        {"and", {0, 0, 0, 1}}, {"or", {0, 1, 1, 1}}, {"nand", {1, 1, 1, 0}},
        {"nor", {1, 0, 0, 0}}, {"xor", {0, 1, 1, 0}},
    };
    static const double x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    for (size_t g = 0; g < sizeof(gates) / sizeof(gates[0]); g++) {
        if (strcmp(gates[g].name, name) != 0)
            continue;
        if (nl_dataset_alloc(out, 4, 2) < 0)
            return -1;
        memcpy(out->x, x, sizeof(x));
        memcpy(out->y, gates[g].y, sizeof(gates[g].y));
        return 0;
    }
    return -1;
}

int nl_data_blobs(size_t samples, size_t features, double separation,
                  double noise, uint64_t seed, nl_dataset *out)
{
    if (nl_dataset_alloc(out, samples, features) < 0)
        return -1;
    nl_rng rng;
    nl_rng_seed(&rng, seed, NL_STREAM_DATA);
    double offset = separation / (2.0 * sqrt((double)features));
    for (size_t i = 0; i < samples; i++) {
        double label = (double)(i % 2);
        double center = label > 0 ? offset : -offset;
        for (size_t j = 0; j < features; j++)
            out->x[i * features + j] = center + noise * nl_rng_normal(&rng);
        out->y[i] = label;
    }
    return 0;
}

int nl_data_split(nl_dataset *all, const nl_data_config *data, uint64_t seed,
                  nl_dataset *train, nl_dataset *test, nl_diag *d)
{
    const double test_fraction = data->test_fraction;
    size_t n = all->n, dim = all->d;
    size_t n_test = (size_t)floor(test_fraction * (double)n + 0.5);
    memset(test, 0, sizeof(*test));
    test->d = dim;
    if (n_test == 0) {
        *train = *all;
        memset(all, 0, sizeof(*all));
        return 0;
    }
    if (n_test >= n) {
        nl_dataset_free(all);
        char num[NL_NUM_MAX];
        return nl_fail_where(d, NL_EINPUT, &data->test_fraction_at,
                             "data.test_fraction %s of %zu rows leaves no "
                             "training row; lower it",
                             nl_num(test_fraction, num), n);
    }
    size_t *idx = malloc(n * sizeof(*idx));
    char *held = calloc(n, 1);
    int rc = -1;
    if (idx == NULL || held == NULL ||
        nl_dataset_alloc(train, n - n_test, dim) < 0 ||
        nl_dataset_alloc(test, n_test, dim) < 0) {
        nl_dataset_free(train);
        nl_dataset_free(test);
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    nl_rng rng;
    nl_rng_seed(&rng, seed, NL_STREAM_SPLIT);
    nl_rng_shuffle(&rng, idx, n);
    for (size_t i = 0; i < n_test; i++)
        held[idx[i]] = 1;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        nl_dataset *to = held[i] ? test : train;
        size_t row = held[i] ? b++ : a++;
        memcpy(to->x + row * dim, all->x + i * dim, dim * sizeof(double));
        to->y[row] = all->y[i];
    }
    rc = 0;
out:
    free(idx);
    free(held);
    nl_dataset_free(all);
    return rc;
}

/* Column j's training values scaled by a power of two, so that the
 * largest is in [0.5, 1) (or, subnormal, as near as 2^1022 takes it):
 * *scale, and their minimum and maximum.  The
 * scaling is exact (unless a value falls below 2^-1022 times the
 * largest), so every result below has the same bits as without it, but
 * no sum or square overflows or underflows whatever the column's scale
 * (values near 1e200 or 1e-200 were set to 0). */
static void column_scale(const nl_dataset *ds, size_t j, double *scale,
                         double *lo, double *hi)
{
    *lo = HUGE_VAL, *hi = -HUGE_VAL;
    for (size_t i = 0; i < ds->n; i++) {
        double v = ds->x[i * ds->d + j];
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
    double largest = fmax(fabs(*lo), fabs(*hi));
    int exponent = 0;
    if (largest > 0 && isfinite(largest))
        frexp(largest, &exponent);
    if (exponent < -1022) /* subnormal: 2^1022 is as far as a scale goes */
        exponent = -1022;
    *scale = ldexp(1.0, -exponent);
    *lo *= *scale, *hi *= *scale;
}

/* Maps column j of train and test to (x - shift) / by, both fitted on the
 * scaled training values; a column constant over the training rows (by
 * 0) becomes 0, as the mean's rounding would otherwise leave it a random
 * +-1. */
static void column_map(nl_dataset *train, nl_dataset *test, size_t j,
                       double scale, double shift, double by)
{
    for (nl_dataset *ds = train; ds != NULL; ds = ds == train ? test : NULL)
        for (size_t i = 0; i < ds->n; i++) {
            double *v = &ds->x[i * ds->d + j];
            /* Divided, not multiplied by 1/by: the correctly rounded
             * quotient is what an independent implementation gets. */
            *v = by > 0 ? (*v * scale - shift) / by : 0.0;
        }
}

void nl_data_normalize(nl_normalize how, nl_dataset *train, nl_dataset *test)
{
    if (how == NL_NORMALIZE_NONE)
        return;
    const size_t n = train->n, dim = train->d;
    for (size_t j = 0; j < dim; j++) {
        double scale, lo, hi;
        column_scale(train, j, &scale, &lo, &hi);
        if (lo == hi) { /* constant: 0 either way */
            column_map(train, test, j, scale, lo, 0.0);
            continue;
        }
        if (how == NL_NORMALIZE_MINMAX) {
            column_map(train, test, j, scale, lo, hi - lo);
            continue;
        }
        double sum = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            sum += train->x[i * dim + j] * scale;
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) {
            double e = train->x[i * dim + j] * scale - mean;
            ss += e * e;
        }
        column_map(train, test, j, scale, mean, sqrt(ss / (double)n));
    }
}

int nl_data_load(const nl_data_config *data, uint64_t seed, nl_dataset *train,
                 nl_dataset *test, nl_diag *d)
{
    nl_dataset all = {0};
    memset(train, 0, sizeof(*train));
    memset(test, 0, sizeof(*test));
    switch (data->source) {
    case NL_SOURCE_GATE:
        if (nl_data_gate(data->generator, &all) < 0)
            return nl_fail(d, NL_EINPUT, "unknown generator '%s'",
                           data->generator);
        break;
    case NL_SOURCE_BLOBS:
        if (nl_data_blobs(data->samples, data->features, data->separation,
                          data->noise, seed, &all) < 0)
            return nl_fail(d, NL_EFAIL, "out of memory for %zu x %zu blobs",
                           data->samples, data->features);
        break;
    case NL_SOURCE_CSV:
        if (nl_data_csv(data->csv, &data->csv_at, data->target,
                        data->columns, data->n_columns, &all, d) < 0)
            return -1;
        break;
    }
    if (nl_data_split(&all, data, seed, train, test, d) < 0)
        return -1;
    nl_data_normalize(data->normalize, train, test);
    nl_dataset_pack_labels(train);
    nl_dataset_pack_labels(test);
    return 0;
}
