/*
 * reference.h - how a reference plugin names its entry point.
 *
 * Each reference plugin source is built twice: as its own .so, where the
 * entry is the exported nnlab_plugin_entry, and into the runner with
 * -DNL_BUILTIN, where four entries must coexist and each gets its own
 * name, nl_builtin_<id>.  The descriptor is the same in both builds.
 */
#ifndef NL_PLUGINS_REFERENCE_H
#define NL_PLUGINS_REFERENCE_H

#include <nnlab/plugin.h>

#ifdef NL_BUILTIN
#define NL_REFERENCE_ENTRY(id)                          \
    const nl_plugin *nl_builtin_##id(unsigned index);  \
    const nl_plugin *nl_builtin_##id(unsigned index)
#else
#define NL_REFERENCE_ENTRY(id) \
    NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index)
#endif

#endif
