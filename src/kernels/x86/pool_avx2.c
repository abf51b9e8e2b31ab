/* AVX2 max and average pooling on NHWC row bands (same semantics as
 * df_pool_rows_ref, see ref/pool.c).
 *
 * Channels are the vector dimension: each output pixel keeps up to four
 * vectors of 8 channels in registers while its window's taps stream by, so an
 * input element is loaded once per window that covers it and the output is
 * written once. Windows are clipped to the input once per row and column;
 * channel tails use masked loads and stores. */
#include <float.h>
#include <immintrin.h>

#include "kernels/x86/avx2_util.h"
#include "kernels/x86/pool_avx2.h"

enum { BLOCK = 32 }; /* channels per register block: 4 vectors */

static inline __m256 load_part(const float *p, int n, __m256i mask)
{
    return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

void df_pool_rows_avx2(const df_pool_params *p, const float *const *in_rows,
                       float *const *out_rows, int y0, int y1)
{
    const int c = p->c;
    const int padded_h = p->in_h + p->pad_top + p->pad_bottom;
    const int padded_w = p->in_w + p->pad_left + p->pad_right;
    const __m256 init = _mm256_set1_ps(p->is_max ? -FLT_MAX : 0.0f);

    for (int y = y0; y < y1; y++) {
        float *out = out_rows[y];
        const int iy0 = y * p->stride_h - p->pad_top;
        int ky_lo, ky_hi, pad_lo, pad_hi;
        df_avx2_valid_taps(iy0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);
        df_avx2_valid_taps(iy0 + p->pad_top, p->dil_h, p->k_h, padded_h, &pad_lo, &pad_hi);
        const int padded_rows = pad_hi - pad_lo;

        for (int x = 0; x < p->out_w; x++) {
            const int ix0 = x * p->stride_w - p->pad_left;
            int kx_lo, kx_hi;
            df_avx2_valid_taps(ix0, p->dil_w, p->k_w, p->in_w, &kx_lo, &kx_hi);
            df_avx2_valid_taps(ix0 + p->pad_left, p->dil_w, p->k_w, padded_w, &pad_lo, &pad_hi);
            const int count = p->count_include_pad ? padded_rows * (pad_hi - pad_lo)
                                                   : (ky_hi - ky_lo) * (kx_hi - kx_lo);
            const __m256 scale = _mm256_set1_ps(count > 0 ? 1.0f / (float)count : 0.0f);
            float *o = out + (size_t)x * c;

            int c0 = 0;
            /* Full blocks of 32 channels: four named accumulators, which the
             * compiler keeps in registers (an array indexed by a variable
             * vector count went through the stack, a store-to-load latency
             * per tap that made this loop several times slower). */
            for (; c0 + BLOCK <= c; c0 += BLOCK) {
                __m256 a0 = init, a1 = init, a2 = init, a3 = init;
                for (int ky = ky_lo; ky < ky_hi; ky++) {
                    const float *row = in_rows[iy0 + ky * p->dil_h] + c0;
                    for (int kx = kx_lo; kx < kx_hi; kx++) {
                        const float *px = row + (size_t)(ix0 + kx * p->dil_w) * c;
                        const __m256 i0 = _mm256_loadu_ps(px), i1 = _mm256_loadu_ps(px + 8);
                        const __m256 i2 = _mm256_loadu_ps(px + 16), i3 = _mm256_loadu_ps(px + 24);
                        if (p->is_max) {
                            a0 = _mm256_max_ps(i0, a0);
                            a1 = _mm256_max_ps(i1, a1);
                            a2 = _mm256_max_ps(i2, a2);
                            a3 = _mm256_max_ps(i3, a3);
                        } else {
                            a0 = _mm256_add_ps(a0, i0);
                            a1 = _mm256_add_ps(a1, i1);
                            a2 = _mm256_add_ps(a2, i2);
                            a3 = _mm256_add_ps(a3, i3);
                        }
                    }
                }
                if (!p->is_max) {
                    a0 = _mm256_mul_ps(a0, scale);
                    a1 = _mm256_mul_ps(a1, scale);
                    a2 = _mm256_mul_ps(a2, scale);
                    a3 = _mm256_mul_ps(a3, scale);
                }
                _mm256_storeu_ps(o + c0, a0);
                _mm256_storeu_ps(o + c0 + 8, a1);
                _mm256_storeu_ps(o + c0 + 16, a2);
                _mm256_storeu_ps(o + c0 + 24, a3);
            }
            for (; c0 < c; c0 += BLOCK) {
                const int width = c - c0 < BLOCK ? c - c0 : BLOCK;
                const int vectors = (width + 7) / 8;
                const int tail = width - (vectors - 1) * 8;
                const __m256i mask = df_avx2_tail_mask(tail);
                __m256 acc[4] = {init, init, init, init};
                for (int ky = ky_lo; ky < ky_hi; ky++) {
                    const float *row = in_rows[iy0 + ky * p->dil_h] + c0;
                    for (int kx = kx_lo; kx < kx_hi; kx++) {
                        const float *px = row + (size_t)(ix0 + kx * p->dil_w) * c;
                        for (int v = 0; v < vectors; v++) {
                            __m256 in = load_part(px + 8 * v, v == vectors - 1 ? tail : 8, mask);
                            /* max(acc, in) keeps acc when in is NaN, as the
                             * reference's comparison skips NaN */
                            acc[v] = p->is_max ? _mm256_max_ps(in, acc[v]) : _mm256_add_ps(acc[v], in);
                        }
                    }
                }
                for (int v = 0; v < vectors; v++) {
                    __m256 r = p->is_max ? acc[v] : _mm256_mul_ps(acc[v], scale);
                    df_avx2_store_first(o + c0 + 8 * v, r, v == vectors - 1 ? tail : 8);
                }
            }
        }
    }
}
