/*
 * test_loader.c - loading plugins from shared objects: the checks
 * nl_library_open makes (ABI, descriptor, metadata, file and directory
 * permissions), the registry's lookup by name and by path, and the same
 * through the real runner binary (exit status 3 and the message shown).
 *
 * The fixtures are tests/fixtures/NAME.c, built to <build>/fixtures/NAME.so;
 * most are broken on purpose, one per way a plugin can be wrong.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>

#include "config.h"
#include "params.h"
#include "perceptron.h"
#include "plugin_loader.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static void make_dir(const char *path, mode_t mode)
{
    cr_assert(eq(int, mkdir(path, 0700), 0), "mkdir %s: %s", path,
              strerror(errno));
    cr_assert(eq(int, chmod(path, mode), 0)); /* chmod ignores the umask */
}

/* nl_library_open(path) must fail with NL_EPLUGIN; returns the message. */
static nl_diag refused(const char *path)
{
    nl_diag d = {.status = NL_OK, .message = ""};
    nl_library *lib = nl_library_open(path, &d);
    if (lib != NULL)
        nl_library_close(lib);
    cr_assert(lib == NULL, "%s was accepted", path);
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN), "status %d: %s",
              (int)d.status, d.message);
    cr_assert(d.message[0] != '\0');
    return d;
}

/* nl_library_open(path) must succeed; returns the library. */
static nl_library *accepted(const char *path)
{
    nl_diag d = {.status = NL_OK, .message = ""};
    nl_library *lib = nl_library_open(path, &d);
    cr_assert(lib != NULL, "%s refused: %s", path, d.message);
    return lib;
}

/* Fixture `name` is refused with "<its real path>: <clause>...". */
static void fixture_refused(const char *name, const char *clause)
{
    char *path = th_fixture(name), *canon = th_real(path);
    nl_diag d = refused(path);
    char prefix[PATH_MAX + 8];
    snprintf(prefix, sizeof(prefix), "%s: ", canon);
    th_assert_starts_with(d.message, prefix);
    th_assert_contains(d.message, clause);
    free(canon);
    free(path);
}

/* ---- broken fixtures, refused by nl_library_open ---- */

Test(fixtures, wrong_abi_names_both_versions)
{
    char clause[256];
    snprintf(clause, sizeof(clause),
             "built for plugin ABI version %u, but this runner speaks "
             "version %u; rebuild the plugin against this nnlab/plugin.h",
             NL_ABI_VERSION + 1u, (unsigned)NL_ABI_VERSION);
    fixture_refused("wrong_abi", clause);
}

Test(fixtures, bad_size_names_both_sizes)
{
    char clause[256];
    snprintf(clause, sizeof(clause),
             "descriptor is %zu bytes, but ABI version %u defines %zu",
             sizeof(nl_plugin) + 8, (unsigned)NL_ABI_VERSION,
             sizeof(nl_plugin));
    fixture_refused("bad_size", clause);
}

Test(fixtures, no_entry_point)
{
    fixture_refused("no_entry",
                    "not an nnlab plugin: no entry point "
                    "nnlab_plugin_entry()");
}

Test(fixtures, bad_name)
{
    fixture_refused("bad_name", "plugin name 'Bad/Name' is not [a-z0-9_]+");
}

Test(fixtures, two_plugins_of_a_kind_with_one_name)
{
    fixture_refused("same_name", "two activation plugins named 'same_name'; "
                                 "a name is unique per kind, so rename one");
}

Test(fixtures, a_summary_of_two_lines)
{
    fixture_refused("two_lines", "plugin 'two_lines' has no summary, or one "
                                 "of more than one line");
}

Test(fixtures, missing_derivative)
{
    fixture_refused("missing_fn",
                    "plugin 'missing_fn' has no activation.derivative "
                    "function");
}

Test(fixtures, default_outside_its_range)
{
    fixture_refused("bad_default",
                    "plugin 'bad_default': default 2 of parameter 'gain' is "
                    "above the maximum (range [0, 1])");
}

Test(fixtures, good_relu_loads)
{
    char *path = th_fixture("fixture_relu"), *canon = th_real(path);
    nl_library *lib = accepted(path);
    cr_assert(eq(str, lib->path, canon), "the library keeps the real path");
    cr_assert(eq(sz, lib->n_plugins, 1));
    const nl_plugin *p = lib->plugins[0];
    cr_assert(eq(str, (char *)p->name, "fixture_relu"));
    cr_assert(eq(int, (int)p->kind, (int)NL_KIND_ACTIVATION));
    double z[5] = {-2, -0.5, 0, 0.5, 3}, a[5], d[5];
    cr_assert(eq(int, p->activation.forward(NULL, z, a, 5), 0));
    cr_assert(eq(int, p->activation.derivative(NULL, z, a, d, 5), 0));
    static const double want_a[5] = {0, 0, 0, 0.5, 3};
    static const double want_d[5] = {0, 0, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        cr_assert(eq(dbl, a[i], want_a[i]));
        cr_assert(eq(dbl, d[i], want_d[i]));
    }
    nl_library_close(lib);
    free(canon);
    free(path);
}

