/*
 * rng.h - the seeded random numbers behind every random choice.
 *
 * xoshiro256** seeded through splitmix64.  Each use (data, split, init,
 * shuffle) draws from its own stream, derived from the config's seed and
 * the stream's number, so changing one choice (say the batch size) does
 * not change the draws of another (the initial weights).
 */
#ifndef NL_RNG_H
#define NL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef enum nl_stream {
    NL_STREAM_DATA = 1,    /* generated data sets */
    NL_STREAM_SPLIT = 2,   /* the held-out test rows */
    NL_STREAM_INIT = 3,    /* initial weights */
    NL_STREAM_SHUFFLE = 4  /* mini-batch order */
} nl_stream;

typedef struct nl_rng {
    uint64_t s[4];
} nl_rng;

void nl_rng_seed(nl_rng *rng, uint64_t seed, nl_stream stream);
uint64_t nl_rng_next(nl_rng *rng);
/* Uniform in [0, 1), 53 random bits. */
double nl_rng_uniform(nl_rng *rng);
/* Standard normal (Marsaglia's polar method, one value per call). */
double nl_rng_normal(nl_rng *rng);
/* Uniform integer in [0, n), without modulo bias.  n > 0. */
uint64_t nl_rng_below(nl_rng *rng, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void nl_rng_shuffle(nl_rng *rng, size_t *idx, size_t n);

#endif
