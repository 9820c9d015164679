/*
 * test_settings.c - runner.ini: every key ([plugins] path, [results] root,
 * [terminal] progress) does its job; every bad line is an error naming
 * FILE:LINE with exit status 2; a missing --settings file is refused; and
 * ./runner.ini is read when present in the working directory.
 */
#include "helpers.h"

#include <dirent.h>
#include <limits.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "settings.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The one entry of directory `dir` (asserting there is exactly one);
 * returns its malloc'd name. */
static char *only_entry(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "no directory %s", dir);
    char *name = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        free(name);
        name = strdup(e->d_name);
    }
    closedir(d);
    cr_assert(eq(int, n, 1), "%s has %d entries", dir, n);
    return name;
}

/* True when s is a results timestamp: YYYYMMDD-HHMMSS, maybe -K. */
static bool is_stamp(const char *s)
{
    for (int i = 0; i < 15; i++) {
        if (i == 8 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    if (s[15] == '\0')
        return true;
    if (s[15] != '-' || s[16] == '\0')
        return false;
    for (const char *c = s + 16; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

#define QUICK "data: {generator: and}\ntraining: {epochs: 2}\n"

/* ------------------------------------------------------------------ */
/* The library */

/* Writes DIR/my.ini with text and loads it into s, which must succeed;
 * returns the file's path (malloc'd). */
static char *load_ini(const char *dir, const char *text, nl_settings *s)
{
    char *ini = th_put(dir, "my.ini", text);
    nl_diag d = {0};
    cr_assert(eq(int, nl_settings_load(s, ini, "$ORIGIN/plugins", "/exe",
                                       &d), 0), "%s", d.message);
    return ini;
}

/* The default path names the build tree's and the installed plugin
 * directories; only those that exist are kept (the last if none does). */
Test(settings_lib, defaults_without_a_file)
{
    nl_settings s;
    nl_diag d = {0};
    char *dir = th_tempdir();
    char *plugins = NULL;
    cr_assert(asprintf(&plugins, "%s/plugins", dir) >= 0);
    cr_assert(eq(int, mkdir(plugins, 0755), 0));
    cr_assert(eq(int, nl_settings_load(&s, NULL, "$ORIGIN/plugins:/opt/p",
                                       dir, &d), 0), "%s", d.message);
    cr_assert(s.source == NULL);
    cr_assert(eq(str, s.results_root, "results"));
    cr_assert(eq(int, (int)s.progress, NL_PROGRESS_AUTO));
    cr_assert(eq(sz, s.n_plugin_dirs, 1));
    cr_assert(eq(str, s.plugin_dirs[0], plugins));
    nl_settings_free(&s);
    cr_assert(eq(int, nl_settings_load(&s, NULL, "$ORIGIN/plugins:/opt/p",
                                       "/the/exe/dir", &d), 0), "%s",
              d.message);
    cr_assert(eq(sz, s.n_plugin_dirs, 1));
    cr_assert(eq(str, s.plugin_dirs[0], "/opt/p"));
    nl_settings_free(&s);
    th_rmtree(dir);
    free(plugins);
    free(dir);
}

Test(settings_lib, every_key)
{
    char *dir = th_tempdir();
    nl_settings s;
    char *ini = load_ini(dir,
                         "; a comment\n"
                         "# another\n"
                         "\n"
                         "[plugins]\n"
                         "path = rel:/abs/dir:$ORIGIN/extra\n"
                         "[results]\n"
                         "root = out/runs\n"
                         "[terminal]\n"
                         "progress = off\n",
                         &s);
    nl_diag d = {0};
    char *rel = th_join(dir, "rel"), *root = th_join(dir, "out/runs");
    cr_assert(eq(str, s.source, ini));
    cr_assert(eq(sz, s.n_plugin_dirs, 3));
    cr_assert(eq(str, s.plugin_dirs[0], rel));
    cr_assert(eq(str, s.plugin_dirs[1], "/abs/dir"));
    cr_assert(eq(str, s.plugin_dirs[2], "/exe/extra"));
    cr_assert(eq(str, s.results_root, root));
    cr_assert(eq(int, (int)s.progress, NL_PROGRESS_OFF));

    /* -P directories go first. */
    cr_assert(eq(int, nl_settings_add_plugin_dir(&s, "/first", &d), 0));
    cr_assert(eq(sz, s.n_plugin_dirs, 4));
    cr_assert(eq(str, s.plugin_dirs[0], "/first"));
    cr_assert(eq(str, s.plugin_dirs[1], rel));
    nl_settings_free(&s);
    free(rel);
    free(root);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

/* A known section may be empty, or hold only comments: a template. */
Test(settings_lib, empty_known_sections)
{
    char *dir = th_tempdir();
    nl_settings s;
    char *ini = load_ini(dir,
                         "[plugins]\n"
                         "; path = my/plugins\n"
                         "[results]\n"
                         "  [terminal]  \n",
                         &s);
    cr_assert(eq(str, s.results_root, "results"));
    nl_settings_free(&s);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

/* inih reads a line indented under a key as that key again (a multi-line
 * value), which replaces the value; it is not a section. */
Test(settings_lib, indented_line_under_a_key_is_its_value)
{
    char *dir = th_tempdir();
    nl_settings s;
    char *ini = load_ini(dir, "[results]\nroot = first\n  [bogus]\n", &s);
    char *root = th_join(dir, "[bogus]");
    cr_assert(eq(str, s.results_root, root));
    nl_settings_free(&s);
    free(root);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

Test(settings_lib, longest_line)
{
    /* "root = " and 192 characters: 199, the most inih reads. */
    char *dir = th_tempdir();
    char value[193];
    memset(value, 'd', 192);
    value[192] = '\0';
    char *text = NULL;
    cr_assert(asprintf(&text, "[results]\nroot = %s\n[terminal]\n"
                              "progress = on\n", value) >= 0);
    char *ini = th_put(dir, "long.ini", text);
    nl_settings s;
    nl_diag d = {0};
    cr_assert(eq(int, nl_settings_load(&s, ini, "", "/x", &d), 0), "%s",
              d.message);
    char *root = th_join(dir, value);
    cr_assert(eq(str, s.results_root, root));
    cr_assert(eq(int, (int)s.progress, NL_PROGRESS_ON));
    nl_settings_free(&s);
    free(root);
    free(ini);
    free(text);
    th_rmtree(dir);
    free(dir);
}

Test(settings_lib, progress_words)
{
    static const struct {
        const char *word;
        nl_progress want;
    } words[] = {{"auto", NL_PROGRESS_AUTO}, {"on", NL_PROGRESS_ON},
                 {"true", NL_PROGRESS_ON},   {"off", NL_PROGRESS_OFF},
                 {"false", NL_PROGRESS_OFF}};
    char *dir = th_tempdir();
    for (size_t i = 0; i < COUNT(words); i++) {
        char *text = NULL;
        cr_assert(asprintf(&text, "[terminal]\nprogress = %s\n",
                           words[i].word) >= 0);
        char *ini = th_put(dir, "p.ini", text);
        nl_settings s;
        nl_diag d = {0};
        cr_assert(eq(int, nl_settings_load(&s, ini, "", "/x", &d), 0), "%s",
                  d.message);
        cr_assert(eq(int, (int)s.progress, (int)words[i].want), "%s",
                  words[i].word);
        nl_settings_free(&s);
        free(ini);
        free(text);
    }
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Bad settings files: the library message, and the runner's stderr and
 * exit status. */

typedef struct bad_ini {
    const char *text;
    const char *expect; /* after "<path>" */
} bad_ini;

#define D10 "dddddddddd"
#define D100 D10 D10 D10 D10 D10 D10 D10 D10 D10 D10

static const bad_ini bad_inis[] = {
    {"[results]\nroot =\n",
     ":2: error: [results] root is empty; name a directory (. is the one "
     "this file is in)"},
    {"[plugin]\npath = x\n",
     ":2: error: unknown setting 'path' in section [plugin]; did you mean "
     "[plugins] path?"},
    {"[plugins]\npaths = x\n",
     ":2: error: unknown setting 'paths' in section [plugins]; did you mean "
     "[plugins] path?"},
    {"[result]\nroot = r\n",
     ":2: error: unknown setting 'root' in section [result]; did you mean "
     "[results] root?"},
    {"; comment\n[terminal]\nprogres = on\n",
     ":3: error: unknown setting 'progres' in section [terminal]; did you "
     "mean [terminal] progress?"},
    {"[results]\nroot = r\n[foo]\nbar = 1\n",
     ":4: error: unknown setting 'bar' in section [foo] (known: [plugins] "
     "path, [results] root, [terminal] progress)"},
    /* A section with no key is checked too (inih reports only keys). */
    {"[plugins]\npath = x\n[plugin]\n",
     ":3: error: unknown section [plugin]; did you mean [plugins]?"},
    {"[foo]\n; nothing here\n[results]\nroot = r\n",
     ":1: error: unknown section [foo] (known: [plugins], [results], "
     "[terminal])"},
    {"\xef\xbb\xbf[plugin]\n",
     ":1: error: unknown section [plugin]; did you mean [plugins]?"},
    {"[foo] ; a comment\ngarbage\n",
     ":1: error: unknown section [foo] (known: [plugins], [results], "
     "[terminal])"},
    {"[results]\nroot = r\n\n[ results ]\n",
     ":4: error: unknown section [ results ]; did you mean [results]?"},
    {"path = x\n",
     ":1: error: unknown setting 'path' in section [] (known: [plugins] path, "
     "[results] root, [terminal] progress)"},
    {"[plugins]\npath = x\njunk line\n",
     ":3: error: not a [section] or key = value line"},
    {"[plugins\npath = x\n", ":1: error: not a [section] or key = value line"},
    {"[terminal]\nprogress = on\nxx\n[foo]\na = 1\n",
     ":3: error: not a [section] or key = value line"},
    {"[terminal]\nprogress = maybe\n",
     ":2: error: [terminal] progress must be auto, on or off, got 'maybe'"},
    /* inih reads lines of at most 199 characters */
    {"[results]\nroot = " D100 D100 "\n",
     ":2: error: line longer than 199 characters (limit)"},
    {"[results]\nroot = " D100 D100,
     ":2: error: line longer than 199 characters (limit)"},
    {"[results]\nbad\nroot = " D100 D100 "\n",
     ":2: error: not a [section] or key = value line"},
};

ParameterizedTestParameters(settings_bad, refused)
{
    /* An index into the table: the test runs in a freshly executed
     * process, where the parent's pointers mean nothing. */
    static size_t idx[COUNT(bad_inis)];
    for (size_t i = 0; i < COUNT(bad_inis); i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, COUNT(idx));
}

ParameterizedTest(size_t *k, settings_bad, refused)
{
    const bad_ini *b = &bad_inis[*k];
    char *dir = th_tempdir();
    char *ini = th_put(dir, "bad.ini", b->text);
    char *cfg = th_put(dir, "exp.yaml", QUICK);
    char *out = th_join(dir, "out");
    char *want = th_cat2(ini, b->expect);

    nl_settings s;
    nl_diag d = {0};
    cr_assert(eq(int, nl_settings_load(&s, ini, "$ORIGIN/plugins", "/x", &d),
                 -1), "accepted: %s", b->text);
    cr_assert(eq(int, (int)d.status, NL_EINPUT));
    cr_assert(eq(str, d.message, want));

    th_run r = th_runner(cfg, "-q", "-o", out, "--settings", ini, NULL);
    char *line = th_cat2(want, "\n");
    cr_assert(eq(int, r.status, 2), "exit %d: %s", r.status, r.err);
    cr_assert(eq(str, r.err, line));
    cr_assert(th_exists(out) == false, "a result directory was made");
    th_run_free(&r);
    free(line);
    free(want);
    free(out);
    free(cfg);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

/* A directory is no settings file (fopen takes it, and reads nothing). */
Test(settings_bad, a_directory_is_not_a_settings_file)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "exp.yaml", QUICK);
    char *ini = th_join(dir, "adir.ini");
    cr_assert(eq(int, mkdir(ini, 0755), 0));
    th_run r = th_runner(cfg, "-q", "-o", dir, "--settings", ini, NULL);
    cr_assert(eq(int, r.status, 2));
    char *want = th_cat2(ini, ": error: cannot open settings: Is a "
                              "directory\n");
    cr_assert(eq(str, r.err, want));
    free(want);
    th_run_free(&r);
    th_rmtree(dir);
    free(ini);
    free(cfg);
    free(dir);
}

Test(settings_bad, missing_settings_file)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "exp.yaml", QUICK);
    char *ini = th_join(dir, "nope.ini");
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, "--settings", ini, NULL);
    char *want = th_cat2(ini, ": error: cannot open settings: No such file "
                              "or directory\n");
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, want));
    cr_assert(th_exists(out) == false);

    nl_settings s;
    nl_diag d = {0};
    cr_assert(eq(int, nl_settings_load(&s, ini, "", "/x", &d), -1));
    cr_assert(eq(int, (int)d.status, NL_EINPUT));
    th_run_free(&r);
    free(want);
    free(out);
    free(ini);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

Test(settings_bad, settings_without_a_value)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "exp.yaml", QUICK);
    th_run r = th_runner(cfg, "-q", "--settings", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "runner: --settings needs a value\ntry 'runner "
                             "--help'\n"));
    th_run_free(&r);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* [results] root */

Test(settings_results, run_without_o_lands_under_root)
{
    char *dir = th_tempdir();
    char *ini = th_put(dir, "s.ini", "[results]\nroot = runs\n");
    char *cfg = th_put(dir, "exp.yaml", "name: rooted\n" QUICK);
    th_run a = th_runner(cfg, "-q", "--settings", ini, NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    char *parent = th_join(dir, "runs/rooted");
    char *stamp = only_entry(parent);
    cr_assert(is_stamp(stamp), "'%s' is not a timestamp", stamp);
    char *run = th_join(parent, stamp);
    char *sum = th_join(run, "summary.json");
    char *hist = th_join(run, "history.csv");
    char *conf = th_join(run, "config.yaml");
    cr_assert(th_exists(sum) && th_exists(hist) && th_exists(conf));

    /* A second run never overwrites the first. */
    th_run b = th_runner(cfg, "--settings", ini, NULL);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    DIR *dd = opendir(parent);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        if (e->d_name[0] != '.') {
            n++;
            cr_assert(is_stamp(e->d_name), "'%s'", e->d_name);
        }
    closedir(dd);
    cr_assert(eq(int, n, 2));
    /* Not quiet: the summary names where the results went. */
    char *where = th_cat2("  results      ", parent);
    cr_assert(strstr(b.out, where) != NULL, "%s", b.out);
    free(where);
    th_run_free(&a);
    th_run_free(&b);
    free(sum);
    free(hist);
    free(conf);
    free(run);
    free(stamp);
    free(parent);
    free(cfg);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* [plugins] path */

static const char ident_src[] =
    "#include <nnlab/plugin.h>\n"
    "static int fwd(void *s, const double *z, double *a, size_t n)\n"
    "{ (void)s; for (size_t i = 0; i < n; i++) a[i] = z[i] > 0 ? 1 : 0;"
    " return 0; }\n"
    "static int der(void *s, const double *z, const double *a, double *d,\n"
    "               size_t n)\n"
    "{ (void)s; (void)z; (void)a; for (size_t i = 0; i < n; i++) d[i] = 1;"
    " return 0; }\n"
    "static const nl_plugin p = {\n"
    "    .abi_version = NL_ABI_VERSION, .struct_size = sizeof(nl_plugin),\n"
    "    .kind = NL_KIND_ACTIVATION, .name = \"mystep\",\n"
    "    .version = \"0.0.1\", .summary = \"a test step\",\n"
    "    .activation = {.forward = fwd, .derivative = der,\n"
    "                   .out_min = 0, .out_max = 1,\n"
    "                   .flags = NL_ACTIVATION_SURROGATE}};\n"
    "NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned i)\n"
    "{ return i == 0 ? &p : 0; }\n";

Test(settings_plugins, path_is_searched)
{
    char *dir = th_tempdir();
    char *plugs = th_join(dir, "plugs");
    cr_assert(eq(int, mkdir(plugs, 0755), 0));
    char *src = th_put(dir, "mystep.c", ident_src);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "cc -shared -fPIC -Iframework/include -o "
                             "'%s/mystep.so' '%s'", plugs, src) >= 0);
    cr_assert(eq(int, system(cmd), 0), "could not build %s", src);
    /* Relative to the .ini file, not to the working directory. */
    char *ini = th_put(dir, "s.ini", "[plugins]\npath = nowhere:plugs\n");
    char *cfg = th_put(dir, "exp.yaml", QUICK "activation: mystep\n");
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, "--settings", ini, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    char *sum_path = th_join(out, "summary.json");
    char *sum = th_read(sum_path);
    cr_assert(sum != NULL);
    char *origin = NULL;
    char real_plugs[PATH_MAX];
    cr_assert(realpath(plugs, real_plugs) != NULL);
    cr_assert(asprintf(&origin, "\"name\": \"mystep\", \"version\": "
                                "\"0.0.1\", \"origin\": \"%s/mystep.so\"",
                       real_plugs) >= 0);
    cr_assert(strstr(sum, origin) != NULL, "%s", sum);

    /* A name the path does not have: every directory tried is named, and
     * the names in the directories are offered. */
    char *cfg2 = th_put(dir, "exp2.yaml", QUICK "activation: mystpe\n");
    char *out2 = th_join(dir, "out2");
    th_run r2 = th_runner(cfg2, "-q", "-o", out2, "--settings", ini, NULL);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:3:13: error: no activation plugin "
                              "'mystpe': not built in, and not found at "
                              "%s/nowhere/mystpe.so, %s/plugs/mystpe.so; did "
                              "you mean 'mystep'?\n",
                       cfg2, dir, dir) >= 0);
    cr_assert(eq(int, r2.status, 2));
    cr_assert(eq(str, r2.err, want));
    cr_assert(th_exists(out2) == false);
    th_run_free(&r);
    th_run_free(&r2);
    free(want);
    free(out2);
    free(cfg2);
    free(origin);
    free(sum);
    free(sum_path);
    free(out);
    free(cfg);
    free(ini);
    free(cmd);
    free(src);
    free(plugs);
    th_rmtree(dir);
    free(dir);
}