Test(fixtures, multi_carries_an_activation_and_a_loss)
{
    char *path = th_fixture("multi");
    nl_library *lib = accepted(path);
    cr_assert(eq(sz, lib->n_plugins, 2));
    cr_assert(eq(int, (int)lib->plugins[0]->kind, (int)NL_KIND_ACTIVATION));
    cr_assert(eq(int, (int)lib->plugins[1]->kind, (int)NL_KIND_LOSS));
    cr_assert(eq(str, (char *)lib->plugins[0]->name, "multi"));
    cr_assert(eq(str, (char *)lib->plugins[1]->name, "multi"));
    nl_library_close(lib);
    free(path);
}

Test(fixtures, create_fails_loads_but_will_not_start)
{
    /* Loading succeeds (with its default limit it starts) ... */
    char *path = th_fixture("create_fails");
    nl_library *lib = accepted(path);
    cr_assert(eq(sz, lib->n_plugins, 1));
    /* ... but starting it with limit 4 for 7 parameters fails with the
     * plugin's own message, which the host wraps with kind, name and
     * origin. */
    nl_plugin_use use;
    memset(&use, 0, sizeof(use));
    use.found.plugin = lib->plugins[0];
    use.found.origin = lib->path;
    use.params[0] = 4;
    nl_instance inst;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_instance_create(&inst, &use, 7, &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN));
    char want[PATH_MAX + 256];
    snprintf(want, sizeof(want),
             "activation create_fails (%s) refused to start: create_fails "
             "says no: limit 4 is too small for 7 parameters",
             lib->path);
    cr_assert(eq(str, d.message, want));
    cr_assert(inst.self == NULL);
    /* The same with a limit that fits starts and stops cleanly. */
    use.params[0] = 7;
    cr_assert(eq(int, nl_instance_create(&inst, &use, 7, &d), 0), "%s",
              d.message);
    cr_assert(inst.self != NULL);
    nl_instance_destroy(&inst);
    cr_assert(inst.self == NULL);
    nl_library_close(lib);
    free(path);
}

/* ---- paths and permissions ---- */

TestSuite(paths, .init = th_tmp_init, .fini = th_tmp_fini);

Test(paths, missing_file)
{
    char *path = th_join(th_tmp, "nothing.so");
    nl_diag d = refused(path);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want), "%s: cannot load plugin: %s", path,
             strerror(ENOENT));
    cr_assert(eq(str, d.message, want));
    free(path);
}

Test(paths, directory_is_not_a_plugin)
{
    char *dir = th_build_path("fixtures"), *canon = th_real(dir);
    nl_diag d = refused(dir);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want),
             "%s: cannot load plugin: not a regular file (a directory)",
             canon);
    cr_assert(eq(str, d.message, want));
    free(canon);
    free(dir);
}

Test(paths, symlink_loop_is_refused_without_crashing)
{
    char *a = th_join(th_tmp, "a.so"), *b = th_join(th_tmp, "b.so");
    cr_assert(eq(int, symlink(b, a), 0));
    cr_assert(eq(int, symlink(a, b), 0));
    nl_diag d = refused(a);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want), "%s: cannot load plugin: %s", a,
             strerror(ELOOP));
    cr_assert(eq(str, d.message, want));
    free(a);
    free(b);
}

Test(paths, symlink_to_a_good_plugin_loads_the_target)
{
    char *good = th_fixture("fixture_relu"), *canon = th_real(good);
    char *link = th_join(th_tmp, "relu.so");
    cr_assert(eq(int, symlink(canon, link), 0));
    nl_library *lib = accepted(link);
    cr_assert(eq(str, lib->path, canon));
    nl_library_close(lib);
    free(link);
    free(canon);
    free(good);
}

Test(paths, not_a_shared_object)
{
    char *path = th_join(th_tmp, "text.so");
    cr_assert(eq(int, th_write(path, "this is not ELF\n"), 0));
    cr_assert(eq(int, chmod(path, 0644), 0));
    char *canon = th_real(path);
    nl_diag d = refused(path);
    char prefix[PATH_MAX + 64];
    snprintf(prefix, sizeof(prefix), "%s: cannot load plugin: ", canon);
    th_assert_starts_with(d.message, prefix);
    cr_assert(gt(sz, strlen(d.message), strlen(prefix)),
              "the dlerror() text follows");
    free(canon);
    free(path);
}

Test(paths, world_writable_file_is_refused)
{
    char *good = th_fixture("fixture_relu"), *copy = th_join(th_tmp, "relu.so");
    th_copy_file(good, copy, 0644);
    nl_library_close(accepted(copy)); /* the copy itself is fine */

    cr_assert(eq(int, chmod(copy, 0666), 0));
    char *canon = th_real(copy);
    nl_diag d = refused(copy);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want),
             "%s: refusing to load a plugin that anyone may write to "
             "(mode 0666); run chmod o-w on it",
             canon);
    cr_assert(eq(str, d.message, want));

    cr_assert(eq(int, chmod(copy, 0757), 0));
    d = refused(copy);
    th_assert_contains(d.message, "(mode 0757)");

    /* Group-writable is not "anyone": accepted. */
    cr_assert(eq(int, chmod(copy, 0664), 0));
    nl_library_close(accepted(copy));
    free(canon);
    free(copy);
    free(good);
}

