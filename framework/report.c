/* report.c - the comparison as CSV, Markdown, a terminal table and files. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

/* Columns of the run table after rank, id and the swept keys. */
static const char *const fixed_columns[] = {
    "activation", "activation_version", "loss", "loss_version",
    "optimizer", "optimizer_version", "status", "converged", "stop_reason",
    "epochs", "final_loss", "accuracy", "wall_seconds", "error"};
#define N_FIXED (sizeof(fixed_columns) / sizeof(fixed_columns[0]))

static void number(char *buf, size_t size, double v, bool precise)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, size, precise ? "%.17g" : "%.6g", v);
}

size_t nl_report_columns(const nl_comparison *c)
{
    return 2 + c->n_keys + N_FIXED;
}

const char *nl_report_header(const nl_comparison *c, size_t col)
{
    if (col == 0)
        return "rank";
    if (col == 1)
        return "id";
    if (col < 2 + c->n_keys)
        return c->keys[col - 2];
    return fixed_columns[col - 2 - c->n_keys];
}

void nl_report_cell(const nl_comparison *c, size_t r, size_t col,
                    bool precise, char *buf, size_t size)
{
    const nl_cmp_run *run = &c->runs[r];
    const char *text = NULL;
    if (col == 0) {
        snprintf(buf, size, "%zu", r + 1);
        return;
    }
    if (col == 1)
        text = run->id;
    else if (col < 2 + c->n_keys)
        text = run->values[col - 2];
    else {
        size_t f = col - 2 - c->n_keys;
        switch (f) {
        case 0: case 1: case 2: case 3: case 4: case 5:
            text = f % 2 ? run->plugin_version[f / 2] : run->plugin[f / 2];
            break;
        case 6:
            text = run->status;
            break;
        case 7:
            text = run->converged ? "true" : "false";
            break;
        case 8:
            text = run->stop_reason;
            break;
        case 9:
            number(buf, size, run->epochs, true);
            return;
        case 10:
            number(buf, size, run->final_loss, precise);
            return;
        case 11:
            number(buf, size, run->accuracy, precise);
            return;
        case 12:
            number(buf, size, run->wall_seconds, precise);
            return;
        default:
            text = run->error;
        }
    }
    snprintf(buf, size, "%s", text ? text : "");
}

