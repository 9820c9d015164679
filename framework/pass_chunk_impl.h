/*
 * pass_chunk_impl.h - the body of nl_pass_chunk2, nl_pass_chunk4 and
 * nl_pass_chunk8 (pass_chunk.h): included once by each of pass_chunk2.c,
 * pass_chunk4.c and pass_chunk8.c, after they define NL_W (the vector
 * width for block_kernels.h), NL_CHUNK_NAME and NL_CHUNK_TARGET (the
 * function's name and its target attribute).
 */
#include <string.h>

#include "block_kernels.h"
#include "pass_chunk.h"

/* The m rows of a block from row `start` of the pass: where they are in
 * the data (rows in order; their targets from `labels` into gy when it is
 * not NULL), or copied together into gx, gy (a mini-batch's rows
 * idx[start..]).  Returns x; *y gets the targets. */
NL_INLINE const double *block_at(const nl_dataset *ds, const size_t *idx,
                                 const unsigned char *labels, size_t d,
                                 size_t start, size_t m,
                                 double *restrict gx, double *restrict gy,
                                 const double **y)
{
    if (idx == NULL) {
        *y = ds->y + start;
        if (labels != NULL) {
            for (size_t k = 0; k < m; k++)
                gy[k] = labels[start + k];
            *y = gy;
        }
        return ds->x + start * d;
    }
    for (size_t k = 0; k < m; k++) {
        memcpy(gx + k * d, ds->x + idx[start + k] * d, d * sizeof(double));
        gy[k] = ds->y[idx[start + k]];
    }
    *y = gy;
    return gx;
}

/* Rows [first, last) of the pass, a block at a time, for d features (a
 * constant where the caller makes it one).  Writes the chunk's sums to
 * part: [0] loss, [1] hits, [2..] gradient (times n).  Returns NULL, or the
 * failing call's name (its code in *rc). */
NL_INLINE const char *chunk_loop(const nl_perceptron *p, size_t d,
                                 size_t block_rows, const nl_dataset *ds,
                                 const size_t *idx, size_t first, size_t last,
                                 bool want_grad, double *scratch, double *part,
                                 const nl_instance **who, int *rc)
{
    const double *w = p->theta, b = p->theta[d];
    const nl_activation_api *act = &p->activation.plugin->activation;
    const nl_loss_api *loss = &p->loss.plugin->loss;
    void *act_self = p->activation.self, *loss_self = p->loss.self;
    double *z = scratch + BUF_Z * NL_BLOCK_ROWS;
    double *a = scratch + BUF_A * NL_BLOCK_ROWS;
    double *l = scratch + BUF_L * NL_BLOCK_ROWS;
    double *g = scratch + BUF_G * NL_BLOCK_ROWS;
    double *f = scratch + BUF_F * NL_BLOCK_ROWS;
    /* Two sets of gathered rows: this block's and the next one's. */
    double *gy[2] = {scratch + BUF_Y0 * NL_BLOCK_ROWS,
                     scratch + BUF_Y1 * NL_BLOCK_ROWS};
    double *gx[2] = {scratch + BUF_COUNT * NL_BLOCK_ROWS,
                     scratch + BUF_COUNT * NL_BLOCK_ROWS + block_rows * d};
    double loss_lanes[NL_LANES] = {0}, hit_lanes[NL_LANES] = {0};
    double *grad = part + 2;
    memset(grad, 0, (d + 1) * sizeof(double));
    const bool wide = d > NL_NARROW_D;
    const bool streams = idx == NULL && nl_pass_streams(ds);
    const bool prefetch = streams && want_grad && wide;
    /* Bytes for the targets when X streams from memory (in cache, turning
     * them into doubles costs more than it saves). */
    const unsigned char *labels = streams ? ds->labels : NULL;
    size_t start = first, m = last - first < block_rows ? last - first
                                                        : block_rows;
    const double *y, *x = block_at(ds, idx, labels, d, start, m, gx[0],
                                   gy[0], &y);
    if (wide)
        z_wide(w, b, d, x, m, z);
    else
        z_narrow(w, b, d, x, m, z);
    for (unsigned turn = 1; m > 0; turn++) {
        size_t next = start + m;
        size_t mn = last - next < block_rows ? last - next : block_rows;
        /* The block after the next one, when it follows in memory: part
         * of it is asked for now, the rest while the next one streams. */
        size_t after = next + mn;
        size_t ahead_size = (last - after < block_rows ? last - after
                                                       : block_rows) *
                            d * sizeof(double);
        const char *ahead = prefetch && ahead_size > 0
                                ? (const char *)(ds->x + after * d)
                                : NULL;
        /* The part asked for now goes in pieces, one before each plugin
         * call (in one burst, the core stalled on it instead of running
         * the plugins while memory worked). */
        size_t burst = ahead_size * NL_PREFETCH_BURST_EIGHTHS / 8 / 64 * 64;
        prefetch_piece(ahead, burst, 4, 0);
        if ((*rc = act->forward(act_self, z, a, m)) != 0)
            return *who = &p->activation, "forward";
        prefetch_piece(ahead, burst, 4, 1);
        if ((*rc = loss->value(loss_self, a, y, l, m)) != 0)
            return *who = &p->loss, "value";
        prefetch_piece(ahead, burst, 4, 2);
        if (want_grad && (*rc = loss->gradient(loss_self, a, y, g, m)) != 0)
            return *who = &p->loss, "gradient";
        prefetch_piece(ahead, burst, 4, 3);
        if (want_grad &&
            (*rc = act->derivative(act_self, z, a, f, m)) != 0)
            return *who = &p->activation, "derivative";
        block_sums(m, a, y, l, g, f, want_grad, p->threshold, loss_lanes,
                   hit_lanes);
        /* The next block (none after the last: then x and y stand in). */
        const double *yn = y, *xn = mn == 0 ? x
                                            : block_at(ds, idx, labels, d,
                                                       next, mn, gx[turn % 2],
                                                       gy[turn % 2], &yn);
        if (want_grad && wide) {
            grad_then_z(d, x, m, g, grad, w, b, xn, mn, z,
                        ahead ? ahead + burst : NULL, ahead_size - burst);
        } else {
            if (want_grad)
                grad_narrow(d, x, m, g, grad);
            if (wide)
                z_wide(w, b, d, xn, mn, z);
            else
                z_narrow(w, b, d, xn, mn, z);
        }
        start = next, m = mn, x = xn, y = yn;
    }
    part[0] = lane_sum(loss_lanes);
    part[1] = lane_sum(hit_lanes);
    return NULL;
}

NL_CHUNK_TARGET
const char *NL_CHUNK_NAME(const nl_perceptron *p, size_t block_rows,
                          const nl_dataset *ds, const size_t *idx,
                          size_t first, size_t last, bool want_grad,
                          double *scratch, double *part,
                          const nl_instance **who, int *rc)
{
#define NL_WIDTH(D)                                                       \
    case D:                                                               \
        return chunk_loop(p, D, block_rows, ds, idx, first, last,        \
                          want_grad, scratch, part, who, rc);
    switch (p->d) {
        NL_WIDTH(1)
        NL_WIDTH(2)
        NL_WIDTH(3)
        NL_WIDTH(4)
        NL_WIDTH(5)
        NL_WIDTH(6)
        NL_WIDTH(7)
        NL_WIDTH(8)
        NL_WIDTH(16)
    default:
        return chunk_loop(p, p->d, block_rows, ds, idx, first, last,
                          want_grad, scratch, part, who, rc);
    }
#undef NL_WIDTH
}