Test(paths, world_writable_directory_needs_the_sticky_bit)
{
    char *good = th_fixture("fixture_relu");
    char *dir = th_join(th_tmp, "shared");
    make_dir(dir, 0777);
    char *copy = th_join(th_tmp, "shared/relu.so");
    th_copy_file(good, copy, 0644);
    char *canon = th_real(copy), *canon_dir = th_real(dir);

    nl_diag d = refused(copy);
    char want[2 * PATH_MAX + 256];
    snprintf(want, sizeof(want),
             "%s: refusing to load a plugin from %s, which anyone may write "
             "to (mode 0777); move the plugin or run chmod o-w on the "
             "directory",
             canon, canon_dir);
    cr_assert(eq(str, d.message, want));

    /* With the sticky bit (like /tmp) others cannot replace our file. */
    cr_assert(eq(int, chmod(dir, 01777), 0));
    nl_library *lib = accepted(copy);
    cr_assert(eq(str, lib->path, canon));
    nl_library_close(lib);

    /* Not writable by others at all: fine too. */
    cr_assert(eq(int, chmod(dir, 0755), 0));
    nl_library_close(accepted(copy));

    free(canon_dir);
    free(canon);
    free(copy);
    free(dir);
    free(good);
}

Test(paths, relative_path_is_canonicalised)
{
    char *good = th_fixture("fixture_relu"), *canon = th_real(good);
    /* build/fixtures/../fixtures/fixture_relu.so */
    char rel[PATH_MAX];
    snprintf(rel, sizeof(rel), "%s/fixtures/../fixtures/fixture_relu.so",
             th_build());
    nl_library *lib = accepted(rel);
    cr_assert(eq(str, lib->path, canon));
    nl_library_close(lib);
    free(canon);
    free(good);
}

/* ---- nl_plugin_validate on descriptors made here ---- */

static int ok_forward(void *self, const double *z, double *a, size_t n)
{
    (void)self;
    memcpy(a, z, n * sizeof(double));
    return 0;
}

static int ok_derivative(void *self, const double *z, const double *a,
                         double *d, size_t n)
{
    (void)self;
    (void)z;
    (void)a;
    for (size_t i = 0; i < n; i++)
        d[i] = 1;
    return 0;
}

static int ok_value(void *self, const double *yhat, const double *y,
                    double *l, size_t n)
{
    (void)self;
    for (size_t i = 0; i < n; i++)
        l[i] = fabs(yhat[i] - y[i]);
    return 0;
}

static void *ok_create(const double *params, size_t n_theta, char *err)
{
    (void)params;
    (void)n_theta;
    (void)err;
    return malloc(1);
}

static nl_plugin valid_activation(void)
{
    nl_plugin p;
    memset(&p, 0, sizeof(p));
    p.abi_version = NL_ABI_VERSION;
    p.struct_size = sizeof(nl_plugin);
    p.kind = NL_KIND_ACTIVATION;
    p.name = "probe";
    p.version = "1.0";
    p.summary = "a descriptor built by the test";
    p.activation.forward = ok_forward;
    p.activation.derivative = ok_derivative;
    p.activation.out_min = 0;
    p.activation.out_max = 1;
    return p;
}

/* p must be refused, with a message "here: <clause>...". */
static void invalid(const nl_plugin *p, const char *clause)
{
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_plugin_validate(p, "here", &d), -1),
              "accepted; expected: %s", clause);
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN));
    th_assert_starts_with(d.message, "here: ");
    th_assert_contains(d.message, clause);
}

Test(validate, a_valid_descriptor_passes)
{
    nl_plugin p = valid_activation();
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);
    /* names: [a-z0-9_]+, at most 64 bytes */
    char name[66];
    memset(name, 'a', 64);
    name[64] = '\0';
    p.name = name;
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);
    for (size_t i = 0; i < nl_builtin_count(); i++)
        cr_assert(eq(int, nl_plugin_validate(nl_builtin(i), "builtin", &d),
                     0), "%s", d.message);
}

