/* params.h - plugin parameter tables: checking them, binding config values
 * to them, and writing values back out. */
#ifndef NL_PARAMS_H
#define NL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <nnlab/plugin.h>

#include "diag.h"
#include "yaml_tree.h"

/* The host keeps parameter values in fixed arrays of this size. */
#define NL_MAX_PARAMS 32

/* Checks p's parameter table: at most NL_MAX_PARAMS rows, valid unique
 * names, known types, choices for CHOICE, defaults inside their ranges.
 * Returns 0, or -1 with d set (NL_EPLUGIN). */
int nl_param_table_validate(const nl_plugin *p, const char *where, nl_diag *d);

/* Fills values[0..n_params) with p's defaults, then with every key of the
 * config map `node` except `name` and `path` (node may be a scalar, the
 * shorthand, or NULL).  Unknown keys (with a did-you-mean), wrong types and
 * out-of-range values are errors at the node.  Returns 0, or -1 with d set
 * (NL_EINPUT). */
int nl_params_bind(const nl_plugin *p, const nl_ynode *node, double *values,
                   nl_diag *d);

/* Whether values[0..n_params) are all p's defaults. */
bool nl_params_are_defaults(const nl_plugin *p, const double *values);

/* Writes value v of parameter `param` as YAML/JSON scalar text into buf
 * (a number in its shortest exact form, true/false, or the choice word,
 * quoted when `quote`). */
void nl_param_format(const nl_param *param, double v, int quote, char *buf,
                     size_t size);

/* Writes the range of `param` for people: "> 0", "[0, 1]", "any", ... */
void nl_param_range_text(const nl_param *param, char *buf, size_t size);

#endif
