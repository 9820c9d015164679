/*
 * test_csv.c - CSV data: every bad file is `FILE:LINE: error: ...` with the
 * right line, from nl_data_csv and from the runner (exit status 2, no
 * result directory); the happy paths (target and feature selection, quoted
 * header cells, CRLF, blank lines, a pipe); the held-out split;
 * normalisation fitted on the training rows only; and big data sets in
 * memory the kernel may back with huge pages.
 */
#include "helpers.h"

#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "config.h"
#include "dataset.h"
#include "perceptron.h"
#include "plugin_loader.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TOL 1e-12

/* Writes DIR/NAME; returns its canonical (realpath) name, malloc'd. */
static char *put_real(const char *dir, const char *name, const char *text)
{
    char *p = th_put(dir, name, text);
    char *canon = th_real(p);
    free(p);
    return canon;
}

/* Reads a CSV text through nl_data_csv (in a fresh temp dir). */
static int read_csv(const char *text, const char *target,
                    const char *const *features, size_t n_features,
                    nl_dataset *out, nl_diag *d, char **path_out)
{
    char *dir = th_tempdir();
    char *path = put_real(dir, "data.csv", text);
    memset(d, 0, sizeof(*d));
    int rc = nl_data_csv(path, NULL, target, (char *const *)features,
                         n_features, out, d);
    th_rmtree(dir);
    free(dir);
    if (path_out != NULL)
        *path_out = path;
    else
        free(path);
    return rc;
}

static void expect_values(const double *got, const double *want, size_t n,
                          const char *what)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(eq(dbl, got[i], want[i]), "%s[%zu]: %.17g, want %.17g",
                  what, i, got[i], want[i]);
}

/* ------------------------------------------------------------------ */
/* Bad CSV files */

typedef struct bad_csv {
    const char *label;
    const char *text;
    const char *target;          /* NULL: the last column */
    const char *features[3];     /* n_features of them; 0: all others */
    size_t n_features;
    const char *expect;          /* after "<path>" */
} bad_csv;

static const bad_csv bad_csvs[] = {
    {"short row", "a,b,y\n1,2,0\n3,4\n", NULL, {0}, 0,
     ":3: error: row has 2 cells but the header has 3"},
    {"long row", "a,b,y\n1,2,0\n3,4,1,5\n", NULL, {0}, 0,
     ":3: error: row has 4 cells but the header has 3"},
    {"short row, CRLF", "a,b,y\r\n1,2,0\r\n3,4\r\n", NULL, {0}, 0,
     ":3: error: row has 2 cells but the header has 3"},
    {"non-numeric feature", "a,b,y\n1,2,0\n3,x,1\n", NULL, {0}, 0,
     ":3: error: column 'b': 'x' is not a finite number"},
    {"non-numeric target", "a,b,y\n1,2,yes\n", NULL, {0}, 0,
     ":2: error: column 'y': 'yes' is not a finite number"},
    {"number with junk", "a,b,y\n1,2,0\n1,2.5kg,0\n", NULL, {0}, 0,
     ":3: error: column 'b': '2.5kg' is not a finite number"},
    {"hex number", "a,b,y\n0x10,2,0\n", NULL, {0}, 0,
     ":2: error: column 'a': '0x10' is not a finite number"},
    {"empty cell", "a,b,y\n1,,0\n", NULL, {0}, 0,
     ":2: error: column 'b' is empty; every cell must be a number"},
    {"blank lines count", "a,b,y\n\n1,2,0\n   \n3,x,1\n", NULL, {0}, 0,
     ":5: error: column 'b': 'x' is not a finite number"},
    {"nan", "a,b,y\n1,2,0\n\n1,nan,1\n", NULL, {0}, 0,
     ":4: error: column 'b': 'nan' is not a finite number"},
    {"NaN", "a,b,y\nNaN,2,0\n", NULL, {0}, 0,
     ":2: error: column 'a': 'NaN' is not a finite number"},
    {"inf", "a,b,y\n1,2,0\n1,inf,1\n", NULL, {0}, 0,
     ":3: error: column 'b': 'inf' is not a finite number"},
    {"-Infinity", "a,b,y\n1,2,0\n1,-Infinity,1\n", NULL, {0}, 0,
     ":3: error: column 'b': '-Infinity' is not a finite number"},
    {"overflow to infinity", "a,b,y\n1,2,0\n1,2,1e999\n", NULL, {0}, 0,
     ":3: error: column 'y': '1e999' is not a finite number"},
    {"empty file", "", NULL, {0}, 0,
     ":1: error: empty file; expected a header row of column names"},
    {"only blank lines", "\n  \n\n", NULL, {0}, 0,
     ":1: error: empty file; expected a header row of column names"},
    {"header only", "a,b,y\n", NULL, {0}, 0,
     ":2: error: no data rows after the header"},
    {"numbers for a header", "1,2,3\n4,5,6\n", NULL, {0}, 0,
     ":1: error: the first row must name the columns, but cell 1 is '1'"},
    {"empty header cell", "a,,y\n1,2,3\n", NULL, {0}, 0,
     ":1: error: the first row must name the columns, but cell 2 is ''"},
    {"one column", "y\n1\n", NULL, {0}, 0,
     ":1: error: need at least two columns (features and a target), found "
     "1"},
    {"unterminated quote", "a,b,y\n1,\"2,0\n", NULL, {0}, 0,
     ":2: error: unterminated quoted cell"},
    {"text after a quote", "a,b,y\n1,\"2\"x,0\n", NULL, {0}, 0,
     ":2: error: text after a closing quote"},
    {"unknown target, did you mean", "a,b,label\n1,2,0\n", "lable", {0}, 0,
     ":1: error: no column 'lable' (target) in the header; did you mean "
     "'label'?"},
    {"unknown target, nothing close", "a,b,y\n1,2,0\n", "species", {0}, 0,
     ":1: error: no column 'species' (target) in the header (columns: a b "
     "y)"},
    {"unknown target after blank lines", "\n\na,b,label\n1,2,0\n", "lable",
     {0}, 0,
     ":3: error: no column 'lable' (target) in the header; did you mean "
     "'label'?"},
    {"unknown feature", "alpha,beta,y\n1,2,0\n", NULL, {"alpha", "betta"}, 2,
     ":1: error: no column 'betta' (feature) in the header; did you mean "
     "'beta'?"},
    {"target listed as a feature", "a,b,y\n1,2,0\n", NULL, {"a", "y"}, 2,
     ":1: error: column 'y' is the target; it cannot also be a feature"},
    {"named target listed as a feature", "a,b,y\n1,2,0\n", "a", {"a"}, 1,
     ":1: error: column 'a' is the target; it cannot also be a feature"},
    {"feature listed twice", "a,b,y\n1,2,0\n", NULL, {"b", "a", "b"}, 3,
     ":1: error: feature 'b' is listed twice"},
};