Test(validate, descriptor_header_and_metadata)
{
    nl_plugin p = valid_activation();
    p.abi_version = 0;
    p.struct_size = 3; /* not even looked at after the version */
    invalid(&p, "built for plugin ABI version 0, but this runner speaks "
                "version 1");

    p = valid_activation();
    p.struct_size = (uint32_t)sizeof(nl_plugin) - 8;
    invalid(&p, "descriptor is");

    p = valid_activation();
    p.kind = (nl_kind)7;
    invalid(&p, "unknown plugin kind 7 (expected activation, loss or "
                "optimizer)");

    p = valid_activation();
    p.name = NULL;
    invalid(&p, "plugin name '(null)' is not [a-z0-9_]+");
    p.name = "";
    invalid(&p, "plugin name '' is not");
    p.name = "sig moid";
    invalid(&p, "plugin name 'sig moid' is not");
    p.name = "Sigmoid";
    invalid(&p, "plugin name 'Sigmoid' is not");
    char name[66];
    memset(name, 'a', 65);
    name[65] = '\0';
    p.name = name;
    invalid(&p, "is not [a-z0-9_]+ (at most 64)");

    p = valid_activation();
    p.version = "";
    invalid(&p, "plugin 'probe' has no version string");
    p.version = NULL;
    invalid(&p, "plugin 'probe' has no version string");

    p = valid_activation();
    p.summary = NULL;
    invalid(&p, "plugin 'probe' has no summary");
}

Test(validate, function_tables)
{
    nl_plugin p = valid_activation();
    p.activation.forward = NULL;
    invalid(&p, "plugin 'probe' has no activation.forward function");

    p = valid_activation();
    p.activation.out_min = 1;
    p.activation.out_max = 1;
    invalid(&p, "plugin 'probe': output range [1, 1] is empty; set "
                "out_min < out_max");
    p.activation.out_min = NAN;
    invalid(&p, "is empty");

    p = valid_activation();
    p.create = ok_create;
    invalid(&p, "plugin 'probe' has no destroy (required with create) "
                "function");
    p.destroy = free;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);

    /* a loss needs value and gradient */
    p = valid_activation();
    p.kind = NL_KIND_LOSS;
    invalid(&p, "plugin 'probe' has no loss.value function");
    p.loss.value = ok_value;
    invalid(&p, "plugin 'probe' has no loss.gradient function");

    /* an optimizer needs step */
    p = valid_activation();
    p.kind = NL_KIND_OPTIMIZER;
    invalid(&p, "plugin 'probe' has no optimizer.step function");
}

Test(validate, parameter_tables)
{
    static const char *const no_choices[] = {NULL};
    static const char *const two_choices[] = {"a", "b", NULL};
    nl_param rows[2];
    nl_plugin p = valid_activation();
    p.params = rows;

    memset(rows, 0, sizeof(rows));
    rows[0] = (nl_param){.name = "gain", .type = NL_PARAM_REAL,
                         .default_value = 0.5, .min = 0, .max = 1};
    p.n_params = 1;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);

    p.params = NULL;
    invalid(&p, "plugin 'probe' declares 1 parameters but no table");
    p.params = rows;

    rows[0].name = "name";
    invalid(&p, "parameter 0 has an invalid name 'name'");
    rows[0].name = "path";
    invalid(&p, "parameter 0 has an invalid name 'path'");
    rows[0].name = "Gain";
    invalid(&p, "parameter 0 has an invalid name 'Gain'");
    rows[0].name = "gain";

    rows[1] = rows[0];
    p.n_params = 2;
    invalid(&p, "parameter 'gain' declared twice");
    p.n_params = 1;

    rows[0].type = (nl_param_type)9;
    invalid(&p, "parameter 'gain' has unknown type 9");
    rows[0].type = NL_PARAM_REAL;

    rows[0].default_value = -0.5;
    invalid(&p, "default -0.5 of parameter 'gain' is below the minimum "
                "(range [0, 1])");
    rows[0].default_value = NAN;
    invalid(&p, "of parameter 'gain' is not finite");
    rows[0].default_value = 0;
    rows[0].flags = NL_PARAM_MIN_EXCLUSIVE;
    invalid(&p, "default 0 of parameter 'gain' is below the minimum "
                "(range (0, 1])");
    rows[0].flags = 0;

    rows[0].type = NL_PARAM_INT;
    rows[0].max = 10;
    rows[0].default_value = 1.5;
    invalid(&p, "default 1.5 of parameter 'gain' is not a whole number");
    rows[0].default_value = 3;
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);

    rows[0].type = NL_PARAM_BOOL;
    rows[0].default_value = 2;
    invalid(&p, "default 2 of parameter 'gain' is above the maximum");
    rows[0].default_value = 1;
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);

    rows[0].type = NL_PARAM_CHOICE;
    rows[0].choices = NULL;
    rows[0].default_value = 0;
    invalid(&p, "choice parameter 'gain' has no choices");
    rows[0].choices = no_choices;
    invalid(&p, "choice parameter 'gain' has no choices");
    rows[0].choices = two_choices;
    rows[0].default_value = 2;
    invalid(&p, "default 2 of parameter 'gain' is above the maximum (range "
                "a|b)");
    rows[0].default_value = 1;
    cr_assert(eq(int, nl_plugin_validate(&p, "here", &d), 0), "%s",
              d.message);

    p.n_params = NL_MAX_PARAMS + 1;
    invalid(&p, "has 33 parameters (at most 32)");
}

/* ---- the registry ---- */

TestSuite(registry, .init = th_tmp_init, .fini = th_tmp_fini);

