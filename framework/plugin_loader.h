/*
 * plugin_loader.h - opening plugin .so files safely, and the registry that
 * finds a plugin by kind and name: built-ins first, then the plugin path.
 */
#ifndef NL_PLUGIN_LOADER_H
#define NL_PLUGIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <nnlab/plugin.h>

#include "diag.h"

/* An opened plugin library: the dlopen handle and its checked descriptors. */
typedef struct nl_library {
    char *path;                 /* canonical path of the .so */
    void *handle;               /* from dlopen */
    const nl_plugin **plugins;  /* checked descriptors */
    size_t n_plugins;
} nl_library;

/* Opens the .so at `path`: refuses a file or directory that anyone may
 * write to (a directory only without the sticky bit), dlopens it with
 * RTLD_NOW | RTLD_LOCAL, and checks every descriptor it hands out (ABI
 * version and struct size first, then metadata, then the cheap numeric
 * part of `runner plugin check`).  Returns a library to close with
 * nl_library_close(), or NULL with d set (NL_EPLUGIN), the .so already
 * closed. */
nl_library *nl_library_open(const char *path, nl_diag *d);

/* As nl_library_open, but without the numeric check: only the library's
 * constructors and its entry point run, and they run first in a child
 * process, so that a library that crashes while loading fails with
 * NL_EPLUGIN instead of taking this process down.  For a process that must
 * survive a plugin whose maths crashes or hangs, such as a batch's parent
 * (a constructor that hangs still hangs it). */
nl_library *nl_library_open_unchecked(const char *path, nl_diag *d);

/* dlcloses and frees.  NULL is fine. */
void nl_library_close(nl_library *lib);

/* Checks one descriptor as the loader does (ABI, struct size, kind, name,
 * version, summary, function table, parameter table with defaults in
 * range).  `where` names its origin in the message.  Returns 0, or -1 with
 * d set (NL_EPLUGIN). */
int nl_plugin_validate(const nl_plugin *p, const char *where, nl_diag *d);

/* "activation", "loss", "optimizer" (or "unknown kind"). */
const char *nl_kind_name(nl_kind kind);

/* True when `name` is a valid plugin name: [a-z0-9_]+, at most 64 bytes. */
bool nl_plugin_name_ok(const char *name);

/* The origin of a built-in plugin, where a library's is its path. */
#define NL_BUILTIN_ORIGIN "builtin"

/* A plugin found by the registry: its descriptor and where it came from. */
typedef struct nl_found {
    const nl_plugin *plugin;
    const char *origin;         /* NL_BUILTIN_ORIGIN or the .so path; owned
                                   by the registry */
} nl_found;

typedef struct nl_registry nl_registry;

/* Creates a registry that searches `dirs` (n_dirs directories, copied) after
 * the built-ins.  Returns NULL when out of memory.  Free with
 * nl_registry_free(), which closes every library it opened. */
nl_registry *nl_registry_new(const char *const *dirs, size_t n_dirs);

/* Makes reg open libraries without running plugin code (see
 * nl_library_open_unchecked): a batch's parent checks configs this way and
 * leaves the numeric check to each run's own process. */
void nl_registry_skip_numeric_check(nl_registry *reg);
void nl_registry_free(nl_registry *reg);

/* Finds the `kind` plugin called `name`: a built-in, else <dir>/<name>.so
 * in each plugin directory in turn (the first that holds a `kind` plugin of
 * that name wins).  Returns 0 and fills *out; or -1 with d set: NL_EINPUT
 * when no such plugin exists (naming every path tried), NL_EPLUGIN when a
 * file on the way cannot be loaded. */
int nl_registry_find(nl_registry *reg, nl_kind kind, const char *name,
                     nl_found *out, nl_diag *d);

/* Opens the .so at `path` and takes its `kind` plugin (the only one of that
 * kind, or the one called `name` when name is not NULL).  Returns 0, or -1
 * with d set (NL_EPLUGIN). */
int nl_registry_open(nl_registry *reg, nl_kind kind, const char *path,
                     const char *name, nl_found *out, nl_diag *d);

/* The built-in plugins (the reference plugins compiled into the runner). */
size_t nl_builtin_count(void);
const nl_plugin *nl_builtin(size_t index);

/* Every name of `kind` the registry can see without opening anything new:
 * built-ins, plus `<name>.so` files in the plugin directories.  Calls
 * visit(name, ctx) for each.  For did-you-mean hints. */
void nl_registry_names(nl_registry *reg, nl_kind kind,
                       void (*visit)(const char *name, void *ctx), void *ctx);

#endif
