/*
 * block_kernels.h - the arithmetic of one block of rows for pass.c: z for
 * the block, the gradient of the block, the loss and hit sums, all as
 * vector code of fixed shape.
 *
 * Every sum has a fixed shape: NL_LANES partial sums added in a fixed tree,
 * rows in a fixed grouping.  The builds of the pass (pass_chunk2.c,
 * pass_chunk4.c, pass_chunk8.c) differ in instructions, never in which
 * numbers are added in which order, so every machine gives the same bits.
 * No FMA contraction (-std=c11 implies -ffp-contract=off) for the same
 * reason.  Static inline: for the pass's files and their tests only.
 *
 * The eight lanes are NL_HALVES vectors of NL_W doubles, one register
 * each: the includer picks NL_W, 8 for AVX-512, 4 for AVX2, 2 for the
 * baseline (SSE2, NEON).  GCC keeps a vector wider than the registers in
 * memory (vectors of 8 made the AVX2 build seven times slower at d = 16),
 * and narrower vectors than the registers cost a third or more.
 */
#ifndef NL_BLOCK_KERNELS_H
#define NL_BLOCK_KERNELS_H

#ifndef NL_W
#define NL_W 2
#endif
#if NL_W != 2 && NL_W != 4 && NL_W != 8
#error "NL_W is 2, 4 or 8"
#endif
#define NL_HALVES (8 / NL_W)

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The vector helpers below pass vectors by value; they are all inlined,
 * so no call crosses an ABI boundary and GCC's note about the AVX calling
 * convention does not apply. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* Independent partial sums per reduction: enough to hide the adder's
 * latency and to fill one AVX-512 register or two AVX2 ones. */
#define NL_LANES 8

/* Features up to this many: z has the rows as its vector lanes, the
 * gradient each number of a group of eight rows (z_narrow, grad_narrow),
 * and the kernel is compiled once per width.  Above: features are the
 * lanes (at least NL_LANES of them, as dot_lanes needs).  Eight features
 * are a row per vector: as rows in the lanes, each vector was put
 * together from eight rows' numbers, and d = 8 ran at 14 ns a row from
 * memory, against 7.8 with the features in the lanes (1e6 x 8, 1
 * thread). */
#define NL_NARROW_D 7

#define NL_INLINE static inline __attribute__((always_inline))

/* Prefetches go to L1, where the block is read next (the bench, fastest
 * of seven runs in turns: t0 beat t1 at 1e5 x 64 in 7 of 7, about 10%). */
#define NL_PREFETCH_LOCALITY 3

/* Asks for the line at p (the kernel tests define it first, to count). */
#ifndef NL_PREFETCH
#define NL_PREFETCH(p) __builtin_prefetch((p), 0, NL_PREFETCH_LOCALITY)
#endif

/* The most lines asked for in a first piece, right before work that needs
 * no memory: about as many as a core's line-fill buffers (10-12 on Intel
 * since Skylake).  A prefetch beyond them waits for one to free, and a
 * burst of them stalls the core where its arithmetic could go on; so
 * grad_then_z cuts its share into pieces over its turn, and the chunk loop
 * (pass_chunk_impl.h) over its plugin calls.  The bench, medians of A/B
 * runs in turns: at 1e5 x 64, 1.32x -> 1.14x the 1-thread limit with
 * vectors of 8 (1.45x -> 1.25x with 4); at 1e6 x 16, the pieces between
 * the plugin calls gave 1.23x -> 1.08x (1.43x -> 1.18x with 4).
 * Spreading through the inner loops instead cost 15% at 1e6 x 16 with
 * vectors of 4: the loops were no longer unrolled. */
#define NL_PREFETCH_AT_ONCE 12

/* ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)): the tree a vector unit does. */
NL_INLINE double lane_sum(const double *a)
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* NL_W doubles; nl_lanes is the eight lanes of a sum. */
typedef double nl_vec __attribute__((vector_size(NL_W * sizeof(double))));
typedef long long nl_veci
    __attribute__((vector_size(NL_W * sizeof(long long))));
typedef nl_vec nl_lanes[NL_HALVES];

#if defined(__clang__)
#define NL_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define NL_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (nl_veci){__VA_ARGS__})
#endif

NL_INLINE nl_vec loadv(const double *p)
{
    nl_vec v;
    memcpy(&v, p, sizeof(v));
    return v;
}

