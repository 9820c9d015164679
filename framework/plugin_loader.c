/* plugin_loader.c - dlopen with checks, and the plugin registry. */
#define _DEFAULT_SOURCE /* realpath, dirent d_type */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "params.h"
#include "plugin_check.h"

#define NL_MAX_PLUGINS_PER_LIBRARY 64

const char *nl_kind_name(nl_kind kind)
{
    switch (kind) {
    case NL_KIND_ACTIVATION:
        return "activation";
    case NL_KIND_LOSS:
        return "loss";
    case NL_KIND_OPTIMIZER:
        return "optimizer";
    }
    return "unknown kind";
}

bool nl_plugin_name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || *name == '\0')
        return false;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return n <= 64;
}

/* Text that is there and prints on one line: no control characters. */
static bool one_line(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int validate_functions(const nl_plugin *p, const char *where,
                              nl_diag *d)
{
    const char *missing = NULL;
    switch (p->kind) {
    case NL_KIND_ACTIVATION:
        if (p->activation.forward == NULL)
            missing = "activation.forward";
        else if (p->activation.derivative == NULL)
            missing = "activation.derivative";
        else if (!(p->activation.out_min < p->activation.out_max))
            return nl_fail(d, NL_EPLUGIN,
                           "%s: plugin '%s': output range [%g, %g] is empty; "
                           "set out_min < out_max",
                           where, p->name, p->activation.out_min,
                           p->activation.out_max);
        break;
    case NL_KIND_LOSS:
        if (p->loss.value == NULL)
            missing = "loss.value";
        else if (p->loss.gradient == NULL)
            missing = "loss.gradient";
        break;
    case NL_KIND_OPTIMIZER:
        if (p->optimizer.step == NULL)
            missing = "optimizer.step";
        break;
    }
    if (missing == NULL && p->create != NULL && p->destroy == NULL)
        missing = "destroy (required with create)";
    if (missing != NULL)
        return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s' has no %s function",
                       where, p->name, missing);
    return 0;
}

int nl_plugin_validate(const nl_plugin *p, const char *where, nl_diag *d)
{
    if (p->abi_version != NL_ABI_VERSION)
        return nl_fail(d, NL_EPLUGIN,
                       "%s: built for plugin ABI version %u, but this runner "
                       "speaks version %u; rebuild the plugin against this "
                       "nnlab/plugin.h",
                       where, (unsigned)p->abi_version, NL_ABI_VERSION);
    if (p->struct_size != sizeof(nl_plugin))
        return nl_fail(d, NL_EPLUGIN,
                       "%s: descriptor is %u bytes, but ABI version %u "
                       "defines %zu; rebuild the plugin against this "
                       "nnlab/plugin.h",
                       where, (unsigned)p->struct_size, NL_ABI_VERSION,
                       sizeof(nl_plugin));
    if (p->kind != NL_KIND_ACTIVATION && p->kind != NL_KIND_LOSS &&
        p->kind != NL_KIND_OPTIMIZER)
        return nl_fail(d, NL_EPLUGIN,
                       "%s: unknown plugin kind %d (expected activation, loss "
                       "or optimizer)",
                       where, (int)p->kind);
    if (!nl_plugin_name_ok(p->name))
        return nl_fail(d, NL_EPLUGIN,
                       "%s: plugin name '%s' is not [a-z0-9_]+ (at most 64)",
                       where, p->name ? p->name : "(null)");
    if (!one_line(p->version))
        return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s' has no version "
                       "string, or one of more than one line", where, p->name);
    if (!one_line(p->summary))
        return nl_fail(d, NL_EPLUGIN, "%s: plugin '%s' has no summary, or one "
                       "of more than one line (`runner plugins` shows it on "
                       "one)", where, p->name);
    if (validate_functions(p, where, d) < 0)
        return -1;
    return nl_param_table_validate(p, where, d);
}

/* Refuses what another user could have replaced: a file writable by
 * others, or one in a directory writable by others without the sticky
 * bit. */
