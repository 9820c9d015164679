/* plugin_template.h - commented plugin sources for `runner plugin new`. */
#ifndef NL_PLUGIN_TEMPLATE_H
#define NL_PLUGIN_TEMPLATE_H

#include <stdio.h>

#include <nnlab/plugin.h>

/* Writes a plugin source of `kind` called `name` (a valid plugin name)
 * that builds as is; its math is a marked placeholder.  Returns 0, or -1
 * on a write error. */
int nl_template_write(nl_kind kind, const char *name, FILE *out);

#endif
