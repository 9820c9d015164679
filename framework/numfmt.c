/* numfmt.c - shortest round-trip formatting, and exact parsing. */
#include "numfmt.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *nl_num(double v, char *buf)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, NL_NUM_MAX, "%.*g", digits, v);
        if (digits == 17 || strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* strtod, for what the fast path below does not take. */
static int parse_slow(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    bool word = strpbrk(s, "iInNxX") != NULL; /* inf, nan, hex */
    if (end == s || *end != '\0' || word ||
        (errno == ERANGE && fabs(v) > 1.0))
        return -1;
    *out = v;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Clinger's fast path: a decimal w x 10^e with w < 2^53 and |e| <= 22 is
 * one multiplication or division of two doubles that hold their values
 * exactly, so the one rounding IEEE arithmetic does is the correct
 * rounding of the decimal: strtod's result, at a fraction of its cost.
 * Anything else (more digits, bigger exponents, inf, hex, bad text) goes
 * to strtod. */
int nl_num_parse(const char *s, double *out)
{
    static const double pow10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    uint64_t w = 0;   /* the significant digits, up to 19 of them */
    int digits = 0;   /* ... how many */
    int e = 0;        /* the decimal exponent of w's last digit */
    bool any = false; /* a digit seen, before or after the point */
    for (int in_fraction = 0; in_fraction < 2; in_fraction++) {
        for (; is_digit(*p); p++) {
            any = true;
            if (w == 0 && *p == '0') { /* a leading zero */
                e -= in_fraction;
                continue;
            }
            if (digits == 19)
                return parse_slow(s, out);
            w = w * 10 + (uint64_t)(*p - '0');
            digits++;
            e -= in_fraction;
        }
        if (in_fraction == 0 && *p == '.')
            p++;
        else
            break;
    }
    if (!any)
        return parse_slow(s, out);
    if (*p == 'e' || *p == 'E') {
        p++;
        bool down = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        if (!is_digit(*p))
            return parse_slow(s, out);
        int x = 0;
        for (; is_digit(*p); p++)
            if (x < 100000)
                x = x * 10 + (*p - '0');
        e += down ? -x : x;
    }
    if (*p != '\0' || w > (UINT64_C(1) << 53) || e < -22 || e > 22)
        return parse_slow(s, out);
    double v = (double)w;
    v = e < 0 ? v / pow10[-e] : v * pow10[e];
    *out = negative ? -v : v;
    return 0;
}