ParameterizedTestParameters(csv_bad, refused)
{
    /* An index into the table: the test runs in a freshly executed
     * process, where the parent's pointers mean nothing. */
    static size_t idx[COUNT(bad_csvs)];
    for (size_t i = 0; i < COUNT(bad_csvs); i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, COUNT(idx));
}

/* The config text for csv: data.csv with b's target and features. */
static char *csv_config(const bad_csv *b)
{
    char feats[256] = "";
    if (b->n_features > 0) {
        strcat(feats, ", features: [");
        for (size_t i = 0; i < b->n_features; i++) {
            strcat(feats, i ? ", " : "");
            strcat(feats, b->features[i]);
        }
        strcat(feats, "]");
    }
    char *text = NULL;
    cr_assert(asprintf(&text, "data: {csv: data.csv%s%s%s}\n"
                              "training: {epochs: 2}\n",
                       b->target ? ", target: " : "",
                       b->target ? b->target : "", feats) >= 0);
    return text;
}

ParameterizedTest(size_t *k, csv_bad, refused)
{
    const bad_csv *b = &bad_csvs[*k];
    char *dir = th_tempdir();
    char *csv = put_real(dir, "data.csv", b->text);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s%s", csv, b->expect) >= 0);

    /* The library. */
    nl_dataset ds;
    nl_diag d = {0};
    char *const *feats =
        b->n_features ? (char *const *)b->features : NULL;
    cr_assert(eq(int, nl_data_csv(csv, NULL, b->target, feats,
                                  b->n_features, &ds, &d), -1),
              "%s: accepted", b->label);
    cr_assert(eq(int, (int)d.status, NL_EINPUT), "%s", b->label);
    cr_assert(eq(str, d.message, want), "%s", b->label);

    /* The runner. */
    char *yaml = csv_config(b);
    char *cfg = put_real(dir, "exp.yaml", yaml);
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    char *line = NULL;
    cr_assert(asprintf(&line, "%s\n", want) >= 0);
    cr_assert(eq(int, r.status, 2), "%s: exit %d: %s", b->label, r.status,
              r.err);
    cr_assert(eq(str, r.err, line), "%s", b->label);
    cr_assert(th_exists(out) == false, "%s: a result directory was made",
              b->label);
    th_run_free(&r);
    free(line);
    free(out);
    free(cfg);
    free(yaml);
    free(want);
    free(csv);
    th_rmtree(dir);
    free(dir);
}

Test(csv_bad, missing_file)
{
    char *dir = th_tempdir();
    char real[PATH_MAX];
    cr_assert(realpath(dir, real) != NULL);
    char *cfg = put_real(dir, "exp.yaml", "data: {csv: nothere.csv}\n");
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s/exp.yaml:1:13: error: cannot open data file "
                              "%s/nothere.csv: No such file or directory "
                              "(data.csv is relative to the config file)\n",
                       real, real) >= 0);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, want));
    cr_assert(th_exists(out) == false);
    th_run_free(&r);
    free(want);
    free(out);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Happy paths */

Test(csv_ok, default_target_is_the_last_column)
{
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("a,b,y\n1,2,0\n-3.5,4e1,1\n", NULL, NULL, 0,
                               &ds, &d, NULL), 0), "%s", d.message);
    cr_assert(eq(sz, ds.n, 2));
    cr_assert(eq(sz, ds.d, 2));
    expect_values(ds.x, (const double[]){1, 2, -3.5, 40}, 4, "x");
    expect_values(ds.y, (const double[]){0, 1}, 2, "y");
    nl_dataset_free(&ds);
}

Test(csv_ok, target_by_name_in_the_middle)
{
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("a,label,b\n1,0,2\n3,1,4\n5,1,6\n", "label",
                               NULL, 0, &ds, &d, NULL), 0), "%s", d.message);
    cr_assert(eq(sz, ds.n, 3));
    cr_assert(eq(sz, ds.d, 2));
    expect_values(ds.x, (const double[]){1, 2, 3, 4, 5, 6}, 6, "x");
    expect_values(ds.y, (const double[]){0, 1, 1}, 3, "y");
    nl_dataset_free(&ds);
}

