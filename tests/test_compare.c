/*
 * test_compare.c - comparing result directories (SPEC section 5, issue 3):
 * the grouping math against values computed by hand, nl_mean_std, the
 * ranking order, swept-key detection, and what `runner compare` writes
 * (comparison.csv, groups.csv, comparison.md, the terminal table,
 * --group-by errors).
 *
 * Every result directory here is written by the test itself
 * (summary.json, config.yaml, history.csv with chosen numbers), so the
 * expected values are known exactly.
 */
#include "helpers.h"

#include <limits.h>
#include <math.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "compare.h"

TestSuite(mean_std);
TestSuite(compare, .init = th_tmp_init, .fini = th_tmp_fini);
TestSuite(compare_cli, .init = th_tmp_init, .fini = th_tmp_fini);

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static void mkdir_p(const char *path)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "mkdir -p '%s'", path) >= 0);
    cr_assert(eq(int, system(cmd), 0));
    free(cmd);
}

static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fmax(1.0, fabs(b));
}

/* One hand-made run. */
typedef struct hand_run {
    const char *id;          /* its directory name */
    const char *status;      /* "ok" | "failed" */
    bool converged;
    const char *stop_reason;
    double epochs;           /* NAN: not written (a failed run) */
    double final_loss;       /* NAN: written as null */
    const char *activation;  /* activation.name in config.yaml */
    int seed;
} hand_run;

static void json_number(FILE *f, const char *key, double v)
{
    if (isnan(v))
        fprintf(f, ",\n  \"%s\": null", key);
    else
        fprintf(f, ",\n  \"%s\": %.17g", key, v);
}

/* Writes root/<id>/{summary.json,config.yaml,history.csv}.  The history
 * is a loss that halves every epoch from 0.5 down to final_loss (one row
 * per epoch, epochs + 1 rows); a failed run has no history and no plugin
 * list, as `runner batch` records it. */
static void write_run(const char *root, const hand_run *h)
{
    char *dir = th_join(root, h->id);
    mkdir_p(dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert(f != NULL);
    bool failed = strcmp(h->status, "ok") != 0;
    fprintf(f, "{\n  \"name\": \"hand\",\n  \"status\": \"%s\",\n"
            "  \"stop_reason\": \"%s\",\n  \"converged\": %s",
            h->status, h->stop_reason, h->converged ? "true" : "false");
    if (failed) {
        fputs(",\n  \"error\": \"crashed: killed by signal 11 (SIGSEGV)\"",
              f);
    } else {
        json_number(f, "epochs", h->epochs);
        json_number(f, "final_loss", h->final_loss);
        json_number(f, "accuracy", h->converged ? 1.0 : 0.5);
        fprintf(f, ",\n  \"plugins\": [\n"
                "    {\"kind\": \"activation\", \"name\": \"%s\", "
                "\"version\": \"1.0.0\", \"origin\": \"builtin\", "
                "\"params\": {}},\n"
                "    {\"kind\": \"loss\", \"name\": \"mse\", \"version\": "
                "\"1.0.0\", \"origin\": \"builtin\", \"params\": {}},\n"
                "    {\"kind\": \"optimizer\", \"name\": "
                "\"gradient_descent\", \"version\": \"1.2.3\", \"origin\": "
                "\"builtin\", \"params\": {\"learning_rate\": 0.5}}\n  ]",
                h->activation);
        json_number(f, "wall_seconds", 0.5);
    }
    fputs("\n}\n", f);
    fclose(f);
    free(th_put(dir, "summary.json", text));
    free(text);

    char *cfg = NULL;
    cr_assert(asprintf(&cfg,
                       "name: \"hand\"\n"
                       "seed: %d\n"
                       "data:\n"
                       "  generator: and\n"
                       "  normalize: none\n"
                       "activation:\n"
                       "  name: %s\n"
                       "loss:\n"
                       "  name: mse\n"
                       "optimizer:\n"
                       "  name: gradient_descent\n"
                       "  learning_rate: 0.5\n"
                       "training:\n"
                       "  epochs: 100\n",
                       h->seed, h->activation) >= 0);
    free(th_put(dir, "config.yaml", cfg));
    free(cfg);

    if (!failed) {
        f = open_memstream(&text, &len);
        cr_assert(f != NULL);
        fputs("epoch,loss,accuracy\n", f);
        double loss = 0.5;
        for (int e = 0; e <= (int)h->epochs; e++) {
            double v = e == (int)h->epochs ? h->final_loss : loss;
            if (isnan(v))
                fprintf(f, "%d,nan,0.5\n", e);
            else
                fprintf(f, "%d,%.17g,0.5\n", e, v);
            loss /= 2;
        }
        fclose(f);
        free(th_put(dir, "history.csv", text));
        free(text);
    }
    free(dir);
}

/* The main data set: seven runs of two activations.
 *
 *   id  activation seed  converged  epochs  final loss
 *   a1  sigmoid    1     yes        10      0.009
 *   a2  sigmoid    2     yes        20      0.008
 *   a3  sigmoid    3     yes        40      0.007
 *   b1  step       1     yes         5      0
 *   b2  step       2     no (max)  100      0.25
 *   b3  step       3     no (div)    7      NaN (null)
 *   b4  step       4     failed (segfault): no epochs, no loss
 */
static const hand_run main_set[] = {
    {"a1", "ok", true, "loss_below", 10, 0.009, "sigmoid", 1},
    {"a2", "ok", true, "loss_below", 20, 0.008, "sigmoid", 2},
    {"a3", "ok", true, "loss_below", 40, 0.007, "sigmoid", 3},
    {"b1", "ok", true, "loss_below", 5, 0.0, "step", 1},
    {"b2", "ok", false, "max_epochs", 100, 0.25, "step", 2},
    {"b3", "ok", false, "diverged", 7, NAN, "step", 3},
    {"b4", "failed", false, "failed", NAN, NAN, "step", 4},
};
#define N_MAIN (sizeof(main_set) / sizeof(main_set[0]))

/* Writes the main set under tmp/results and returns that path. */
static char *write_main_set(void)
{
    char *root = th_join(th_tmp, "results");
    for (size_t i = 0; i < N_MAIN; i++)
        write_run(root, &main_set[i]);
    return root;
}

static void load(nl_comparison *c, char *root, char *const *group_by,
                 size_t n_group_by)
{
    nl_diag d = {.status = NL_OK, .message = ""};
    char *dirs[1] = {root};
    cr_assert(eq(int, nl_compare_load(c, dirs, 1, &d), 0), "%s", d.message);
    cr_assert(eq(int, nl_compare_finish(c, group_by, n_group_by, &d), 0),
              "%s", d.message);
}

static const nl_cmp_run *run_by_id(const nl_comparison *c, const char *id)
{
    for (size_t r = 0; r < c->n_runs; r++)
        if (strcmp(c->runs[r].id, id) == 0)
            return &c->runs[r];
    cr_assert(false, "no run %s", id);
    return NULL;
}

static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    bool whole = *s != '\0' && *end == '\0';
    cr_assert(whole, "'%s' is not a number", s);
    return v;
}

