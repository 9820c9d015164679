/*
 * train.h - the training loop (SPEC section 1): epochs of full-batch or
 * mini-batch updates, the loss over the training set after each epoch, and
 * the stop rules.
 */
#ifndef NL_TRAIN_H
#define NL_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dataset.h"
#include "diag.h"
#include "perceptron.h"

/* Why training stopped.  X(name, word in results) */
#define NL_STOP_MAP(X)               \
    X(NL_STOP_DIVERGED, "diverged")     \
    X(NL_STOP_LOSS_BELOW, "loss_below") \
    X(NL_STOP_PLATEAU, "plateau")       \
    X(NL_STOP_MAX_EPOCHS, "max_epochs") \
    X(NL_STOP_INTERRUPTED, "interrupted") \
    X(NL_STOP_FAILED, "failed")

typedef enum nl_stop {
#define NL_STOP_ENUM(name, word) name,
    NL_STOP_MAP(NL_STOP_ENUM)
#undef NL_STOP_ENUM
} nl_stop;

const char *nl_stop_word(nl_stop stop);

/* One recorded epoch: the loss and accuracy over the training rows with
 * the parameters after `epoch` epochs (0: the initial ones). */
typedef struct nl_epoch {
    uint64_t epoch;
    double loss, accuracy;
    bool has_test;
    double test_loss, test_accuracy;
} nl_epoch;

/* Called once per recorded epoch, epoch 0 first.  Returns 0 to go on, or
 * -1 with d set to stop training with an error (e.g. the history file could
 * not be written). */
typedef int (*nl_epoch_fn)(void *ctx, const nl_epoch *e,
                           const nl_perceptron *p, nl_diag *d);

typedef struct nl_train_result {
    nl_stop stop;
    nl_epoch last;         /* the last recorded epoch */
} nl_train_result;

/* Trains p on `train` (and measures `test` when it has rows) per t.
 * `seed` drives the shuffle; `interrupt`, when it becomes non-zero, stops
 * training after the current epoch.  Fills *res in every case.  Returns 0
 * (a run that diverged or was interrupted is a result), or -1 with d set
 * when a plugin call or the callback failed (res->stop is then
 * NL_STOP_FAILED and res->last the last good epoch). */
int nl_train(nl_perceptron *p, const nl_training_config *t,
             const nl_dataset *train, const nl_dataset *test, uint64_t seed,
             const volatile sig_atomic_t *interrupt, nl_epoch_fn on_epoch,
             void *ctx, nl_train_result *res, nl_diag *d);

#endif