static nl_registry *registry_of(const char *dir1, const char *dir2)
{
    const char *dirs[2] = {dir1, dir2};
    size_t n = dir2 ? 2 : dir1 ? 1 : 0;
    nl_registry *reg = nl_registry_new(dirs, n);
    cr_assert(reg != NULL);
    return reg;
}

Test(registry, finds_a_name_on_a_plugin_directory)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("fixture_relu"), *canon = th_real(so);
    nl_registry *reg = registry_of(dir, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION,
                                       "fixture_relu", &f, &d), 0),
              "%s", d.message);
    cr_assert(eq(str, (char *)f.plugin->name, "fixture_relu"));
    cr_assert(eq(str, (char *)f.origin, canon));
    /* Asked again, the registry reuses the open library. */
    nl_found g = {0};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION,
                                       "fixture_relu", &g, &d), 0));
    cr_assert(eq(ptr, (void *)g.plugin, (void *)f.plugin));
    nl_registry_free(reg);
    free(canon);
    free(so);
    free(dir);
}

Test(registry, built_in_names_come_first)
{
    /* build/plugins/sigmoid.so exists, but the built-in wins. */
    char *dir = th_build_path("plugins");
    nl_registry *reg = registry_of(dir, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION, "sigmoid",
                                       &f, &d), 0), "%s", d.message);
    cr_assert(eq(str, (char *)f.origin, "builtin"));
    cr_assert(eq(ptr, (void *)f.plugin, (void *)nl_builtin(0)));
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_OPTIMIZER,
                                       "gradient_descent", &f, &d), 0));
    cr_assert(eq(str, (char *)f.origin, "builtin"));
    nl_registry_free(reg);
    free(dir);
}

Test(registry, not_found_lists_the_paths_tried)
{
    char *dir = th_build_path("fixtures");
    nl_registry *reg = registry_of(dir, "/nonexistent/plugins");
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_LOSS, "hinge", &f, &d),
                 -1));
    /* A name that names nothing is a config error, not a plugin error. */
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
    char want[PATH_MAX + 256];
    snprintf(want, sizeof(want),
             "no loss plugin 'hinge': not built in, and not found at "
             "%s/hinge.so, /nonexistent/plugins/hinge.so",
             dir);
    cr_assert(eq(str, d.message, want));
    nl_registry_free(reg);

    reg = registry_of(NULL, NULL);
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_OPTIMIZER, "adam", &f,
                                       &d), -1));
    cr_assert(eq(str, d.message,
                 "no optimizer plugin 'adam': not built in, and no plugin "
                 "path is set"));
    nl_registry_free(reg);
    free(dir);
}

Test(registry, a_name_is_never_a_path)
{
    char *dir = th_build_path("fixtures");
    nl_registry *reg = registry_of(dir, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION,
                                       "../fixtures/fixture_relu", &f, &d),
                 -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
    cr_assert(eq(str, d.message,
                 "'../fixtures/fixture_relu' is not a plugin name "
                 "([a-z0-9_]+); to load a file, write path: instead of "
                 "name:"));
    nl_registry_free(reg);
    free(dir);
}

Test(registry, a_broken_plugin_found_by_name_says_why)
{
    char *dir = th_build_path("fixtures");
    nl_registry *reg = registry_of(dir, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION, "wrong_abi",
                                       &f, &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN));
    th_assert_contains(d.message, "wrong_abi.so: built for plugin ABI version");
    nl_registry_free(reg);
    free(dir);
}

Test(registry, wrong_kind)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("fixture_relu"), *canon = th_real(so);
    nl_registry *reg = registry_of(dir, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    char want[PATH_MAX + 128];

    /* By name: a .so of another kind does not count; the search goes on
     * and, finding nothing, says so (a config error). */
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_LOSS, "fixture_relu",
                                       &f, &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
    snprintf(want, sizeof(want),
             "no loss plugin 'fixture_relu': not built in, and not found at "
             "%s/fixture_relu.so (no loss there)",
             dir);
    cr_assert(eq(str, d.message, want));

    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_OPTIMIZER, so, NULL, &f,
                                       &d), -1));
    snprintf(want, sizeof(want),
             "%s: provides activation 'fixture_relu', not an optimizer "
             "'fixture_relu'",
             canon);
    cr_assert(eq(str, d.message, want));
    nl_registry_free(reg);
    free(canon);
    free(so);
    free(dir);
}

Test(registry, one_library_two_kinds)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("multi"), *canon = th_real(so);
    nl_registry *reg = registry_of(dir, NULL);
    nl_found act = {0}, loss = {0}, by_path = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_ACTIVATION, "multi",
                                       &act, &d), 0), "%s", d.message);
    cr_assert(eq(int, nl_registry_find(reg, NL_KIND_LOSS, "multi", &loss,
                                       &d), 0), "%s", d.message);
    cr_assert(eq(int, (int)act.plugin->kind, (int)NL_KIND_ACTIVATION));
    cr_assert(eq(int, (int)loss.plugin->kind, (int)NL_KIND_LOSS));
    cr_assert(eq(str, (char *)act.origin, canon));
    cr_assert(eq(str, (char *)loss.origin, canon));
    /* By path, without name:, the only plugin of the kind is taken. */
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_LOSS, so, NULL, &by_path,
                                       &d), 0), "%s", d.message);
    cr_assert(eq(ptr, (void *)by_path.plugin, (void *)loss.plugin),
              "the library was opened once");
    /* An optimizer it does not have. */
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_OPTIMIZER, so, NULL,
                                       &by_path, &d), -1));
    th_assert_contains(d.message, "provides activation 'multi', not an "
                                  "optimizer");
    nl_registry_free(reg);
    free(canon);
    free(so);
    free(dir);
}