/* ------------------------------------------------------------------ */
/* nl_mean_std                                                          */

Test(mean_std, hand_values)
{
    double mean, std;
    /* 10, 20, 40: mean 70/3 = 23.333...; deviations -40/3, -10/3, 50/3,
     * squares (1600 + 100 + 2500)/9 = 4200/9, over n - 1 = 2: 700/3,
     * sqrt(700/3) = 15.275252316519467. */
    const double a[] = {10, 20, 40};
    nl_mean_std(a, 3, &mean, &std);
    cr_assert(close_to(mean, 23.333333333333333), "mean %.17g", mean);
    cr_assert(close_to(std, 15.275252316519467), "std %.17g", std);
    /* 2 4 4 4 5 5 7 9: mean 5, squares 9+1+1+1+0+0+4+16 = 32, sample
     * variance 32/7, std 2.1380899352993950 (the population std would be
     * exactly 2). */
    const double b[] = {2, 4, 4, 4, 5, 5, 7, 9};
    nl_mean_std(b, 8, &mean, &std);
    cr_assert(close_to(mean, 5.0));
    cr_assert(close_to(std, 2.1380899352993950), "std %.17g", std);
    /* 0 and 0.25: mean 0.125, std sqrt(2 * 0.125^2 / 1) = 0.25/sqrt(2)
     * = 0.17677669529663688. */
    const double c[] = {0, 0.25};
    nl_mean_std(c, 2, &mean, &std);
    cr_assert(close_to(mean, 0.125));
    cr_assert(close_to(std, 0.17677669529663688), "std %.17g", std);
}

Test(mean_std, one_value_has_std_zero)
{
    double mean, std;
    const double a[] = {42.5};
    nl_mean_std(a, 1, &mean, &std);
    cr_assert(eq(dbl, mean, 42.5));
    cr_assert(eq(dbl, std, 0.0));
}

Test(mean_std, no_value_is_nan)
{
    double mean = 0, std = 0;
    nl_mean_std(NULL, 0, &mean, &std);
    cr_assert(isnan(mean));
    cr_assert(isnan(std));
}

Test(mean_std, equal_values_have_std_zero)
{
    double mean, std;
    const double a[] = {0.1, 0.1, 0.1, 0.1};
    nl_mean_std(a, 4, &mean, &std);
    cr_assert(close_to(mean, 0.1));
    cr_assert(std < 1e-15, "std %.17g", std);
}

/* ------------------------------------------------------------------ */
/* the library: loading, ranking, keys, groups                         */

