/* perceptron.c - the neuron and its fused forward/backward pass. */
#include "perceptron.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_loader.h"
#include "rng.h"

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
        return nl_fail(d, NL_EPLUGIN, "%s %s (%s) refused to start: %s",
                       nl_kind_name(inst->plugin->kind), inst->plugin->name,
                       inst->origin, err[0] ? err : "create() returned NULL");
    }
    return 0;
}

void nl_instance_destroy(nl_instance *inst)
{
    if (inst->plugin != NULL && inst->self != NULL)
        inst->plugin->destroy(inst->self);
    inst->self = NULL;
}

/* Per-block buffers: z, a, l, l', f', y: six arrays of NL_BLOCK_ROWS. */
enum { BUF_Z, BUF_A, BUF_L, BUF_G, BUF_F, BUF_Y, BUF_COUNT };

int nl_perceptron_new(nl_perceptron *p, const nl_config *cfg, size_t d,
                      nl_diag *diag)
{
    memset(p, 0, sizeof(*p));
    p->d = d;
    p->theta = calloc(d + 1, sizeof(double));
    p->scratch = malloc(BUF_COUNT * NL_BLOCK_ROWS * sizeof(double));
    if (p->theta == NULL || p->scratch == NULL) {
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
    free(p->scratch);
    memset(p, 0, sizeof(*p));
}

static int plugin_failed(const nl_instance *inst, const char *call, int rc,
                         nl_diag *diag)
{
    return nl_fail(diag, NL_EPLUGIN, "%s %s (%s): %s() failed (returned %d)",
                   nl_kind_name(inst->plugin->kind), inst->plugin->name,
                   inst->origin, call, rc);
}

int nl_perceptron_pass(nl_perceptron *p, const nl_dataset *ds,
                       const size_t *idx, size_t n, nl_pass *out,
                       double *grad, nl_diag *diag)
{
    const size_t d = p->d;
    const double *w = p->theta, b = p->theta[d];
    const nl_activation_api *act = &p->activation.plugin->activation;
    const nl_loss_api *loss = &p->loss.plugin->loss;
    void *act_self = p->activation.self, *loss_self = p->loss.self;
    double *z = p->scratch + BUF_Z * NL_BLOCK_ROWS;
    double *a = p->scratch + BUF_A * NL_BLOCK_ROWS;
    double *l = p->scratch + BUF_L * NL_BLOCK_ROWS;
    double *g = p->scratch + BUF_G * NL_BLOCK_ROWS;
    double *f = p->scratch + BUF_F * NL_BLOCK_ROWS;
    double *y = p->scratch + BUF_Y * NL_BLOCK_ROWS;
    double loss_sum = 0;
    size_t correct = 0;
    int rc;
    if (grad != NULL)
        memset(grad, 0, (d + 1) * sizeof(double));
    for (size_t start = 0; start < n; start += NL_BLOCK_ROWS) {
        size_t m = n - start < NL_BLOCK_ROWS ? n - start : NL_BLOCK_ROWS;
        for (size_t k = 0; k < m; k++) {
            size_t row = idx ? idx[start + k] : start + k;
            const double *x = ds->x + row * d;
            double s = b;
            for (size_t j = 0; j < d; j++)
                s += w[j] * x[j];
            z[k] = s;
            y[k] = ds->y[row];
        }
        if ((rc = act->forward(act_self, z, a, m)) != 0)
            return plugin_failed(&p->activation, "forward", rc, diag);
        if ((rc = loss->value(loss_self, a, y, l, m)) != 0)
            return plugin_failed(&p->loss, "value", rc, diag);
        for (size_t k = 0; k < m; k++) {
            loss_sum += l[k];
            correct += (a[k] >= p->threshold ? 1.0 : 0.0) == y[k];
        }
        if (grad == NULL)
            continue;
        if ((rc = loss->gradient(loss_self, a, y, g, m)) != 0)
            return plugin_failed(&p->loss, "gradient", rc, diag);
        if ((rc = act->derivative(act_self, z, a, f, m)) != 0)
            return plugin_failed(&p->activation, "derivative", rc, diag);
        for (size_t k = 0; k < m; k++) {
            size_t row = idx ? idx[start + k] : start + k;
            const double *x = ds->x + row * d;
            double dz = g[k] * f[k]; /* dC/dz_k times n */
            for (size_t j = 0; j < d; j++)
                grad[j] += dz * x[j];
            grad[d] += dz;
        }
    }
    out->loss = loss_sum / (double)n;
    out->accuracy = (double)correct / (double)n;
    if (grad != NULL)
        for (size_t j = 0; j <= d; j++)
            grad[j] /= (double)n;
    return 0;
}

int nl_perceptron_step(nl_perceptron *p, const double *grad, nl_diag *diag)
{
    const nl_optimizer_api *opt = &p->optimizer.plugin->optimizer;
    int rc = opt->step(p->optimizer.self, p->theta, grad, p->d + 1);
    if (rc != 0)
        return plugin_failed(&p->optimizer, "step", rc, diag);
    return 0;
}
