/*
 * nnlab/plugin.h - the plugin ABI of nnlab, the only header a plugin needs.
 *
 * A plugin is a shared object that exports one function, nnlab_plugin_entry.
 * The host calls it with index 0, 1, 2, ... until it returns NULL, so one
 * .so can carry several plugins.  Each call hands back a descriptor
 * (struct nl_plugin) whose first two members, abi_version and struct_size,
 * the host checks before it reads or calls anything else.
 *
 * Build:   cc -shared -fPIC -I<include dir> my_plugin.c -o my_plugin.so
 *
 * Rules of the road:
 *  - Every call is vectorised: it works on arrays of n values (a block of
 *    rows, or every parameter at once); the host never calls per sample.
 *  - Arrays passed in belong to the host and are valid for the call only.
 *    Descriptor strings and tables are the plugin's static data.
 *  - Parameters arrive validated (type and range checked against the
 *    plugin's table) as an array of doubles in table order.
 *  - A plugin reports failure by returning non-zero and, when it has an
 *    err buffer (create), writing a message of at most NL_ERROR_MAX bytes
 *    into it; the other calls name their failure through describe_error.
 *    It never prints, exits or aborts.
 *  - Threads: forward, derivative, value and gradient may be called from
 *    several threads at once (on different arrays, with the same self), so
 *    they must not modify self; keep scratch on the stack.  create,
 *    destroy and step are never called concurrently.
 *  - The struct is append-only: new members go at the end, under an
 *    "added in ABI version N" comment, and bump NL_ABI_VERSION.
 */
#ifndef NNLAB_PLUGIN_H
#define NNLAB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes.  The host refuses any other. */
#define NL_ABI_VERSION 1

/* Size of the err buffer the host passes to create(). */
#define NL_ERROR_MAX 256

/* Export macro for the entry symbol (the host builds with hidden
 * visibility; plugins may too). */
#if defined(__GNUC__)
#define NL_EXPORT __attribute__((visibility("default")))
#else
#define NL_EXPORT
#endif

typedef enum nl_kind {
    NL_KIND_ACTIVATION = 1,
    NL_KIND_LOSS = 2,
    NL_KIND_OPTIMIZER = 3
} nl_kind;

typedef enum nl_param_type {
    NL_PARAM_REAL = 1,   /* any double in [min, max] */
    NL_PARAM_INT = 2,    /* an integer in [min, max] */
    NL_PARAM_BOOL = 3,   /* true or false: passed as 1.0 or 0.0 */
    NL_PARAM_CHOICE = 4  /* one word of `choices`: passed as its index */
} nl_param_type;

/* Flags of nl_param.flags. */
#define NL_PARAM_MIN_EXCLUSIVE 0x1u /* value must be > min, not >= min */
#define NL_PARAM_MAX_EXCLUSIVE 0x2u /* value must be < max, not <= max */

/* One row of a plugin's parameter table. */
typedef struct nl_param {
    const char *name;             /* [a-z0-9_]+, the config key */
    nl_param_type type;
    double default_value;         /* for CHOICE: index into choices */
    double min, max;              /* range, inclusive unless flagged;
                                     use -HUGE_VAL/HUGE_VAL for none */
    unsigned flags;               /* NL_PARAM_*_EXCLUSIVE */
    const char *const *choices;   /* CHOICE: NULL-terminated words */
    const char *help;             /* one line, shown by `runner plugins` */
} nl_param;

/* Activation: a = f(z), elementwise. */
typedef struct nl_activation_api {
    /* a[i] = f(z[i]) for i < n.  Must be finite for finite z.
     * Returns 0, or non-zero on failure. */
    int (*forward)(void *self, const double *z, double *a, size_t n);
    /* d[i] = f'(z[i]) for i < n; a[i] = f(z[i]) is passed in so the
     * derivative may reuse it.  Returns 0, or non-zero on failure. */
    int (*derivative)(void *self, const double *z, const double *a,
                      double *d, size_t n);
    /* The range of f.  Prediction is 1 when f(z) >= the midpoint of a
     * bounded range (0.5 when either end is infinite). */
    double out_min, out_max;
    /* NL_ACTIVATION_* flags. */
    unsigned flags;
} nl_activation_api;

/* The derivative is a deliberate surrogate, not f' (the step function's
 * `identity` surrogate, say).  `runner plugin check` then reports the
 * derivative instead of comparing it with finite differences; every other
 * activation's derivative must match them. */
#define NL_ACTIVATION_SURROGATE 0x1u

/* Loss: per-element values and derivatives.  The host takes the mean:
 * C = (1/n) sum l_i and dC/dyhat_i = l'_i / n, so blocks and mini-batches
 * compose exactly. */
typedef struct nl_loss_api {
    /* l[i] = l(yhat[i], y[i]) >= 0.  Returns 0, or non-zero on failure. */
    int (*value)(void *self, const double *yhat, const double *y,
                 double *l, size_t n);
    /* g[i] = dl/dyhat at (yhat[i], y[i]).  Returns 0, or non-zero. */
    int (*gradient)(void *self, const double *yhat, const double *y,
                    double *g, size_t n);
} nl_loss_api;

/* Optimizer: updates the parameter vector theta = (w_1..w_d, b) in place. */
typedef struct nl_optimizer_api {
    /* theta[i] <- update(theta[i], grad[i], state) for i < n, where n is
     * the count given to create().  Returns 0, or non-zero on failure. */
    int (*step)(void *self, double *theta, const double *grad, size_t n);
} nl_optimizer_api;

/* The descriptor.  abi_version and struct_size come first, always. */
typedef struct nl_plugin {
    uint32_t abi_version;          /* NL_ABI_VERSION */
    uint32_t struct_size;          /* sizeof(struct nl_plugin) */
    nl_kind kind;
    const char *name;              /* [a-z0-9_]+, unique per kind */
    const char *version;           /* e.g. "1.0.0" */
    const char *summary;           /* one line */
    const nl_param *params;        /* parameter table, n_params rows */
    size_t n_params;

    /* Creates an instance from validated params (n_params values in table
     * order).  n_theta is the number of trained parameters (features + 1):
     * optimizers size their state by it; others may ignore it.  On failure
     * returns NULL and writes a message into err (NL_ERROR_MAX bytes).
     * May be NULL: the plugin is stateless and every call gets self=NULL. */
    void *(*create)(const double *params, size_t n_theta, char *err);
    /* Frees what create() returned.  May be NULL when create is. */
    void (*destroy)(void *self);

    /* The function table of `kind`; the other two are left zero. */
    nl_activation_api activation;
    nl_loss_api loss;
    nl_optimizer_api optimizer;

    /* Optional (may be NULL): a one-line message for a non-zero code that
     * forward, derivative, value, gradient or step returned, which the
     * host shows with the failure.  Static text; must not fail. */
    const char *(*describe_error)(void *self, int code);
} nl_plugin;

/* The entry point every plugin .so exports: returns descriptor `index`,
 * or NULL past the last one.  Must be callable any number of times. */
typedef const nl_plugin *(*nl_plugin_entry_fn)(unsigned index);

#define NL_PLUGIN_ENTRY_SYMBOL "nnlab_plugin_entry"

/* The entry point, declared for the plugin that defines it:
 *   NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index) { ... } */
NL_EXPORT const nl_plugin *nnlab_plugin_entry(unsigned index);

#ifdef __cplusplus
}
#endif

#endif /* NNLAB_PLUGIN_H */
