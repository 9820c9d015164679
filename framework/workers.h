/*
 * workers.h - threads for splitting a pass: started when first wanted,
 * parked between passes (a pass every few milliseconds would otherwise pay
 * for creating and joining threads each time), joined when freed.
 */
#ifndef NL_WORKERS_H
#define NL_WORKERS_H

#include <stddef.h>

typedef struct nl_workers nl_workers;

/* A share of the work: fn(ctx, share) for share in 0..shares-1. */
typedef void (*nl_share_fn)(void *ctx, size_t share);

/* An empty pool (no thread yet), or NULL when out of memory. */
nl_workers *nl_workers_new(void);
void nl_workers_free(nl_workers *w);

/* Makes sure `want` threads can run at once (the caller's and want - 1
 * workers); returns how many can: fewer when the system gives no more
 * threads, never less than 1, at most NL_MAX_WORKERS + 1. */
size_t nl_workers_reserve(nl_workers *w, size_t want);

/* Runs share 0 on the calling thread and shares 1..shares-1 on workers,
 * and returns when all are done.  shares <= nl_workers_reserve(). */
void nl_workers_run(nl_workers *w, size_t shares, nl_share_fn fn, void *ctx);

#define NL_MAX_WORKERS 15

#endif
