/*
 * test_numfmt.c - nl_num_parse (framework/numfmt.c), the CSV reader's
 * number parser, against strtod itself: the same numbers accepted, the
 * same text refused, and the very same bits, for two million generated
 * decimals of every shape and for the boundaries of its fast path.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

/* What the CSV reader accepted before it had a fast path: all of s read
 * by strtod, no inf, nan or hex, no overflow. */
static int by_strtod(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || strpbrk(s, "iInNxX") != NULL ||
        (errno == ERANGE && fabs(v) > 1.0))
        return -1;
    *out = v;
    return 0;
}

static void agree(const char *s)
{
    double a = 0, b = 0;
    int ra = nl_num_parse(s, &a), rb = by_strtod(s, &b);
    cr_assert(eq(int, ra, rb), "'%s': nl_num_parse %d, strtod %d", s, ra, rb);
    cr_assert(ra != 0 || memcmp(&a, &b, sizeof(a)) == 0,
              "'%s': %a, strtod %a", s, a, b);
}

Test(number, boundaries_agree_with_strtod)
{
    static const char *const cases[] = {
        "0", "-0", "+0", "0.0", "-0.000", "1", "-1", "+1.5", ".5", "-.5",
        "5.", "0.1", "0.3", "3.14159265358979", "2.718281828459045",
        "9007199254740992", "9007199254740993", "-9007199254740993",
        "18446744073709551615", "18446744073709551616",
        "1234567890123456789", "12345678901234567890",
        "0.1234567890123456789", "1e22", "1e23", "1e-22", "1e-23",
        "9e22", "9007199254740991e22", "9007199254740991e-22", "1.7976931348623157e308",
        "1.8e308", "1e400", "-1e400", "4.9e-324", "2.4e-324", "1e-400",
        "0e99999999999", "1E5", "1e+5", "1e-05", "00000000000000000000000123",
        "0.000000000000000000000000001", "123456789012345678901234567890",
        "", ".", "-", "+", "e5", "1e", "1e+", "1e-", "1.5.5", "1,5", " 1",
        "1 ", "inf", "-inf", "nan", "NaN", "infinity", "0x10", "0x1p3",
        "1e5x", "--1", "+-1", "1d5", "٣",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        agree(cases[i]);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Generated decimals: sign or none, 0-20 integer digits (leading zeros
 * too), a point or none, 0-20 fraction digits, an exponent or none; most
 * are short enough for the fast path, the rest are not. */
Test(number, generated_decimals_agree_with_strtod, .timeout = 60)
{
    uint64_t s = 0x9e3779b97f4a7c15u;
    char text[96];
    for (int n = 0; n < 2000000; n++) {
        char *p = text;
        uint64_t sign = next(&s);
        if (sign % 3 == 1)
            *p++ = '-';
        else if (sign % 3 == 2 && sign % 7 == 0)
            *p++ = '+';
        int int_digits = (int)(next(&s) % 21);
        int frac_digits = (int)(next(&s) % 21);
        for (int k = 0; k < int_digits; k++) {
            bool zero = k == 0 && next(&s) % 4 == 0; /* a leading zero */
            *p++ = (char)('0' + (zero ? 0 : next(&s) % 10));
        }
        if (next(&s) % 5 != 0)
            *p++ = '.';
        for (int k = 0; k < frac_digits; k++)
            *p++ = (char)('0' + next(&s) % 10);
        if (next(&s) % 3 == 0) {
            const char *mark = next(&s) % 2 ? "e" : "E-";
            p += sprintf(p, "%s%d", mark, (int)(next(&s) % 40));
        }
        *p = '\0';
        agree(text);
    }
}
