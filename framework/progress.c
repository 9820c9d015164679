/* progress.c - a single carriage-return line, redrawn sparingly. */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <time.h>

#define REDRAW_SECONDS 0.1

double nl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nl_progress_start(nl_progress_line *pl, FILE *out, uint64_t max_epochs)
{
    pl->out = out;
    pl->max_epochs = max_epochs;
    pl->start = pl->last_draw = nl_now();
    pl->drawn = false;
}

void nl_progress_update(nl_progress_line *pl, uint64_t epoch, double loss,
                        double accuracy)
{
    if (pl->out == NULL)
        return;
    double now = nl_now();
    if (now - pl->last_draw < REDRAW_SECONDS)
        return;
    pl->last_draw = now;
    double rate = (double)epoch / (now - pl->start);
    int width = pl->max_epochs > 0
                    ? (int)(20.0 * (double)epoch / (double)pl->max_epochs) : 20;
    char bar[21];
    for (int i = 0; i < 20; i++)
        bar[i] = i < width ? '#' : '.';
    bar[20] = '\0';
    fprintf(pl->out, "\r\033[K[%s] epoch %llu/%llu  loss %.6g  acc %.1f%%  "
            "%.0f epochs/s", bar, (unsigned long long)epoch,
            (unsigned long long)pl->max_epochs, loss, 100 * accuracy, rate);
    fflush(pl->out);
    pl->drawn = true;
}

void nl_progress_end(nl_progress_line *pl)
{
    if (pl->out != NULL && pl->drawn) {
        fputs("\r\033[K", pl->out);
        fflush(pl->out);
    }
}
