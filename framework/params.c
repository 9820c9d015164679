/* params.c - plugin parameter tables. */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "numfmt.h"
#include "plugin_loader.h"
#include "suggest.h"

static size_t choice_count(const nl_param *param)
{
    size_t n = 0;
    if (param->choices != NULL)
        while (param->choices[n] != NULL)
            n++;
    return n;
}

/* Returns NULL when v is inside param's range, else what is wrong. */
static const char *range_problem(const nl_param *param, double v)
{
    if (!isfinite(v))
        return "not finite";
    if (param->type == NL_PARAM_INT && v != floor(v))
        return "not a whole number";
    bool min_open = param->flags & NL_PARAM_MIN_EXCLUSIVE;
    bool max_open = param->flags & NL_PARAM_MAX_EXCLUSIVE;
    if (v < param->min || (min_open && v == param->min))
        return "below the minimum";
    if (v > param->max || (max_open && v == param->max))
        return "above the maximum";
    return NULL;
}

void nl_param_range_text(const nl_param *param, char *buf, size_t size)
{
    if (param->type == NL_PARAM_BOOL) {
        snprintf(buf, size, "true|false");
        return;
    }
    if (param->type == NL_PARAM_CHOICE) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; param->choices[i] != NULL; i++) {
            int n = snprintf(buf + used, size - used, "%s%s", i ? "|" : "",
                             param->choices[i]);
            if (n < 0 || (size_t)n >= size - used)
                break;
            used += (size_t)n;
        }
        return;
    }
    bool lo = isfinite(param->min), hi = isfinite(param->max);
    const char *lo_op = param->flags & NL_PARAM_MIN_EXCLUSIVE ? ">" : ">=";
    const char *hi_op = param->flags & NL_PARAM_MAX_EXCLUSIVE ? "<" : "<=";
    char min[NL_NUM_MAX], max[NL_NUM_MAX]; /* 0.1, not 0.10000000000000001 */
    nl_num(param->min, min);
    nl_num(param->max, max);
    if (lo && hi)
        snprintf(buf, size, "%s%s, %s%s",
                 param->flags & NL_PARAM_MIN_EXCLUSIVE ? "(" : "[", min, max,
                 param->flags & NL_PARAM_MAX_EXCLUSIVE ? ")" : "]");
    else if (lo)
        snprintf(buf, size, "%s %s", lo_op, min);
    else if (hi)
        snprintf(buf, size, "%s %s", hi_op, max);
    else
        snprintf(buf, size, "any");
}

int nl_param_table_validate(const nl_plugin *p, const char *where, nl_diag *d)
{
    if (p->n_params > NL_MAX_PARAMS)
        return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s' has %zu parameters "
                       "(at most %d)", where, p->name, p->n_params,
                       NL_MAX_PARAMS);
    if (p->n_params > 0 && p->params == NULL)
        return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s' declares %zu "
                       "parameters but no table", where, p->name, p->n_params);
    for (size_t i = 0; i < p->n_params; i++) {
        const nl_param *q = &p->params[i];
        if (!nl_plugin_name_ok(q->name) || strcmp(q->name, "name") == 0 ||
            strcmp(q->name, "path") == 0)
            return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s': parameter %zu has "
                           "an invalid name '%s' ([a-z0-9_]+, not name or "
                           "path)", where, p->name, i,
                           q->name ? q->name : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->params[j].name, q->name) == 0)
                return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s': parameter "
                               "'%s' declared twice", where, p->name, q->name);
        if (q->type < NL_PARAM_REAL || q->type > NL_PARAM_CHOICE)
            return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s': parameter '%s' "
                           "has unknown type %d", where, p->name, q->name,
                           (int)q->type);
        double lo = q->min, hi = q->max;
        if (q->type == NL_PARAM_BOOL)
            lo = 0, hi = 1;
        if (q->type == NL_PARAM_CHOICE) {
            if (choice_count(q) == 0)
                return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s': choice "
                               "parameter '%s' has no choices", where, p->name,
                               q->name);
            lo = 0, hi = (double)choice_count(q) - 1;
        }
        double v = q->default_value;
        nl_param bounds = *q;
        bounds.min = lo;
        bounds.max = hi;
        if (q->type != NL_PARAM_REAL && q->type != NL_PARAM_INT)
            bounds.flags = 0, bounds.type = NL_PARAM_INT;
        const char *why = range_problem(&bounds, v);
        if (why != NULL) {
            char range[256];
            nl_param_range_text(q, range, sizeof(range));
            return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s': default %.17g of "
                           "parameter '%s' is %s (range %s)", where, p->name,
                           v, q->name, why, range);
        }
    }
    return 0;
}

