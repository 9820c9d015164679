/* csv.c - numeric CSV with a header row, into a dataset. */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "numfmt.h"
#include "suggest.h"
#include "yaml_tree.h"

#define MAX_COLUMNS 100000

typedef struct csv_reader {
    const char *path;
    FILE *f;
    char *line;
    size_t cap;
    size_t lineno;
    char **cells;     /* points into line */
    size_t n_cells, cap_cells;
    nl_diag *d;
} csv_reader;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Splits r->line in place into cells.  A cell may be "double quoted", with
 * "" for a quote inside.  Returns 0, or -1 with d set. */
static int split_cells(csv_reader *r)
{
    r->n_cells = 0;
    char *p = r->line;
    for (;;) {
        if (r->n_cells == r->cap_cells) {
            size_t cap = r->cap_cells ? r->cap_cells * 2 : 16;
            if (cap > MAX_COLUMNS)
                return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                                  "more than %d columns", MAX_COLUMNS);
            char **cells = realloc(r->cells, cap * sizeof(*cells));
            if (cells == NULL)
                return nl_fail(r->d, NL_EFAIL, "out of memory");
            r->cells = cells;
            r->cap_cells = cap;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        char *cell = p;
        if (*p == '"') {
            char *out = ++p;
            cell = out;
            for (;;) {
                if (*p == '\0')
                    return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                                      "unterminated quoted cell");
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != ',' && *p != '\0')
                return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                                  "text after a closing quote");
            char sep = *p;
            *out = '\0';
            r->cells[r->n_cells++] = cell;
            if (sep == '\0')
                return 0;
            p++;
            continue;
        }
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        r->cells[r->n_cells++] = trim(cell);
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* Reads the next non-blank line.  Returns 1, 0 at end of file, or -1. */
static int next_line(csv_reader *r)
{
    for (;;) {
        errno = 0;
        ssize_t len = getline(&r->line, &r->cap, r->f);
        if (len < 0) {
            if (errno != 0 && errno != EINVAL)
                return nl_fail(r->d, NL_EINPUT, "%s: cannot read: %s",
                               r->path, strerror(errno));
            return 0;
        }
        r->lineno++;
        if (memchr(r->line, '\0', (size_t)len) != NULL)
            return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                              "a NUL byte: this is not a text CSV file");
        while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
            r->line[--len] = '\0';
        char *s = r->line;
        if (r->lineno == 1 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
            memmove(s, s + 3, strlen(s + 3) + 1); /* UTF-8 byte order mark */
        if (*trim(s) != '\0')
            return 1;
    }
}

static int find_column(csv_reader *r, char **header, size_t n,
                       const char *name, const char *role, size_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0) {
            *out = i;
            return 0;
        }
    nl_suggester s;
    nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0, "no column '%s' (%s) "
               "in the header", name, role);
    if (nl_suggest(name, (const char *const *)header, n, &s) != NULL)
        nl_diag_append(r->d, "; did you mean '%s'?", s.best);
    else {
        nl_diag_append(r->d, " (columns:");
        for (size_t i = 0; i < n && i < 32; i++)
            nl_diag_append(r->d, " %s", header[i]);
        nl_diag_append(r->d, "%s)", n > 32 ? " ..." : "");
    }
    return -1;
}

/* Parses one cell as a finite number. */
static int cell_number(csv_reader *r, const char *cell, const char *column,
                       double *out)
{
    if (*cell == '\0')
        return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                          "column '%s' is empty; every cell must be a number",
                          column);
    if (nl_num_parse(cell, out) < 0)
        return nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                          "column '%s': '%s' is not a finite number", column,
                          cell);
    return 0;
}

