/*
 * exp_neg.h - e^x for x <= 0, in plain arithmetic that the compiler can
 * vectorise, and that gives the same bits in a vector lane as in scalar
 * code (no library call whose vector and scalar versions differ).  Used
 * by the sigmoid, whose exp(-|z|) never needs x > 0.
 *
 * x = k ln2 + r with |r| <= ln2/2 (k rounded with the 1.5 * 2^52 trick,
 * ln2 split in two so k ln2 is exact), e^r by its Taylor series to r^12
 * (relative error below 2e-16 on that range), then times 2^k built from
 * the exponent bits, in two halves so that results down to the smallest
 * subnormal come out right.  Below -746 the result is 0; NaN gives NaN.
 */
#ifndef NL_PLUGINS_EXP_NEG_H
#define NL_PLUGINS_EXP_NEG_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double nl_pow2i(double k) /* 2^k for integral k in [-1022, 0] */
{
    const double shifter = 0x1.8p52;
    double t = k + shifter;     /* k now sits in t's low mantissa bits */
    uint64_t bits;
    memcpy(&bits, &t, sizeof(bits));
    bits = (bits + 1023) << 52; /* exponent field of 2^k */
    double p;
    memcpy(&p, &bits, sizeof(p));
    return p;
}

static inline double nl_exp_neg(double x_in)
{
    const double shifter = 0x1.8p52;
    const double log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fee00000p-1; /* trailing zeros: k*hi exact */
    const double ln2_lo = 0x1.a39ef35793c76p-33;
    /* fmax, not a comparison: the compiler keeps the clamp before the
     * arithmetic, so no lane computes with an out-of-range x. */
    double x = fmax(x_in, -746.0);
    double k = (x * log2e + shifter) - shifter; /* round to nearest */
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 479001600.0;               /* 1/12! */
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double k1 = (k * 0.5 + shifter) - shifter; /* k = k1 + k2, each >= -539 */
    double y = p * nl_pow2i(k1) * nl_pow2i(k - k1);
    return x_in != x_in ? x_in : y; /* NaN stays NaN */
}

#endif
