/* diag.c - error records for the runner to print. */
#include "diag.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The format attribute lets -Wformat-nonliteral (clang) see that fmt is
 * checked at the callers. */
__attribute__((format(printf, 3, 0))) static void
diag_vformat(nl_diag *d, size_t at, const char *fmt, va_list ap)
{
    if (at < sizeof(d->message))
        vsnprintf(d->message + at, sizeof(d->message) - at, fmt, ap);
}

int nl_fail(nl_diag *d, nl_status status, const char *fmt, ...)
{
    if (d == NULL)
        return -1;
    va_list ap;
    d->status = status;
    va_start(ap, fmt);
    diag_vformat(d, 0, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 6, 0))) static int
fail_vat(nl_diag *d, nl_status status, const char *file, size_t line,
         size_t col, const char *fmt, va_list ap)
{
    if (d == NULL)
        return -1;
    int n = 0;
    if (file == NULL)
        d->message[0] = '\0';
    else if (line == 0)
        n = snprintf(d->message, sizeof(d->message), "%s: error: ", file);
    else if (col > 0)
        n = snprintf(d->message, sizeof(d->message), "%s:%zu:%zu: error: ",
                     file, line, col);
    else
        n = snprintf(d->message, sizeof(d->message), "%s:%zu: error: ",
                     file, line);
    d->status = status;
    diag_vformat(d, n < 0 ? 0 : (size_t)n, fmt, ap);
    return -1;
}

int nl_fail_at(nl_diag *d, nl_status status, const char *file, size_t line,
               size_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_vat(d, status, file, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

int nl_fail_where(nl_diag *d, nl_status status, const nl_where *at,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_vat(d, status, at->file, at->line, at->col, fmt, ap);
    va_end(ap);
    return -1;
}

void nl_diag_append(nl_diag *d, const char *fmt, ...)
{
    if (d == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    diag_vformat(d, strlen(d->message), fmt, ap);
    va_end(ap);
}

const char *nl_status_text(nl_status status)
{
    switch (status) {
#define NL_STATUS_CASE(name, code, text) \
    case name:                           \
        return text;
        NL_STATUS_MAP(NL_STATUS_CASE)
#undef NL_STATUS_CASE
    }
    return "unknown status";
}

const char *nl_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},
        {SIGFPE, "SIGFPE"},   {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"},
        {SIGINT, "SIGINT"},   {SIGTERM, "SIGTERM"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "signal";
}