/* Picks the column indexes: sel[0] the target, sel[1..] the features. */
static int select_columns(csv_reader *r, char **header, size_t n,
                          const char *target, char *const *columns,
                          size_t n_columns, size_t **out, size_t *n_out)
{
    size_t t = n - 1;
    if (target != NULL && find_column(r, header, n, target, "target", &t) < 0)
        return -1;
    size_t want = columns ? n_columns : n - 1;
    size_t *sel = malloc((want + 1) * sizeof(*sel));
    if (sel == NULL)
        return nl_fail(r->d, NL_EFAIL, "out of memory");
    sel[0] = t;
    size_t k = 1;
    for (size_t i = 0; columns == NULL && i < n; i++)
        if (i != t)
            sel[k++] = i;
    for (size_t i = 0; columns != NULL && i < n_columns; i++, k++) {
        if (find_column(r, header, n, columns[i], "feature", &sel[k]) < 0)
            goto fail;
        if (sel[k] == t) {
            nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0, "column '%s' "
                       "is the target; it cannot also be a feature",
                       columns[i]);
            goto fail;
        }
        for (size_t j = 1; j < k; j++)
            if (sel[j] == sel[k]) {
                nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0,
                           "feature '%s' is listed twice", columns[i]);
                goto fail;
            }
    }
    if (k < 2) {
        nl_fail_at(r->d, NL_EINPUT, r->path, r->lineno, 0, "no feature "
                   "column: the header has only the target");
        goto fail;
    }
    *out = sel;
    *n_out = k;
    return 0;
fail:
    free(sel);
    return -1;
}

/* An upper bound on the rows left to read, each ending at a newline or at
 * the end of the file, so that x is allocated once, at its size (and in
 * huge pages), instead of grown.  0 for input that cannot be re-read (a
 * pipe): x then grows as it goes.  Returns 0, or -1 with d set. */
