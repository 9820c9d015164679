/* workers.c - a pool of parked threads (see workers.h). */
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask */
#include "workers.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct nl_workers {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped per run: wakes the workers */
    size_t shares;            /* of the current run */
    nl_share_fn fn;
    void *ctx;
    size_t busy;              /* workers still on the current run */
    bool quit;
    size_t count;             /* workers started */
    pthread_t tids[NL_MAX_WORKERS];
};

typedef struct worker_start {
    nl_workers *w;
    size_t share;             /* the share this worker runs: 1.. */
} worker_start;

static void *worker_main(void *arg)
{
    worker_start me = *(worker_start *)arg;
    nl_workers *w = me.w;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->generation == seen && !w->quit)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->quit)
            break;
        seen = w->generation;
        if (me.share >= w->shares) /* not needed this time */
            continue;
        nl_share_fn fn = w->fn;
        void *ctx = w->ctx;
        pthread_mutex_unlock(&w->lock);
        fn(ctx, me.share);
        pthread_mutex_lock(&w->lock);
        if (--w->busy == 0)
            pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

nl_workers *nl_workers_new(void)
{
    nl_workers *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    return w;
}

void nl_workers_free(nl_workers *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (size_t t = 0; t < w->count; t++)
        pthread_join(w->tids[t], NULL);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

size_t nl_workers_reserve(nl_workers *w, size_t want)
{
    if (want > NL_MAX_WORKERS + 1)
        want = NL_MAX_WORKERS + 1;
    if (want <= w->count + 1)
        return want < 1 ? 1 : want;
    /* Workers take no signals: the runner's handlers stay on the main
     * thread, whose blocking calls they are meant to interrupt. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (w->count + 1 < want) {
        worker_start *arg = malloc(sizeof(*arg));
        if (arg == NULL)
            break;
        *arg = (worker_start){w, w->count + 1};
        if (pthread_create(&w->tids[w->count], NULL, worker_main, arg) != 0) {
            free(arg);
            break;
        }
        w->count++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w->count + 1;
}

void nl_workers_run(nl_workers *w, size_t shares, nl_share_fn fn, void *ctx)
{
    if (shares > 1) {
        pthread_mutex_lock(&w->lock);
        w->shares = shares;
        w->fn = fn;
        w->ctx = ctx;
        w->busy = shares - 1;
        w->generation++;
        pthread_cond_broadcast(&w->wake);
        pthread_mutex_unlock(&w->lock);
    }
    fn(ctx, 0);
    if (shares > 1) {
        pthread_mutex_lock(&w->lock);
        while (w->busy > 0)
            pthread_cond_wait(&w->done, &w->lock);
        pthread_mutex_unlock(&w->lock);
    }
}