static const nl_param *param_find(const nl_plugin *p, const char *name)
{
    for (size_t i = 0; i < p->n_params; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return &p->params[i];
    return NULL;
}

static int unknown_param(const nl_plugin *p, const nl_ynode *key, nl_diag *d)
{
    nl_suggester s;
    nl_suggest_init(&s, key->text);
    for (size_t i = 0; i < p->n_params; i++)
        nl_suggest_offer(&s, p->params[i].name);
    nl_ynode_fail(d, key, "%s '%s' has no parameter '%s'",
                  nl_kind_name(p->kind), p->name, key->text);
    if (s.best[0])
        nl_diag_append(d, "; did you mean '%s'?", s.best);
    else if (p->n_params == 0)
        nl_diag_append(d, " (it takes none)");
    else {
        nl_diag_append(d, " (it takes:");
        for (size_t i = 0; i < p->n_params; i++)
            nl_diag_append(d, " %s", p->params[i].name);
        nl_diag_append(d, ")");
    }
    return -1;
}

/* Reads one value for `param` from `node`. */
static int bind_one(const nl_plugin *p, const nl_param *param,
                    const nl_ynode *node, double *out, nl_diag *d)
{
    double v;
    if (param->type == NL_PARAM_BOOL) {
        bool b;
        if (nl_ynode_bool(node, &b, d) < 0)
            return -1;
        *out = b;
        return 0;
    }
    if (param->type == NL_PARAM_CHOICE) {
        char range[256];
        nl_param_range_text(param, range, sizeof(range));
        if (node->type == NL_YSCALAR)
            for (size_t i = 0; param->choices[i] != NULL; i++)
                if (strcmp(param->choices[i], node->text) == 0) {
                    *out = (double)i;
                    return 0;
                }
        nl_ynode_fail(d, node, "%s: expected one of %s, got '%s'",
                      param->name, range,
                      node->type == NL_YSCALAR ? node->text : "a collection");
        if (node->type == NL_YSCALAR) {
            nl_suggester s;
            if (nl_suggest(node->text, param->choices, choice_count(param),
                           &s) != NULL)
                nl_diag_append(d, "; did you mean '%s'?", s.best);
        }
        return -1;
    }
    if (nl_ynode_double(node, &v, d) < 0)
        return -1;
    const char *why = range_problem(param, v);
    if (why != NULL) {
        char range[256];
        nl_param_range_text(param, range, sizeof(range));
        return nl_ynode_fail(d, node, "%s '%s': %s = %s is %s (allowed: %s)",
                             nl_kind_name(p->kind), p->name, param->name,
                             node->text, why, range);
    }
    *out = v;
    return 0;
}

bool nl_params_are_defaults(const nl_plugin *p, const double *values)
{
    for (size_t i = 0; i < p->n_params; i++)
        if (values[i] != p->params[i].default_value)
            return false;
    return true;
}

int nl_params_bind(const nl_plugin *p, const nl_ynode *node, double *values,
                   nl_diag *d)
{
    for (size_t i = 0; i < p->n_params; i++)
        values[i] = p->params[i].default_value;
    if (node == NULL || node->type != NL_YMAP)
        return 0;
    for (size_t i = 0; i < node->n; i++) {
        const char *key = node->keys[i]->text;
        if (strcmp(key, "name") == 0 || strcmp(key, "path") == 0)
            continue;
        const nl_param *param = param_find(p, key);
        if (param == NULL)
            return unknown_param(p, node->keys[i], d);
        if (bind_one(p, param, node->items[i],
                     &values[param - p->params], d) < 0)
            return -1;
    }
    return 0;
}

void nl_param_format(const nl_param *param, double v, int quote, char *buf,
                     size_t size)
{
    switch (param->type) {
    case NL_PARAM_BOOL:
        snprintf(buf, size, "%s", v != 0 ? "true" : "false");
        break;
    case NL_PARAM_CHOICE:
        snprintf(buf, size, quote ? "\"%s\"" : "%s",
                 param->choices[(size_t)v]);
        break;
    case NL_PARAM_INT:
        snprintf(buf, size, "%.0f", v);
        break;
    default: {
        char num[NL_NUM_MAX];
        snprintf(buf, size, "%s", nl_num(v, num));
        break;
    }
    }
}
