/*
 * test_kernels.c - the block arithmetic of the training pass
 * (framework/block_kernels.h), against the promises its comments make:
 * a row's z has the same bits whether it is computed in a group of eight
 * or alone; the fused gradient-and-next-z loop gives the same bits as the
 * two steps apart, and asks for every line of the block after once; and
 * every kernel agrees with a naive sum.
 *
 * Vectors of NL_W = 2 here; test_kernels4.c and test_kernels8.c include
 * this file with 4 and 8.  Every width runs on any machine (slowly where
 * it has no such registers), so all are tested everywhere.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every line the kernels ask for, in order (the first MAX_ASKED). */
#define MAX_ASKED 4096
static const char *asked[MAX_ASKED];
static size_t n_asked;
#define NL_PREFETCH(p) \
    (void)(n_asked < MAX_ASKED ? asked[n_asked] = (const char *)(p) : 0, \
           n_asked++)

#include "block_kernels.h"

#ifndef KERNELS
#define KERNELS kernels
#endif

#define ROWS 37 /* four groups of eight and a tail of five */
#define MAX_D 40

static double x[ROWS * MAX_D], w[MAX_D], dz[ROWS];

/* Fills x, w and dz from a fixed generator, values of mixed sign and
 * magnitude, so that the order of a sum shows in its last bits. */
static void fill(void)
{
    uint64_t s = 0x243f6a8885a308d3u;
    double *all[] = {x, w, dz};
    size_t counts[] = {ROWS * MAX_D, MAX_D, ROWS};
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < counts[a]; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            all[a][i] = u * pow(10.0, (double)(s % 7) - 3);
        }
}

static bool near(double got, double want)
{
    return fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want));
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

Test(KERNELS, lane_sums8_is_lane_sum_of_each_row)
{
    fill();
    nl_lanes a[8];
    for (int r = 0; r < 8; r++)
        memcpy(a[r], x + 8 * r, sizeof(a[r]));
    nl_vec sums[NL_HALVES];
    lane_sums8(a, sums);
    for (int r = 0; r < 8; r++)
        cr_assert(same_bits(sums[r / NL_W][r % NL_W], lane_sum(x + 8 * r)),
                  "row %d: %.17g against %.17g", r, sums[r / NL_W][r % NL_W],
                  lane_sum(x + 8 * r));
}

/* Wide rows: z of each row in groups of eight, alone, and naively. */
Test(KERNELS, z_wide_same_bits_in_a_group_or_alone)
{
    fill();
    static const size_t widths[] = {9, 12, 16, 23, 40};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        size_t d = widths[i];
        double z[ROWS], one;
        z_wide(w, 0.25, d, x, ROWS, z);
        for (size_t k = 0; k < ROWS; k++) {
            z_wide(w, 0.25, d, x + k * d, 1, &one);
            cr_assert(same_bits(z[k], one), "d %zu row %zu: %.17g, alone "
                      "%.17g", d, k, z[k], one);
            double naive = 0.25;
            for (size_t j = 0; j < d; j++)
                naive += w[j] * x[k * d + j];
            cr_assert(near(z[k], naive), "d %zu row %zu: %.17g, naive %.17g",
                      d, k, z[k], naive);
        }
    }
}

/* The last d mod 8 features of a wide row are summed as one more vector
 * that ends the row and so reads some features again: those count once.
 * An infinite one among them makes z infinite, as in the naive sum, not
 * NaN (which a product of the re-read feature with zero would make). */
Test(KERNELS, z_wide_counts_each_feature_of_the_tail_vector_once)
{
    static const size_t widths[] = {9, 10, 15, 17, 23};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        size_t d = widths[i], main_end = d / 8 * 8;
        for (size_t f = d - 8; f < main_end; f++) {
            fill();
            for (size_t j = 0; j < d; j++)
                w[j] = fabs(w[j]) + 0.5;
            for (size_t k = 0; k < ROWS; k++)
                x[k * d + f] = INFINITY;
            double z[ROWS];
            z_wide(w, 0.25, d, x, ROWS, z);
            for (size_t k = 0; k < ROWS; k++)
                cr_assert(z[k] == INFINITY, "d %zu, x_%zu infinite: row %zu "
                          "z = %g", d, f, k, z[k]);
        }
        /* And with ordinary values each feature adds once: as naive. */
        fill();
        double z[ROWS];
        z_wide(w, 0.25, d, x, ROWS, z);
        for (size_t k = 0; k < ROWS; k++) {
            double naive = 0.25;
            for (size_t j = 0; j < d; j++)
                naive += w[j] * x[k * d + j];
            cr_assert(near(z[k], naive), "d %zu row %zu", d, k);
        }
    }
}

