/*
 * exp_neg.h - e^x for x <= 0, in plain arithmetic that the compiler can
 * vectorise, and that gives the same bits in a vector lane as in scalar
 * code (no library call whose vector and scalar versions differ).  Used
 * by the sigmoid, whose exp(-|z|) never needs x > 0.
 *
 * x = k ln2 + r with |r| <= ln2/2 (k rounded with the 1.5 * 2^52 trick,
 * ln2 split in two so k ln2 is exact), e^r by its Taylor series to r^13
 * (Estrin's scheme; under 2.5 ulp in all), then times 2^(k+64) built
 * from the exponent bits and times 2^-64, so that results down to the
 * smallest subnormal come out right.  Below -746 the result is 0; NaN
 * gives NaN.
 */
#ifndef NL_PLUGINS_EXP_NEG_H
#define NL_PLUGINS_EXP_NEG_H

#include <stdint.h>
#include <string.h>

static inline double nl_exp_neg(double x)
{
    const double shifter = 0x1.8p52;
    const double log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fee00000p-1; /* trailing zeros: k*hi exact */
    const double ln2_lo = 0x1.a39ef35793c76p-33;
    /* A comparison, not fmax (a library call that stops vectorisation).
     * Built with -fno-trapping-math, the compiler may compute a lane with
     * the unclamped x before it selects: the floating-point flags can then
     * say overflow, but no result is affected.  NaN stays NaN. */
    x = x < -746.0 ? -746.0 : x;
    /* k = x log2e rounded to the nearest integer, which also sits in the
     * low mantissa bits of t. */
    double t = x * log2e + shifter;
    double k = t - shifter;
    double r = (x - k * ln2_hi) - k * ln2_lo;
    /* Estrin's scheme: the same terms as Horner's, but a dependency chain
     * of 7 operations instead of 24, so vector lanes and loop iterations
     * overlap. */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double q0 = 1.0 + r;
    double q1 = 1.0 / 2 + r * (1.0 / 6);
    double q2 = 1.0 / 24 + r * (1.0 / 120);
    double q3 = 1.0 / 720 + r * (1.0 / 5040);
    double q4 = 1.0 / 40320 + r * (1.0 / 362880);
    double q5 = 1.0 / 3628800 + r * (1.0 / 39916800);
    double q6 = 1.0 / 479001600 + r * (1.0 / 6227020800);
    double s0 = q0 + r2 * q1, s1 = q2 + r2 * q3, s2 = q4 + r2 * q5;
    double p = (s0 + r4 * s1) + r8 * (s2 + r4 * q6);
    /* 2^(k + 64) from t's bits (k >= -1077, so always a normal number),
     * then 2^-64: the one rounding, for results that are subnormal. */
    uint64_t bits;
    memcpy(&bits, &t, sizeof(bits));
    bits = (bits + 1023 + 64) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale * 0x1p-64;
}

#endif