Test(registry, two_of_a_kind_need_a_name)
{
    char *so = th_fixture("twins"), *canon = th_real(so);
    nl_registry *reg = registry_of(NULL, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_ACTIVATION, so, NULL, &f,
                                       &d), -1));
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want),
             "%s: holds 2 activation plugins; add name: to choose one",
             canon);
    cr_assert(eq(str, d.message, want));
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_ACTIVATION, so, "twin_b",
                                       &f, &d), 0), "%s", d.message);
    cr_assert(eq(str, (char *)f.plugin->name, "twin_b"));
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_ACTIVATION, so, "twin_c",
                                       &f, &d), -1));
    th_assert_contains(d.message, "not an activation 'twin_c'");
    nl_registry_free(reg);
    free(canon);
    free(so);
}

Test(registry, open_refuses_what_nl_library_open_refuses)
{
    char *so = th_fixture("missing_fn");
    nl_registry *reg = registry_of(NULL, NULL);
    nl_found f = {0};
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_ACTIVATION, so, NULL, &f,
                                       &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EPLUGIN));
    th_assert_contains(d.message, "has no activation.derivative function");
    /* A second try fails the same way (nothing half-registered). */
    cr_assert(eq(int, nl_registry_open(reg, NL_KIND_ACTIVATION, so, NULL, &f,
                                       &d), -1));
    th_assert_contains(d.message, "has no activation.derivative function");
    nl_registry_free(reg);
    free(so);
}

typedef struct name_list {
    char names[64][72];
    size_t n;
} name_list;

static void collect(const char *name, void *ctx)
{
    name_list *l = ctx;
    if (l->n < COUNT(l->names))
        snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
}

