/*
 * report.h - a comparison written out: comparison.csv, groups.csv,
 * comparison.md, convergence.svg, report.html, and the ranked table on the
 * terminal.
 */
#ifndef NL_REPORT_H
#define NL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compare.h"
#include "diag.h"

/* Writes the five files into dir (atomically each).  Returns 0, or -1
 * with d set (NL_EFAIL). */
int nl_report_write(const nl_comparison *c, const char *dir, nl_diag *d);

/* The ranked table, aligned, the best run marked. */
void nl_report_table(const nl_comparison *c, FILE *out);

/* The run table's shape, shared by every format: the columns are rank, id,
 * each swept key, then the plugins, status, converged, stop_reason, epochs,
 * final_loss, accuracy, wall_seconds and error.  A cell of run r (0-based,
 * in rank order) is written into buf: numbers with %.17g when `precise`,
 * else %.6g; unknown numbers as "". */
size_t nl_report_columns(const nl_comparison *c);
const char *nl_report_header(const nl_comparison *c, size_t col);
void nl_report_cell(const nl_comparison *c, size_t r, size_t col,
                    bool precise, char *buf, size_t size);

/* Writes s with &, <, > and " escaped, for XML and HTML text. */
void nl_xml_text(FILE *out, const char *s);

/* The individual writers (each returns 0, or -1 on a write error). */
int nl_report_csv(const nl_comparison *c, FILE *out);
int nl_report_groups_csv(const nl_comparison *c, FILE *out);
int nl_report_markdown(const nl_comparison *c, FILE *out);
int nl_report_svg(const nl_comparison *c, FILE *out);
int nl_report_html(const nl_comparison *c, FILE *out);

#endif