Test(csv_ok, features_selection_and_order)
{
    static const char *const feats[] = {"c", "a"};
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("a,b,c,y\n1,2,3,0\n4,5,6,1\n", NULL, feats, 2,
                               &ds, &d, NULL), 0), "%s", d.message);
    cr_assert(eq(sz, ds.d, 2));
    expect_values(ds.x, (const double[]){3, 1, 6, 4}, 4, "x");
    expect_values(ds.y, (const double[]){0, 1}, 2, "y");
    nl_dataset_free(&ds);

    /* With a named target, the features may come from either side. */
    static const char *const feats2[] = {"y", "a"};
    cr_assert(eq(int, read_csv("a,b,c,y\n1,2,3,0\n4,5,6,1\n", "b", feats2, 2,
                               &ds, &d, NULL), 0), "%s", d.message);
    expect_values(ds.x, (const double[]){0, 1, 1, 4}, 4, "x");
    expect_values(ds.y, (const double[]){2, 5}, 2, "y");
    nl_dataset_free(&ds);
}

Test(csv_ok, quoted_cells_and_spaces)
{
    static const char *const feats[] = {"b \"q\"", "first, col"};
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("\"first, col\", \"b \"\"q\"\"\" ,\"y\"\n"
                               " 1 ,\"2.5\", 0\n",
                               "y", feats, 2, &ds, &d, NULL), 0), "%s",
              d.message);
    cr_assert(eq(sz, ds.n, 1));
    expect_values(ds.x, (const double[]){2.5, 1}, 2, "x");
    expect_values(ds.y, (const double[]){0}, 1, "y");
    nl_dataset_free(&ds);
}

Test(csv_ok, crlf_bom_and_blank_lines)
{
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("\xef\xbb\xbf" "a,b,y\r\n\r\n1,2,0\r\n  \r\n"
                               "3,4,1\r\n\r\n",
                               "y", NULL, 0, &ds, &d, NULL), 0), "%s",
              d.message);
    cr_assert(eq(sz, ds.n, 2));
    expect_values(ds.x, (const double[]){1, 2, 3, 4}, 4, "x");
    expect_values(ds.y, (const double[]){0, 1}, 2, "y");
    nl_dataset_free(&ds);

    /* No newline at the end of the file. */
    cr_assert(eq(int, read_csv("a,y\n7,1", NULL, NULL, 0, &ds, &d, NULL), 0),
              "%s", d.message);
    cr_assert(eq(sz, ds.n, 1));
    expect_values(ds.x, (const double[]){7}, 1, "x");
    nl_dataset_free(&ds);
}

/* ------------------------------------------------------------------ */
/* The held-out split */

/* Ten rows: x = (i, i*i), y = i, so every row says which it was. */
static const char ten_rows[] =
    "i,sq,y\n0,0,0\n1,1,1\n2,4,2\n3,9,3\n4,16,4\n5,25,5\n6,36,6\n7,49,7\n"
    "8,64,8\n9,81,9\n";

static void load_split(const char *csv, double fraction, uint64_t seed,
                       nl_normalize how, nl_dataset *train, nl_dataset *test)
{
    nl_data_config cfg = {0};
    cfg.source = NL_SOURCE_CSV;
    cfg.csv = (char *)csv;
    cfg.normalize = how;
    cfg.test_fraction = fraction;
    nl_diag d = {0};
    cr_assert(eq(int, nl_data_load(&cfg, seed, train, test, &d), 0), "%s",
              d.message);
}

Test(csv_split, train_plus_test_is_every_row)
{
    char *dir = th_tempdir();
    char *csv = put_real(dir, "ten.csv", ten_rows);
    nl_dataset train, test;
    load_split(csv, 0.3, 42, NL_NORMALIZE_NONE, &train, &test);
    cr_assert(eq(sz, train.n, 7));
    cr_assert(eq(sz, test.n, 3));
    cr_assert(eq(sz, train.d, 2));
    cr_assert(eq(sz, test.d, 2));
    int seen[10] = {0};
    for (nl_dataset *ds = &train; ds != NULL; ds = ds == &train ? &test : NULL)
        for (size_t i = 0; i < ds->n; i++) {
            double y = ds->y[i];
            cr_assert(y >= 0 && y <= 9 && y == floor(y));
            seen[(int)y]++;
            /* Rows stay whole and in file order. */
            cr_assert(eq(dbl, ds->x[i * 2], y));
            cr_assert(eq(dbl, ds->x[i * 2 + 1], y * y));
            if (i > 0)
                cr_assert(ds->y[i - 1] < y, "not in file order");
        }
    for (int i = 0; i < 10; i++)
        cr_assert(eq(int, seen[i], 1), "row %d seen %d times", i, seen[i]);

    /* The same seed holds out the same rows; some other seed does not. */
    nl_dataset train2, test2;
    load_split(csv, 0.3, 42, NL_NORMALIZE_NONE, &train2, &test2);
    expect_values(test2.y, test.y, 3, "test rows");
    expect_values(train2.y, train.y, 7, "train rows");
    nl_dataset_free(&train2);
    nl_dataset_free(&test2);
    bool differs = false;
    for (uint64_t seed = 1; seed <= 20 && !differs; seed++) {
        load_split(csv, 0.3, seed, NL_NORMALIZE_NONE, &train2, &test2);
        differs = memcmp(test2.y, test.y, 3 * sizeof(double)) != 0;
        nl_dataset_free(&train2);
        nl_dataset_free(&test2);
    }
    cr_assert(differs, "the seed does not choose the held-out rows");

    /* test_fraction 0: every row trains, none is held out. */
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    load_split(csv, 0, 42, NL_NORMALIZE_NONE, &train, &test);
    cr_assert(eq(sz, train.n, 10));
    cr_assert(eq(sz, test.n, 0));
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    free(csv);
    th_rmtree(dir);
    free(dir);
}