/* Narrow rows: the vector path (groups of eight) and the scalar tail sum
 * each row left to right, so they agree with the naive sum exactly. */
Test(KERNELS, z_narrow_sums_each_row_left_to_right)
{
    fill();
    for (size_t D = 1; D <= NL_NARROW_D; D++) {
        double z[ROWS];
        z_narrow(w, -0.5, D, x, ROWS, z);
        for (size_t k = 0; k < ROWS; k++) {
            double naive = -0.5;
            for (size_t j = 0; j < D; j++)
                naive += w[j] * x[k * D + j];
            cr_assert(same_bits(z[k], naive), "D %zu row %zu: %.17g, naive "
                      "%.17g", D, k, z[k], naive);
        }
    }
}

static void naive_grad(size_t d, size_t m, double *grad)
{
    for (size_t j = 0; j <= d; j++) {
        grad[j] = 0;
        for (size_t k = 0; k < m; k++)
            grad[j] += dz[k] * (j < d ? x[k * d + j] : 1.0);
    }
}

Test(KERNELS, gradients_match_the_naive_sum)
{
    fill();
    double want[MAX_D + 1], got[MAX_D + 1];
    for (size_t D = 1; D <= NL_NARROW_D; D++) {
        naive_grad(D, ROWS, want);
        memset(got, 0, sizeof(got));
        grad_narrow(D, x, ROWS, dz, got);
        for (size_t j = 0; j <= D; j++)
            cr_assert(near(got[j], want[j]), "narrow D %zu, grad[%zu]: %.17g,"
                      " naive %.17g", D, j, got[j], want[j]);
    }
    static const size_t widths[] = {9, 16, 23, 40};
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        size_t d = widths[i];
        naive_grad(d, ROWS, want);
        double z[ROWS];
        memset(got, 0, sizeof(got));
        grad_then_z(d, x, ROWS, dz, got, w, 0.0, x, 0, z, NULL, 0);
        for (size_t j = 0; j <= d; j++)
            cr_assert(near(got[j], want[j]), "wide d %zu, grad[%zu]: %.17g, "
                      "naive %.17g", d, j, got[j], want[j]);
    }
}

/* grad_narrow's sums, a number at a time: number p of a group of eight
 * rows (row p / D, feature p mod D) adds dz x into lane p mod 8 of sum
 * p / 8, the last rows too; a feature's eight lanes, one per row of a
 * group, add up in tree8's order; dz goes to lane k mod 8.  Every width
 * must give these bits. */
static void lanes_grad_narrow(size_t D, size_t m, double *grad)
{
    double lanes[NL_NARROW_D][8] = {{0}}, bias[8] = {0};
    for (size_t r = 0; r < m; r += 8)
        for (size_t p = 0; p < 8 * D && r + p / D < m; p++)
            lanes[p / 8][p % 8] += dz[r + p / D] * x[r * D + p];
    for (size_t k = 0; k < m; k++)
        bias[k % 8] += dz[k];
    for (size_t j = 0; j < D; j++) {
        double t[8];
        for (size_t q = 0; q < 8; q++)
            t[q] = lanes[(q * D + j) / 8][(q * D + j) % 8];
        grad[j] = tree8(t);
    }
    grad[D] = lane_sum(bias);
}

Test(KERNELS, narrow_gradient_adds_each_number_into_its_lane)
{
    fill();
    for (size_t D = 1; D <= NL_NARROW_D; D++) {
        double want[NL_NARROW_D + 1], got[NL_NARROW_D + 1] = {0};
        lanes_grad_narrow(D, ROWS, want);
        grad_narrow(D, x, ROWS, dz, got);
        for (size_t j = 0; j <= D; j++)
            cr_assert(same_bits(got[j], want[j]), "D %zu, grad[%zu]: %.17g, "
                      "lane by lane %.17g", D, j, got[j], want[j]);
    }
}

/* The fused loop (with prefetching) gives the bits of the two steps done
 * apart: the gradient of one block, then z of the next, for blocks of
 * different lengths either way round. */