static int check_permissions(const char *path, nl_diag *d)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return nl_fail(d, NL_EPLUGIN, "%s: cannot load plugin: %s", path,
                       strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nl_fail(d, NL_EPLUGIN,
                       "%s: cannot load plugin: not a regular file%s", path,
                       S_ISDIR(st.st_mode) ? " (a directory)" : "");
    if (st.st_mode & S_IWOTH)
        return nl_fail(d, NL_EPLUGIN,
                       "%s: refusing to load a plugin that anyone may write "
                       "to (mode %04o); run chmod o-w on it",
                       path, (unsigned)(st.st_mode & 07777));
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    if (stat(dir, &st) < 0)
        return nl_fail(d, NL_EPLUGIN, "%s: cannot check directory %s: %s",
                       path, dir, strerror(errno));
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
        return nl_fail(d, NL_EPLUGIN,
                       "%s: refusing to load a plugin from %s, which anyone "
                       "may write to (mode %04o); move the plugin or run "
                       "chmod o-w on the directory",
                       path, dir, (unsigned)(st.st_mode & 07777));
    return 0;
}

void nl_library_close(nl_library *lib)
{
    if (lib == NULL)
        return;
    if (lib->handle != NULL)
        dlclose(lib->handle);
    free(lib->plugins);
    free(lib->path);
    free(lib);
}

/* The `kind` plugin called `name` in lib, or NULL. */
static const nl_plugin *library_get(const nl_library *lib, nl_kind kind,
                                    const char *name)
{
    for (size_t i = 0; i < lib->n_plugins; i++)
        if (lib->plugins[i]->kind == kind &&
            strcmp(lib->plugins[i]->name, name) == 0)
            return lib->plugins[i];
    return NULL;
}