Test(compare, loads_every_run_with_its_files)
{
    char *root = write_main_set();
    nl_comparison c;
    load(&c, root, NULL, 0);
    cr_assert(eq(sz, c.n_runs, N_MAIN));
    const nl_cmp_run *a2 = run_by_id(&c, "a2");
    cr_assert(eq(str, a2->status, "ok"));
    cr_assert(eq(str, a2->stop_reason, "loss_below"));
    cr_assert(a2->converged);
    cr_assert(eq(dbl, a2->epochs, 20.0));
    cr_assert(eq(dbl, a2->final_loss, 0.008));
    cr_assert(eq(dbl, a2->wall_seconds, 0.5));
    cr_assert(eq(str, a2->plugin[0], "sigmoid"));
    cr_assert(eq(str, a2->plugin[1], "mse"));
    cr_assert(eq(str, a2->plugin[2], "gradient_descent"));
    cr_assert(eq(str, a2->plugin_version[2], "1.2.3"));
    cr_assert(eq(sz, a2->n_curve, 21), "epochs 0..20");
    cr_assert(eq(dbl, a2->curve[0], 0.5));
    cr_assert(eq(dbl, a2->curve[1], 0.25));
    cr_assert(eq(dbl, a2->curve[20], 0.008));
    const nl_cmp_run *b3 = run_by_id(&c, "b3");
    cr_assert(isnan(b3->final_loss), "null is NaN");
    const nl_cmp_run *b4 = run_by_id(&c, "b4");
    cr_assert(eq(str, b4->status, "failed"));
    cr_assert(eq(str, b4->error, "crashed: killed by signal 11 (SIGSEGV)"));
    cr_assert(isnan(b4->epochs));
    cr_assert(isnan(b4->final_loss));
    cr_assert(eq(sz, b4->n_curve, 0));
    nl_compare_free(&c);
    free(root);
}

Test(compare, ranks_converged_then_epochs_then_loss_failed_last)
{
    char *root = write_main_set();
    nl_comparison c;
    load(&c, root, NULL, 0);
    /* b1 converged in 5, a1 10, a2 20, a3 40; then the runs that did not
     * converge by final loss (b2 0.25, then b3 with NaN); b4 failed. */
    static const char *const want[N_MAIN] = {"b1", "a1", "a2", "a3",
                                             "b2", "b3", "b4"};
    for (size_t r = 0; r < N_MAIN; r++)
        cr_assert(eq(str, c.runs[r].id, (char *)want[r]), "rank %zu", r + 1);
    nl_compare_free(&c);
    free(root);
}

Test(compare, ranking_rules_one_by_one)
{
    char *root = th_join(th_tmp, "rank");
    static const hand_run set[] = {
        /* failed runs come last whatever their name; between them, id */
        {"a_failed", "failed", false, "failed", NAN, NAN, "step", 1},
        {"b_failed", "failed", false, "failed", NAN, NAN, "step", 2},
        /* fewer epochs beats a lower loss among converged runs */
        {"c_e5_l09", "ok", true, "loss_below", 5, 0.09, "step", 3},
        /* same epochs: the lower loss first */
        {"c_e10_l05", "ok", true, "loss_below", 10, 0.05, "step", 4},
        {"c_e10_l01", "ok", true, "loss_below", 10, 0.01, "step", 5},
        /* a run that did not converge ranks after every converged one,
         * however low its loss and however few its epochs */
        {"n_l001", "ok", false, "max_epochs", 3, 0.001, "step", 6},
        {"n_l2", "ok", false, "plateau", 1, 2.0, "step", 7},
        /* NaN loss after every finite loss */
        {"n_nan", "ok", false, "diverged", 2, NAN, "step", 8},
        /* a tie on everything: the id decides */
        {"z_tie", "ok", false, "max_epochs", 50, 0.3, "step", 9},
        {"y_tie", "ok", false, "max_epochs", 50, 0.3, "step", 10},
    };
    size_t n = sizeof(set) / sizeof(set[0]);
    for (size_t i = 0; i < n; i++)
        write_run(root, &set[i]);
    nl_comparison c;
    load(&c, root, NULL, 0);
    static const char *const want[] = {
        "c_e5_l09", "c_e10_l01", "c_e10_l05", "n_l001", "y_tie", "z_tie",
        "n_l2", "n_nan", "a_failed", "b_failed"};
    cr_assert(eq(sz, c.n_runs, n));
    for (size_t r = 0; r < n; r++)
        cr_assert(eq(str, c.runs[r].id, (char *)want[r]), "rank %zu is %s",
                  r + 1, c.runs[r].id);
    nl_compare_free(&c);
    free(root);
}

Test(compare, swept_keys_are_those_that_differ)
{
    char *root = write_main_set();
    nl_comparison c;
    load(&c, root, NULL, 0);
    /* seed and activation.name differ; data.generator, loss.name,
     * optimizer.*, training.epochs are the same everywhere; name is not a
     * parameter. */
    cr_assert(eq(sz, c.n_keys, 2));
    cr_assert(eq(str, c.keys[0], "seed"), "config order");
    cr_assert(eq(str, c.keys[1], "activation.name"));
    const nl_cmp_run *a3 = run_by_id(&c, "a3");
    cr_assert(eq(str, a3->values[0], "3"));
    cr_assert(eq(str, a3->values[1], "sigmoid"));
    nl_compare_free(&c);
    free(root);
}

Test(compare, a_key_missing_from_some_runs_counts_as_differing)
{
    char *root = th_join(th_tmp, "missing");
    static const hand_run set[] = {
        {"r1", "ok", true, "loss_below", 3, 0.001, "sigmoid", 1},
        {"r2", "ok", true, "loss_below", 4, 0.001, "sigmoid", 1},
    };
    write_run(root, &set[0]);
    write_run(root, &set[1]);
    /* r2 gets an extra key: activation.threshold */
    char *cfg = th_join(root, "r2/config.yaml");
    char *text = th_read(cfg);
    cr_assert(text != NULL);
    char *more = NULL;
    cr_assert(asprintf(&more, "%sextra:\n  threshold: 0.5\n", text) >= 0);
    cr_assert(eq(int, th_write(cfg, more), 0));
    nl_comparison c;
    load(&c, root, NULL, 0);
    cr_assert(eq(sz, c.n_keys, 1));
    cr_assert(eq(str, c.keys[0], "extra.threshold"));
    cr_assert(eq(str, run_by_id(&c, "r1")->values[0], ""));
    cr_assert(eq(str, run_by_id(&c, "r2")->values[0], "0.5"));
    nl_compare_free(&c);
    free(more);
    free(text);
    free(cfg);
    free(root);
}

