/* numfmt.h - doubles as text and back: the shortest form that reads back
 * exactly, and a reader as exact as strtod and faster on plain decimals. */
#ifndef NL_NUMFMT_H
#define NL_NUMFMT_H

#define NL_NUM_MAX 32

/* Writes v into buf (NL_NUM_MAX bytes) with the fewest significant digits
 * (15, 16 or 17) that strtod turns back into exactly v, so 0.1 is "0.1"
 * rather than "0.10000000000000001".  Returns buf. */
char *nl_num(double v, char *buf);

/* Reads all of s as a finite decimal number ([+-]digits[.digits][e[+-]
 * digits], as strtod reads it; no inf, nan or hex; underflow to 0 or a
 * subnormal is a number, overflow is not).  Returns 0 with *out set to
 * exactly what strtod gives, or -1. */
int nl_num_parse(const char *s, double *out);

#endif