static int rows_bound(csv_reader *r, size_t *bound)
{
    struct stat st;
    long at = ftell(r->f);
    *bound = 0;
    if (at < 0 || fstat(fileno(r->f), &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    char buf[32768];
    size_t got, newlines = 0;
    while ((got = fread(buf, 1, sizeof(buf), r->f)) > 0)
        for (const char *p = buf;
             (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
            newlines++;
    if (ferror(r->f) || fseek(r->f, at, SEEK_SET) < 0)
        return nl_fail(r->d, NL_EINPUT, "%s: cannot read: %s", r->path,
                       strerror(errno));
    *bound = newlines + 1;
    return 0;
}

int nl_data_unreadable(const char *path, const nl_where *named_at, int err,
                       nl_diag *d)
{
    if (named_at == NULL)
        return nl_fail_at(d, NL_EINPUT, path, 0, 0, "cannot open: %s",
                          strerror(err));
    return nl_fail_where(d, NL_EINPUT, named_at, "cannot open data file %s: "
                         "%s (data.csv is relative to the config file)", path,
                         strerror(err));
}

int nl_data_csv(const char *path, const nl_where *named_at,
                const char *target, char *const *columns, size_t n_columns,
                nl_dataset *out, nl_diag *d)
{
    csv_reader r = {.path = path, .d = d};
    char **header = NULL;
    size_t n_header = 0, *sel = NULL, n_sel = 0;
    size_t rows = 0, cap_rows = 0;
    double *x = NULL, *y = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if ((r.f = fopen(path, "r")) == NULL)
        return nl_data_unreadable(path, named_at, errno, d);
    int got = next_line(&r);
    if (got <= 0) {
        if (got == 0)
            nl_fail_at(d, NL_EINPUT, path, 1, 0, "empty file; expected a "
                       "header row of column names");
        goto out;
    }
    if (split_cells(&r) < 0)
        goto out;
    n_header = r.n_cells;
    header = calloc(n_header, sizeof(*header));
    if (header == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_header; i++) {
        double ignored;
        if ((header[i] = strdup(r.cells[i])) == NULL) {
            nl_fail(d, NL_EFAIL, "out of memory");
            goto out;
        }
        if (header[i][0] == '\0' || nl_parse_double(header[i], &ignored)) {
            nl_fail_at(d, NL_EINPUT, path, r.lineno, 0, "the first row must "
                       "name the columns, but cell %zu is '%s'", i + 1,
                       header[i]);
            goto out;
        }
    }
    if (n_header < 2) {
        nl_fail_at(d, NL_EINPUT, path, r.lineno, 0, "need at least two "
                   "columns (features and a target), found %zu", n_header);
        goto out;
    }
    if (select_columns(&r, header, n_header, target, columns, n_columns,
                       &sel, &n_sel) < 0)
        goto out;
    size_t dim = n_sel - 1;
    if (rows_bound(&r, &cap_rows) < 0)
        goto out;
    if (cap_rows * (dim + 1) > NL_MAX_ROWS * 4)
        cap_rows = 0; /* x grows, and stops at the limit with a line number */
    for (;;) {
        x = nl_values_alloc(cap_rows * (dim + 1));
        y = malloc(cap_rows * sizeof(*y) + 1);
        if ((x != NULL && y != NULL) || cap_rows == 0)
            break;
        /* The bound counts blank lines too: grow instead, and fail (if
         * at all) at the row that does not fit. */
        free(x);
        free(y);
        cap_rows = 0;
    }
    bool grows = cap_rows == 0;
    if (x == NULL || y == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    while ((got = next_line(&r)) > 0) {
        if (split_cells(&r) < 0)
            goto out;
        if (r.n_cells != n_header) {
            nl_fail_at(d, NL_EINPUT, path, r.lineno, 0, "row has %zu cells "
                       "but the header has %zu", r.n_cells, n_header);
            goto out;
        }
        if (rows == cap_rows) {
            cap_rows = cap_rows ? cap_rows * 2 : 256;
            if (cap_rows * (dim + 1) > NL_MAX_ROWS * 4) {
                nl_fail_at(d, NL_EINPUT, path, r.lineno, 0, "too many values "
                           "(limit %llu)", NL_MAX_ROWS * 4);
                goto out;
            }
            grows = true; /* a file that grew since its rows were counted */
            double *nx = realloc(x, cap_rows * (dim + 1) * sizeof(*x));
            if (nx == NULL) {
                nl_fail(d, NL_EFAIL, "out of memory");
                goto out;
            }
            x = nx;
            double *ny = realloc(y, cap_rows * sizeof(*y));
            if (ny == NULL) {
                nl_fail(d, NL_EFAIL, "out of memory");
                goto out;
            }
            y = ny;
        }
        if (cell_number(&r, r.cells[sel[0]], header[sel[0]], &y[rows]) < 0)
            goto out;
        for (size_t j = 0; j < dim; j++)
            if (cell_number(&r, r.cells[sel[j + 1]], header[sel[j + 1]],
                            &x[rows * dim + j]) < 0)
                goto out;
        rows++;
    }
    if (got < 0)
        goto out;
    if (rows == 0) {
        nl_fail_at(d, NL_EINPUT, path, r.lineno + 1, 0, "no data rows after "
                   "the header");
        goto out;
    }
    /* The rows become the data set in place (x has room for the targets
     * after the features, as nl_dataset_alloc lays them out), not copied
     * into a second block, so memory peaks near the data's own size.
     * Grown by doubling, x moves once more, into a block of its size with
     * nl_values_alloc's alignment, which realloc does not keep. */
    memcpy(x + rows * dim, y, rows * sizeof(*y));
    if (grows) {
        double *fit = nl_values_alloc(rows * dim + rows);
        if (fit == NULL) {
            nl_fail(d, NL_EFAIL, "out of memory");
            goto out;
        }
        memcpy(fit, x, (rows * dim + rows) * sizeof(*x));
        free(x);
        x = fit;
    }
    out->n = rows;
    out->d = dim;
    out->x = x;
    out->y = x + rows * dim;
    x = NULL;
    rc = 0;
out:
    for (size_t i = 0; header != NULL && i < n_header; i++)
        free(header[i]);
    free(header);
    free(sel);
    free(x);
    free(y);
    free(r.line);
    free(r.cells);
    fclose(r.f);
    return rc;
}
