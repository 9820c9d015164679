/* perceptron.c - the neuron: its plugin instances, parameters and update
 * (the fused pass over the data is pass.c). */
#include "perceptron.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "plugin_check.h"
#include "plugin_loader.h"
#include "rng.h"

#include <unistd.h>

/* NNLAB_THREADS if set, else the number of cores. */
static int max_threads(void)
{
    const char *env = getenv("NNLAB_THREADS");
    long n = env != NULL ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > NL_MAX_THREADS ? NL_MAX_THREADS : (int)n;
}

/* " (with gain = 3 from the config; the defaults pass)": the parameters
 * that differ from p's defaults. */
static void append_given_params(nl_diag *d, const nl_plugin *p,
                                const double *params)
{
    nl_diag_append(d, " (with");
    const char *sep = " ";
    for (size_t i = 0; i < p->n_params; i++) {
        if (params[i] == p->params[i].default_value)
            continue;
        char value[64];
        nl_param_format(&p->params[i], params[i], 0, value, sizeof(value));
        nl_diag_append(d, "%s%s = %s", sep, p->params[i].name, value);
        sep = ", ";
    }
    nl_diag_append(d, " from the config; the defaults pass)");
}

int nl_instance_create(nl_instance *inst, const nl_plugin_use *use,
                       size_t n_theta, nl_diag *d)
{
    inst->plugin = use->found.plugin;
    inst->origin = use->found.origin;
    inst->self = NULL;
    if (inst->plugin->create == NULL)
        return 0;
    char err[NL_ERROR_MAX] = "";
    inst->self = inst->plugin->create(use->params, n_theta, err);
    if (inst->self == NULL) {
        err[NL_ERROR_MAX - 1] = '\0';
        return nl_fail_where(d, NL_EPLUGIN, &use->at, "%s %s (%s) refused to "
                             "start: %s", nl_kind_name(inst->plugin->kind),
                             inst->plugin->name, inst->origin,
                             err[0] ? err : "create() returned NULL");
    }
    /* A library's plugin was checked with its default parameters when it
     * was loaded; a derivative can still be wrong at the ones given here. */
    if (strcmp(inst->origin, NL_BUILTIN_ORIGIN) != 0 &&
        !nl_params_are_defaults(inst->plugin, use->params) &&
        nl_plugin_spot_check(inst->plugin, inst->self, inst->origin, d) < 0) {
        nl_instance_destroy(inst);
        char says[NL_DIAG_MAX]; /* at the place the config chose it */
        memcpy(says, d->message, sizeof(says));
        nl_fail_where(d, d->status, &use->at, "%s", says);
        append_given_params(d, inst->plugin, use->params);
        return -1;
    }
    return 0;
}

void nl_instance_destroy(nl_instance *inst)
{
    if (inst->plugin != NULL && inst->self != NULL)
        inst->plugin->destroy(inst->self);
    inst->self = NULL;
}

int nl_perceptron_new(nl_perceptron *p, const nl_config *cfg, size_t d,
                      nl_diag *diag)
{
    memset(p, 0, sizeof(*p));
    p->d = d;
    p->n_threads = max_threads();
    p->theta = calloc(d + 1, sizeof(double));
    if (p->theta == NULL) {
        nl_perceptron_free(p);
        return nl_fail(diag, NL_EFAIL, "out of memory");
    }
    if (nl_instance_create(&p->activation, &cfg->activation, d + 1, diag) < 0 ||
        nl_instance_create(&p->loss, &cfg->loss, d + 1, diag) < 0 ||
        nl_instance_create(&p->optimizer, &cfg->optimizer, d + 1, diag) < 0) {
        nl_perceptron_free(p);
        return -1;
    }
    const nl_activation_api *act = &p->activation.plugin->activation;
    p->threshold = isfinite(act->out_min) && isfinite(act->out_max)
                       ? act->out_min + (act->out_max - act->out_min) / 2
                       : 0.5;
    const nl_model_config *m = &cfg->model;
    if (m->init != NL_INIT_ZEROS) {
        nl_rng rng;
        nl_rng_seed(&rng, cfg->seed, NL_STREAM_INIT);
        for (size_t j = 0; j < d; j++)
            p->theta[j] = m->init == NL_INIT_UNIFORM
                              ? m->init_scale * (2 * nl_rng_uniform(&rng) - 1)
                              : m->init_scale * nl_rng_normal(&rng);
    }
    if (m->weights != NULL)
        memcpy(p->theta, m->weights, d * sizeof(double));
    p->theta[d] = m->bias;
    return 0;
}

void nl_perceptron_free(nl_perceptron *p)
{
    nl_instance_destroy(&p->activation);
    nl_instance_destroy(&p->loss);
    nl_instance_destroy(&p->optimizer);
    free(p->theta);
    nl_pass_state_free(p->pass);
    memset(p, 0, sizeof(*p));
}

int nl_instance_failed(const nl_instance *inst, const char *call, int rc,
                       nl_diag *d)
{
    const nl_plugin *p = inst->plugin;
    const char *why = p->describe_error ? p->describe_error(inst->self, rc)
                                        : NULL;
    nl_fail(d, NL_EPLUGIN, "%s %s (%s): %s() failed (returned %d)",
            nl_kind_name(p->kind), p->name, inst->origin, call, rc);
    if (why != NULL)
        nl_diag_append(d, ": %s", why);
    return -1;
}

int nl_perceptron_step(nl_perceptron *p, const double *grad, nl_diag *diag)
{
    const nl_optimizer_api *opt = &p->optimizer.plugin->optimizer;
    int rc = opt->step(p->optimizer.self, p->theta, grad, p->d + 1);
    if (rc != 0)
        return nl_instance_failed(&p->optimizer, "step", rc, diag);
    return 0;
}