NL_INLINE nl_vec splatv(double v)
{
#if NL_W == 8
    return (nl_vec){v, v, v, v, v, v, v, v};
#elif NL_W == 4
    return (nl_vec){v, v, v, v};
#else
    return (nl_vec){v, v};
#endif
}

/* 0, 1, ..., NL_W - 1. */
NL_INLINE nl_veci iotav(void)
{
#if NL_W == 8
    return (nl_veci){0, 1, 2, 3, 4, 5, 6, 7};
#elif NL_W == 4
    return (nl_veci){0, 1, 2, 3};
#else
    return (nl_veci){0, 1};
#endif
}

/* The lanes of w . x_r for R rows x_r = x + r d (d >= NL_LANES): feature
 * j adds into lane j mod 8, except the last d mod 8, which add into the
 * top lanes of the eight features that end the row (d = 10: features 8
 * and 9 into lanes 6 and 7).  So the row's end is one more vector, whose
 * other lanes add -0.0 (nothing, whatever the sum: not a product with
 * zero, which an infinite feature would make NaN); a lane-by-lane tail
 * kept the sums in memory and made d = 10 cost twice d = 16.  The rows
 * are interleaved so that R sums are in flight. */
NL_INLINE void dot_lanes(const double *restrict w, const double *restrict x,
                         size_t d, size_t R, nl_lanes *restrict acc)
{
    for (size_t r = 0; r < R; r++)
        for (size_t h = 0; h < NL_HALVES; h++)
            acc[r][h] = (nl_vec){0};
    size_t j = 0;
    for (; j + NL_LANES <= d; j += NL_LANES)
        for (size_t h = 0; h < NL_HALVES; h++) {
            nl_vec wj = loadv(w + j + NL_W * h);
            for (size_t r = 0; r < R; r++)
                acc[r][h] += wj * loadv(x + r * d + j + NL_W * h);
        }
    if (j == d)
        return;
    const size_t end = d - NL_LANES, first_lane = NL_LANES - (d - j);
    const long long minus_zero = (long long)((unsigned long long)1 << 63);
    for (size_t h = 0; h < NL_HALVES; h++) {
        nl_veci keep = iotav() + (long long)(NL_W * h) >=
                       (long long)first_lane;
        nl_veci pad = ~keep & minus_zero;
        nl_vec wj = loadv(w + end + NL_W * h);
        for (size_t r = 0; r < R; r++) {
            nl_vec p = wj * loadv(x + r * d + end + NL_W * h);
            acc[r][h] += (nl_vec)(((nl_veci)p & keep) | pad);
        }
    }
}

/* lane_sum of each of the eight rows' lanes, as NL_HALVES vectors (rows
 * in order): the same tree, done across rows by shuffles. */
#if NL_W == 8
NL_INLINE void lane_sums8(const nl_lanes *a, nl_vec *sums)
{
    nl_vec u[4], v[2];
    for (int r = 0; r < 4; r++) /* (a0+a4, a1+a5, a2+a6, a3+a7) per row */
        u[r] = NL_SHUFFLE(a[2 * r][0], a[2 * r + 1][0], 0, 1, 2, 3, 8, 9, 10,
                          11) +
               NL_SHUFFLE(a[2 * r][0], a[2 * r + 1][0], 4, 5, 6, 7, 12, 13,
                          14, 15);
    for (int r = 0; r < 2; r++) /* (u0+u2, u1+u3) per row */
        v[r] = NL_SHUFFLE(u[2 * r], u[2 * r + 1], 0, 1, 4, 5, 8, 9, 12, 13) +
               NL_SHUFFLE(u[2 * r], u[2 * r + 1], 2, 3, 6, 7, 10, 11, 14, 15);
    sums[0] = NL_SHUFFLE(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14) +
              NL_SHUFFLE(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15);
}
#elif NL_W == 4
NL_INLINE void lane_sums8(const nl_lanes *a, nl_vec *sums)
{
    nl_vec u[8], v[4];
    for (int r = 0; r < 8; r++) /* (a0+a4, a1+a5, a2+a6, a3+a7) */
        u[r] = a[r][0] + a[r][1];
    for (int p = 0; p < 4; p++) /* rows 2p, 2p+1: (u0+u2, u1+u3) each */
        v[p] = NL_SHUFFLE(u[2 * p], u[2 * p + 1], 0, 1, 4, 5) +
               NL_SHUFFLE(u[2 * p], u[2 * p + 1], 2, 3, 6, 7);
    for (int q = 0; q < 2; q++) /* rows 4q..4q+3: v0 + v1 each */
        sums[q] = NL_SHUFFLE(v[2 * q], v[2 * q + 1], 0, 2, 4, 6) +
                  NL_SHUFFLE(v[2 * q], v[2 * q + 1], 1, 3, 5, 7);
}
#else
NL_INLINE void lane_sums8(const nl_lanes *a, nl_vec *sums)
{
    nl_vec v[8];
    for (int r = 0; r < 8; r++) /* (a0+a4) + (a2+a6), (a1+a5) + (a3+a7) */
        v[r] = (a[r][0] + a[r][2]) + (a[r][1] + a[r][3]);
    for (int q = 0; q < 4; q++) /* rows 2q, 2q+1: v0 + v1 each */
        sums[q] = NL_SHUFFLE(v[2 * q], v[2 * q + 1], 0, 2) +
                  NL_SHUFFLE(v[2 * q], v[2 * q + 1], 1, 3);
}
#endif

