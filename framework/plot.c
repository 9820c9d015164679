/* plot.c - convergence.svg: loss against epoch, log-scale loss axis, one
 * line per run (or per group: the mean with a min-max band). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define WIDTH 960
#define HEIGHT 540
#define LEFT 80
#define RIGHT 300   /* room for the legend */
#define TOP 50
#define BOTTOM 60
#define MAX_POINTS 600
#define MAX_LEGEND 24
/* Characters of a legend label that fit beside the plot (RIGHT less the
 * swatch, at about 6.7 px a character of 12 px sans-serif); a longer one
 * keeps LEGEND_TAIL of its end. */
#define LEGEND_CHARS 36
#define LEGEND_TAIL 22

static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[] = {"", "6 3", "2 2", "8 3 2 3"};

typedef struct series {
    const char *label;
    double *mid, *lo, *hi;   /* lo/hi: NULL for a single run */
    size_t n;
} series;

typedef struct frame {
    double x_max;            /* epochs */
    double y_min, y_max;     /* log10 of loss */
} frame;

void nl_xml_text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
}

static double px(const frame *f, double epoch)
{
    double w = WIDTH - LEFT - RIGHT;
    return LEFT + (f->x_max > 0 ? epoch / f->x_max : 0) * w;
}

static double py(const frame *f, double loss)
{
    double h = HEIGHT - TOP - BOTTOM;
    double y = loss > 0 ? log10(loss) : f->y_min;
    if (y < f->y_min)
        y = f->y_min;
    return TOP + (f->y_max - y) / (f->y_max - f->y_min) * h;
}

/* Group curves: each member's loss carried forward after it stopped, so a
 * run that converged early keeps counting as converged. */
static int group_series(const nl_comparison *c, const nl_cmp_group *g,
                        series *s)
{
    size_t n = 0;
    for (size_t m = 0; m < g->n_members; m++)
        if (c->runs[g->members[m]].n_curve > n)
            n = c->runs[g->members[m]].n_curve;
    s->label = g->label;
    s->n = n;
    s->mid = calloc(n + 1, sizeof(double));
    s->lo = calloc(n + 1, sizeof(double));
    s->hi = calloc(n + 1, sizeof(double));
    if (s->mid == NULL || s->lo == NULL || s->hi == NULL)
        return -1;
    for (size_t e = 0; e < n; e++) {
        double sum = 0, lo = HUGE_VAL, hi = -HUGE_VAL;
        size_t k = 0;
        for (size_t m = 0; m < g->n_members; m++) {
            const nl_cmp_run *r = &c->runs[g->members[m]];
            if (r->n_curve == 0)
                continue;
            double v = r->curve[e < r->n_curve ? e : r->n_curve - 1];
            if (!isfinite(v))
                continue;
            sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            k++;
        }
        s->mid[e] = k ? sum / (double)k : NAN;
        s->lo[e] = k ? lo : NAN;
        s->hi[e] = k ? hi : NAN;
    }
    return 0;
}

static double nice_step(double span, int ticks)
{
    double raw = span / ticks;
    double mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void axes(FILE *out, const frame *f)
{
    double x0 = LEFT, x1 = WIDTH - RIGHT, y0 = TOP, y1 = HEIGHT - BOTTOM;
    fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
            "fill=\"#fcfcfc\" stroke=\"#333\"/>\n", x0, y0, x1 - x0, y1 - y0);
    double step = f->x_max > 0 ? nice_step(f->x_max, 6) : 1;
    for (double e = 0; e <= f->x_max + 1e-9; e += step) {
        double x = px(f, e);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" "
                "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%g\" "
                "text-anchor=\"middle\">%g</text>\n", x, y0, x, y1, x, y1 + 18,
                e);
    }
    /* Every decade up to 8 of them; beyond, every few (a diverged run's
     * 1e300 would otherwise stack 300 labels). */
    double every = ceil((f->y_max - f->y_min) / 8);
    if (every < 1)
        every = 1;
    for (double k = f->y_min; k <= f->y_max + 1e-9; k += every) {
        double y = py(f, pow(10, k));
        fprintf(out, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/><text x=\"%g\" y=\"%.1f\" "
                "text-anchor=\"end\">1e%g</text>\n", x0, y, x1, y, x0 - 6,
                y + 4, k);
    }
    fprintf(out, "<text x=\"%g\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n"
            "<text transform=\"translate(18 %g) rotate(-90)\" "
            "text-anchor=\"middle\">loss (log scale)</text>\n",
            (x0 + x1) / 2, HEIGHT - 15, (y0 + y1) / 2);
}

static void polyline(FILE *out, const frame *f, const double *v, size_t n,
                     const char *attrs)
{
    size_t stride = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
    fprintf(out, "<path %s d=\"", attrs);
    bool pen = false;
    for (size_t e = 0; e < n; e += stride) {
        size_t i = e + stride >= n ? n - 1 : e; /* always end on the last */
        if (!isfinite(v[i])) {
            pen = false;
            continue;
        }
        fprintf(out, "%s%.1f %.1f ", pen ? "L" : "M", px(f, (double)i),
                py(f, v[i]));
        pen = true;
        if (i == n - 1)
            break;
    }
    fputs("\"/>\n", out);
}

