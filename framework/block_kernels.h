/*
 * block_kernels.h - the arithmetic of one block of rows for pass.c: z for
 * the block, the gradient of the block, the loss and hit sums, all as
 * vector code of fixed shape.
 *
 * Every sum has a fixed shape: NL_LANES partial sums added in a fixed tree,
 * rows in a fixed grouping.  The compiler puts the lanes in AVX-512, AVX2
 * or SSE2 registers depending on the clone it builds, but no clone changes
 * which numbers are added in which order, so every machine gives the same
 * bits.  No FMA contraction (-std=c11 implies -ffp-contract=off) for the
 * same reason.  Static inline: only pass.c includes this.
 */
#ifndef NL_BLOCK_KERNELS_H
#define NL_BLOCK_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The vector helpers below pass 64-byte vectors by value; they are all
 * inlined, so no call crosses an ABI boundary and GCC's note about the
 * AVX-512 calling convention does not apply. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* Independent partial sums per reduction: enough to hide the adder's
 * latency and to fill one AVX-512 or two AVX2 registers. */
#define NL_LANES 8

/* Features up to this many: rows are the vector lanes and the kernel is
 * compiled once per width.  Above: features are the lanes. */
#define NL_NARROW_D 8

#define NL_INLINE static inline __attribute__((always_inline))

/* Prefetches go to L2 (the block is read again from L1 later anyway). */
#define NL_PREFETCH_LOCALITY 2

/* ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)): the tree a vector unit does. */
NL_INLINE double lane_sum(const double *a)
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* Eight doubles: one AVX-512 register, two AVX2 ones, four SSE2 ones; the
 * compiler picks per clone, the arithmetic per lane is the same. */
typedef double nl_v8 __attribute__((vector_size(8 * sizeof(double))));
typedef long long nl_v8i __attribute__((vector_size(8 * sizeof(long long))));

#if defined(__clang__)
#define NL_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define NL_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (nl_v8i){__VA_ARGS__})
#endif