static bool listed(const name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

Test(registry, names_for_did_you_mean)
{
    char *dir = th_build_path("fixtures");
    nl_registry *reg = registry_of(dir, NULL);
    name_list l = {.n = 0};
    nl_registry_names(reg, NL_KIND_ACTIVATION, collect, &l);
    cr_assert(listed(&l, "sigmoid"));
    cr_assert(listed(&l, "step"));
    cr_assert(listed(&l, "fixture_relu"), "<name>.so files in the dirs");
    cr_assert(eq(int, listed(&l, "mse"), false),
              "built-ins of another kind are not");
    nl_registry_free(reg);
    free(dir);
}

/* ---- through the runner binary ---- */

TestSuite(runner, .init = th_tmp_init, .fini = th_tmp_fini);

/* Writes <th_tmp>/<file> with an AND experiment whose plugin lines are
 * `plugins` (YAML, one or more lines); returns its path. */
static char *experiment(const char *file, const char *plugins)
{
    char *path = th_join(th_tmp, file), *text = NULL;
    cr_assert(asprintf(&text,
                       "name: loader_test\n"
                       "seed: 7\n"
                       "data: {generator: and}\n"
                       "model: {init: zeros}\n"
                       "%s"
                       "training:\n"
                       "  epochs: 300\n"
                       "  stop: {loss_below: 0.01}\n",
                       plugins) >= 0);
    cr_assert(eq(int, th_write(path, text), 0));
    free(text);
    return path;
}

/* The `"origin": "..."` of the plugin of `kind` in a summary.json. */
static void assert_origin(const char *summary, const char *kind,
                          const char *name, const char *origin)
{
    char want[PATH_MAX + 256];
    snprintf(want, sizeof(want),
             "{\"kind\": \"%s\", \"name\": \"%s\", \"version\": ", kind,
             name);
    const char *at = summary ? strstr(summary, want) : NULL;
    cr_assert(at != NULL, "no %s '%s' in\n%s", kind, name,
              summary ? summary : "(null)");
    const char *eol = strchr(at, '\n');
    snprintf(want, sizeof(want), "\"origin\": \"%s\"", origin);
    const char *o = strstr(at, want);
    cr_assert(o != NULL && (eol == NULL || o < eol),
              "expected %s in\n%.*s", want,
              (int)(eol ? eol - at : (ptrdiff_t)strlen(at)), at);
}

Test(runner, plugin_by_path_relative_to_the_config)
{
    char *good = th_fixture("fixture_relu");
    char *libdir = th_join(th_tmp, "lib");
    make_dir(libdir, 0755);
    char *copy = th_join(th_tmp, "lib/relu.so");
    th_copy_file(good, copy, 0644);
    char *canon = th_real(copy);
    /* The runner runs from the repo root; the path is relative to the
     * config file in the temporary directory. */
    char *cfg = experiment("exp.yaml", "activation: {path: lib/relu.so}\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *summary = th_get(out, "summary.json");
    assert_origin(summary, "activation", "fixture_relu", canon);
    assert_origin(summary, "loss", "mse", "builtin");
    char *history = th_get(out, "history.csv");
    th_assert_starts_with(history, "epoch,loss,accuracy\n0,");
    free(history);
    free(summary);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(canon);
    free(copy);
    free(libdir);
    free(good);
}

Test(runner, plugin_by_name_on_a_plugin_directory)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("fixture_relu"), *canon = th_real(so);
    char *cfg = experiment("exp.yaml", "activation: fixture_relu\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-P", dir, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *summary = th_get(out, "summary.json");
    assert_origin(summary, "activation", "fixture_relu", canon);
    free(summary);
    th_run_free(&r);

    /* Without -P the name names nothing: a config error naming the
     * paths tried (the default plugin directory next to the runner). */
    char *out2 = th_join(th_tmp, "out2");
    r = th_runner(cfg, "-o", out2, "-q", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "no activation plugin 'fixture_relu': not built "
                              "in, and not found at ");
    th_assert_contains(r.err, "plugins/fixture_relu.so");
    cr_assert(eq(int, access(out2, F_OK), -1), "no result directory");
    th_run_free(&r);
    free(out2);
    free(out);
    free(cfg);
    free(canon);
    free(so);
    free(dir);
}

Test(runner, one_library_for_activation_and_loss)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("multi"), *canon = th_real(so);
    char *cfg = experiment("exp.yaml", "activation: multi\nloss: multi\n");
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-P", dir, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *summary = th_get(out, "summary.json");
    assert_origin(summary, "activation", "multi", canon);
    assert_origin(summary, "loss", "multi", canon);
    free(summary);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(canon);
    free(so);
    free(dir);
}

Test(runner, a_loss_library_as_activation_is_refused)
{
    char *mse = th_build_path("plugins/mse.so"), *canon = th_real(mse);
    char plugins[PATH_MAX + 64];
    snprintf(plugins, sizeof(plugins), "activation: {path: %s}\n", canon);
    char *cfg = experiment("exp.yaml", plugins);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    char want[2 * PATH_MAX + 128];
    /* line 5 of the config, column of the path value */
    snprintf(want, sizeof(want),
             "%s:5:20: error: %s: provides loss 'mse', not an activation "
             "'mse'",
             cfg, canon);
    th_assert_contains(r.err, want);
    cr_assert(eq(int, access(out, F_OK), -1), "no result directory");
    th_run_free(&r);
    free(out);
    free(cfg);
    free(canon);
    free(mse);
}

Test(runner, ambiguous_library_needs_a_name)
{
    char *so = th_fixture("twins"), *canon = th_real(so);
    char plugins[PATH_MAX + 64];
    snprintf(plugins, sizeof(plugins), "activation: {path: %s}\n", canon);
    char *cfg = experiment("exp.yaml", plugins);
    th_run r = th_runner(cfg, "-o", th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    th_assert_contains(r.err, "holds 2 activation plugins; add name: to choose "
                              "one");
    th_run_free(&r);
    free(cfg);

    snprintf(plugins, sizeof(plugins),
             "activation: {path: %s, name: twin_a}\n", canon);
    cfg = experiment("exp2.yaml", plugins);
    char *out = th_join(th_tmp, "out");
    r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *summary = th_get(out, "summary.json");
    assert_origin(summary, "activation", "twin_a", canon);
    free(summary);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(canon);
    free(so);
}

Test(runner, create_failure_shows_the_plugin_message)
{
    char *so = th_fixture("create_fails"), *canon = th_real(so);
    char plugins[PATH_MAX + 64];
    snprintf(plugins, sizeof(plugins),
             "activation: {path: %s, limit: 2}\n", canon);
    char *cfg = experiment("exp.yaml", plugins);
    char *out = th_join(th_tmp, "out");
    th_run r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    char want[PATH_MAX + 256];
    snprintf(want, sizeof(want),
             "error: activation create_fails (%s) refused to start: "
             "create_fails says no: limit 2 is too small for 3 parameters",
             canon);
    th_assert_contains(r.err, want);
    th_assert_starts_with(r.err, cfg); /* at the config's activation: */
    cr_assert(eq(int, access(out, F_OK), -1),
              "a run that cannot start leaves no result directory");
    th_run_free(&r);
    free(cfg);

    /* limit: 3 is enough for AND's 2 weights and a bias. */
    snprintf(plugins, sizeof(plugins),
             "activation: {path: %s, limit: 3}\n", canon);
    cfg = experiment("exp2.yaml", plugins);
    r = th_runner(cfg, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(canon);
    free(so);
}

Test(runner, wrong_abi_exits_3)
{
    char *dir = th_build_path("fixtures");
    char *so = th_fixture("wrong_abi"), *canon = th_real(so);
    char clause[128];
    snprintf(clause, sizeof(clause),
             "built for plugin ABI version %u, but this runner speaks "
             "version %u",
             NL_ABI_VERSION + 1u, (unsigned)NL_ABI_VERSION);

    /* by path */
    char plugins[PATH_MAX + 64];
    snprintf(plugins, sizeof(plugins), "activation: {path: %s}\n", canon);
    char *cfg = experiment("exp.yaml", plugins);
    th_run r = th_runner(cfg, "-o", th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    th_assert_contains(r.err, canon);
    th_assert_contains(r.err, clause);
    th_run_free(&r);
    free(cfg);

    /* by name: found, but unloadable, is still a plugin error */
    cfg = experiment("exp2.yaml", "activation: wrong_abi\n");
    r = th_runner(cfg, "-P", dir, "-o", th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    th_assert_contains(r.err, clause);
    th_run_free(&r);
    free(cfg);
    free(canon);
    free(so);
    free(dir);
}

Test(runner, other_broken_fixtures_exit_3)
{
    static const struct {
        const char *fixture, *slot, *clause;
    } cases[] = {
        {"bad_size", "activation", "descriptor is"},
        {"no_entry", "activation", "no entry point nnlab_plugin_entry()"},
        {"bad_name", "loss", "plugin name 'Bad/Name' is not"},
        {"missing_fn", "activation", "has no activation.derivative"},
        {"bad_default", "optimizer", "default 2 of parameter 'gain'"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char *so = th_fixture(cases[i].fixture), *canon = th_real(so);
        char plugins[PATH_MAX + 64];
        snprintf(plugins, sizeof(plugins), "%s: {path: %s}\n", cases[i].slot,
                 canon);
        char *cfg = experiment("exp.yaml", plugins);
        th_run r = th_runner(cfg, "-o", th_tmp, "-q", NULL);
        cr_assert(eq(int, r.status, 3), "%s: stderr: %s", cases[i].fixture,
                  r.err);
        th_assert_contains(r.err, cases[i].clause);
        th_run_free(&r);
        free(cfg);
        free(canon);
        free(so);
    }
}

Test(runner, symlink_loop_exits_3)
{
    char *a = th_join(th_tmp, "a.so"), *b = th_join(th_tmp, "b.so");
    cr_assert(eq(int, symlink(b, a), 0));
    cr_assert(eq(int, symlink(a, b), 0));
    char *cfg = experiment("exp.yaml", "activation: {path: a.so}\n");
    th_run r = th_runner(cfg, "-o", th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    th_assert_contains(r.err, strerror(ELOOP));
    th_run_free(&r);
    free(cfg);
    free(b);
    free(a);
}

Test(runner, world_writable_plugin_exits_3)
{
    char *good = th_fixture("fixture_relu"), *copy = th_join(th_tmp, "relu.so");
    th_copy_file(good, copy, 0666);
    char *cfg = experiment("exp.yaml", "activation: {path: relu.so}\n");
    th_run r = th_runner(cfg, "-o", th_tmp, "-q", NULL);
    cr_assert(eq(int, r.status, 3), "stderr: %s", r.err);
    th_assert_contains(r.err, "refusing to load a plugin that anyone may write "
                              "to (mode 0666)");
    th_run_free(&r);
    free(cfg);
    free(copy);
    free(good);
}

/* The same source built into the runner and as build/plugins/sigmoid.so
 * trains identically: history.csv is the same byte for byte. */
Test(runner, sigmoid_so_matches_the_builtin)
{
    char *so = th_build_path("plugins/sigmoid.so"), *canon = th_real(so);
    const char *base = "optimizer: {name: gradient_descent, "
                       "learning_rate: 2.0}\n";
    char plugins[PATH_MAX + 128];
    snprintf(plugins, sizeof(plugins), "activation: sigmoid\n%s", base);
    char *cfg_builtin = experiment("builtin.yaml", plugins);
    snprintf(plugins, sizeof(plugins), "activation: {path: %s}\n%s", canon,
             base);
    char *cfg_so = experiment("so.yaml", plugins);
    char *out_builtin = th_join(th_tmp, "out_builtin"),
         *out_so = th_join(th_tmp, "out_so");

    th_run r = th_runner(cfg_builtin, "-o", out_builtin, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);
    r = th_runner(cfg_so, "-o", out_so, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_run_free(&r);

    char *h1 = th_get(out_builtin, "history.csv");
    char *h2 = th_get(out_so, "history.csv");
    cr_assert(gt(sz, strlen(h1), strlen("epoch,loss,accuracy\n0,")),
              "a history with rows");
    cr_assert(eq(str, h1, h2), "history.csv differs");
    char *s1 = th_get(out_builtin, "summary.json");
    char *s2 = th_get(out_so, "summary.json");
    assert_origin(s1, "activation", "sigmoid", "builtin");
    assert_origin(s2, "activation", "sigmoid", canon);
    free(s2);
    free(s1);
    free(h2);
    free(h1);
    free(out_so);
    free(out_builtin);
    free(cfg_so);
    free(cfg_builtin);
    free(canon);
    free(so);
}