Test(compare, groups_by_activation_hand_values)
{
    char *root = write_main_set();
    nl_comparison c;
    char *by[] = {"activation.name"};
    load(&c, root, by, 1);
    cr_assert(eq(sz, c.n_groups, 2));
    /* Groups come in the order of their best run: step (b1) first. */
    const nl_cmp_group *step = &c.groups[0], *sig = &c.groups[1];
    cr_assert(eq(str, step->label, "activation.name=step"));
    cr_assert(eq(str, step->values[0], "step"));
    cr_assert(eq(str, sig->label, "activation.name=sigmoid"));

    /* sigmoid: a1 a2 a3, all converged at 10, 20, 40 epochs:
     *   mean 70/3 = 23.333333333333333, sample std sqrt(700/3) =
     *   15.275252316519467;
     * final losses 0.009 0.008 0.007: mean 0.008, deviations +-0.001 and
     *   0, sample std sqrt(2e-6 / 2) = 0.001. */
    cr_assert(eq(sz, sig->n_members, 3));
    cr_assert(eq(sz, sig->n_converged, 3));
    cr_assert(eq(str, c.runs[sig->members[0]].id, "a1"), "best first");
    cr_assert(close_to(sig->epochs_mean, 23.333333333333333), "%.17g",
              sig->epochs_mean);
    cr_assert(close_to(sig->epochs_std, 15.275252316519467), "%.17g",
              sig->epochs_std);
    cr_assert(close_to(sig->loss_mean, 0.008), "%.17g", sig->loss_mean);
    cr_assert(fabs(sig->loss_std - 0.001) < 1e-15, "%.17g", sig->loss_std);

    /* step: b1 b2 b3 b4; only b1 converged (5 epochs): mean 5, std 0;
     * finite final losses 0 (b1) and 0.25 (b2): mean 0.125, std
     * sqrt(2 * 0.125^2 / 1) = 0.17677669529663688.  b3 (NaN) and b4
     * (failed) have no finite loss. */
    cr_assert(eq(sz, step->n_members, 4));
    cr_assert(eq(sz, step->n_converged, 1));
    static const char *const members[4] = {"b1", "b2", "b3", "b4"};
    for (size_t m = 0; m < 4; m++)
        cr_assert(eq(str, c.runs[step->members[m]].id, (char *)members[m]));
    cr_assert(eq(dbl, step->epochs_mean, 5.0));
    cr_assert(eq(dbl, step->epochs_std, 0.0));
    cr_assert(close_to(step->loss_mean, 0.125));
    cr_assert(close_to(step->loss_std, 0.17677669529663688), "%.17g",
              step->loss_std);
    nl_compare_free(&c);
    free(root);
}

/* A map grouped by as a whole (the plugin reference activation: {name:
 * ...}): its keys' values together, as flow YAML, make the group. */
Test(compare, groups_by_a_whole_map)
{
    char *root = write_main_set();
    nl_comparison c;
    char *by[] = {"activation"};
    load(&c, root, by, 1);
    cr_assert(eq(sz, c.n_groups, 2));
    cr_assert(eq(str, c.groups[0].label, "activation={name: step}"));
    cr_assert(eq(str, c.groups[0].values[0], "{name: step}"));
    cr_assert(eq(str, c.groups[1].label, "activation={name: sigmoid}"));
    cr_assert(eq(sz, c.groups[1].n_members, 3));
    nl_compare_free(&c);
    free(root);
}