Test(csv_split, history_has_test_columns)
{
    char *dir = th_tempdir();
    char *csv = put_real(dir, "ten.csv", ten_rows);
    char *cfg = put_real(dir, "exp.yaml",
                         "data: {csv: ten.csv, test_fraction: 0.3, normalize: "
                         "standardize}\ntraining: {epochs: 3}\n");
    char *o1 = th_join(dir, "o1"), *o2 = th_join(dir, "o2");
    th_run a = th_runner(cfg, "-q", "-o", o1, NULL);
    th_run b = th_runner(cfg, "-q", "-o", o2, NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    char *h1p = th_join(o1, "history.csv"), *h2p = th_join(o2, "history.csv");
    char *h1 = th_read(h1p), *h2 = th_read(h2p);
    cr_assert(h1 != NULL && h2 != NULL);
    cr_assert(strncmp(h1, "epoch,loss,accuracy,test_loss,test_accuracy\n",
                      44) == 0, "%s", h1);
    /* Four epochs (0..3), five fields each. */
    int rows = 0;
    for (char *line = strchr(h1, '\n') + 1; *line; rows++) {
        char *end = strchr(line, '\n');
        cr_assert(end != NULL);
        int commas = 0;
        for (char *c = line; c < end; c++)
            commas += *c == ',';
        cr_assert(eq(int, commas, 4));
        line = end + 1;
    }
    cr_assert(eq(int, rows, 4));
    /* The same seed, the same split and the same run. */
    cr_assert(eq(str, h1, h2));
    char *sp = th_join(o1, "summary.json");
    char *sum = th_read(sp);
    cr_assert(sum != NULL);
    cr_assert(strstr(sum, "\"test_loss\": ") != NULL, "%s", sum);
    cr_assert(strstr(sum, "\"test_accuracy\": ") != NULL, "%s", sum);
    cr_assert(strstr(sum, "\"rows\": 10, \"train_rows\": 7, \"test_rows\": 3"
                          ", \"features\": 2") != NULL, "%s", sum);
    free(sum);
    free(sp);
    free(h1);
    free(h2);
    free(h1p);
    free(h2p);
    th_run_free(&a);
    th_run_free(&b);
    free(o1);
    free(o2);
    free(cfg);
    free(csv);
    th_rmtree(dir);
    free(dir);
}

Test(csv_split, no_training_row_left)
{
    char *dir = th_tempdir();
    char *cfg = put_real(dir, "exp.yaml",
                         "data: {generator: and, test_fraction: 0.9}\n");
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    cr_assert(eq(int, r.status, 2));
    /* At test_fraction's place in the config: line 1, column 39. */
    char *where = th_fmt("%s:1:39: error: data.test_fraction 0.9 of 4 rows "
                         "leaves no training row; lower it", cfg);
    cr_assert(strstr(r.err, where) != NULL, "%s", r.err);
    free(where);
    cr_assert(th_exists(out) == false);
    th_run_free(&r);
    free(out);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

/* A fraction that came from no file (a caller's own config): the same
 * message, with no position in front. */
Test(csv_split, no_training_row_left_without_a_file)
{
    nl_dataset all;
    cr_assert(eq(int, nl_data_gate("and", &all), 0));
    nl_data_config data = {.test_fraction = 0.9};
    nl_dataset train, test;
    nl_diag d;
    cr_assert(eq(int, nl_data_split(&all, &data, 1, &train, &test, &d), -1));
    cr_assert(eq(int, (int)d.status, NL_EINPUT));
    cr_assert(eq(str, d.message, "data.test_fraction 0.9 of 4 rows leaves no "
                                 "training row; lower it"));
}

/* ------------------------------------------------------------------ */
/* Normalisation */

/* Columns: a varied, b varied (negative too), c constant. */
static const char small[] = "a,b,c,y\n1,-2,5,0\n2,0,5,1\n3,10,5,0\n6,4,5,1\n";

Test(csv_normalize, standardize_all_rows)
{
    char *dir = th_tempdir();
    char *csv = put_real(dir, "small.csv", small);
    nl_dataset train, test;
    load_split(csv, 0, 1, NL_NORMALIZE_STANDARDIZE, &train, &test);
    cr_assert(eq(sz, train.n, 4));
    cr_assert(eq(sz, test.n, 0));
    for (size_t j = 0; j < 3; j++) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < 4; i++)
            sum += train.x[i * 3 + j];
        double mean = sum / 4;
        for (size_t i = 0; i < 4; i++)
            ss += (train.x[i * 3 + j] - mean) * (train.x[i * 3 + j] - mean);
        cr_assert(fabs(mean) < TOL, "column %zu mean %.17g", j, mean);
        if (j < 2) /* population std: divide by n, not n - 1 */
            cr_assert(fabs(ss / 4 - 1) < TOL, "column %zu var %.17g", j,
                      ss / 4);
    }
    /* a = 1 2 3 6: mean 3, population std sqrt(3.5). */
    double sd = sqrt(3.5);
    for (size_t i = 0; i < 4; i++) {
        double raw[] = {1, 2, 3, 6};
        cr_assert(fabs(train.x[i * 3] - (raw[i] - 3) / sd) < TOL);
        cr_assert(eq(dbl, train.x[i * 3 + 2], 0.0), "constant column");
    }
    expect_values(train.y, (const double[]){0, 1, 0, 1}, 4, "y untouched");
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    free(csv);
    th_rmtree(dir);
    free(dir);
}