static void band(FILE *out, const frame *f, const series *s, const char *color)
{
    size_t stride = s->n > MAX_POINTS ? (s->n + MAX_POINTS - 1) / MAX_POINTS : 1;
    fprintf(out, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" "
            "stroke=\"none\" d=\"", color);
    bool first = true;
    for (size_t e = 0; e < s->n; e += stride)
        if (isfinite(s->hi[e])) {
            fprintf(out, "%s%.1f %.1f ", first ? "M" : "L", px(f, (double)e),
                    py(f, s->hi[e]));
            first = false;
        }
    /* Back along the minima, over the same points. */
    for (size_t e = ((s->n - 1) / stride) * stride;; e -= stride) {
        if (isfinite(s->lo[e]))
            fprintf(out, "L%.1f %.1f ", px(f, (double)e), py(f, s->lo[e]));
        if (e < stride)
            break;
    }
    fputs("Z\"/>\n", out);
}

int nl_report_svg(const nl_comparison *c, FILE *out)
{
    bool grouped = c->n_group_by > 0;
    size_t n = grouped ? c->n_groups : c->n_runs;
    series *s = calloc(n + 1, sizeof(*s));
    int rc = -1;
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (grouped) {
            if (group_series(c, &c->groups[i], &s[i]) < 0)
                goto out;
        } else {
            s[i].label = c->runs[i].id;
            s[i].mid = c->runs[i].curve;
            s[i].n = c->runs[i].n_curve;
        }
    }
    frame f = {0, HUGE_VAL, -HUGE_VAL};
    double lo_pos = HUGE_VAL;
    bool has_zero = false;
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < s[i].n; e++) {
            const double *vals[3] = {s[i].mid, s[i].lo, s[i].hi};
            for (int k = 0; k < 3; k++) {
                if (vals[k] == NULL || !isfinite(vals[k][e]))
                    continue;
                double v = vals[k][e];
                if (v > 0 && v < lo_pos)
                    lo_pos = v;
                has_zero |= v <= 0;
                if (v > 0 && log10(v) > f.y_max)
                    f.y_max = log10(v);
            }
            if ((double)e > f.x_max)
                f.x_max = (double)e;
        }
    /* Zero losses sit on the axis floor, a decade below the smallest
     * positive loss. */
    f.y_min = lo_pos < HUGE_VAL ? floor(log10(lo_pos)) - (has_zero ? 1 : 0)
                                : -3;
    f.y_max = f.y_max > -HUGE_VAL ? ceil(f.y_max) : 0;
    if (f.y_max <= f.y_min)
        f.y_max = f.y_min + 1;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"16\" "
            "font-weight=\"bold\">Training loss by epoch (%zu %s)</text>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT, LEFT, n,
            grouped ? (n == 1 ? "group" : "groups: mean, band min-max")
                    : (n == 1 ? "run" : "runs"));
    axes(out, &f);
    for (size_t i = 0; i < n; i++) {
        const char *color = palette[i % 10];
        char attrs[256];
        if (s[i].lo != NULL && s[i].n > 0)
            band(out, &f, &s[i], color);
        snprintf(attrs, sizeof(attrs), "class=\"series\" fill=\"none\" "
                 "stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\"",
                 color, dashes[(i / 10) % 4]);
        if (s[i].n > 0)
            polyline(out, &f, s[i].mid, s[i].n, attrs);
    }
    for (size_t i = 0; i < n && i < MAX_LEGEND; i++) {
        double y = TOP + 8 + 18.0 * (double)i;
        fprintf(out, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" "
                "stroke=\"%s\" stroke-width=\"3\" stroke-dasharray=\"%s\"/>"
                "<text x=\"%d\" y=\"%.0f\"><title>", WIDTH - RIGHT + 16, y,
                WIDTH - RIGHT + 40, y, palette[i % 10], dashes[(i / 10) % 4],
                WIDTH - RIGHT + 46, y + 4);
        nl_xml_text(out, s[i].label); /* the whole label, on hover */
        fputs("</title>", out);
        /* A long label loses its middle: runs and groups tend to differ
         * at the end ("...,activation.name=tanh"). */
        char label[LEGEND_CHARS + 1];
        const char *text = s[i].label;
        size_t len = strlen(text);
        if (len < sizeof(label)) {
            snprintf(label, sizeof(label), "%s", text);
        } else {
            /* Cut between characters, not inside one (UTF-8 continuation
             * bytes are 10xxxxxx). */
            size_t head = LEGEND_CHARS - 3 - LEGEND_TAIL;
            size_t tail = len - LEGEND_TAIL;
            while (head > 0 && ((unsigned char)text[head] & 0xc0) == 0x80)
                head--;
            while (tail < len && ((unsigned char)text[tail] & 0xc0) == 0x80)
                tail++;
            snprintf(label, sizeof(label), "%.*s...%s", (int)head, text,
                     text + tail);
        }
        nl_xml_text(out, label);
        if (s[i].n == 0) /* a failed run: nothing to draw */
            fputs(" (no history)", out);
        fputs("</text>\n", out);
    }
    if (n > MAX_LEGEND)
        fprintf(out, "<text x=\"%d\" y=\"%.0f\">... and %zu more</text>\n",
                WIDTH - RIGHT + 16, TOP + 12 + 18.0 * MAX_LEGEND,
                n - MAX_LEGEND);
    fputs("</svg>\n", out);
    rc = ferror(out) ? -1 : 0;
out:
    for (size_t i = 0; grouped && i < n; i++) {
        free(s[i].mid);
        free(s[i].lo);
        free(s[i].hi);
    }
    free(s);
    return rc;
}