static nl_library *library_open(const char *path, bool numeric_check,
                                nl_diag *d)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        nl_fail(d, NL_EPLUGIN, "%s: cannot load plugin: %s", path,
                strerror(errno));
        return NULL;
    }
    if (check_permissions(real, d) < 0)
        return NULL;
    nl_library *lib = calloc(1, sizeof(*lib));
    if (lib == NULL || (lib->path = strdup(real)) == NULL ||
        (lib->plugins = calloc(NL_MAX_PLUGINS_PER_LIBRARY,
                               sizeof(*lib->plugins))) == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto fail;
    }
    dlerror();
    lib->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (lib->handle == NULL) {
        const char *why = dlerror();
        nl_fail(d, NL_EPLUGIN, "%s: cannot load plugin: %s", real,
                why ? why : "dlopen failed");
        goto fail;
    }
    /* ISO C forbids converting void * to a function pointer; POSIX allows
     * it, and this is the sanctioned way to write it. */
    nl_plugin_entry_fn entry;
    void *sym = dlsym(lib->handle, NL_PLUGIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof(entry));
    if (sym == NULL) {
        nl_fail(d, NL_EPLUGIN,
                "%s: not an nnlab plugin: no entry point %s(); a plugin "
                "defines it as in nnlab/plugin.h",
                real, NL_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    for (unsigned i = 0;; i++) {
        const nl_plugin *p = entry(i);
        if (p == NULL)
            break;
        if (i == NL_MAX_PLUGINS_PER_LIBRARY) {
            nl_fail(d, NL_EPLUGIN, "%s: more than %d plugins in one library",
                    real, NL_MAX_PLUGINS_PER_LIBRARY);
            goto fail;
        }
        /* The cheap part of `runner plugin check`: ABI and metadata, and a
         * derivative spot-check, so nothing trains with a wrong gradient. */
        if (nl_plugin_validate(p, real, d) < 0 ||
            (numeric_check && nl_plugin_check(p, real, false, NULL, d) > 0))
            goto fail;
        if (library_get(lib, p->kind, p->name) != NULL) {
            nl_fail(d, NL_EPLUGIN, "%s: two %s plugins named '%s'; a name "
                    "is unique per kind, so rename one", real,
                    nl_kind_name(p->kind), p->name);
            goto fail;
        }
        lib->plugins[lib->n_plugins++] = p;
    }
    if (lib->n_plugins == 0) {
        nl_fail(d, NL_EPLUGIN, "%s: %s(0) returned no plugin", real,
                NL_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    return lib;
fail:
    nl_library_close(lib);
    return NULL;
}

nl_library *nl_library_open(const char *path, nl_diag *d)
{
    return library_open(path, true, d);
}

/* Loads the library at `path` in a child process first, so that one
 * whose constructors or entry point crash kills that child instead of
 * this process.  Returns 0 when the child lived (it may have failed in an
 * ordinary way: this process then fails the same way, with the message)
 * or could not be made (this process then loads it as it would have),
 * -1 with d set when it died. */
static int survives_loading(const char *path, nl_diag *d)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* No core file of a probe in the user's directory. */
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
        nl_diag ignored;
        nl_library_close(library_open(path, false, &ignored));
        _exit(0); /* not exit: nothing of this process's is flushed twice */
    }
    int ws;
    while (pid > 0 && waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return 0;
    if (pid < 0 || !WIFSIGNALED(ws))
        return 0;
    int sig = WTERMSIG(ws);
    if (sig == SIGINT || sig == SIGTERM)
        return nl_fail(d, NL_EPLUGIN, "%s: interrupted (%s) while loading",
                       path, nl_signal_name(sig));
    return nl_fail(d, NL_EPLUGIN, "%s: cannot load plugin: it crashed while "
                   "loading (killed by signal %d, %s), in its constructors "
                   "or in %s(); a plugin must load without crashing", path,
                   sig, nl_signal_name(sig), NL_PLUGIN_ENTRY_SYMBOL);
}

nl_library *nl_library_open_unchecked(const char *path, nl_diag *d)
{
    if (survives_loading(path, d) < 0)
        return NULL;
    return library_open(path, false, d);
}

/* ---- registry ---- */

/* Defined by the reference plugins when built with -DNL_BUILTIN. */
const nl_plugin *nl_builtin_sigmoid(unsigned index);
const nl_plugin *nl_builtin_step(unsigned index);
const nl_plugin *nl_builtin_mse(unsigned index);
const nl_plugin *nl_builtin_gradient_descent(unsigned index);

static nl_plugin_entry_fn const builtin_entries[] = {
    nl_builtin_sigmoid,
    nl_builtin_step,
    nl_builtin_mse,
    nl_builtin_gradient_descent,
};

size_t nl_builtin_count(void)
{
    return sizeof(builtin_entries) / sizeof(builtin_entries[0]);
}

const nl_plugin *nl_builtin(size_t index)
{
    return index < nl_builtin_count() ? builtin_entries[index](0) : NULL;
}

struct nl_registry {
    char **dirs;
    size_t n_dirs;
    bool unchecked;         /* open without running plugin code */
    nl_library **libs;
    size_t n_libs;
};

nl_registry *nl_registry_new(const char *const *dirs, size_t n_dirs)
{
    nl_registry *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return NULL;
    reg->dirs = calloc(n_dirs + 1, sizeof(*reg->dirs));
    if (reg->dirs == NULL) {
        free(reg);
        return NULL;
    }
    for (; reg->n_dirs < n_dirs; reg->n_dirs++)
        if ((reg->dirs[reg->n_dirs] = strdup(dirs[reg->n_dirs])) == NULL) {
            nl_registry_free(reg);
            return NULL;
        }
    return reg;
}

void nl_registry_skip_numeric_check(nl_registry *reg)
{
    reg->unchecked = true;
}

void nl_registry_free(nl_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->n_dirs; i++)
        free(reg->dirs[i]);
    for (size_t i = 0; i < reg->n_libs; i++)
        nl_library_close(reg->libs[i]);
    free(reg->dirs);
    free(reg->libs);
    free(reg);
}

/* Opens (or reuses) the library at `path` and keeps it open in reg. */
static nl_library *registry_library(nl_registry *reg, const char *path,
                                    nl_diag *d)
{
    char real[PATH_MAX];
    if (realpath(path, real) != NULL)
        for (size_t i = 0; i < reg->n_libs; i++)
            if (strcmp(reg->libs[i]->path, real) == 0)
                return reg->libs[i];
    nl_library **libs = realloc(reg->libs, (reg->n_libs + 1) * sizeof(*libs));
    if (libs == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        return NULL;
    }
    reg->libs = libs;
    nl_library *lib = reg->unchecked ? nl_library_open_unchecked(path, d)
                                     : nl_library_open(path, d);
    if (lib != NULL)
        reg->libs[reg->n_libs++] = lib;
    return lib;
}

/* Picks the `kind` plugin from lib (called `name` when not NULL). */
static int library_pick(const nl_library *lib, nl_kind kind, const char *name,
                        nl_found *out, nl_diag *d)
{
    const nl_plugin *match = NULL;
    size_t n_kind = 0;
    for (size_t i = 0; i < lib->n_plugins; i++) {
        const nl_plugin *p = lib->plugins[i];
        if (p->kind != kind)
            continue;
        n_kind++;
        if (name == NULL || strcmp(p->name, name) == 0)
            match = p;
    }
    if (match != NULL && (name != NULL || n_kind == 1)) {
        out->plugin = match;
        out->origin = lib->path;
        return 0;
    }
    if (n_kind > 1 && name == NULL)
        return nl_fail(d, NL_EPLUGIN,
                       "%s: holds %zu %s plugins; add name: to choose one",
                       lib->path, n_kind, nl_kind_name(kind));
    const nl_plugin *first = lib->plugins[0];
    return nl_fail(d, NL_EPLUGIN, "%s: provides %s '%s', not %s%s '%s'",
                   lib->path, nl_kind_name(first->kind), first->name,
                   kind == NL_KIND_LOSS ? "a " : "an ",
                   nl_kind_name(kind), name ? name : first->name);
}

int nl_registry_find(nl_registry *reg, nl_kind kind, const char *name,
                     nl_found *out, nl_diag *d)
{
    if (!nl_plugin_name_ok(name))
        return nl_fail(d, NL_EINPUT,
                       "'%s' is not a plugin name ([a-z0-9_]+); to load a "
                       "file, write path: instead of name:",
                       name);
    for (size_t i = 0; i < nl_builtin_count(); i++) {
        const nl_plugin *p = nl_builtin(i);
        if (p->kind == kind && strcmp(p->name, name) == 0) {
            out->plugin = p;
            out->origin = NL_BUILTIN_ORIGIN;
            return 0;
        }
    }
    char tried[NL_DIAG_MAX] = "";
    size_t used = 0;
    for (size_t i = 0; i < reg->n_dirs; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s.so", reg->dirs[i], name);
        const char *note = "";
        if (access(path, F_OK) == 0) {
            nl_library *lib = registry_library(reg, path, d);
            if (lib == NULL)
                return -1; /* there, but broken: a plugin error */
            if ((out->plugin = library_get(lib, kind, name)) != NULL) {
                out->origin = lib->path;
                return 0;
            }
            note = kind == NL_KIND_LOSS ? " (no loss there)"
                   : kind == NL_KIND_OPTIMIZER ? " (no optimizer there)"
                                               : " (no activation there)";
        }
        int n = snprintf(tried + used, sizeof(tried) - used, "%s%s%s",
                         used ? ", " : "", path, note);
        if (n > 0 && (size_t)n < sizeof(tried) - used)
            used += (size_t)n;
    }
    /* A name that names no plugin of this kind is a config error. */
    return nl_fail(d, NL_EINPUT, "no %s plugin '%s': not built in%s%s",
                   nl_kind_name(kind), name,
                   used ? ", and not found at " : ", and no plugin path is set",
                   tried);
}

int nl_registry_open(nl_registry *reg, nl_kind kind, const char *path,
                     const char *name, nl_found *out, nl_diag *d)
{
    nl_library *lib = registry_library(reg, path, d);
    if (lib == NULL)
        return -1;
    return library_pick(lib, kind, name, out, d);
}

void nl_registry_names(nl_registry *reg, nl_kind kind,
                       void (*visit)(const char *name, void *ctx), void *ctx)
{
    for (size_t i = 0; i < nl_builtin_count(); i++)
        if (nl_builtin(i)->kind == kind)
            visit(nl_builtin(i)->name, ctx);
    for (size_t i = 0; i < reg->n_dirs; i++) {
        DIR *dir = opendir(reg->dirs[i]);
        if (dir == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
                char name[256];
                snprintf(name, sizeof(name), "%.*s", (int)(len - 3), e->d_name);
                visit(name, ctx);
            }
        }
        closedir(dir);
    }
}
