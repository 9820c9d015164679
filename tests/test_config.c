/*
 * test_config.c - every bad-input path of the experiment config, through
 * the real runner binary (exit status 2, the exact `FILE:LINE:COL: error:`
 * line on stderr, no result directory left behind) and through
 * nl_config_load (d.status, d.message); plus --set, --seed and the happy
 * paths (plugin shorthand, every default written to config.yaml).
 */
#include "helpers.h"

#include <limits.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "config.h"
#include "plugin_loader.h"

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

/* Parses DIR/config.yaml with the library's own YAML reader, so the checks
 * hold whatever the number formatting or quoting. */
static nl_ynode *resolved(const char *dir)
{
    char *text = th_get(dir, "config.yaml");
    nl_diag d = {0};
    nl_ynode *root = nl_yaml_parse(text, strlen(text), "config.yaml", &d);
    cr_assert(root != NULL, "config.yaml does not parse: %s\n%s", d.message,
              text);
    free(text);
    return root;
}

/* The node at a dotted path, asserting it is there. */
static const nl_ynode *at(const nl_ynode *root, const char *dotted)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", dotted);
    const nl_ynode *n = root;
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part != NULL;
         part = strtok_r(NULL, ".", &save)) {
        n = nl_ynode_get(n, part);
        cr_assert(n != NULL, "config.yaml has no %s", dotted);
    }
    return n;
}

static void expect_text(const nl_ynode *root, const char *dotted,
                        const char *want)
{
    const nl_ynode *n = at(root, dotted);
    cr_assert(n->type == NL_YSCALAR, "%s is not a scalar", dotted);
    cr_assert(eq(str, n->text, (char *)want), "%s", dotted);
}

static void expect_num(const nl_ynode *root, const char *dotted, double want)
{
    const nl_ynode *n = at(root, dotted);
    double v = 0;
    cr_assert(n->type == NL_YSCALAR && nl_parse_double(n->text, &v),
              "%s is not a number", dotted);
    cr_assert(eq(dbl, v, want), "%s: %s", dotted, n->text);
}

/* The map at `dotted` (NULL: the top) has exactly n keys. */
static void expect_keys(const nl_ynode *root, const char *dotted, size_t n)
{
    const nl_ynode *m = dotted ? at(root, dotted) : root;
    cr_assert(m->type == NL_YMAP, "%s is not a map", dotted);
    cr_assert(eq(sz, m->n, n), "%s has %zu keys", dotted ? dotted : "top",
              m->n);
}

/* Loads a config through the library with a registry that has no plugin
 * directories (built-ins only). */
