/* experiment.c - one run, end to end. */
#define _POSIX_C_SOURCE 200809L
#include "experiment.h"

#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "perceptron.h"
#include "plugin_loader.h"
#include "progress.h"
#include "results.h"

typedef struct epoch_sink {
    nl_results *results;
    nl_progress_line progress;
} epoch_sink;

static int on_epoch(void *ctx, const nl_epoch *e, const nl_perceptron *p,
                    nl_diag *d)
{
    epoch_sink *sink = ctx;
    (void)p;
    nl_progress_update(&sink->progress, e->epoch, e->loss, e->accuracy);
    return nl_results_epoch(sink->results, e, d);
}

/* CSV data only shows its width once read: check explicit weights now. */
static int check_weights(const nl_config *cfg, size_t features, nl_diag *d)
{
    const nl_model_config *m = &cfg->model;
    if (m->weights == NULL || m->n_weights == features)
        return 0;
    return nl_fail_where(d, NL_EINPUT, &m->weights_at, "model.weights has "
                         "%zu values but the data has %zu features",
                         m->n_weights, features);
}

int nl_experiment_run(const nl_run_options *o, nl_run_report *rep, nl_diag *d)
{
    const nl_settings *s = o->settings;
    nl_registry *reg = nl_registry_new((const char *const *)s->plugin_dirs,
                                       s->n_plugin_dirs);
    nl_config cfg = {0};
    nl_dataset train = {0}, test = {0};
    nl_perceptron p = {0};
    nl_results results = {0};
    int rc = -1;
    memset(rep, 0, sizeof(*rep));
    double start = nl_now();
    if (reg == NULL) {
        nl_fail(d, NL_EFAIL, "out of memory");
        goto out;
    }
    if (nl_config_load(&cfg, o->config_path, o->overrides, o->n_overrides,
                       reg, d) < 0 ||
        nl_data_load(&cfg.data, cfg.seed, &train, &test, d) < 0 ||
        check_weights(&cfg, train.d, d) < 0 ||
        nl_perceptron_new(&p, &cfg, train.d, d) < 0)
        goto out;
    /* Everything that can be wrong with the input has been checked: only
     * now is a result directory created. */
    if (nl_results_open(&results, o->out_dir, o->force, s->results_root,
                        cfg.name, test.n > 0, d) < 0)
        goto out;
    epoch_sink sink = {.results = &results};
    nl_progress_start(&sink.progress, o->progress, cfg.training.epochs);
    nl_diag train_error;
    int trained = nl_train(&p, &cfg.training, &train, &test, cfg.seed,
                           o->interrupt, on_epoch, &sink, &rep->result,
                           &train_error);
    nl_progress_end(&sink.progress);
    rep->wall_seconds = nl_now() - start;
    nl_data_info info = {train.n, test.n, train.d};
    const char *error = trained < 0 ? train_error.message : NULL;
    if (nl_results_finish(&results, &cfg, &p, &rep->result, &info,
                          rep->wall_seconds, error, d) < 0) {
        if (error != NULL) { /* both: the training error first */
            nl_diag written = *d;
            *d = train_error;
            nl_diag_append(d, "\n%s", written.message);
        }
        goto out;
    }
    if (trained < 0) /* a plugin failed mid-run: the result says so */
        *d = train_error;
    else
        rc = 0;
    rep->name = strdup(cfg.name);
    rep->dir = strdup(results.dir);
    if (rep->name == NULL || rep->dir == NULL) { /* no report, not half */
        free(rep->name);
        free(rep->dir);
        rep->name = rep->dir = NULL;
    }
    rep->loss_below = cfg.training.loss_below;
    rep->d = p.d;
    rep->theta = malloc((p.d + 1) * sizeof(double));
    if (rep->theta != NULL)
        memcpy(rep->theta, p.theta, (p.d + 1) * sizeof(double));
    rep->train_rows = train.n;
    rep->test_rows = test.n;
out:
    nl_results_close(&results);
    nl_perceptron_free(&p);
    nl_dataset_free(&train);
    nl_dataset_free(&test);
    nl_config_free(&cfg);
    nl_registry_free(reg);
    return rc;
}

void nl_run_report_free(nl_run_report *rep)
{
    free(rep->name);
    free(rep->dir);
    free(rep->theta);
    memset(rep, 0, sizeof(*rep));
}
