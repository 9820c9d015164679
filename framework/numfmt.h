/* numfmt.h - doubles as text: the shortest form that reads back exactly. */
#ifndef NL_NUMFMT_H
#define NL_NUMFMT_H

#define NL_NUM_MAX 32

/* Writes v into buf (NL_NUM_MAX bytes) with the fewest significant digits
 * (15, 16 or 17) that strtod turns back into exactly v, so 0.1 is "0.1"
 * rather than "0.10000000000000001".  Returns buf. */
char *nl_num(double v, char *buf);

#endif