NL_INLINE nl_v8 load8(const double *p)
{
    nl_v8 v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The lanes of w . x_r for R rows x_r = x + r d: feature j adds into lane
 * j mod 8.  The rows are interleaved so that R sums are in flight. */
NL_INLINE void dot_lanes(const double *restrict w, const double *restrict x,
                         size_t d, size_t R, nl_v8 *restrict acc)
{
    for (size_t r = 0; r < R; r++)
        acc[r] = (nl_v8){0};
    size_t j = 0;
    for (; j + NL_LANES <= d; j += NL_LANES) {
        nl_v8 wj = load8(w + j);
        for (size_t r = 0; r < R; r++)
            acc[r] += wj * load8(x + r * d + j);
    }
    for (size_t r = 0; r < R; r++)
        for (size_t l = 0; j + l < d; l++)
            acc[r][l] += w[j + l] * x[r * d + j + l];
}

/* lane_sum of each of a[0..8), as one vector: the same tree, done across
 * eight rows at once by swapping halves, quarters and pairs. */
NL_INLINE nl_v8 lane_sums8(const nl_v8 *a)
{
    nl_v8 u[4], v[2];
    for (int r = 0; r < 4; r++) /* (a0+a4, a1+a5, a2+a6, a3+a7) per row */
        u[r] = NL_SHUFFLE(a[2 * r], a[2 * r + 1], 0, 1, 2, 3, 8, 9, 10, 11) +
               NL_SHUFFLE(a[2 * r], a[2 * r + 1], 4, 5, 6, 7, 12, 13, 14, 15);
    for (int r = 0; r < 2; r++) /* (u0+u2, u1+u3) per row */
        v[r] = NL_SHUFFLE(u[2 * r], u[2 * r + 1], 0, 1, 4, 5, 8, 9, 12, 13) +
               NL_SHUFFLE(u[2 * r], u[2 * r + 1], 2, 3, 6, 7, 10, 11, 14, 15);
    return NL_SHUFFLE(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14) +
           NL_SHUFFLE(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15);
}

/* z of the eight rows at x: their lane sums come out as one vector. */
NL_INLINE void z_group8(const double *restrict w, double b, size_t d,
                        const double *restrict x, double *restrict z)
{
    nl_v8 acc[8];
    dot_lanes(w, x, d, 8, acc);
    nl_v8 z8 = b + lane_sums8(acc);
    memcpy(z, &z8, sizeof(z8));
}

/* z[k] = b + w . x_k, feature j going to lane j mod NL_LANES: groups of
 * eight rows, then the rest one by one (the same sums either way). */
NL_INLINE void z_wide(const double *restrict w, double b, size_t d,
                      const double *restrict x, size_t m, double *restrict z)
{
    size_t k = 0;
    for (; k + 8 <= m; k += 8)
        z_group8(w, b, d, x + k * d, z + k);
    for (; k < m; k++) {
        nl_v8 acc;
        dot_lanes(w, x + k * d, d, 1, &acc);
        double lanes[NL_LANES];
        memcpy(lanes, &acc, sizeof(lanes));
        z[k] = b + lane_sum(lanes);
    }
}

/* Column j of the eight rows at x (D features each), as one vector. */
NL_INLINE nl_v8 column8(const double *restrict x, size_t D, size_t j)
{
    return (nl_v8){x[j],         x[D + j],     x[2 * D + j], x[3 * D + j],
                   x[4 * D + j], x[5 * D + j], x[6 * D + j], x[7 * D + j]};
}

/* z[k] = b + w . x_k, each row summed left to right; the rows are the
 * lanes (D is a constant, at most NL_NARROW_D). */
NL_INLINE void z_narrow(const double *restrict w, double b, size_t D,
                        const double *restrict x, size_t m,
                        double *restrict z)
{
    size_t k = 0;
    for (; k + 8 <= m; k += 8) {
        nl_v8 s = {b, b, b, b, b, b, b, b};
        for (size_t j = 0; j < D; j++)
            s += w[j] * column8(x + k * D, D, j);
        memcpy(z + k, &s, sizeof(s));
    }
    for (; k < m; k++) {
        double s = b;
        for (size_t j = 0; j < D; j++)
            s += w[j] * x[k * D + j];
        z[k] = s;
    }
}

/* grad[j] += sum_k dz_k x_kj, grad[D] += sum_k dz_k; row k goes to lane
 * k mod NL_LANES (D a constant, at most NL_NARROW_D). */
NL_INLINE void grad_narrow(size_t D, const double *restrict x, size_t m,
                           const double *restrict dz, double *restrict grad)
{
    nl_v8 acc[NL_NARROW_D + 1];
    for (size_t j = 0; j <= D; j++)
        acc[j] = (nl_v8){0};
    size_t k = 0;
    for (; k + NL_LANES <= m; k += NL_LANES) {
        nl_v8 dz8 = load8(dz + k);
        for (size_t j = 0; j < D; j++)
            acc[j] += dz8 * column8(x + k * D, D, j);
        acc[D] += dz8;
    }
    for (size_t l = 0; k + l < m; l++) {
        for (size_t j = 0; j < D; j++)
            acc[j][l] += dz[k + l] * x[(k + l) * D + j];
        acc[D][l] += dz[k + l];
    }
    for (size_t j = 0; j <= D; j++) {
        double lanes[NL_LANES];
        memcpy(lanes, &acc[j], sizeof(lanes));
        grad[j] += lane_sum(lanes);
    }
}

/* ((t0+t1) + (t2+t3)) + ((t4+t5) + (t6+t7)), for vectors and numbers. */
NL_INLINE nl_v8 tree8v(const nl_v8 *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

NL_INLINE double tree8(const double *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* grad[j] += sum_r dz_r x_rj over the eight rows at x (a fixed tree of
 * the eight products, then one add into grad), grad[d] += sum_r dz_r. */
NL_INLINE void grad_group8(size_t d, const double *restrict x,
                           const double *restrict dz, double *restrict grad)
{
    size_t j = 0;
    for (; j + NL_LANES <= d; j += NL_LANES) {
        nl_v8 t[8];
        for (size_t r = 0; r < 8; r++)
            t[r] = dz[r] * load8(x + r * d + j);
        nl_v8 sum = load8(grad + j) + tree8v(t);
        memcpy(grad + j, &sum, sizeof(sum));
    }
    for (; j < d; j++) {
        double t[8];
        for (size_t r = 0; r < 8; r++)
            t[r] = dz[r] * x[r * d + j];
        grad[j] += tree8(t);
    }
    grad[d] += tree8(dz);
}

/* The same for fewer than eight rows, one row at a time. */
NL_INLINE void grad_rows(size_t d, const double *restrict x, size_t m,
                         const double *restrict dz, double *restrict grad)
{
    for (size_t k = 0; k < m; k++) {
        for (size_t j = 0; j < d; j++)
            grad[j] += dz[k] * x[k * d + j];
        grad[d] += dz[k];
    }
}

/* Asks for bytes [from, to) of ahead[0..size) on their way to L2, a line
 * at a time. */
NL_INLINE void prefetch_span(const char *ahead, size_t size, size_t from,
                             size_t to)
{
    to = to < size ? to : size;
    for (size_t o = from; ahead != NULL && o < to; o += 64)
        __builtin_prefetch(ahead + o, 0, NL_PREFETCH_LOCALITY);
}

/* The gradient of this block (m rows at x, dz) and z of the next (mn rows
 * at xn) in one loop, a group of eight rows of each per turn: the next
 * block comes from memory while this one is worked on from L1.  The block
 * after that (`ahead`, `ahead_size` bytes) is asked for on the way, so
 * that memory keeps streaming while the plugins work. */
NL_INLINE void grad_then_z(size_t d, const double *restrict x, size_t m,
                           const double *restrict dz, double *restrict grad,
                           const double *restrict w, double b,
                           const double *restrict xn, size_t mn,
                           double *restrict z, const char *ahead,
                           size_t ahead_size)
{
    size_t groups = m / 8, groups_next = mn / 8;
    size_t turns = groups > groups_next ? groups : groups_next;
    size_t share = turns > 0 ? (ahead_size + turns - 1) / turns : 0;
    for (size_t i = 0; i < turns; i++) {
        prefetch_span(ahead, ahead_size, i * share, (i + 1) * share);
        if (i < groups_next)
            z_group8(w, b, d, xn + i * 8 * d, z + i * 8);
        if (i < groups)
            grad_group8(d, x + i * 8 * d, dz + i * 8, grad);
    }
    grad_rows(d, x + groups * 8 * d, m % 8, dz + groups * 8, grad);
    z_wide(w, b, d, xn + groups_next * 8 * d, mn % 8, z + groups_next * 8);
}

/* The block's loss and hits into the lanes; dz = l' f' in place of l'. */
NL_INLINE void block_sums(size_t m, const double *restrict a,
                          const double *restrict y, const double *restrict l,
                          double *restrict g, const double *restrict f,
                          bool want_grad, double threshold,
                          double *restrict loss, double *restrict hits)
{
    size_t k = 0;
    for (; k + NL_LANES <= m; k += NL_LANES)
        for (size_t i = 0; i < NL_LANES; i++) {
            loss[i] += l[k + i];
            hits[i] += (a[k + i] >= threshold ? 1.0 : 0.0) == y[k + i];
        }
    for (size_t i = 0; k + i < m; i++) {
        loss[i] += l[k + i];
        hits[i] += (a[k + i] >= threshold ? 1.0 : 0.0) == y[k + i];
    }
    if (want_grad)
        for (k = 0; k < m; k++)
            g[k] *= f[k]; /* dC/dz_k, times n */
}

#endif