Test(csv_normalize, minmax_all_rows)
{
    char *dir = th_tempdir();
    char *csv = put_real(dir, "small.csv", small);
    nl_dataset train, test;
    load_split(csv, 0, 1, NL_NORMALIZE_MINMAX, &train, &test);
    /* a = 1 2 3 6 -> (x-1)/5; b = -2 0 10 4 -> (x+2)/12; c -> 0. */
    expect_values(train.x,
                  (const double[]){0, 0, 0, 1.0 / 5, 2.0 / 12, 0, 2.0 / 5,
                                   1, 0, 1, 6.0 / 12, 0},
                  12, "x");
    for (size_t i = 0; i < 12; i++)
        cr_assert(train.x[i] >= 0 && train.x[i] <= 1);
    nl_dataset_free(&train);
    nl_dataset_free(&test);

    /* none leaves the values alone. */
    load_split(csv, 0, 1, NL_NORMALIZE_NONE, &train, &test);
    expect_values(train.x,
                  (const double[]){1, -2, 5, 2, 0, 5, 3, 10, 5, 6, 4, 5}, 12,
                  "x");
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    free(csv);
    th_rmtree(dir);
    free(dir);
}

/* With held-out rows, the statistics come from the training rows only,
 * and the held-out rows are mapped with them. */
Test(csv_normalize, statistics_from_training_rows_only)
{
    char *dir = th_tempdir();
    char *csv = put_real(dir, "ten.csv", ten_rows);
    for (int how = NL_NORMALIZE_STANDARDIZE; how <= NL_NORMALIZE_MINMAX;
         how++) {
        nl_dataset train, test;
        load_split(csv, 0.3, 7, (nl_normalize)how, &train, &test);
        cr_assert(eq(sz, test.n, 3));
        for (size_t j = 0; j < 2; j++) {
            /* Column j of row y was y (j = 0) or y*y (j = 1). */
            double sum = 0, ss = 0, lo = HUGE_VAL, hi = -HUGE_VAL;
            for (size_t i = 0; i < train.n; i++) {
                double y = train.y[i], raw = j == 0 ? y : y * y;
                sum += raw;
                lo = raw < lo ? raw : lo;
                hi = raw > hi ? raw : hi;
            }
            double mean = sum / (double)train.n;
            for (size_t i = 0; i < train.n; i++) {
                double y = train.y[i], raw = j == 0 ? y : y * y;
                ss += (raw - mean) * (raw - mean);
            }
            double sd = sqrt(ss / (double)train.n);
            for (nl_dataset *ds = &train; ds != NULL;
                 ds = ds == &train ? &test : NULL)
                for (size_t i = 0; i < ds->n; i++) {
                    double y = ds->y[i], raw = j == 0 ? y : y * y;
                    double want = how == NL_NORMALIZE_STANDARDIZE
                                      ? (raw - mean) / sd
                                      : (raw - lo) / (hi - lo);
                    cr_assert(fabs(ds->x[i * 2 + j] - want) < TOL,
                              "row y=%g column %zu: %.17g, want %.17g", y, j,
                              ds->x[i * 2 + j], want);
                }
        }
        nl_dataset_free(&train);
        nl_dataset_free(&test);
    }
    free(csv);
    th_rmtree(dir);
    free(dir);
}

/* An n x d set in memory with the given values (row-major) and y = 0. */
static nl_dataset set_of(size_t n, size_t d, const double *values)
{
    nl_dataset ds;
    cr_assert(eq(int, nl_dataset_alloc(&ds, n, d), 0));
    memcpy(ds.x, values, n * d * sizeof(double));
    memset(ds.y, 0, n * sizeof(double));
    return ds;
}

/* 0.1 three times sums to 0.30000000000000004: a mean one unit above
 * every value, a std of 1e-17, and each value mapped to -1 (a second
 * bias), the held-out 0.2 to 7e15.  Constant means every training value
 * equal, and such a column is 0 in both sets, whatever the method. */
Test(csv_normalize, a_constant_column_is_zero_however_its_mean_rounds)
{
    for (int how = NL_NORMALIZE_STANDARDIZE; how <= NL_NORMALIZE_MINMAX;
         how++) {
        nl_dataset train = set_of(3, 2, (const double[]){1, 0.1, 2, 0.1, 4,
                                                        0.1});
        nl_dataset test = set_of(1, 2, (const double[]){3, 0.2});
        nl_data_normalize((nl_normalize)how, &train, &test);
        for (size_t i = 0; i < 3; i++)
            cr_assert(eq(dbl, train.x[i * 2 + 1], 0.0), "row %zu: %.17g", i,
                      train.x[i * 2 + 1]);
        cr_assert(eq(dbl, test.x[1], 0.0), "held out: %.17g", test.x[1]);
        /* The other column is mapped as ever: 1 2 4 has mean 7/3. */
        double want = how == NL_NORMALIZE_MINMAX
                          ? (3.0 - 1) / 3
                          : (3 - 7.0 / 3) / sqrt(14.0 / 9);
        cr_assert(fabs(test.x[0] - want) < TOL, "%.17g, want %.17g",
                  test.x[0], want);
        nl_dataset_free(&train);
        nl_dataset_free(&test);
    }
}

