/*
 * dataset.h - the rows a perceptron trains on: generated (logic gates,
 * Gaussian blobs) or read from CSV, split into training and held-out rows,
 * and normalised with statistics of the training rows only.
 */
#ifndef NL_DATASET_H
#define NL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"

/* n rows of d features, row-major, and their targets. */
typedef struct nl_dataset {
    size_t n, d;
    double *x; /* n * d values */
    double *y; /* n values */
    /* y as bytes when every target is 0 or 1 (+0.0 or 1.0), else NULL: a
     * pass that streams X from memory reads these, an eighth of y's
     * traffic (nl_dataset_pack_labels). */
    unsigned char *labels;
} nl_dataset;

/* Allocates an n x d set in one block (free with nl_dataset_free).
 * Returns 0, or -1 when out of memory. */
int nl_dataset_alloc(nl_dataset *ds, size_t n, size_t d);
void nl_dataset_free(nl_dataset *ds);

/* Sets ds->labels when every target is +0.0 or 1.0 (nl_data_load does
 * it for the sets it returns).  Without memory for them it leaves them
 * NULL: they only save time. */
void nl_dataset_pack_labels(nl_dataset *ds);

/* Room for count values (free with free()), aligned to a cache line.  A
 * big block is aligned to 2 MiB and, on Linux, advised for transparent
 * huge pages before it is first written: X is then read with a TLB miss
 * every 2 MiB instead of every 4 KiB, and a pass over 1,000,000 x 16 is
 * 7-12% faster.  Returns NULL when out of memory. */
double *nl_values_alloc(size_t count);

/* Builds the rows `data` describes (seeded by `seed`), splits off
 * test_fraction of them (rounded to the nearest row, chosen by the seed,
 * both parts kept in file order) and normalises both parts with the
 * training rows' statistics.  test may come back with n = 0.  Returns 0, or
 * -1 with d set (NL_EINPUT for bad data, FILE:LINE in the message). */
int nl_data_load(const nl_data_config *data, uint64_t seed, nl_dataset *train,
                 nl_dataset *test, nl_diag *d);

/* The logic gate `name` (and|or|nand|nor|xor): rows (0,0) (0,1) (1,0)
 * (1,1).  Returns 0, or -1 for an unknown name. */
int nl_data_gate(const char *name, nl_dataset *out);

/* Two Gaussian clusters: row i has label i % 2 and features drawn around
 * -+ separation/2 along the diagonal unit vector, standard deviation
 * `noise`.  Returns 0, or -1 when out of memory. */
int nl_data_blobs(size_t samples, size_t features, double separation,
                  double noise, uint64_t seed, nl_dataset *out);

/* Reads a CSV file with a header row; the target is the column `target`
 * (NULL: the last) and the features are `columns` (NULL: every other
 * column).  Returns 0, or -1 with d set (NL_EINPUT, "FILE:LINE: error:";
 * a file that cannot be opened at named_at, where a config named it, when
 * that is not NULL). */
int nl_data_csv(const char *path, const nl_where *named_at,
                const char *target, char *const *columns, size_t n_columns,
                nl_dataset *out, nl_diag *d);

/* The error for a data file that cannot be opened (errno err): at
 * named_at, where a config named it, or at the path itself when that is
 * NULL.  Returns -1.  A study checks its runs' files with it too. */
int nl_data_unreadable(const char *path, const nl_where *named_at, int err,
                       nl_diag *d);

/* Splits `all` (consumed) into train and test per data->test_fraction.
 * Returns 0, or -1 with d set (at test_fraction's place in the config
 * when it leaves no training row). */
int nl_data_split(nl_dataset *all, const nl_data_config *data, uint64_t seed,
                  nl_dataset *train, nl_dataset *test, nl_diag *d);

/* Normalises train in place and test with train's statistics. */
void nl_data_normalize(nl_normalize how, nl_dataset *train, nl_dataset *test);

#endif
