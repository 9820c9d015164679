/* numfmt.c - shortest round-trip formatting. */
#include "numfmt.h"

#include <stdio.h>
#include <stdlib.h>

char *nl_num(double v, char *buf)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, NL_NUM_MAX, "%.*g", digits, v);
        if (digits == 17 || strtod(buf, NULL) == v)
            break;
    }
    return buf;
}