/* z of the eight rows at x. */
NL_INLINE void z_group8(const double *restrict w, double b, size_t d,
                        const double *restrict x, double *restrict z)
{
    nl_lanes acc[8];
    nl_vec sums[NL_HALVES];
    dot_lanes(w, x, d, 8, acc);
    lane_sums8(acc, sums);
    for (size_t h = 0; h < NL_HALVES; h++) {
        nl_vec zh = b + sums[h];
        memcpy(z + NL_W * h, &zh, sizeof(zh));
    }
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
        nl_lanes acc[1];
        dot_lanes(w, x + k * d, d, 1, acc);
        double lanes[NL_LANES];
        memcpy(lanes, acc, sizeof(lanes));
        z[k] = b + lane_sum(lanes);
    }
}

/* The vector whose lane i is number q[i] of the numbers at x, which are
 * also the vectors v (number q in v[q / NL_W], lane q % NL_W), q rising
 * with i.  With vectors of 4 or 8: a shuffle for each vector the numbers
 * reach into after the first (one when they all sit in one); putting a
 * vector together a number at a time took a load and an insert for each.
 * The callers' unroll pragmas make every q, so every shuffle's lanes, a
 * constant: left to itself, GCC worked them out at run time, and d = 7
 * ran 4 times slower.  With vectors of 2, from x (also for clang, whose
 * shuffles take only constants). */
NL_INLINE nl_vec numbers_at(const double *restrict x, const nl_vec *v,
                            const size_t *q)
{
#if NL_W == 2
    (void)v;
    return (nl_vec){x[q[0]], x[q[1]]};
#else
    (void)x;
    size_t first = q[0] / NL_W, last = q[NL_W - 1] / NL_W;
    size_t second = last > first ? first + 1 : first;
    nl_veci at;
#pragma GCC unroll 8
    for (size_t i = 0; i < NL_W; i++)
        at[i] = (long long)(q[i] / NL_W == first ? q[i] % NL_W
                            : q[i] / NL_W == second ? NL_W + q[i] % NL_W
                                                    : i); /* later */
    nl_vec out = __builtin_shuffle(v[first], v[second], at);
#pragma GCC unroll 8
    for (size_t s = second + 1; s <= last; s++) {
#pragma GCC unroll 8
        for (size_t i = 0; i < NL_W; i++)
            at[i] = (long long)(q[i] / NL_W == s ? NL_W + q[i] % NL_W : i);
        out = __builtin_shuffle(out, v[s], at);
    }
    return out;
#endif
}

/* The D columns of the NL_W rows at x (D numbers each), one vector each:
 * number i D + j of the rows is lane i of column j. */
NL_INLINE void columns(const double *restrict x, size_t D, nl_vec *col)
{
    nl_vec v[NL_NARROW_D];
    for (size_t s = 0; s < NL_NARROW_D; s++) /* GCC must see all set */
        v[s] = s < D ? loadv(x + NL_W * s) : (nl_vec){0};
#pragma GCC unroll 8
    for (size_t j = 0; j < D; j++) {
        size_t q[NL_W];
#pragma GCC unroll 8
        for (size_t i = 0; i < NL_W; i++)
            q[i] = i * D + j;
        col[j] = numbers_at(x, v, q);
    }
}

/* z[k] = b + w . x_k, each row summed left to right; the rows are the
 * lanes (D is a constant, at most NL_NARROW_D). */