Test(compare, groups_by_seed_hand_values)
{
    char *root = write_main_set();
    nl_comparison c;
    char *by[] = {"seed"};
    load(&c, root, by, 1);
    /* seed 1: b1 (5 epochs, loss 0) and a1 (10, 0.009): epochs mean 7.5,
     *   std sqrt(2 * 2.5^2 / 1) = 3.5355339059327378; loss mean 0.0045,
     *   std sqrt(2 * 0.0045^2) = 0.0063639610306789277.
     * seed 2: a2 (20, 0.008) and b2 (not converged, 0.25): epochs 20 (one
     *   value, std 0); loss mean 0.129, std sqrt(2 * 0.121^2) =
     *   0.17111984104714451.
     * seed 3: a3 (40, 0.007) and b3 (NaN): epochs 40, loss 0.007 std 0.
     * seed 4: b4 only (failed): no converged run, no finite loss: NaN. */
    cr_assert(eq(sz, c.n_groups, 4));
    static const char *const labels[4] = {"seed=1", "seed=2", "seed=3",
                                          "seed=4"};
    for (size_t g = 0; g < 4; g++)
        cr_assert(eq(str, c.groups[g].label, (char *)labels[g]));
    const nl_cmp_group *g = c.groups;
    cr_assert(eq(sz, g[0].n_converged, 2));
    cr_assert(close_to(g[0].epochs_mean, 7.5));
    cr_assert(close_to(g[0].epochs_std, 3.5355339059327378));
    cr_assert(close_to(g[0].loss_mean, 0.0045));
    cr_assert(close_to(g[0].loss_std, 0.0063639610306789277), "%.17g",
              g[0].loss_std);
    cr_assert(eq(sz, g[1].n_converged, 1));
    cr_assert(eq(dbl, g[1].epochs_mean, 20.0));
    cr_assert(eq(dbl, g[1].epochs_std, 0.0));
    cr_assert(close_to(g[1].loss_mean, 0.129));
    cr_assert(close_to(g[1].loss_std, 0.17111984104714451), "%.17g",
              g[1].loss_std);
    cr_assert(eq(dbl, g[2].epochs_mean, 40.0));
    cr_assert(eq(dbl, g[2].loss_mean, 0.007));
    cr_assert(eq(dbl, g[2].loss_std, 0.0));
    cr_assert(eq(sz, g[3].n_members, 1));
    cr_assert(eq(sz, g[3].n_converged, 0));
    cr_assert(isnan(g[3].epochs_mean) && isnan(g[3].epochs_std));
    cr_assert(isnan(g[3].loss_mean) && isnan(g[3].loss_std));
    nl_compare_free(&c);
    free(root);
}

Test(compare, without_group_by_one_group_of_everything)
{
    char *root = write_main_set();
    nl_comparison c;
    load(&c, root, NULL, 0);
    cr_assert(eq(sz, c.n_groups, 1));
    cr_assert(eq(str, c.groups[0].label, "all"));
    cr_assert(eq(sz, c.groups[0].n_members, N_MAIN));
    cr_assert(eq(sz, c.groups[0].n_converged, 4));
    /* epochs 5 10 20 40: mean 18.75, squares 189.0625 + 76.5625 + 1.5625
     * + 451.5625 = 718.75, over 3: 239.58333..., std 15.478479684172259 */
    cr_assert(close_to(c.groups[0].epochs_mean, 18.75));
    cr_assert(close_to(c.groups[0].epochs_std, 15.478479684172259), "%.17g",
              c.groups[0].epochs_std);
    nl_compare_free(&c);
    free(root);
}