static int load(nl_config *cfg, const char *path, const char *const *sets,
                size_t n_sets, nl_diag *d)
{
    nl_override ov[8];
    cr_assert(n_sets <= 8);
    for (size_t i = 0; i < n_sets; i++)
        ov[i].arg = sets[i];
    nl_registry *reg = nl_registry_new(NULL, 0);
    cr_assert(reg != NULL);
    memset(d, 0, sizeof(*d));
    int rc = nl_config_load(cfg, path, ov, n_sets, reg, d);
    if (rc == 0)
        nl_config_free(cfg);
    nl_registry_free(reg);
    return rc;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A parameterized test gets an index into a static table: the test runs in
 * a freshly executed process, where the parent's pointers mean nothing. */
typedef struct case_index {
    size_t i;
} case_index;

/* ------------------------------------------------------------------ */
/* The table of bad configs: file text, and the message after the path. */

typedef struct bad_config {
    const char *label;
    const char *yaml;
    const char *expect; /* stderr after "<path>" (without the newline) */
} bad_config;

#define DATA "data: {generator: and}\n"
#define DEEP_OPEN "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
#define DEEP_CLOSE "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"

static const bad_config bad_configs[] = {
    {"unknown top-level key", DATA "trainig: {epochs: 3}\n",
     ":2:1: error: unknown key 'trainig' in the config; did you mean "
     "'training'?"},
    {"unknown nested key", DATA "training:\n  stop: {patiance: 3}\n",
     ":3:10: error: unknown key 'patiance' in training.stop; did you mean "
     "'patience'?"},
    {"unknown data key", "data: {generator: and, tset_fraction: 0.1}\n",
     ":1:24: error: unknown key 'tset_fraction' in data; did you mean "
     "'test_fraction'?"},
    {"epochs not a number", DATA "training: {epochs: abc}\n",
     ":2:20: error: expected a whole number, got 'abc'"},
    {"epochs negative", DATA "training: {epochs: -1}\n",
     ":2:20: error: expected a whole number, got '-1'"},
    {"epochs over the limit", DATA "training: {epochs: 99999999999}\n",
     ":2:20: error: 99999999999 is too large (at most 1000000000)"},
    {"shuffle not a bool", DATA "training: {shuffle: maybe}\n",
     ":2:21: error: expected true or false, got 'maybe'"},
    {"learning rate a word", DATA
     "optimizer: {name: gradient_descent, learning_rate: fast}\n",
     ":2:52: error: expected a number, got 'fast'"},
    {"seed quoted", DATA "seed: \"42\"\n",
     ":2:7: error: expected a whole number, got the quoted text \"42\" "
     "(quotes make it a string: write it without them)"},
    {"learning rate beyond a double", DATA
     "optimizer: {name: gradient_descent, learning_rate: 1e400}\n",
     ":2:52: error: 1e400 is too large (at most about 1.8e308)"},
    {"loss_below negative", DATA "training: {stop: {loss_below: -1}}\n",
     ":2:31: error: training.stop.loss_below must be a finite number, at "
     "least 0, got -1"},
    {"bias infinite", DATA "model: {bias: .inf}\n",
     ":2:15: error: model.bias must be a finite number, got .inf"},
    {"noise out of its range", "data: {generator: blobs, noise: 2e6}\n",
     ":1:33: error: data.noise must be a finite number in [0, 1e+06], got "
     "2e6"},
    {"learning rate zero", DATA
     "optimizer: {name: gradient_descent, learning_rate: 0}\n",
     ":2:52: error: optimizer 'gradient_descent': learning_rate = 0 is below "
     "the minimum (allowed: > 0)"},
    {"learning rate negative", DATA
     "optimizer: {name: gradient_descent, learning_rate: -1}\n",
     ":2:52: error: optimizer 'gradient_descent': learning_rate = -1 is below "
     "the minimum (allowed: > 0)"},
    {"learning rate infinite", DATA
     "optimizer: {name: gradient_descent, learning_rate: .inf}\n",
     ":2:52: error: optimizer 'gradient_descent': learning_rate = .inf is not "
     "finite (allowed: > 0)"},
    {"test_fraction above 1", "data: {generator: and, test_fraction: 1.5}\n",
     ":1:39: error: data.test_fraction must be in [0, 1), got 1.5"},
    {"batch_size zero", DATA "training: {batch_size: 0}\n",
     ":2:24: error: training.batch_size must be at least 1 (or full)"},
    {"batch_size a word", DATA "training: {batch_size: lots}\n",
     ":2:24: error: training.batch_size must be full or a row count from 1 "
     "to 100000000, got lots"},
    {"seed negative", DATA "seed: -3\n",
     ":2:7: error: expected a whole number, got '-3'"},
    {"plugin name with ..", DATA "activation: ../evil\n",
     ":2:13: error: '../evil' is not a plugin name ([a-z0-9_]+; a name is "
     "never a path): write path: FILE.so to load a file"},
    {"plugin name with /", DATA "activation: a/b\n",
     ":2:13: error: 'a/b' is not a plugin name ([a-z0-9_]+; a name is never "
     "a path): write path: FILE.so to load a file"},
    {"plugin name: with a path", DATA "activation: {name: ../x}\n",
     ":2:20: error: '../x' is not a plugin name ([a-z0-9_]+; a name is never "
     "a path): write path: FILE.so to load a file"},
    {"plugin map without name", DATA "activation: {threshold: 1}\n",
     ":2:13: error: activation needs name: (a plugin name) or path: (a .so "
     "file)"},
    {"plugin as a list", DATA "activation: [sigmoid]\n",
     ":2:13: error: activation must be a plugin name or a map with name: or "
     "path:"},
    {"unknown plugin parameter", DATA
     "activation: {name: step, treshold: 0.5}\n",
     ":2:26: error: activation 'step' has no parameter 'treshold'; did you "
     "mean 'threshold'?"},
    {"parameter of a plugin that takes none", DATA
     "activation: {name: sigmoid, threshold: 1}\n",
     ":2:29: error: activation 'sigmoid' has no parameter 'threshold' (it "
     "takes none)"},
    {"bad choice value", DATA "activation: {name: step, surrogate: identty}\n",
     ":2:37: error: surrogate: expected one of identity|zero, got 'identty'; "
     "did you mean 'identity'?"},
    {"invalid YAML flow sequence", DATA "training: {epochs: [1, 2}\n",
     ":2:25: error: invalid YAML: while parsing a flow sequence did not find "
     "expected ',' or ']' (the construct started at line 2)"},
    {"invalid YAML indentation", DATA "model:\n  init: zeros\n bad: 1\n",
     ":4:2: error: invalid YAML: while parsing a block mapping did not find "
     "expected key (the construct started at line 1)"},
    {"invalid YAML tab", DATA "\tx: 1\n",
     ":2:1: error: invalid YAML: while scanning for the next token found "
     "character that cannot start any token (the construct started at line "
     "2)"},
    {"two documents", DATA "---\na: 1\n",
     ":2:1: error: more than one YAML document; keep one per file"},
    {"not a map", "- a\n",
     ":1:1: error: a config is a map of keys (name:, data:, activation:, "
     "...)"},
    {"missing data", "name: x\n",
     ":1: error: missing data: (e.g. data: {generator: and} or data: {csv: "
     "FILE.csv})"},
    {"empty file", "",
     ":1: error: missing data: (e.g. data: {generator: and} or data: {csv: "
     "FILE.csv})"},
    {"data not a map", "data: 5\n", ":1:7: error: data must be a map of keys"},
    {"generator and csv", "data: {generator: and, csv: x.csv}\n",
     ":1:19: error: data needs exactly one of generator: (and, or, nand, nor, "
     "xor, blobs) or csv: FILE"},
    {"misspelled generator", "data: {generator: adn}\n",
     ":1:19: error: unknown generator 'adn'; did you mean 'and'?"},
    {"misspelled normalization",
     "data: {generator: and, normalize: standardise}\n",
     ":1:35: error: unknown normalization 'standardise'; did you mean "
     "'standardize'?"},
    {"anchor", "data: &x {generator: and}\n",
     ":1:7: error: anchors (&x) and aliases are not supported in nnlab files; "
     "write the value out"},
    {"alias", DATA "model: *x\n",
     ":2:8: error: aliases (*x) are not supported in nnlab files; write the "
     "value out"},
    {"depth limit", DATA "model: " DEEP_OPEN DEEP_CLOSE "\n",
     ":2:40: error: nesting deeper than 32 levels (limit)"},
    {"duplicate key", DATA "data: {generator: or}\n",
     ":2:1: error: duplicate key 'data'"},
    {"name with a path", "name: ../x\n" DATA,
     ":1:7: error: name '../x' must be letters, digits, '_', '-' or '.' (it "
     "names the results directory)"},
};

ParameterizedTestParameters(config_bad, refused)
{
    static case_index idx[COUNT(bad_configs)];
    for (size_t i = 0; i < COUNT(bad_configs); i++)
        idx[i].i = i;
    return cr_make_param_array(case_index, idx, COUNT(idx));
}

ParameterizedTest(case_index *k, config_bad, refused)
{
    const bad_config *c = &bad_configs[k->i];
    char *dir = th_tempdir();
    cr_assert(dir != NULL);
    char *cfg = th_put(dir, "exp.yaml", c->yaml);
    char *out = th_join(dir, "out");
    char *want = th_cat2(cfg, c->expect);

    /* Through the library. */
    nl_config loaded;
    nl_diag d;
    cr_assert(eq(int, load(&loaded, cfg, NULL, 0, &d), -1), "%s: accepted",
              c->label);
    cr_assert(eq(int, (int)d.status, NL_EINPUT), "%s", c->label);
    cr_assert(eq(str, d.message, want), "%s", c->label);

    /* Through the runner. */
    th_run r = th_runner(cfg, "-q", "-o", out, NULL);
    char *want_line = th_cat2(want, "\n");
    cr_assert(eq(int, r.status, 2), "%s: exit %d, stderr %s", c->label,
              r.status, r.err);
    cr_assert(eq(str, r.err, want_line), "%s", c->label);
    cr_assert(eq(str, r.out, ""), "%s", c->label);
    cr_assert(th_exists(out) == false, "%s: a result directory was created",
              c->label);
    th_run_free(&r);
    free(want_line);
    free(want);
    free(out);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Misspelled plugin names: exit 2 and a did-you-mean; the runner names the
 * path it tried, the library (no plugin path) says there is none. */

static void misspelled_plugin(const char *yaml, const char *lib_msg,
                              const char *runner_fmt)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "exp.yaml", yaml);
    char *ini = th_put(dir, "empty.ini", "");
    char *out = th_join(dir, "out");
    nl_config loaded;
    nl_diag d;
    cr_assert(eq(int, load(&loaded, cfg, NULL, 0, &d), -1));
    cr_assert(eq(int, (int)d.status, NL_EINPUT));
    char *want = th_cat2(cfg, lib_msg);
    cr_assert(eq(str, d.message, want));

    char build[PATH_MAX];
    cr_assert(realpath(th_build(), build) != NULL);
    char *want_line = NULL;
    cr_assert(asprintf(&want_line, runner_fmt, cfg, build) >= 0);
    /* An empty settings file: the default plugin path, $ORIGIN/plugins. */
    th_run r = th_runner(cfg, "-q", "-o", out, "--settings", ini, NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    cr_assert(eq(str, r.err, want_line));
    cr_assert(th_exists(out) == false);
    th_run_free(&r);
    free(want_line);
    free(want);
    free(out);
    free(ini);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

Test(config_plugin, misspelled_activation)
{
    misspelled_plugin(DATA "activation: sigmod\n",
                      ":2:13: error: no activation plugin 'sigmod': not built "
                      "in, and no plugin path is set; did you mean 'sigmoid'?",
                      "%s:2:13: error: no activation plugin 'sigmod': not "
                      "built in, and not found at %s/plugins/sigmod.so; did "
                      "you mean 'sigmoid'?\n");
}

Test(config_plugin, misspelled_activation_in_a_map)
{
    misspelled_plugin(DATA "activation: {name: stpe, threshold: 1}\n",
                      ":2:20: error: no activation plugin 'stpe': not built "
                      "in, and no plugin path is set; did you mean 'step'?",
                      "%s:2:20: error: no activation plugin 'stpe': not "
                      "built in, and not found at %s/plugins/stpe.so; did "
                      "you mean 'step'?\n");
}

Test(config_plugin, misspelled_loss)
{
    misspelled_plugin(DATA "loss: mse2\n",
                      ":2:7: error: no loss plugin 'mse2': not built in, and "
                      "no plugin path is set; did you mean 'mse'?",
                      "%s:2:7: error: no loss plugin 'mse2': not built in, "
                      "and not found at %s/plugins/mse2.so; did you mean "
                      "'mse'?\n");
}

/* ------------------------------------------------------------------ */
/* --set and --seed */

/* Runs the runner on `yaml` with extra args (NULL-terminated, up to 6);
 * returns the run and fills *dir (temp dir) and *out (DIR/out). */
static th_run run_with(const char *yaml, char **dir, char **cfg, char **out,
                       const char *a1, const char *a2, const char *a3,
                       const char *a4, const char *a5, const char *a6)
{
    *dir = th_tempdir();
    cr_assert(dir[0] != NULL);
    *cfg = th_put(*dir, "exp.yaml", yaml);
    *out = th_join(*dir, "out");
    return th_runner(*cfg, "-q", "-o", *out, a1, a2, a3, a4, a5, a6, NULL);
}

static void cleanup(char *dir, char *cfg, char *out, th_run *r)
{
    th_run_free(r);
    free(cfg);
    free(out);
    th_rmtree(dir);
    free(dir);
}

Test(config_set, good_overrides_change_the_run)
{
    char *dir, *cfg, *out;
    th_run r = run_with(DATA "training: {epochs: 3, stop: {loss_below: 0}}\n",
                        &dir, &cfg, &out, "--set",
                        "optimizer.learning_rate=0.5", "--set",
                        "training.epochs=7", "--set=activation.name=step",
                        NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    cr_assert(eq(str, r.err, ""));
    nl_ynode *conf = resolved(out);
    char *sum = th_get(out, "summary.json");
    expect_text(conf, "optimizer.name", "gradient_descent");
    expect_num(conf, "optimizer.learning_rate", 0.5);
    expect_num(conf, "training.epochs", 7);
    expect_text(conf, "activation.name", "step");
    cr_assert(strstr(sum, "\"epochs\": 7,") != NULL, "%s", sum);
    cr_assert(strstr(sum, "\"learning_rate\": 0.5") != NULL, "%s", sum);
    nl_ynode_free(conf);
    free(sum);
    cleanup(dir, cfg, out, &r);
}

Test(config_set, override_of_a_shorthand_plugin)
{
    char *dir, *cfg, *out;
    th_run r = run_with(DATA "activation: step\ntraining: {epochs: 2}\n", &dir,
                        &cfg, &out, "--set", "activation.threshold=0.25",
                        NULL, NULL, NULL, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    nl_ynode *conf = resolved(out);
    expect_keys(conf, "activation", 3);
    expect_text(conf, "activation.name", "step");
    expect_num(conf, "activation.threshold", 0.25);
    expect_text(conf, "activation.surrogate", "identity");
    nl_ynode_free(conf);
    cleanup(dir, cfg, out, &r);
}

typedef struct bad_set {
    const char *yaml;
    const char *arg;
    const char *expect; /* the whole stderr */
} bad_set;

static const bad_set bad_sets[] = {
    {DATA, "optimizer.learning_rat=0.5",
     "optimizer.learning_rat=0.5: error: optimizer 'gradient_descent' has no "
     "parameter 'learning_rat'; did you mean 'learning_rate'?\n"},
    {DATA "optimizer: {name: gradient_descent, learning_rate: 1}\n",
     "optimizer.learning_rat=0.5",
     "optimizer.learning_rat=0.5: error: optimizer 'gradient_descent' has no "
     "parameter 'learning_rat'; did you mean 'learning_rate'?\n"},
    {DATA, "optimizer.learning_rate=0",
     "optimizer.learning_rate=0: error: optimizer 'gradient_descent': "
     "learning_rate = 0 is below the minimum (allowed: > 0)\n"},
    {DATA, "trainig.epochs=1",
     "trainig.epochs=1: error: unknown key 'trainig' in the config; did you "
     "mean 'training'?\n"},
    {DATA, "training.epochs=abc",
     "training.epochs=abc: error: expected a whole number, got 'abc'\n"},
    {DATA, "optimizer.learning_rate",
     "--set optimizer.learning_rate: expected KEY=VALUE, e.g. --set "
     "optimizer.learning_rate=0.5\n"},
    {DATA, "=3",
     "--set =3: expected KEY=VALUE, e.g. --set optimizer.learning_rate=0.5\n"},
    {DATA, "a..b=1",
     "a..b=1: error: 'a..b' is not a dotted key path like "
     "optimizer.learning_rate\n"},
    {DATA, "optimizer.learning_rate=[1",
     "optimizer.learning_rate=[1:2:1: error: invalid YAML: while parsing a "
     "flow sequence did not find expected ',' or ']' (the construct started "
     "at line 1)\n"},
    {DATA "model: {weights: [1, 2]}\n", "model.weights.x=1",
     "model.weights.x=1: error: 'weights' is a list; a dotted path cannot "
     "go inside it\n"},
};

ParameterizedTestParameters(config_set, bad_override)
{
    static case_index idx[COUNT(bad_sets)];
    for (size_t i = 0; i < COUNT(bad_sets); i++)
        idx[i].i = i;
    return cr_make_param_array(case_index, idx, COUNT(idx));
}

ParameterizedTest(case_index *k, config_set, bad_override)
{
    const bad_set *s = &bad_sets[k->i];
    char *dir, *cfg, *out;
    th_run r = run_with(s->yaml, &dir, &cfg, &out, "--set", s->arg, NULL,
                        NULL, NULL, NULL);
    cr_assert(eq(int, r.status, 2), "%s: exit %d (%s)", s->arg, r.status,
              r.err);
    cr_assert(eq(str, r.err, (char *)s->expect));
    cr_assert(th_exists(out) == false);

    /* The library says the same (without the newline). */
    nl_config loaded;
    nl_diag d;
    const char *sets[] = {s->arg};
    cr_assert(eq(int, load(&loaded, cfg, sets, 1, &d), -1));
    cr_assert(eq(int, (int)d.status, NL_EINPUT));
    char *msg = th_cat2(d.message, "\n");
    cr_assert(eq(str, msg, (char *)s->expect));
    free(msg);
    cleanup(dir, cfg, out, &r);
}

Test(config_set, set_without_a_value_is_bad_usage)
{
    char *dir, *cfg, *out;
    th_run r = run_with(DATA, &dir, &cfg, &out, "--set", NULL, NULL, NULL,
                        NULL, NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "runner: --set needs a value\ntry 'runner "
                             "--help'\n"));
    cr_assert(th_exists(out) == false);
    cleanup(dir, cfg, out, &r);
}

Test(config_set, seed_overrides_the_file)
{
    char *dir, *cfg, *out;
    th_run r = run_with(DATA "seed: 3\ntraining: {epochs: 1}\n", &dir, &cfg,
                        &out, "--set", "seed=5", "--seed", "7", NULL, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    nl_ynode *conf = resolved(out);
    char *sum = th_get(out, "summary.json");
    expect_num(conf, "seed", 7);
    cr_assert(strstr(sum, "\"seed\": 7,") != NULL, "%s", sum);
    nl_ynode_free(conf);
    free(sum);
    cleanup(dir, cfg, out, &r);
}

Test(config_set, seed_decides_random_init)
{
    static const char yaml[] =
        "data: {generator: and}\nmodel: {init: uniform, init_scale: 1}\n"
        "training: {epochs: 0}\n";
    char *dir1, *cfg1, *out1, *dir2, *cfg2, *out2, *dir3, *cfg3, *out3;
    th_run a = run_with(yaml, &dir1, &cfg1, &out1, "--seed", "11", NULL, NULL,
                        NULL, NULL);
    th_run b = run_with(yaml, &dir2, &cfg2, &out2, "--seed", "11", NULL, NULL,
                        NULL, NULL);
    th_run c = run_with(yaml, &dir3, &cfg3, &out3, "--seed", "12", NULL, NULL,
                        NULL, NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    cr_assert(eq(int, c.status, 0), "%s", c.err);
    char *ha = th_get(out1, "history.csv");
    char *hb = th_get(out2, "history.csv");
    char *hc = th_get(out3, "history.csv");
    cr_assert(eq(str, ha, hb));
    cr_assert(strcmp(ha, hc) != 0, "seeds 11 and 12 gave the same start");
    free(ha);
    free(hb);
    free(hc);
    cleanup(dir1, cfg1, out1, &a);
    cleanup(dir2, cfg2, out2, &b);
    cleanup(dir3, cfg3, out3, &c);
}

Test(config_set, bad_seed)
{
    char *dir, *cfg, *out;
    th_run r = run_with(DATA, &dir, &cfg, &out, "--seed", "abc", NULL, NULL,
                        NULL, NULL);
    cr_assert(eq(int, r.status, 2));
    cr_assert(eq(str, r.err, "seed=abc: error: expected a whole number, got "
                             "'abc'\n"));
    cr_assert(th_exists(out) == false);
    cleanup(dir, cfg, out, &r);
}

/* ------------------------------------------------------------------ */
/* Happy paths */

Test(config_ok, shorthand_equals_map_with_defaults)
{
    char *dir = th_tempdir();
    char *short_cfg = th_put(dir, "short.yaml",
                             "name: same\n" DATA "activation: step\n"
                             "training: {epochs: 2}\n");
    char *map_cfg = th_put(dir, "map.yaml",
                           "name: same\n" DATA "activation: {name: step}\n"
                           "training: {epochs: 2}\n");
    char *out1 = th_join(dir, "o1"), *out2 = th_join(dir, "o2");
    th_run a = th_runner(short_cfg, "-q", "-o", out1, NULL);
    th_run b = th_runner(map_cfg, "-q", "-o", out2, NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    char *ca = th_get(out1, "config.yaml"), *cb = th_get(out2, "config.yaml");
    cr_assert(eq(str, ca, cb));
    nl_ynode *conf = resolved(out1);
    expect_keys(conf, "activation", 3);
    expect_text(conf, "activation.name", "step");
    expect_num(conf, "activation.threshold", 0);
    expect_text(conf, "activation.surrogate", "identity");
    nl_ynode_free(conf);
    char *ha = th_get(out1, "history.csv"), *hb = th_get(out2, "history.csv");
    cr_assert(eq(str, ha, hb));

    /* The library binds the same defaults. */
    nl_registry *reg = nl_registry_new(NULL, 0);
    nl_config c1, c2;
    nl_diag d;
    cr_assert(eq(int, nl_config_load(&c1, short_cfg, NULL, 0, reg, &d), 0),
              "%s", d.message);
    cr_assert(eq(int, nl_config_load(&c2, map_cfg, NULL, 0, reg, &d), 0),
              "%s", d.message);
    cr_assert(eq(str, (char *)c1.activation.found.plugin->name, "step"));
    cr_assert(c1.activation.found.plugin == c2.activation.found.plugin);
    cr_assert(eq(str, (char *)c1.activation.found.origin, "builtin"));
    cr_assert(eq(dbl, c1.activation.params[0], 0.0)); /* threshold */
    cr_assert(eq(dbl, c1.activation.params[1], 0.0)); /* identity */
    cr_assert(eq(dbl, c2.activation.params[0], 0.0));
    cr_assert(eq(dbl, c2.activation.params[1], 0.0));
    nl_config_free(&c1);
    nl_config_free(&c2);
    nl_registry_free(reg);

    free(ca);
    free(cb);
    free(ha);
    free(hb);
    th_run_free(&a);
    th_run_free(&b);
    free(out1);
    free(out2);
    free(short_cfg);
    free(map_cfg);
    th_rmtree(dir);
    free(dir);
}

Test(config_ok, every_default_written_and_reproducible)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "minimal.yaml", DATA);
    char *out1 = th_join(dir, "o1"), *out2 = th_join(dir, "o2");
    th_run a = th_runner(cfg, "-q", "-o", out1, NULL);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    nl_ynode *tree = resolved(out1);
    expect_keys(tree, NULL, 8);
    expect_text(tree, "name", "minimal");
    expect_num(tree, "seed", 42);
    expect_keys(tree, "data", 3);
    expect_text(tree, "data.generator", "and");
    expect_text(tree, "data.normalize", "none");
    expect_num(tree, "data.test_fraction", 0);
    expect_keys(tree, "model", 3);
    expect_text(tree, "model.init", "zeros");
    expect_num(tree, "model.init_scale", 0.1);
    expect_num(tree, "model.bias", 0);
    expect_keys(tree, "activation", 1);
    expect_text(tree, "activation.name", "sigmoid");
    expect_keys(tree, "loss", 1);
    expect_text(tree, "loss.name", "mse");
    expect_keys(tree, "optimizer", 2);
    expect_text(tree, "optimizer.name", "gradient_descent");
    expect_num(tree, "optimizer.learning_rate", 0.1);
    expect_keys(tree, "training", 4);
    expect_num(tree, "training.epochs", 1000);
    expect_text(tree, "training.batch_size", "full");
    expect_text(tree, "training.shuffle", "true");
    expect_keys(tree, "training.stop", 3);
    expect_num(tree, "training.stop.loss_below", 0.01);
    expect_num(tree, "training.stop.min_delta", 0);
    expect_num(tree, "training.stop.patience", 0);
    nl_ynode_free(tree);
    char *conf = th_get(out1, "config.yaml");

    /* Given back to the runner, it reproduces the run. */
    char *again = th_join(out1, "config.yaml");
    th_run b = th_runner(again, "-q", "-o", out2, NULL);
    cr_assert(eq(int, b.status, 0), "%s", b.err);
    char *conf2 = th_get(out2, "config.yaml");
    cr_assert(eq(str, conf2, conf));
    char *h1 = th_get(out1, "history.csv"), *h2 = th_get(out2, "history.csv");
    cr_assert(eq(str, h1, h2));

    free(h1);
    free(h2);
    free(conf);
    free(conf2);
    free(again);
    th_run_free(&a);
    th_run_free(&b);
    free(out1);
    free(out2);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}

Test(config_ok, library_defaults)
{
    char *dir = th_tempdir();
    char *cfg = th_put(dir, "plain.yaml", DATA);
    nl_registry *reg = nl_registry_new(NULL, 0);
    nl_config c;
    nl_diag d;
    cr_assert(eq(int, nl_config_load(&c, cfg, NULL, 0, reg, &d), 0), "%s",
              d.message);
    cr_assert(eq(str, c.name, "plain"));
    cr_assert(eq(u64, c.seed, 42));
    cr_assert(eq(int, (int)c.data.source, NL_SOURCE_GATE));
    cr_assert(eq(str, c.data.generator, "and"));
    cr_assert(eq(int, (int)c.data.normalize, NL_NORMALIZE_NONE));
    cr_assert(eq(dbl, c.data.test_fraction, 0.0));
    cr_assert(eq(int, (int)c.model.init, NL_INIT_ZEROS));
    cr_assert(eq(dbl, c.model.init_scale, 0.1));
    cr_assert(c.model.weights == NULL);
    cr_assert(eq(str, (char *)c.activation.found.plugin->name, "sigmoid"));
    cr_assert(eq(str, (char *)c.loss.found.plugin->name, "mse"));
    cr_assert(eq(str, (char *)c.optimizer.found.plugin->name,
                 "gradient_descent"));
    cr_assert(eq(dbl, c.optimizer.params[0], 0.1));
    cr_assert(eq(u64, c.training.epochs, 1000));
    cr_assert(eq(sz, c.training.batch_size, 0));
    cr_assert(c.training.shuffle);
    cr_assert(eq(dbl, c.training.loss_below, 0.01));
    cr_assert(eq(dbl, c.training.min_delta, 0.0));
    cr_assert(eq(u64, c.training.patience, 0));
    nl_config_free(&c);
    nl_registry_free(reg);
    free(cfg);
    th_rmtree(dir);
    free(dir);
}
