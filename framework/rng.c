/* rng.c - xoshiro256** (Blackman and Vigna), seeded with splitmix64. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void nl_rng_seed(nl_rng *rng, uint64_t seed, nl_stream stream)
{
    uint64_t x = seed ^ ((uint64_t)stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t nl_rng_next(nl_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nl_rng_uniform(nl_rng *rng)
{
    return (double)(nl_rng_next(rng) >> 11) * 0x1.0p-53;
}

double nl_rng_normal(nl_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * nl_rng_uniform(rng) - 1.0;
        v = 2.0 * nl_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

uint64_t nl_rng_below(nl_rng *rng, uint64_t n)
{
    uint64_t limit = -n % n; /* 2^64 mod n: reject the biased low values */
    uint64_t r;
    do
        r = nl_rng_next(rng);
    while (r < limit);
    return r % n;
}

void nl_rng_shuffle(nl_rng *rng, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nl_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