Test(compare, an_unknown_group_key_is_an_input_error)
{
    char *root = write_main_set();
    nl_comparison c;
    nl_diag d = {.status = NL_OK, .message = ""};
    char *dirs[1] = {root};
    cr_assert(eq(int, nl_compare_load(&c, dirs, 1, &d), 0));
    char *by[] = {"activation.nme"};
    cr_assert(eq(int, nl_compare_finish(&c, by, 1, &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
    th_assert_contains(d.message, "activation.nme");
    nl_compare_free(&c);
    free(root);
}

Test(compare, a_directory_without_runs_is_an_input_error)
{
    char *empty = th_join(th_tmp, "empty");
    mkdir_p(empty);
    nl_comparison c;
    nl_diag d = {.status = NL_OK, .message = ""};
    char *dirs[1] = {empty};
    cr_assert(eq(int, nl_compare_load(&c, dirs, 1, &d), -1));
    cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
    th_assert_contains(d.message, "no run results");
    nl_compare_free(&c);
    free(empty);
}

/* A run named twice (itself, or with the directory above it) is one run:
 * a second row would also count twice in its group. */
Test(compare, a_run_named_twice_is_one_run)
{
    char *root = write_main_set();
    char *one = th_join(root, main_set[0].id);
    char *dirs[] = {one, root, one};
    nl_comparison c;
    nl_diag d = {.status = NL_OK, .message = ""};
    cr_assert(eq(int, nl_compare_load(&c, dirs, 3, &d), 0), "%s", d.message);
    cr_assert(eq(sz, c.n_runs, N_MAIN));
    for (size_t i = 0; i < c.n_runs; i++)
        th_assert_lacks(c.runs[i].id, "/"); /* no two runs share a name */
    nl_compare_free(&c);
    free(one);
    free(root);
}

/* A damaged summary.json is an error naming the file (and the place),
 * not a run of unknown status. */
Test(compare, a_damaged_summary_is_an_input_error)
{
    static const struct {
        const char *json, *says;
    } bad[] = {
        {"", "status must be \"ok\" or \"failed\""}, /* an empty map */
        {"[1, 2]", "not an nnlab summary (not a JSON object)"},
        {"{\"name\": 5}", "status must be \"ok\" or \"failed\""},
        {"{\"status\": \"weird\", \"stop_reason\": \"max_epochs\", "
         "\"converged\": false}",
         ":1:12: error: not an nnlab summary: status must be"},
        {"{\"status\": \"ok\", \"converged\": false}", "no stop_reason"},
        {"{\"status\": \"ok\", \"stop_reason\": \"max_epochs\", "
         "\"converged\": \"yes\"}",
         "converged must be true or false"},
        {"{\"status\": \"ok\", \"stop_reason\": \"max_epochs\", "
         "\"converged\": false, \"epochs\": \"lots\", \"final_loss\": 1}",
         "epochs must be a whole number"},
        {"{\"status\": \"ok\", \"stop_reason\": \"max_epochs\", "
         "\"converged\": false, \"epochs\": 3, \"final_loss\": \"abc\"}",
         "final_loss must be a number or null"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *run = th_fmt("%s/bad%zu/r", th_tmp, i);
        mkdir_p(run);
        free(th_put(run, "summary.json", bad[i].json));
        nl_comparison c;
        nl_diag d = {.status = NL_OK, .message = ""};
        char *dirs[1] = {run};
        cr_assert(eq(int, nl_compare_load(&c, dirs, 1, &d), -1), "%s",
                  bad[i].json);
        cr_assert(eq(int, (int)d.status, (int)NL_EINPUT));
        th_assert_contains(d.message, "summary.json");
        th_assert_contains(d.message, bad[i].says);
        nl_compare_free(&c);
        free(run);
    }
    /* A failed run's summary needs no epochs or losses. */
    char *run = th_fmt("%s/failed/r", th_tmp);
    mkdir_p(run);
    free(th_put(run, "summary.json",
                "{\"name\": \"r\", \"status\": \"failed\", "
                "\"stop_reason\": \"failed\", \"converged\": false, "
                "\"error\": \"signal 11 (SIGSEGV)\"}"));
    nl_comparison c;
    nl_diag d = {.status = NL_OK, .message = ""};
    char *dirs[1] = {run};
    cr_assert(eq(int, nl_compare_load(&c, dirs, 1, &d), 0), "%s", d.message);
    nl_compare_free(&c);
    free(run);
}

/* ------------------------------------------------------------------ */
/* runner compare                                                       */

Test(compare_cli, comparison_csv_header_and_rows)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    cr_assert(eq(str, r.out, ""), "-q prints nothing");
    th_csv t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 1 + N_MAIN));
    static const char *const header[] = {
        "rank", "id", "seed", "activation.name", "activation",
        "activation_version", "loss", "loss_version", "optimizer",
        "optimizer_version", "status", "converged", "stop_reason", "epochs",
        "final_loss", "accuracy", "wall_seconds", "error"};
    size_t cols = sizeof(header) / sizeof(header[0]);
    cr_assert(eq(sz, t.n_fields[0], cols));
    for (size_t k = 0; k < cols; k++)
        cr_assert(eq(str, t.rows[0][k], (char *)header[k]));
    for (size_t r2 = 1; r2 < t.n_rows; r2++)
        cr_assert(eq(sz, t.n_fields[r2], cols), "row %zu", r2);
    /* Rank 1: b1 in full. */
    static const char *const b1[] = {
        "1", "b1", "1", "step", "step", "1.0.0", "mse", "1.0.0",
        "gradient_descent", "1.2.3", "ok", "true", "loss_below", "5", "0",
        "1", "0.5", ""};
    for (size_t k = 0; k < cols; k++)
        cr_assert(eq(str, t.rows[1][k], (char *)b1[k]), "column %s",
                  header[k]);
    /* Rank order, and the numbers with full precision. */
    static const char *const order[N_MAIN] = {"b1", "a1", "a2", "a3",
                                              "b2", "b3", "b4"};
    for (size_t i = 0; i < N_MAIN; i++) {
        cr_assert(eq(str, t.rows[1 + i][1], (char *)order[i]));
        char rank[8];
        snprintf(rank, sizeof(rank), "%zu", i + 1);
        cr_assert(eq(str, t.rows[1 + i][0], rank));
    }
    cr_assert(eq(dbl, num(t.rows[3][14]), 0.008), "a2 final loss");
    char a2_loss[32];
    snprintf(a2_loss, sizeof(a2_loss), "%.17g", 0.008);
    cr_assert(eq(str, t.rows[3][14], a2_loss), "round-trip precision");
    /* b3: diverged, NaN loss written as empty. */
    cr_assert(eq(str, t.rows[6][12], "diverged"));
    cr_assert(eq(str, t.rows[6][14], ""));
    /* b4: failed, its reason in the error column, no numbers. */
    cr_assert(eq(str, t.rows[7][10], "failed"));
    cr_assert(eq(str, t.rows[7][11], "false"));
    cr_assert(eq(str, t.rows[7][13], ""));
    cr_assert(eq(str, t.rows[7][17], "crashed: killed by signal 11 (SIGSEGV)"));
    cr_assert(eq(str, t.rows[7][3], "step"), "from its config.yaml");
    th_csv_free(&t);
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, groups_csv_with_group_by)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "--group-by",
                         "activation.name", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_csv t = th_csv_read(out, "groups.csv");
    static const char *const header[] = {
        "group", "activation.name", "runs", "converged_fraction",
        "epochs_mean", "epochs_std", "final_loss_mean", "final_loss_std",
        "best_run"};
    cr_assert(eq(sz, t.n_rows, 3));
    cr_assert(eq(sz, t.n_fields[0], 9));
    for (size_t k = 0; k < 9; k++)
        cr_assert(eq(str, t.rows[0][k], (char *)header[k]));
    /* step: 4 runs, 1 converged (0.25), epochs 5 +- 0, loss 0.125 +-
     * 0.17677669529663688, best b1. */
    cr_assert(eq(str, t.rows[1][0], "activation.name=step"));
    cr_assert(eq(str, t.rows[1][1], "step"));
    cr_assert(eq(str, t.rows[1][2], "4"));
    cr_assert(eq(dbl, num(t.rows[1][3]), 0.25));
    cr_assert(eq(dbl, num(t.rows[1][4]), 5.0));
    cr_assert(eq(dbl, num(t.rows[1][5]), 0.0));
    cr_assert(close_to(num(t.rows[1][6]), 0.125));
    cr_assert(close_to(num(t.rows[1][7]), 0.17677669529663688));
    cr_assert(eq(str, t.rows[1][8], "b1"));
    /* sigmoid: 3 runs, all converged, 23.333333333333333 +-
     * 15.275252316519467 epochs, loss 0.008 +- 0.001, best a1. */
    cr_assert(eq(str, t.rows[2][0], "activation.name=sigmoid"));
    cr_assert(eq(str, t.rows[2][2], "3"));
    cr_assert(eq(dbl, num(t.rows[2][3]), 1.0));
    cr_assert(close_to(num(t.rows[2][4]), 23.333333333333333));
    cr_assert(close_to(num(t.rows[2][5]), 15.275252316519467));
    cr_assert(close_to(num(t.rows[2][6]), 0.008));
    cr_assert(fabs(num(t.rows[2][7]) - 0.001) < 1e-15);
    cr_assert(eq(str, t.rows[2][8], "a1"));
    th_csv_free(&t);
    /* Grouped, comparison.csv keeps one row per run. */
    t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 1 + N_MAIN));
    th_csv_free(&t);
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, groups_csv_without_group_by_is_one_row)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_csv t = th_csv_read(out, "groups.csv");
    cr_assert(eq(sz, t.n_rows, 2));
    cr_assert(eq(str, t.rows[0][0], "group"));
    cr_assert(eq(str, t.rows[0][1], "runs"));
    cr_assert(eq(str, t.rows[1][0], "all"));
    cr_assert(eq(str, t.rows[1][1], "7"));
    cr_assert(close_to(num(t.rows[1][2]), 4.0 / 7.0));
    cr_assert(eq(str, t.rows[1][7], "b1"));
    th_csv_free(&t);
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, comparison_md_is_a_markdown_table)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "--group-by",
                         "activation.name", "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *md_path = th_join(out, "comparison.md");
    char *md = th_read(md_path);
    cr_assert(md != NULL);
    th_assert_contains(md,
                       "| rank | id | seed | activation.name | activation |");
    th_assert_contains(md, "| wall_seconds | error |\n|---|---|");
    th_assert_contains(md, "| 1 | b1 | 1 | step | step | 1.0.0 |");
    th_assert_contains(md, "| 3 | a2 | 2 | sigmoid |");
    th_assert_contains(md, "| 0.008 |");
    th_assert_contains(md, "| 7 | b4 |");
    th_assert_contains(md, "crashed: killed by signal 11 (SIGSEGV) |");
    th_assert_contains(md, "## Groups");
    th_assert_contains(md,
                       "| activation.name=step | step | 4 | 0.25 | 5 | 0 |");
    th_assert_contains(md, "| activation.name=sigmoid | sigmoid | 3 | 1 | "
                           "23.3333 | 15.2753 | 0.008 | 0.001 | a1 |");
    /* Every table line of the run table has the same number of cells. */
    size_t run_lines = 0;
    for (char *line = strstr(md, "\n| "); line; line = strstr(line + 1, "\n| ")) {
        if (strncmp(line, "\n| group", 8) == 0)
            break;
        size_t bars = 0;
        for (char *p = line + 1; *p && *p != '\n'; p++)
            bars += *p == '|';
        cr_assert(eq(sz, bars, 19), "18 columns: 19 bars");
        run_lines++;
    }
    cr_assert(eq(sz, run_lines, 1 + N_MAIN), "header and 7 rows");
    free(md);
    free(md_path);
    th_run_free(&r);
    free(out);
    free(root);
}

