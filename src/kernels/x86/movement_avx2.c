/* AVX2 transpose of 4-byte elements: df_transpose_fast with its 2-D tile
 * transpose done 8x8 in registers (unpack, shuffle, permute of 8 rows of 8
 * lanes) instead of element by element. The input is read in strips of 16
 * elements (one cache line) so that each line is used whole once; edges that
 * do not fill an 8x8 block go through the same transpose with masked loads
 * and stores. */
#include <immintrin.h>

#include "kernels/movement_fast.h"
#include "kernels/x86/avx2_util.h"
#include "kernels/x86/dense_movement_x86.h"

/* y[a * ys + b] = x[b * xs + a] for a, b < 8. */
static inline void t8x8(const uint32_t *x, int64_t xs, uint32_t *y, int64_t ys)
{
    const float *xf = (const float *)(const void *)x;
    float *yf = (float *)(void *)y;
    __m256 r0 = _mm256_loadu_ps(xf + 0 * xs), r1 = _mm256_loadu_ps(xf + 1 * xs);
    __m256 r2 = _mm256_loadu_ps(xf + 2 * xs), r3 = _mm256_loadu_ps(xf + 3 * xs);
    __m256 r4 = _mm256_loadu_ps(xf + 4 * xs), r5 = _mm256_loadu_ps(xf + 5 * xs);
    __m256 r6 = _mm256_loadu_ps(xf + 6 * xs), r7 = _mm256_loadu_ps(xf + 7 * xs);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(yf + 0 * ys, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(yf + 1 * ys, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(yf + 2 * ys, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(yf + 3 * ys, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(yf + 4 * ys, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(yf + 5 * ys, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(yf + 6 * ys, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(yf + 7 * ys, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* An edge tile: y[a * ys + b] = x[b * xs + a] for a < na, b < nb (both <= 8),
 * through the same register transpose with masked loads and partial stores,
 * so that nothing outside the tile is touched (NCHW -> NHWC of 3 channels is
 * all edge tiles). */
static void t_edge(const uint32_t *x, int64_t xs, uint32_t *y, int64_t ys, int na, int nb)
{
    const float *xf = (const float *)(const void *)x;
    float *yf = (float *)(void *)y;
    const __m256i mask_a = df_avx2_tail_mask(na);
    __m256 r[8];
    for (int b = 0; b < 8; b++)
        r[b] = b < nb ? _mm256_maskload_ps(xf + b * xs, mask_a) : _mm256_setzero_ps();
    __m256 t[8], u[8];
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 2; k++) {
        u[4 * k + 0] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
        u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
        u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    for (int a = 0; a < na; a++) {
        const __m256 v = a < 4 ? _mm256_permute2f128_ps(u[a], u[a + 4], 0x20)
                               : _mm256_permute2f128_ps(u[a - 4], u[a], 0x31);
        df_avx2_store_first(yf + a * ys, v, nb);
    }
}

void df_transpose2d_u32_avx2(const uint32_t *x, int64_t xs, uint32_t *y, int64_t ys,
                             int64_t rows, int64_t cols)
{
    const int64_t rows8 = rows & ~(int64_t)7, cols8 = cols & ~(int64_t)7;
    const int tail_a = (int)(rows - rows8), tail_b = (int)(cols - cols8);
    for (int64_t a0 = 0; a0 < rows8; a0 += 16) {
        const int64_t a1 = a0 + 16 <= rows8 ? a0 + 16 : rows8;
        for (int64_t b = 0; b < cols8; b += 8)
            for (int64_t a = a0; a < a1; a += 8)
                t8x8(x + b * xs + a, xs, y + a * ys + b, ys);
        if (tail_b)
            for (int64_t a = a0; a < a1; a += 8)
                t_edge(x + cols8 * xs + a, xs, y + a * ys + cols8, ys, 8, tail_b);
    }
    if (tail_a) {
        for (int64_t b = 0; b < cols8; b += 8)
            t_edge(x + b * xs + rows8, xs, y + rows8 * ys + b, ys, tail_a, 8);
        if (tail_b)
            t_edge(x + cols8 * xs + rows8, xs, y + rows8 * ys + cols8, ys, tail_a, tail_b);
    }
}

void df_transpose_avx2(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                       const int *perm)
{
    df_transpose_fast_with(x, y, elem, rank, in_dims, perm, df_transpose2d_u32_avx2);
}

/* y[2i] = a[i], y[2i + 1] = b[i] for i < n. */
static void interleave2(const float *a, const float *b, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
        /* lo: a0 b0 a1 b1 | a4 b4 a5 b5, hi: a2 b2 a3 b3 | a6 b6 a7 b7 */
        const __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
        _mm256_storeu_ps(y + 2 * i, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(y + 2 * i + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; i < n; i++) {
        y[2 * i] = a[i];
        y[2 * i + 1] = b[i];
    }
}

void df_shuffle_avx2(const float *const *x, int64_t x_stride, float *y, int64_t n, int64_t groups,
                     int64_t per_group)
{
    if (groups != 2) {
        df_shuffle_ref(x, x_stride, y, n, groups, per_group);
        return;
    }
    for (int64_t p = 0; p < n; p++)
        interleave2(x[0] + p * x_stride, x[1] + p * x_stride, y + p * 2 * per_group, per_group);
}