/* The same column times 2^600 or 2^-600 (exact) maps to the same bits:
 * no sum or square overflows or underflows on the way (at 1e200 and
 * 1e-200, every value used to become 0), and a column of ordinary scale
 * keeps the bits it had.  2^-1060 makes every value subnormal, where the
 * scale that brings them up must stop at 2^1022. */
Test(csv_normalize, the_scale_of_a_column_changes_nothing)
{
    const double a[] = {1, 2, 3, 6, -2.5}, held = 4.25;
    const int shifts[] = {600, -600, 1000, -1000, -1060};
    for (int how = NL_NORMALIZE_STANDARDIZE; how <= NL_NORMALIZE_MINMAX;
         how++) {
        nl_dataset train = set_of(5, 1, a), test = set_of(1, 1, &held);
        nl_data_normalize((nl_normalize)how, &train, &test);
        for (size_t k = 0; k < sizeof(shifts) / sizeof(shifts[0]); k++) {
            double scaled[5], scaled_held = ldexp(held, shifts[k]);
            for (size_t i = 0; i < 5; i++)
                scaled[i] = ldexp(a[i], shifts[k]);
            nl_dataset tr = set_of(5, 1, scaled), te = set_of(1, 1,
                                                             &scaled_held);
            nl_data_normalize((nl_normalize)how, &tr, &te);
            for (size_t i = 0; i < 5; i++)
                cr_assert(eq(dbl, tr.x[i], train.x[i]),
                          "2^%d, row %zu: %.17g, want %.17g", shifts[k], i,
                          tr.x[i], train.x[i]);
            cr_assert(eq(dbl, te.x[0], test.x[0]), "2^%d, held out",
                      shifts[k]);
            nl_dataset_free(&tr);
            nl_dataset_free(&te);
        }
        nl_dataset_free(&train);
        nl_dataset_free(&test);
    }
}

/* ------------------------------------------------------------------ */
/* Storage: allocated once from a file, grown from a pipe, huge pages */

/* CSV text of `rows` rows of `cols` features and a target, each value
 * telling its row and column apart. */
static char *numbered_csv(size_t rows, size_t cols)
{
    size_t cap = 64 + rows * (cols + 1) * 24, len = 0;
    char *csv = malloc(cap);
    cr_assert(csv != NULL);
    for (size_t j = 0; j < cols; j++)
        len += (size_t)snprintf(csv + len, cap - len, "f%zu,", j);
    len += (size_t)snprintf(csv + len, cap - len, "y\n");
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++)
            len += (size_t)snprintf(csv + len, cap - len, "%zu.%zu,", i, j);
        len += (size_t)snprintf(csv + len, cap - len, "%zu\n", i % 2);
    }
    return csv;
}

/* A pipe cannot be read twice to count its rows, so the values grow as
 * they come: the same data set as from the file, through several
 * growths. */
Test(csv_ok, a_pipe_reads_as_the_file)
{
    char *csv = numbered_csv(4000, 3);
    char *dir = th_tempdir();
    char *file = th_put(dir, "data.csv", csv);
    char *fifo = th_join(dir, "pipe.csv");
    cr_assert(eq(int, mkfifo(fifo, 0600), 0));
    pid_t writer = fork();
    cr_assert(writer >= 0);
    if (writer == 0)
        _exit(th_write(fifo, csv) == 0 ? 0 : 1);

    nl_dataset from_file, from_pipe;
    nl_diag d = {0};
    cr_assert(eq(int, nl_data_csv(fifo, NULL, NULL, NULL, 0, &from_pipe, &d),
                 0),
              "%s", d.message);
    int status = 0;
    cr_assert(eq(int, waitpid(writer, &status, 0), writer));
    cr_assert(eq(int, status, 0));
    cr_assert(eq(int, nl_data_csv(file, NULL, NULL, NULL, 0, &from_file, &d),
                 0),
              "%s", d.message);
    cr_assert(eq(sz, from_file.n, 4000));
    cr_assert(eq(sz, from_pipe.n, 4000));
    cr_assert(eq(sz, from_pipe.d, 3));
    cr_assert(eq(dbl, from_pipe.x[3999 * 3 + 2], 3999.2));
    cr_assert(eq(dbl, from_pipe.y[3999], 1));
    expect_values(from_pipe.x, from_file.x, 4000 * 3, "x");
    expect_values(from_pipe.y, from_file.y, 4000, "y");
    /* Both start a cache line, which realloc alone would not keep. */
    cr_assert(eq(sz, (uintptr_t)from_file.x % 64, 0));
    cr_assert(eq(sz, (uintptr_t)from_pipe.x % 64, 0));
    nl_dataset_free(&from_pipe);
    nl_dataset_free(&from_file);
    free(fifo);
    free(file);
    th_rmtree(dir);
    free(dir);
    free(csv);
}