/* The line of `text` that contains `needle` (malloc'd), or fails. */
static char *line_with(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    cr_assert(hit != NULL, "'%s' not in:\n%s", needle, text);
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(hit, '\n');
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

Test(compare_cli, terminal_table_is_aligned_and_marks_the_best)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    /* Lines: header, the 7 runs, "(* best run)", "report: ...". */
    static const char *const order[N_MAIN] = {"b1", "a1", "a2", "a3",
                                              "b2", "b3", "b4"};
    static const char *const epochs[N_MAIN] = {"5", "10", "20", "40",
                                               "100", "7", ""};
    char *text = r.out;
    char *nl = strchr(text, '\n');
    cr_assert(nl != NULL);
    char *head = strndup(text, (size_t)(nl - text));
    const char *run_col = strstr(head, "run");
    const char *ep_col = strstr(head, "epochs");
    cr_assert(run_col != NULL && ep_col != NULL, "header: %s", head);
    size_t id_at = (size_t)(run_col - head);
    size_t ep_end = (size_t)(ep_col - head) + strlen("epochs");
    char *line = nl + 1;
    for (size_t i = 0; i < N_MAIN; i++) {
        char *end = strchr(line, '\n');
        cr_assert(end != NULL);
        char *row = strndup(line, (size_t)(end - line));
        cr_assert(eq(int, row[0], i == 0 ? '*' : ' '),
                  "only the best run is marked: %s", row);
        cr_assert(strlen(row) > ep_end, "row: %s", row);
        /* the id starts under "run" */
        cr_assert(strncmp(row + id_at, order[i], strlen(order[i])) == 0 &&
                      row[id_at + strlen(order[i])] == ' ',
                  "row %zu not aligned under 'run':\n%s\n%s", i + 1, head,
                  row);
        /* epochs are right-aligned under "epochs" */
        size_t n = strlen(epochs[i]);
        cr_assert(strncmp(row + ep_end - n, epochs[i], n) == 0 &&
                      row[ep_end - n - 1] == ' ' && row[ep_end] == ' ',
                  "epochs of row %zu not aligned:\n%s\n%s", i + 1, head, row);
        char rank[8];
        snprintf(rank, sizeof(rank), "%zu ", i + 1);
        cr_assert(strncmp(row + 2, rank, strlen(rank)) == 0, "rank: %s", row);
        free(row);
        line = end + 1;
    }
    th_assert_contains(line, "(* best run)");
    char *failed = line_with(r.out, " b4 ");
    th_assert_contains(failed, "crashed: killed by signal 11 (SIGSEGV)");
    free(failed);
    th_assert_contains(r.out, "report.html");
    free(head);
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, all_five_files_are_written)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    static const char *const files[] = {"comparison.csv", "groups.csv",
                                        "comparison.md", "convergence.svg",
                                        "report.html"};
    for (size_t i = 0; i < 5; i++) {
        char *p = th_join(out, files[i]);
        struct stat st;
        cr_assert(eq(int, stat(p, &st), 0), "missing %s", p);
        cr_assert(st.st_size > 0, "%s is empty", p);
        free(p);
    }
    th_run_free(&r);
    free(out);
    free(root);
}