NL_INLINE void z_narrow(const double *restrict w, double b, size_t D,
                        const double *restrict x, size_t m,
                        double *restrict z)
{
    size_t k = 0;
    for (; k + 8 <= m; k += 8)
        for (size_t h = 0; h < NL_HALVES; h++) {
            nl_vec col[NL_NARROW_D] = {{0}}; /* GCC must see all set */
            columns(x + (k + NL_W * h) * D, D, col);
            /* w0 x0 + b: the same bits as b + w0 x0.  Not a vector of b
             * first: GCC built that with a register form of vmovq, which
             * valgrind cannot run. */
            nl_vec s = w[0] * col[0] + b;
            for (size_t j = 1; j < D; j++)
                s += w[j] * col[j];
            memcpy(z + k + NL_W * h, &s, sizeof(s));
        }
    for (; k < m; k++) {
        double s = b;
        for (size_t j = 0; j < D; j++)
            s += w[j] * x[k * D + j];
        z[k] = s;
    }
}

/* ((t0+t1) + (t2+t3)) + ((t4+t5) + (t6+t7)), for vectors and numbers. */
NL_INLINE nl_vec tree8v(const nl_vec *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

NL_INLINE double tree8(const double *t)
{
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* Lane i of half h of the eight dz (also as the vectors dzv) spread over
 * the numbers of sum k (grad_narrow): dz of row (8k + NL_W h + i) / D. */
NL_INLINE nl_vec spread_dz(const nl_vec *dzv, const double *dz, size_t D,
                           size_t k, size_t h)
{
    size_t q[NL_W];
#pragma GCC unroll 8
    for (size_t i = 0; i < NL_W; i++)
        q[i] = (8 * k + NL_W * h + i) / D;
    return numbers_at(dz, dzv, q);
}

/* grad[j] += sum_k dz_k x_kj, grad[D] += sum_k dz_k (D a constant, at
 * most NL_NARROW_D).  Eight rows are 8D numbers in memory, read as D sums
 * of eight lanes with the features in the lanes: number p of a group
 * (row p / D, feature p mod D) adds dz x into lane p mod 8 of sum p / 8,
 * the dz spread to its row's numbers by a shuffle.  Gathering a column
 * of eight rows instead took a load and an insert per number.  Each
 * feature has one lane per row of the group, summed in the fixed tree at
 * the end; row r's dz goes to lane r mod NL_LANES. */
NL_INLINE void grad_narrow(size_t D, const double *restrict x, size_t m,
                           const double *restrict dz, double *restrict grad)
{
    nl_lanes acc[NL_NARROW_D + 1];
    for (size_t k = 0; k <= D; k++)
        for (size_t h = 0; h < NL_HALVES; h++)
            acc[k][h] = (nl_vec){0};
    size_t r = 0;
    for (; r + NL_LANES <= m; r += NL_LANES) {
        const double *rows = x + r * D;
        nl_vec dzv[NL_HALVES];
        for (size_t h = 0; h < NL_HALVES; h++) {
            dzv[h] = loadv(dz + r + NL_W * h);
            acc[D][h] += dzv[h];
        }
#pragma GCC unroll 8
        for (size_t k = 0; k < D; k++)
#pragma GCC unroll 4
            for (size_t h = 0; h < NL_HALVES; h++)
                acc[k][h] += spread_dz(dzv, dz + r, D, k, h) *
                             loadv(rows + 8 * k + NL_W * h);
    }
    /* The last rows, into the lanes as numbers. */
    double lanes[NL_NARROW_D + 1][NL_LANES];
    memcpy(lanes, acc, (D + 1) * sizeof(lanes[0]));
    for (size_t p = 0; r + p / D < m; p++)
        lanes[p / 8][p % 8] += dz[r + p / D] * x[r * D + p];
    for (size_t l = 0; r + l < m; l++)
        lanes[D][l] += dz[r + l];
    for (size_t j = 0; j < D; j++) {
        double t[8];
        for (size_t q = 0; q < 8; q++)
            t[q] = lanes[(q * D + j) / 8][(q * D + j) % 8];
        grad[j] += tree8(t);
    }
    grad[D] += lane_sum(lanes[D]);
}

/* grad[j] += sum_r dz_r x_rj over the eight rows at x (a fixed tree of
 * the eight products, then one add into grad), grad[d] += sum_r dz_r. */
NL_INLINE void grad_group8(size_t d, const double *restrict x,
                           const double *restrict dz, double *restrict grad)
{
    size_t j = 0;
    for (; j + NL_W <= d; j += NL_W) {
        nl_vec t[8];
        for (size_t r = 0; r < 8; r++)
            t[r] = dz[r] * loadv(x + r * d + j);
        nl_vec sum = loadv(grad + j) + tree8v(t);
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

/* Where piece k of `pieces` of [0, size) ends: the first piece is at
 * most NL_PREFETCH_AT_ONCE lines, the others split the rest evenly, in
 * whole lines, and the last ends at size (one piece: all of it).  A
 * "line" is 64 bytes from the start: a row need not start a cache line. */
NL_INLINE size_t prefetch_cut(size_t size, size_t pieces, size_t k)
{
    if (k + 1 >= pieces)
        return size;
    size_t first = size < NL_PREFETCH_AT_ONCE * 64 ? size
                                                   : NL_PREFETCH_AT_ONCE * 64;
    size_t rest = (size - first) / ((pieces - 1) * 64) * 64;
    return first + k * rest;
}

/* Asks for piece k of `pieces` of ahead[0..size) (NULL: nothing) on its
 * way to L1, a line at a time. */
NL_INLINE void prefetch_piece(const char *ahead, size_t size, size_t pieces,
                              size_t k)
{
    size_t from = k == 0 ? 0 : prefetch_cut(size, pieces, k - 1);
    size_t to = prefetch_cut(size, pieces, k);
    for (size_t o = from; ahead != NULL && o < to; o += 64)
        NL_PREFETCH(ahead + o);
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
    /* No turn when both blocks are under eight rows (the last ones of a
     * chunk): nothing is asked for, as nothing follows in the chunk. */
    size_t turns = groups > groups_next ? groups : groups_next;
    /* A turn's share of ahead, in whole lines, in three pieces: at its
     * start, between z and the gradient, at its end. */
    size_t lines = (ahead_size + 63) / 64;
    size_t share = turns > 0 ? (lines + turns - 1) / turns * 64 : 0;
    for (size_t i = 0; i < turns; i++) {
        size_t from = i * share < ahead_size ? i * share : ahead_size;
        size_t size = ahead_size - from < share ? ahead_size - from : share;
        const char *mine = ahead != NULL ? ahead + from : NULL;
        prefetch_piece(mine, size, 3, 0);
        if (i < groups_next)
            z_group8(w, b, d, xn + i * 8 * d, z + i * 8);
        prefetch_piece(mine, size, 3, 1);
        if (i < groups)
            grad_group8(d, x + i * 8 * d, dz + i * 8, grad);
        prefetch_piece(mine, size, 3, 2);
    }
    grad_rows(d, x + groups * 8 * d, m % 8, dz + groups * 8, grad);
    z_wide(w, b, d, xn + groups_next * 8 * d, mn % 8, z + groups_next * 8);
}

/* The block's loss and hits into the lanes; dz = l' f' in place of l'.
 * Vectors written out: as a plain loop over the lanes, GCC turned each
 * group of rows into a transpose of eight vectors (four times slower). */
NL_INLINE void block_sums(size_t m, const double *restrict a,
                          const double *restrict y, const double *restrict l,
                          double *restrict g, const double *restrict f,
                          bool want_grad, double threshold,
                          double *restrict loss, double *restrict hits)
{
    const nl_vec one = splatv(1.0), t = splatv(threshold);
    nl_lanes loss8, hits8;
    memcpy(loss8, loss, sizeof(loss8));
    memcpy(hits8, hits, sizeof(hits8));
    size_t k = 0;
    for (; k + NL_LANES <= m; k += NL_LANES)
        for (size_t h = 0; h < NL_HALVES; h++) {
            size_t at = k + NL_W * h;
            loss8[h] += loadv(l + at);
            /* 1.0 where a >= t, else 0.0; then 1.0 where that equals y. */
            nl_vec predicted = (nl_vec)((nl_veci)(loadv(a + at) >= t) &
                                        (nl_veci)one);
            hits8[h] += (nl_vec)((nl_veci)(predicted == loadv(y + at)) &
                                 (nl_veci)one);
        }
    memcpy(loss, loss8, sizeof(loss8));
    memcpy(hits, hits8, sizeof(hits8));
    for (size_t i = 0; k + i < m; i++) {
        loss[i] += l[k + i];
        hits[i] += (a[k + i] >= threshold ? 1.0 : 0.0) == y[k + i];
    }
    if (want_grad)
        for (k = 0; k < m; k++)
            g[k] *= f[k]; /* dC/dz_k, times n */
}

#endif