#ifndef TH_ASAN
/* The rows are bounded by the newlines, blank lines included: when that
 * bound cannot be allocated, the values grow as from a pipe instead of
 * failing.  Two rows and 20 million blank lines bound x at 320 MB, under
 * an address space capped 160 MB above what the test maps. */
Test(csv_ok, a_bound_too_big_to_allocate_grows_instead)
{
    char *dir = th_tempdir();
    char *path = th_join(dir, "blank.csv");
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs("a,y\n1.5,0\n2.5,1\n", f);
    static char blanks[1 << 20];
    memset(blanks, '\n', sizeof(blanks));
    for (int i = 0; i < 20; i++)
        cr_assert(eq(sz, fwrite(blanks, 1, sizeof(blanks), f), sizeof(blanks)));
    cr_assert(eq(int, fclose(f), 0));

    struct rlimit old;
    th_cap_address_space((size_t)160 << 20, &old);
    /* The cap holds here: 320 MB cannot be had under it (volatile, or
     * clang drops the malloc and free as unused). */
    void *volatile probe = malloc((size_t)320 << 20);
    bool capped = probe == NULL;
    free(probe);
    nl_dataset ds;
    nl_diag d = {0};
    int rc = nl_data_csv(path, NULL, NULL, NULL, 0, &ds, &d);
    cr_assert(eq(int, setrlimit(RLIMIT_AS, &old), 0));
    cr_assert(capped, "the address-space cap does not hold here");
    cr_assert(eq(int, rc, 0), "%s", d.message);
    cr_assert(eq(sz, ds.n, 2));
    cr_assert(eq(sz, ds.d, 1));
    cr_assert(eq(dbl, ds.x[0], 1.5));
    cr_assert(eq(dbl, ds.x[1], 2.5));
    cr_assert(eq(dbl, ds.y[1], 1));
    cr_assert(eq(sz, (uintptr_t)ds.x % 64, 0));
    nl_dataset_free(&ds);
    th_rmtree(dir);
    free(path);
    free(dir);
}
#endif

/* Whether the mapping holding p may be backed by transparent huge pages:
 * 1 or 0, from /proc/self/smaps; -1 when smaps does not say. */
static int thp_eligible(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return -1;
    char line[512];
    bool inside = false;
    int eligible = -1;
    while (eligible < 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char dash;
        if (sscanf(line, "%lx%c%lx ", &lo, &dash, &hi) == 3 && dash == '-')
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(line, "THPeligible:", 12) == 0)
            eligible = atoi(line + 12);
    }
    fclose(f);
    return eligible;
}

/* THP in "madvise" mode backs only memory advised for it; in "always"
 * mode everything is eligible and in "never" nothing, so there only the
 * alignment can be checked. */
static bool thp_madvise_mode(void)
{
    char *mode = th_read("/sys/kernel/mm/transparent_hugepage/enabled");
    bool madvise_mode = mode != NULL && strstr(mode, "[madvise]") != NULL;
    free(mode);
    return madvise_mode;
}

/* A big X starts a 2 MiB page and may be backed by huge pages. */
static void expect_huge(const nl_dataset *ds, const char *what)
{
    cr_assert(eq(sz, (uintptr_t)ds->x % ((size_t)2 << 20), 0), "%s at %p",
              what, (void *)ds->x);
    if (thp_madvise_mode()) {
        cr_assert(eq(int, thp_eligible(ds->x), 1), "%s", what);
        cr_assert(eq(int, thp_eligible(ds->y + ds->n - 1), 1), "%s", what);
    }
}

Test(csv_ok, big_data_sets_ask_for_huge_pages)
{
    /* 100,000 rows x 6 features: 5 MB of values. */
    char *csv = numbered_csv(100000, 6);
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv(csv, NULL, NULL, 0, &ds, &d, NULL), 0), "%s",
              d.message);
    cr_assert(eq(sz, ds.n, 100000));
    cr_assert(eq(dbl, ds.x[99999 * 6 + 5], 99999.5));
    expect_huge(&ds, "CSV rows");
    nl_dataset_free(&ds);

    cr_assert(eq(int, nl_data_blobs(300000, 2, 2, 1, 7, &ds), 0));
    expect_huge(&ds, "generated rows");
    nl_dataset_free(&ds);

    /* Small sets stay in the ordinary heap. */
    cr_assert(eq(int, read_csv("a,y\n1,0\n", NULL, NULL, 0, &ds, &d, NULL),
                  0), "%s", d.message);
    if (thp_madvise_mode())
        cr_assert(eq(int, thp_eligible(ds.x), 0));
    nl_dataset_free(&ds);
    free(csv);
}

/* Every X starts a cache line, so that the pass's 64-byte vector loads
 * never straddle two (malloc aligns to 16 bytes only). */
Test(csv_ok, values_start_a_cache_line)
{
    for (size_t count = 1; count < 20000; count = count * 3 + 1) {
        double *v[4]; /* a few at once, so malloc cannot reuse one block */
        for (int i = 0; i < 4; i++) {
            v[i] = nl_values_alloc(count);
            cr_assert(v[i] != NULL);
            cr_assert(eq(sz, (uintptr_t)v[i] % 64, 0), "%zu values", count);
            v[i][count - 1] = 1; /* all of it is there (ASan, valgrind) */
        }
        for (int i = 0; i < 4; i++)
            free(v[i]);
    }
    nl_dataset ds;
    nl_diag d;
    cr_assert(eq(int, read_csv("a,b,y\n1,2,0\n3,4,1\n", NULL, NULL, 0, &ds,
                               &d, NULL), 0), "%s", d.message);
    cr_assert(eq(sz, (uintptr_t)ds.x % 64, 0));
    nl_dataset_free(&ds);
    cr_assert(eq(int, nl_data_blobs(100, 3, 2, 1, 7, &ds), 0));
    cr_assert(eq(sz, (uintptr_t)ds.x % 64, 0));
    nl_dataset_free(&ds);
}