/* The chart stays legible: a diverged run's 1e300 gets a few decade
 * labels, not 300 stacked ones; long names that differ at the end keep
 * their ends, and the whole name shows on hover. */
Test(compare_cli, chart_labels_stay_legible)
{
    char *root = th_join(th_tmp, "results");
    static const char *const ids[] = {
        "optimizer.learning_rate=0.5,activation.name=sigmoid",
        "optimizer.learning_rate=0.5,activation.name=tanh"};
    write_run(root, &(hand_run){ids[0], "ok", false, "diverged", 30, 1e300,
                                "sigmoid", 1});
    write_run(root, &(hand_run){ids[1], "ok", true, "loss_below", 12, 0.009,
                                "tanh", 1});
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    char *svg = th_read_in(out, "convergence.svg");
    size_t labels = 0;
    for (const char *at = svg; (at = strstr(at, "text-anchor=\"end\">1e"));
         at++)
        labels++;
    cr_assert(labels >= 2 && labels <= 9, "%zu loss labels", labels);
    for (size_t i = 0; i < 2; i++) {
        char *title = th_fmt("<title>%s</title>", ids[i]);
        th_assert_contains(svg, title);
        free(title);
    }
    th_assert_contains(svg, ">optimizer.l...ctivation.name=sigmoid</text>");
    th_assert_contains(svg, ">optimizer.l...5,activation.name=tanh</text>");
    th_assert_lacks(svg, "optimizer.learning_rate=0.5,activation.name="
                         "sigmoid</text>"); /* too long to fit */
    free(svg);
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, merges_directories_from_different_places)
{
    /* A study root holding some runs, plus a single run elsewhere. */
    char *part = th_join(th_tmp, "machine1");
    char *lone = th_join(th_tmp, "machine2");
    for (size_t i = 0; i < N_MAIN - 1; i++)
        write_run(part, &main_set[i]);
    write_run(lone, &main_set[N_MAIN - 1]);
    char *lone_run = th_join(lone, main_set[N_MAIN - 1].id);
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", part, lone_run, "-o", out, "-q", NULL);
    cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
    th_csv t = th_csv_read(out, "comparison.csv");
    cr_assert(eq(sz, t.n_rows, 1 + N_MAIN));
    cr_assert(eq(str, t.rows[N_MAIN][1], "b4"));
    cr_assert(eq(str, t.rows[1][1], "b1"));
    th_csv_free(&t);
    th_run_free(&r);
    free(out);
    free(lone_run);
    free(lone);
    free(part);
}

Test(compare_cli, group_by_an_unknown_key_exits_2)
{
    char *root = write_main_set();
    char *out = th_join(th_tmp, "report");
    th_run r = th_runner("compare", root, "-o", out, "--group-by",
                         "activation.nmae", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "activation.nmae");
    cr_assert(eq(int, access(out, F_OK), -1), "no report written");
    th_run_free(&r);
    /* One good key and one unknown: still 2. */
    r = th_runner("compare", root, "-o", out, "--group-by", "seed",
                  "--group-by", "optimizer.momentum", "-q", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "optimizer.momentum");
    th_run_free(&r);
    free(out);
    free(root);
}

Test(compare_cli, a_directory_with_no_runs_exits_2)
{
    char *empty = th_join(th_tmp, "empty");
    mkdir_p(empty);
    th_run r = th_runner("compare", empty, "-q", NULL);
    cr_assert(eq(int, r.status, 2), "stderr: %s", r.err);
    th_assert_contains(r.err, "no run results");
    th_run_free(&r);
    free(empty);
}
