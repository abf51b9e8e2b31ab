/* AVX-512 max and average pooling on NHWC row bands (same semantics as
 * df_pool_rows_ref, see ref/pool.c): pool_avx2.c on zmm registers.
 *
 * Channels are the vector dimension: each output pixel keeps up to four
 * vectors of 16 channels in registers while its window's taps stream by, so
 * an input element is loaded once per window that covers it and the output
 * is written once. Windows are clipped to the input once per row and column.
 * The last block of a row's channels (fewer than 64) has as many vectors as
 * it needs, the last one with __mmask16 masked loads and stores, which touch
 * nothing past the end of a row. Max and average are separate copies of the
 * loops, so the tap loop does not test which one it computes. */
#include <float.h>
#include <stddef.h>

#include "kernels/x86/avx512_util.h"
#include "kernels/x86/pool_avx2.h"

enum { BLOCK = 64 }; /* channels per register block: 4 vectors */

/* The window of one output pixel, clipped to the input. */
typedef struct pool_window {
    const float *const *in_rows;
    size_t c;               /* floats per input pixel */
    int iy0, ky_lo, ky_hi, dil_h;
    int ix0, kx_lo, kx_hi, dil_w;
} pool_window;

/* Vector k of a block of nv vectors at px: the last one masked if the block is. */
static DF_ALWAYS_INLINE __m512 load_vec(const int k, const int nv, const int masked,
                                        const float *px, __mmask16 last)
{
    return masked && k == nv - 1 ? _mm512_maskz_loadu_ps(last, px + 16 * k)
                                 : _mm512_loadu_ps(px + 16 * k);
}

static DF_ALWAYS_INLINE void store_vec(const int k, const int nv, const int masked, float *o,
                                       __mmask16 last, __m512 v)
{
    if (masked && k == nv - 1)
        _mm512_mask_storeu_ps(o + 16 * k, last, v);
    else
        _mm512_storeu_ps(o + 16 * k, v);
}

static DF_ALWAYS_INLINE __m512 accumulate(const int is_max, __m512 acc, __m512 in)
{
    /* max(in, acc) keeps acc when in is NaN, as the reference's comparison
     * skips NaN */
    return is_max ? _mm512_max_ps(in, acc) : _mm512_add_ps(acc, in);
}

/* Channels [c0, c0 + 16 * nv) of one output pixel (fewer when masked: the
 * last vector's lanes in `last`). Four named accumulators, which the
 * compiler keeps in registers (an array indexed by a variable vector count
 * goes through the stack, see pool_avx2.c); nv is a constant, so the unused
 * ones vanish. */
static DF_ALWAYS_INLINE void pool_block(const int is_max, const int nv, const int masked,
                                        const pool_window *w, size_t c0, __mmask16 last,
                                        __m512 scale, float *o)
{
    const __m512 init = _mm512_set1_ps(is_max ? -FLT_MAX : 0.0f);
    __m512 a0 = init, a1 = init, a2 = init, a3 = init;
    for (int ky = w->ky_lo; ky < w->ky_hi; ky++) {
        const float *row = w->in_rows[w->iy0 + ky * w->dil_h] + c0;
        for (int kx = w->kx_lo; kx < w->kx_hi; kx++) {
            const float *px = row + (size_t)(w->ix0 + kx * w->dil_w) * w->c;
            a0 = accumulate(is_max, a0, load_vec(0, nv, masked, px, last));
            if (nv > 1)
                a1 = accumulate(is_max, a1, load_vec(1, nv, masked, px, last));
            if (nv > 2)
                a2 = accumulate(is_max, a2, load_vec(2, nv, masked, px, last));
            if (nv > 3)
                a3 = accumulate(is_max, a3, load_vec(3, nv, masked, px, last));
        }
    }
    if (!is_max) {
        a0 = _mm512_mul_ps(a0, scale);
        a1 = _mm512_mul_ps(a1, scale);
        a2 = _mm512_mul_ps(a2, scale);
        a3 = _mm512_mul_ps(a3, scale);
    }
    o += c0;
    store_vec(0, nv, masked, o, last, a0);
    if (nv > 1)
        store_vec(1, nv, masked, o, last, a1);
    if (nv > 2)
        store_vec(2, nv, masked, o, last, a2);
    if (nv > 3)
        store_vec(3, nv, masked, o, last, a3);
}

static DF_ALWAYS_INLINE void pool_rows(const int is_max, const df_pool_params *p,
                                       const float *const *in_rows, float *const *out_rows,
                                       int y0, int y1)
{
    const int c = p->c;
    const int padded_h = p->in_h + p->pad_top + p->pad_bottom;
    const int padded_w = p->in_w + p->pad_left + p->pad_right;
    /* the channels after the last full block: nv_tail vectors, the last
     * with tail_mask's lanes */
    const int full = c / BLOCK * BLOCK, rest = c - full;
    const int nv_tail = (rest + 15) / 16;
    const __mmask16 tail_mask = df_avx512_tail_mask(rest - 16 * (nv_tail - 1));
    pool_window w = {.in_rows = in_rows, .c = (size_t)c, .dil_h = p->dil_h, .dil_w = p->dil_w};

    for (int y = y0; y < y1; y++) {
        float *out = out_rows[y];
        w.iy0 = y * p->stride_h - p->pad_top;
        int pad_lo, pad_hi;
        df_avx512_valid_taps(w.iy0, p->dil_h, p->k_h, p->in_h, &w.ky_lo, &w.ky_hi);
        df_avx512_valid_taps(w.iy0 + p->pad_top, p->dil_h, p->k_h, padded_h, &pad_lo, &pad_hi);
        const int padded_rows = pad_hi - pad_lo;

        for (int x = 0; x < p->out_w; x++) {
            w.ix0 = x * p->stride_w - p->pad_left;
            df_avx512_valid_taps(w.ix0, p->dil_w, p->k_w, p->in_w, &w.kx_lo, &w.kx_hi);
            __m512 scale = _mm512_setzero_ps();
            if (!is_max) {
                df_avx512_valid_taps(w.ix0 + p->pad_left, p->dil_w, p->k_w, padded_w, &pad_lo,
                                     &pad_hi);
                const int count = p->count_include_pad
                                      ? padded_rows * (pad_hi - pad_lo)
                                      : (w.ky_hi - w.ky_lo) * (w.kx_hi - w.kx_lo);
                scale = _mm512_set1_ps(count > 0 ? 1.0f / (float)count : 0.0f);
            }
            float *o = out + (size_t)x * c;

            for (int c0 = 0; c0 < full; c0 += BLOCK)
                pool_block(is_max, 4, 0, &w, (size_t)c0, 0, scale, o);
            switch (nv_tail) {
            case 1: pool_block(is_max, 1, 1, &w, (size_t)full, tail_mask, scale, o); break;
            case 2: pool_block(is_max, 2, 1, &w, (size_t)full, tail_mask, scale, o); break;
            case 3: pool_block(is_max, 3, 1, &w, (size_t)full, tail_mask, scale, o); break;
            case 4: pool_block(is_max, 4, 1, &w, (size_t)full, tail_mask, scale, o); break;
            default: break; /* c is a multiple of 64 */
            }
        }
    }
}

void df_pool_rows_avx512(const df_pool_params *p, const float *const *in_rows,
                         float *const *out_rows, int y0, int y1)
{
    if (p->is_max)
        pool_rows(1, p, in_rows, out_rows, y0, y1);
    else
        pool_rows(0, p, in_rows, out_rows, y0, y1);
}