/* ------------------------------------------------------------------ */
/* Targets as bytes                                                    */

/* Sets whose every target is +0.0 or 1.0 get them as bytes; any other
 * value (0.5, 2, -0.0, NaN) leaves them NULL. */
Test(labels, only_zero_one_targets_are_packed)
{
    nl_dataset ds;
    cr_assert(eq(int, nl_data_blobs(1000, 3, 2.0, 1.0, 7, &ds), 0));
    nl_dataset_pack_labels(&ds);
    cr_assert(ds.labels != NULL);
    size_t ones = 0;
    for (size_t i = 0; i < ds.n; i++) {
        cr_assert(eq(dbl, (double)ds.labels[i], ds.y[i]), "row %zu", i);
        ones += ds.labels[i];
    }
    cr_assert(ones > 0 && ones < ds.n, "both classes: %zu ones", ones);
    static const double odd[] = {0.5, 2.0, -0.0, NAN};
    for (size_t k = 0; k < 4; k++) {
        double kept = ds.y[17];
        ds.y[17] = odd[k];
        nl_dataset_pack_labels(&ds);
        cr_assert(ds.labels == NULL, "target %g", odd[k]);
        ds.y[17] = kept;
    }
    nl_dataset_free(&ds);
}

/* The sets a config loads come with their targets packed, the held-out
 * rows too. */
Test(labels, loaded_sets_are_packed)
{
    char *dir = th_tempdir();
    char *cfg_path = th_put(dir, "c.yaml",
                            "data: {generator: blobs, samples: 200, "
                            "features: 2, test_fraction: 0.25}\n");
    nl_registry *reg = nl_registry_new(NULL, 0);
    nl_config cfg;
    nl_diag d;
    cr_assert(eq(int, nl_config_load(&cfg, cfg_path, NULL, 0, reg, &d), 0),
              "%s", d.message);
    nl_dataset train, test;
    cr_assert(eq(int, nl_data_load(&cfg.data, 1, &train, &test, &d), 0), "%s",
              d.message);
    cr_assert(train.labels != NULL && test.labels != NULL);
    cr_assert(eq(sz, test.n, 50));
    for (size_t i = 0; i < test.n; i++)
        cr_assert(eq(dbl, (double)test.labels[i], test.y[i]));
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    nl_config_free(&cfg);
    nl_registry_free(reg);
    free(cfg_path);
    th_rmtree(dir);
    free(dir);
}

/* A pass over X big enough to stream from memory reads the bytes: the
 * same loss, accuracy and gradient, bit for bit, as from the doubles,
 * with 1 thread and 2. */
Test(labels, a_streamed_pass_gives_the_bits_of_the_doubles)
{
    nl_dataset ds;
    cr_assert(eq(int, nl_data_blobs(40000, 8, 2.0, 1.0, 7, &ds), 0));
    nl_dataset_pack_labels(&ds);
    cr_assert(ds.labels != NULL);
    char *dir = th_tempdir();
    char *cfg_path = th_put(dir, "c.yaml",
                            "data: {generator: and}\n"
                            "model: {init: normal, init_scale: 0.5}\n");
    nl_registry *reg = nl_registry_new(NULL, 0);
    nl_config cfg;
    nl_diag d;
    cr_assert(eq(int, nl_config_load(&cfg, cfg_path, NULL, 0, reg, &d), 0),
              "%s", d.message);
    for (int threads = 1; threads <= 2; threads++) {
        nl_perceptron p;
        cr_assert(eq(int, nl_perceptron_new(&p, &cfg, ds.d, &d), 0), "%s",
                  d.message);
        p.n_threads = threads; /* before the first pass sizes its buffers */
        nl_pass bytes, doubles;
        double g_bytes[9], g_doubles[9];
        cr_assert(eq(int, nl_perceptron_pass(&p, &ds, NULL, ds.n, &bytes,
                                             g_bytes, &d), 0), "%s", d.message);
        unsigned char *labels = ds.labels;
        ds.labels = NULL;
        cr_assert(eq(int, nl_perceptron_pass(&p, &ds, NULL, ds.n, &doubles,
                                             g_doubles, &d), 0), "%s",
                  d.message);
        ds.labels = labels;
        cr_assert(bytes.loss == doubles.loss, "%d threads: %.17g vs %.17g",
                  threads, bytes.loss, doubles.loss);
        cr_assert(bytes.accuracy == doubles.accuracy);
        cr_assert(gt(dbl, doubles.accuracy, 0.0));
        cr_assert(lt(dbl, doubles.accuracy, 1.0));
        for (size_t j = 0; j <= ds.d; j++)
            cr_assert(g_bytes[j] == g_doubles[j], "%d threads, grad[%zu]",
                      threads, j);
        nl_perceptron_free(&p);
    }
    nl_config_free(&cfg);
    nl_registry_free(reg);
    free(cfg_path);
    th_rmtree(dir);
    free(dir);
    nl_dataset_free(&ds);
}