static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int nl_report_csv(const nl_comparison *c, FILE *out)
{
    size_t cols = nl_report_columns(c);
    char cell[1024];
    for (size_t k = 0; k < cols; k++) {
        fputs(k ? "," : "", out);
        csv_field(out, nl_report_header(c, k));
    }
    fputc('\n', out);
    for (size_t r = 0; r < c->n_runs; r++) {
        for (size_t k = 0; k < cols; k++) {
            nl_report_cell(c, r, k, true, cell, sizeof(cell));
            fputs(k ? "," : "", out);
            csv_field(out, cell);
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

/* Cell `col` of group g: group, keys..., runs, converged_fraction,
 * epochs_mean, epochs_std, final_loss_mean, final_loss_std, best_run. */
static const char *const group_stats[] = {
    "runs", "converged_fraction", "epochs_mean", "epochs_std",
    "final_loss_mean", "final_loss_std", "best_run"};

static void group_cell(const nl_comparison *c, size_t g, size_t col,
                       bool precise, char *buf, size_t size)
{
    const nl_cmp_group *grp = &c->groups[g];
    if (col == 0) {
        snprintf(buf, size, "%s", grp->label);
        return;
    }
    if (col <= c->n_group_by) {
        snprintf(buf, size, "%s", grp->values[col - 1]);
        return;
    }
    switch (col - 1 - c->n_group_by) {
    case 0:
        snprintf(buf, size, "%zu", grp->n_members);
        break;
    case 1:
        number(buf, size, (double)grp->n_converged / (double)grp->n_members,
               precise);
        break;
    case 2:
        number(buf, size, grp->epochs_mean, precise);
        break;
    case 3:
        number(buf, size, grp->epochs_std, precise);
        break;
    case 4:
        number(buf, size, grp->loss_mean, precise);
        break;
    case 5:
        number(buf, size, grp->loss_std, precise);
        break;
    default:
        snprintf(buf, size, "%s", c->runs[grp->members[0]].id);
    }
}

int nl_report_groups_csv(const nl_comparison *c, FILE *out)
{
    size_t cols = 1 + c->n_group_by + 7;
    char cell[1024];
    fputs("group", out);
    for (size_t k = 0; k < c->n_group_by; k++) {
        fputc(',', out);
        csv_field(out, c->group_by[k]);
    }
    for (size_t k = 0; k < 7; k++)
        fprintf(out, ",%s", group_stats[k]);
    fputc('\n', out);
    for (size_t g = 0; g < c->n_groups; g++) {
        for (size_t k = 0; k < cols; k++) {
            group_cell(c, g, k, true, cell, sizeof(cell));
            fputs(k ? "," : "", out);
            csv_field(out, cell);
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

static void md_cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++)
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    fputs(" |", out);
}

int nl_report_markdown(const nl_comparison *c, FILE *out)
{
    size_t cols = nl_report_columns(c);
    char cell[1024];
    fprintf(out, "# Comparison of %zu runs\n\nRanked: converged first, then "
            "fewer epochs to converge, then lower final loss.\n\n|",
            c->n_runs);
    for (size_t k = 0; k < cols; k++)
        md_cell(out, nl_report_header(c, k));
    fputs("\n|", out);
    for (size_t k = 0; k < cols; k++)
        fputs("---|", out);
    fputc('\n', out);
    for (size_t r = 0; r < c->n_runs; r++) {
        fputc('|', out);
        for (size_t k = 0; k < cols; k++) {
            nl_report_cell(c, r, k, false, cell, sizeof(cell));
            md_cell(out, cell);
        }
        fputc('\n', out);
    }
    fputs("\n## Groups\n\n| group |", out);
    for (size_t k = 0; k < c->n_group_by; k++)
        md_cell(out, c->group_by[k]);
    for (size_t k = 0; k < 7; k++)
        md_cell(out, group_stats[k]);
    fputs("\n|---|", out);
    for (size_t k = 0; k < c->n_group_by + 7; k++)
        fputs("---|", out);
    fputc('\n', out);
    for (size_t g = 0; g < c->n_groups; g++) {
        fputc('|', out);
        for (size_t k = 0; k < 1 + c->n_group_by + 7; k++) {
            group_cell(c, g, k, false, cell, sizeof(cell));
            md_cell(out, cell);
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

void nl_report_table(const nl_comparison *c, FILE *out)
{
    /* rank, id, then fixed columns converged, stop_reason, epochs,
     * final_loss, accuracy */
    static const char *const head[] = {"#", "run", "conv", "stop", "epochs",
                                       "final loss", "acc"};
    static const size_t pick[] = {0, 1, 7, 8, 9, 10, 11}; /* fixed_columns */
    enum { N = 7 };
    size_t width[N];
    char cell[1024];
    for (size_t k = 0; k < N; k++)
        width[k] = strlen(head[k]);
    for (size_t r = 0; r < c->n_runs; r++)
        for (size_t k = 0; k < N; k++) {
            size_t col = pick[k] < 2 ? pick[k] : 2 + c->n_keys + pick[k];
            nl_report_cell(c, r, col, false, cell, sizeof(cell));
            size_t len = strlen(cell);
            if (k == 1 && len > 60)
                len = 60;
            width[k] = len > width[k] ? len : width[k];
        }
    fputs("  ", out);
    for (size_t k = 0; k < N; k++)
        fprintf(out, k < 2 || k == 3 ? "%-*s  " : "%*s  ", (int)width[k],
                head[k]);
    fputc('\n', out);
    for (size_t r = 0; r < c->n_runs; r++) {
        bool best = r == 0 && strcmp(c->runs[r].status, "ok") == 0;
        fputs(best ? "* " : "  ", out);
        for (size_t k = 0; k < N; k++) {
            size_t col = pick[k] < 2 ? pick[k] : 2 + c->n_keys + pick[k];
            nl_report_cell(c, r, col, false, cell, sizeof(cell));
            if (k == 1 && strlen(cell) > 60)
                strcpy(cell + 57, "...");
            fprintf(out, k < 2 || k == 3 ? "%-*s  " : "%*s  ", (int)width[k],
                    cell);
        }
        if (strcmp(c->runs[r].status, "ok") != 0 && c->runs[r].error)
            fprintf(out, " %s", c->runs[r].error);
        fputc('\n', out);
    }
    fputs("(* best run)\n", out);
}

typedef int (*writer_fn)(const nl_comparison *c, FILE *out);

int nl_report_write(const nl_comparison *c, const char *dir, nl_diag *d)
{
    static const struct {
        const char *name;
        writer_fn write;
    } files[] = {
        {"comparison.csv", nl_report_csv},
        {"groups.csv", nl_report_groups_csv},
        {"comparison.md", nl_report_markdown},
        {"convergence.svg", nl_report_svg},
        {"report.html", nl_report_html},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        nl_atomic_file af;
        if (nl_atomic_open(&af, dir, files[i].name, d) < 0)
            return -1;
        if (files[i].write(c, af.f) < 0) {
            nl_atomic_abort(&af);
            return nl_fail(d, NL_EFAIL, "%s/%s: cannot write", dir,
                           files[i].name);
        }
        if (nl_atomic_commit(&af, d) < 0)
            return -1;
    }
    return 0;
}
