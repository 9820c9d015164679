/* html.c - report.html: one self-contained page (no network) with the
 * ranked table, sortable by clicking a header, the groups and the chart. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:12px 0 28px;font-size:13px}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "td.text,th{text-align:left}"
    "th{background:#eef;cursor:pointer;user-select:none}"
    "th:hover{background:#dde}"
    "tr.best td{background:#efe;font-weight:bold}"
    "tr.failed td{color:#a00}"
    "figure{margin:0}";

/* Sorts a table by the clicked column: numbers as numbers, the rest as
 * text; a second click reverses. */
static const char script[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "t.querySelectorAll('th').forEach(function(th,i){"
    "th.addEventListener('click',function(){"
    "var body=t.tBodies[0],rows=Array.from(body.rows);"
    "var dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir>0?'asc':'desc';"
    "rows.sort(function(a,b){var x=a.cells[i].textContent,"
    "y=b.cells[i].textContent,p=parseFloat(x),q=parseFloat(y);"
    "if(!isNaN(p)&&!isNaN(q)&&String(p)!=='NaN')return dir*(p-q);"
    "return dir*x.localeCompare(y);});"
    "rows.forEach(function(r){body.appendChild(r);});});});});";

static bool numeric_column(const char *header)
{
    static const char *const numeric[] = {"rank", "epochs", "final_loss",
                                          "accuracy", "wall_seconds"};
    for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
        if (strcmp(header, numeric[i]) == 0)
            return true;
    return false;
}

static void run_table(const nl_comparison *c, FILE *out)
{
    size_t cols = nl_report_columns(c);
    char cell[1024];
    fputs("<table class=\"sortable\" id=\"runs\"><thead><tr>", out);
    for (size_t k = 0; k < cols; k++) {
        fputs("<th>", out);
        nl_xml_text(out, nl_report_header(c, k));
        fputs("</th>", out);
    }
    fputs("</tr></thead><tbody>\n", out);
    for (size_t r = 0; r < c->n_runs; r++) {
        bool failed = strcmp(c->runs[r].status, "ok") != 0;
        fprintf(out, "<tr%s>", failed ? " class=\"failed\""
                               : r == 0 ? " class=\"best\"" : "");
        for (size_t k = 0; k < cols; k++) {
            nl_report_cell(c, r, k, false, cell, sizeof(cell));
            fputs(numeric_column(nl_report_header(c, k)) ? "<td>"
                                                         : "<td class=\"text\">",
                  out);
            nl_xml_text(out, cell);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

static void group_table(const nl_comparison *c, FILE *out)
{
    fputs("<table class=\"sortable\" id=\"groups\"><thead><tr><th>group</th>"
          "<th>runs</th><th>converged</th><th>epochs to converge "
          "(mean &plusmn; std)</th><th>final loss (mean &plusmn; std)</th>"
          "<th>best run</th></tr></thead><tbody>\n", out);
    for (size_t g = 0; g < c->n_groups; g++) {
        const nl_cmp_group *grp = &c->groups[g];
        fputs("<tr><td class=\"text\">", out);
        nl_xml_text(out, grp->label);
        fprintf(out, "</td><td>%zu</td><td>%zu/%zu</td><td>", grp->n_members,
                grp->n_converged, grp->n_members);
        if (grp->n_converged > 0)
            fprintf(out, "%.6g &plusmn; %.3g", grp->epochs_mean,
                    grp->epochs_std);
        fputs("</td><td>", out);
        if (!isnan(grp->loss_mean)) /* none: every run failed or diverged */
            fprintf(out, "%.6g &plusmn; %.3g", grp->loss_mean, grp->loss_std);
        fputs("</td><td class=\"text\">", out);
        nl_xml_text(out, c->runs[grp->members[0]].id);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

int nl_report_html(const nl_comparison *c, FILE *out)
{
    char *svg = NULL;
    size_t svg_len = 0;
    FILE *mem = open_memstream(&svg, &svg_len);
    if (mem == NULL)
        return -1;
    int rc = nl_report_svg(c, mem);
    fclose(mem);
    if (rc < 0 || svg == NULL) {
        free(svg);
        return -1;
    }
    const char *body = strstr(svg, "<svg");
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
            "charset=\"utf-8\"><title>nnlab comparison</title>"
            "<style>%s</style></head><body>\n<h1>Comparison of %zu runs</h1>\n"
            "<p>Ranked: converged first, then fewer epochs to converge, then "
            "lower final loss. Click a column header to sort.</p>\n"
            "<figure id=\"chart\">%s</figure>\n<h2>Runs</h2>\n", style,
            c->n_runs, body ? body : "");
    free(svg);
    run_table(c, out);
    fputs("<h2>Groups</h2>\n", out);
    group_table(c, out);
    fprintf(out, "<script>%s</script>\n</body></html>\n", script);
    return ferror(out) ? -1 : 0;
}