Test(settings_plugins, empty_path_finds_only_builtins)
{
    char *dir = th_tempdir();
    char *ini = th_put(dir, "s.ini", "[plugins]\npath =\n");
    char *cfg = th_put(dir, "exp.yaml", QUICK "activation: nosuch\n");
    char *out = th_join(dir, "out");
    th_run r = th_runner(cfg, "-q", "-o", out, "--settings", ini, NULL);
    char *want =
        th_cat2(cfg, ":3:13: error: no activation plugin 'nosuch': not "
                     "built in, and no plugin path is set\n");
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, want));
    th_run_free(&r);
    free(want);
    free(out);
    free(cfg);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* [terminal] progress */

/* A run of 0.3 s or more in any build, however fast (the fixture's
 * forward() sleeps 2 ms a call, once an epoch here): progress waits 0.1 s
 * before its first line.  Timing by arithmetic failed both ways: 800
 * epochs of 20,000 rows ended under 0.1 s once the pass got faster, and
 * 8,000 took over 30 s under AddressSanitizer. */
#define SLOW "data: {generator: blobs, samples: 200, features: 2}\n" \
             "activation: slow\n" \
             "training: {epochs: 150, stop: {loss_below: 0}}\n"

Test(settings_terminal, progress_on_and_off, .timeout = 30)
{
    char *dir = th_tempdir();
    char *on = th_put(dir, "on.ini", "[terminal]\nprogress = on\n");
    char *off = th_put(dir, "off.ini", "[terminal]\nprogress = off\n");
    char *cfg = th_put(dir, "slow.yaml", SLOW);
    char *o1 = th_join(dir, "o1"), *o2 = th_join(dir, "o2");
    char *fixtures = th_build_path("fixtures");
    /* stderr is a file here, not a terminal: auto would be silent. */
    th_run a = th_runner(cfg, "-o", o1, "--settings", on, "-P", fixtures,
                         NULL);
    th_run b = th_runner(cfg, "-o", o2, "--settings", off, "-P", fixtures,
                         NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    cr_assert(strstr(a.err, "epoch ") != NULL && strstr(a.err, "/150") != NULL,
              "no progress line: '%s'", a.err);
    cr_assert(eq(str, b.err, ""));
    th_run_free(&a);
    th_run_free(&b);
    free(fixtures);
    free(o1);
    free(o2);
    free(cfg);
    free(on);
    free(off);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* ./runner.ini */

Test(settings_cwd, runner_ini_in_working_directory_is_read)
{
    char *dir = th_tempdir();
    char *ini = th_put(dir, "runner.ini", "[results]\nroot = from_cwd\n");
    char *cfg = th_put(dir, "exp.yaml", "name: cwd\n" QUICK);
    th_run r = th_runner_in(dir, "exp.yaml", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    char *parent = th_join(dir, "from_cwd/cwd");
    char *stamp = only_entry(parent);
    cr_assert(is_stamp(stamp), "'%s'", stamp);
    char *results = th_join(dir, "results");
    cr_assert(th_exists(results) == false);
    th_run_free(&r);

    /* --settings wins over ./runner.ini. */
    char *other = th_put(dir, "other.ini", "[results]\nroot = from_flag\n");
    r = th_runner_in(dir, "exp.yaml", "-q", "--settings", "other.ini", NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    char *flag_parent = th_join(dir, "from_flag/cwd");
    free(stamp);
    stamp = only_entry(flag_parent);
    cr_assert(is_stamp(stamp));
    th_run_free(&r);

    free(flag_parent);
    free(other);
    free(results);
    free(stamp);
    free(parent);
    free(cfg);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

Test(settings_cwd, bad_runner_ini_in_working_directory)
{
    char *dir = th_tempdir();
    char *ini = th_put(dir, "runner.ini", "[results]\nrot = x\n");
    char *cfg = th_put(dir, "exp.yaml", QUICK);
    th_run r = th_runner_in(dir, "exp.yaml", "-q", "-o", "out", NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "runner.ini:2: error: unknown setting 'rot' in "
                             "section [results]; did you mean [results] "
                             "root?\n"));
    char *out = th_join(dir, "out");
    cr_assert(th_exists(out) == false);
    th_run_free(&r);
    free(out);
    free(cfg);
    free(ini);
    th_rmtree(dir);
    free(dir);
}

Test(settings_cwd, no_runner_ini_means_defaults)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "exp.yaml", "name: dflt\n" QUICK);
    th_run r = th_runner_in(dir, "exp.yaml", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    char *parent = th_join(dir, "results/dflt");
    char *stamp = only_entry(parent);
    cr_assert(is_stamp(stamp), "'%s'", stamp);
    th_run_free(&r);
    free(stamp);
    free(parent);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}