Test(KERNELS, fused_gradient_and_next_z_equal_the_two_apart)
{
    fill();
    static const size_t shapes[][2] = {{37, 21}, {16, 37}, {5, 8}, {24, 0}};
    const size_t d = 12;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        size_t m = shapes[i][0], mn = shapes[i][1];
        const double *xn = x + 2 * d; /* any rows: they are only read */
        double g1[MAX_D + 1] = {0}, g2[MAX_D + 1] = {0}, z1[ROWS], z2[ROWS];
        grad_then_z(d, x, m, dz, g1, w, 0.125, xn, mn, z1,
                    (const char *)x, sizeof(x));
        for (size_t k = 0; k + 8 <= m; k += 8)
            grad_group8(d, x + k * d, dz + k, g2);
        grad_rows(d, x + m / 8 * 8 * d, m % 8, dz + m / 8 * 8, g2);
        z_wide(w, 0.125, d, xn, mn, z2);
        for (size_t j = 0; j <= d; j++)
            cr_assert(same_bits(g1[j], g2[j]), "shape %zu grad[%zu]", i, j);
        for (size_t k = 0; k < mn; k++)
            cr_assert(same_bits(z1[k], z2[k]), "shape %zu z[%zu]", i, k);
    }
}

/* The fused loop asks for each line of the block after next once, in
 * order, a few at a time, whatever the shapes; the kernels called alone
 * ask for nothing. */
Test(KERNELS, fused_loop_asks_for_every_line_ahead_once)
{
    fill();
    static const size_t shapes[][3] = {
        /* m, mn, d */
        {8, 8, 40}, {37, 21, 12}, {16, 37, 9}, {5, 8, 16}, {24, 0, 33},
    };
    static const size_t sizes[] = {0, 1, 64, 100, 4096, 2560 + 8};
    static char ahead[8192];
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            size_t m = shapes[i][0], mn = shapes[i][1], d = shapes[i][2];
            double g[MAX_D + 1] = {0}, z[ROWS];
            n_asked = 0;
            grad_then_z(d, x, m, dz, g, w, 0.5, x, mn, z, ahead, sizes[k]);
            size_t want = (m >= 8 || mn >= 8) ? (sizes[k] + 63) / 64 : 0;
            cr_assert(eq(sz, n_asked, want), "m %zu mn %zu d %zu size %zu",
                      m, mn, d, sizes[k]);
            for (size_t a = 0; a < n_asked; a++)
                cr_assert(asked[a] == ahead + 64 * a, "line %zu", a);
        }
    n_asked = 0;
    double g[MAX_D + 1] = {0}, z[ROWS];
    volatile size_t wide = 40; /* not a constant: GCC would warn about the tail loop */
    size_t d = wide;
    z_wide(w, 0.5, d, x, 9, z);
    grad_group8(d, x, dz, g);
    cr_assert(eq(sz, n_asked, 0));
}

/* The pieces the pass asks for memory in (one before each plugin call, or
 * three in a turn of the fused loop) cover it in order, each line once,
 * the first at most NL_PREFETCH_AT_ONCE lines. */
Test(KERNELS, prefetch_pieces_cover_every_line_once)
{
    static const size_t sizes[] = {0, 1, 64, 100, 1536, 2568, 4096};
    static char ahead[8192];
    for (size_t pieces = 1; pieces <= 4; pieces++)
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            n_asked = 0;
            size_t first = 0;
            size_t size = sizes[k], before = 0;
            for (size_t p = 0; p < pieces; p++) {
                prefetch_piece(ahead, size, pieces, p);
                if (p == 0)
                    first = n_asked;
                /* The later pieces share the rest evenly, to a line each. */
                if (p > 0) {
                    size_t even = ((size + 63) / 64 - first) / (pieces - 1);
                    cr_assert(n_asked - before >= even &&
                                  n_asked - before <= even + pieces,
                              "piece %zu of %zu of %zu: %zu lines", p,
                              pieces, size, n_asked - before);
                }
                before = n_asked;
            }
            cr_assert(eq(sz, n_asked, (sizes[k] + 63) / 64), "%zu pieces "
                      "of %zu", pieces, sizes[k]);
            cr_assert(pieces == 1 || first <= NL_PREFETCH_AT_ONCE);
            for (size_t a = 0; a < n_asked; a++)
                cr_assert(asked[a] == ahead + 64 * a, "line %zu", a);
        }
    n_asked = 0;
    prefetch_piece(NULL, 4096, 4, 1);
    cr_assert(eq(sz, n_asked, 0));
}
