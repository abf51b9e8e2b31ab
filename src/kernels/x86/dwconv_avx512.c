/* Depthwise convolution (groups == in_c == out_c) for x86-64 AVX-512: direct
 * convolution vectorised over 16 channels, NHWC row bands; dwconv_avx2.c on
 * zmm registers.
 *
 * Each output channel sees only its own input channel, so sixteen
 * neighbouring channels of a pixel form one zmm vector and every tap is one
 * FMA with the tap's sixteen packed weights. Interior pixels (all taps inside
 * the row) are computed DW_TILE_PX at a time with the kernel width and stride
 * known at compile time for the common shapes (3x3 and 5x5, stride 1 and 2, no
 * dilation): the unrolled taps of neighbouring pixels read overlapping inputs,
 * which the compiler loads once. Edge pixels and other shapes take a
 * per-pixel path over their valid taps, like the reference. Channel tails use
 * __mmask16 masked loads and stores, so nothing past the end of a row is
 * touched.
 *
 * Weights are packed once at load as [ky][kx][c16] (c16 = in_c rounded up to
 * 16, tails zero), bias as [c16]. */
#include <stdint.h>
#include <string.h>

#include "kernels/x86/avx512_util.h"
#include "kernels/x86/kernels_x86.h"

#define DW_TILE_PX 8 /* 4 and 16 measured slower */

static size_t round_up16(int c) { return ((size_t)c + 15) & ~(size_t)15; }

size_t df_dwconv_avx512_packed_floats(const df_conv_params *p)
{
    const size_t taps = (size_t)p->k_h * (size_t)p->k_w;
    const size_t c16 = round_up16(p->in_c);
    if (c16 != 0 && taps + 1 > (SIZE_MAX / 4) / c16)
        return 0;
    return (taps + 1) * c16;
}

void df_dwconv_avx512_pack(const df_conv_params *p, float *packed)
{
    const size_t c16 = round_up16(p->in_c), taps = (size_t)p->k_h * p->k_w;
    float *bias = packed, *weights = packed + c16;
    memset(packed, 0, (taps + 1) * c16 * sizeof(float));
    for (int c = 0; c < p->in_c; c++) {
        if (p->bias)
            bias[c] = p->bias[c];
        /* OHWI with one input channel per group: weight[c][ky][kx] */
        for (size_t t = 0; t < taps; t++)
            weights[t * c16 + c] = p->weight[(size_t)c * taps + t];
    }
}

/* Sixteen channels from x: a full load, or a masked one for the channel tail. */
static DF_ALWAYS_INLINE __m512 load16(const int masked, const float *x, __mmask16 mask)
{
    return masked ? _mm512_maskz_loadu_ps(mask, x) : _mm512_loadu_ps(x);
}

/* Residual, activation and store of sixteen channels of one pixel. */
static DF_ALWAYS_INLINE void store16(const int masked, const df_conv_params *p, __m512 v,
                                     float *out, const float *res, __mmask16 mask, int n_valid)
{
    if (res)
        v = _mm512_add_ps(v, load16(masked, res, mask));
    v = df_avx512_act(p->act, v, _mm512_set1_ps(p->act_alpha), _mm512_set1_ps(p->act_beta));
    if (masked)
        _mm512_mask_storeu_ps(out, mask, v);
    else
        _mm512_storeu_ps(out, v);
    if (!df_avx512_act_is_vector(p->act))
        df_avx512_act_scalar(p->act, out, n_valid, p->act_alpha, p->act_beta);
}

/* What a run of pixels of one row and one 16-channel block needs. */
typedef struct dw_row {
    const df_conv_params *p;
    const float *const *in_rows;
    int iy0, ky_lo, ky_hi;
    size_t c0;              /* first channel of the block */
    size_t c16;             /* packed weights per tap */
    const float *weights;   /* packed weights + c0 */
    __m512 bias;
    __mmask16 mask;         /* lanes of the block that exist */
    int n_valid;
    float *out;             /* output row + c0 */
    const float *res;       /* residual row + c0, or NULL */
} dw_row;

/* n_px interior pixels from x with kernel width KW and stride S (constants)
 * and dilation 1 along the row. Per kernel row, the inputs under the tile
 * are walked once, left to right, and each feeds the FMAs of every pixel
 * whose window covers it; with the loops fully unrolled the accumulators and
 * the KW weights stay in registers. */
static DF_ALWAYS_INLINE void dw_tile(const int n_px, const int KW, const int S, const int masked,
                                     const dw_row *r, int x)
{
    const df_conv_params *p = r->p;
    const size_t C = (size_t)p->in_c;
    const int ix0 = x * S - p->pad_left;
    const int span = (n_px - 1) * S + KW; /* inputs under the tile */
    __m512 acc[DW_TILE_PX];
#pragma GCC unroll 16
    for (int t = 0; t < n_px; t++)
        acc[t] = r->bias;
    for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {
        const float *in = r->in_rows[r->iy0 + ky * p->dil_h] + r->c0 + (size_t)ix0 * C;
        const float *w = r->weights + (size_t)ky * KW * r->c16;
        __m512 wv[5];
#pragma GCC unroll 5
        for (int kx = 0; kx < KW; kx++)
            wv[kx] = _mm512_loadu_ps(w + kx * r->c16);
#pragma GCC unroll 64
        for (int i = 0; i < span; i++, in += C) {
            __m512 v = load16(masked, in, r->mask);
            /* one load per input: keeps the compiler from folding it into
             * each of its FMAs as a memory operand (up to KW loads) */
            __asm__("" : "+v"(v));
#pragma GCC unroll 16
            for (int t = 0; t < n_px; t++) {
                const int kx = i - t * S;
                if (kx >= 0 && kx < KW)
                    acc[t] = _mm512_fmadd_ps(v, wv[kx], acc[t]);
            }
        }
    }
#pragma GCC unroll 16
    for (int t = 0; t < n_px; t++) {
        const size_t o = (size_t)(x + t) * C;
        store16(masked, p, acc[t], r->out + o, r->res ? r->res + o : NULL, r->mask, r->n_valid);
    }
}

/* Any pixel, any kernel width, stride and dilation: its valid taps only. */
static DF_ALWAYS_INLINE void dw_pixel(const int masked, const dw_row *r, int x)
{
    const df_conv_params *p = r->p;
    const size_t C = (size_t)p->in_c;
    const int ix0 = x * p->stride_w - p->pad_left;
    int kx_lo, kx_hi;
    df_avx512_valid_taps(ix0, p->dil_w, p->k_w, p->in_w, &kx_lo, &kx_hi);
    __m512 acc = r->bias;
    for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {
        const float *row = r->in_rows[r->iy0 + ky * p->dil_h] + r->c0;
        const float *w = r->weights + (size_t)ky * p->k_w * r->c16;
        for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *in = row + (size_t)(ix0 + kx * p->dil_w) * C;
            acc = _mm512_fmadd_ps(load16(masked, in, r->mask),
                                  _mm512_loadu_ps(w + kx * r->c16), acc);
        }
    }
    const size_t o = (size_t)x * C;
    store16(masked, p, acc, r->out + o, r->res ? r->res + o : NULL, r->mask, r->n_valid);
}

/* Interior pixels [x, x_hi) in tiles with constant KW and S. */
static DF_ALWAYS_INLINE void dw_interior(const int KW, const int S, const int masked,
                                         const dw_row *r, int x, int x_hi)
{
    for (; x + DW_TILE_PX <= x_hi; x += DW_TILE_PX)
        dw_tile(DW_TILE_PX, KW, S, masked, r, x);
    if (x + DW_TILE_PX / 2 <= x_hi) {
        dw_tile(DW_TILE_PX / 2, KW, S, masked, r, x);
        x += DW_TILE_PX / 2;
    }
    for (; x < x_hi; x++)
        dw_tile(1, KW, S, masked, r, x);
}

/* One row of one channel block. */
static DF_ALWAYS_INLINE void dw_row_run(const int masked, const dw_row *r, int x_lo, int x_hi)
{
    const df_conv_params *p = r->p;
    for (int x = 0; x < x_lo; x++)
        dw_pixel(masked, r, x);
    const int fast = p->dil_w == 1 && (p->stride_w == 1 || p->stride_w == 2) &&
                     (p->k_w == 3 || p->k_w == 5);
    if (fast) {
        if (p->k_w == 3 && p->stride_w == 1)
            dw_interior(3, 1, masked, r, x_lo, x_hi);
        else if (p->k_w == 3)
            dw_interior(3, 2, masked, r, x_lo, x_hi);
        else if (p->stride_w == 1)
            dw_interior(5, 1, masked, r, x_lo, x_hi);
        else
            dw_interior(5, 2, masked, r, x_lo, x_hi);
    } else {
        for (int x = x_lo; x < x_hi; x++)
            dw_pixel(masked, r, x);
    }
    for (int x = x_hi; x < p->out_w; x++)
        dw_pixel(masked, r, x);
}

int df_dwconv_avx512_blocks(const df_conv_params *p) { return (p->in_c + 16 - 1) / 16; }

void df_dwconv_part_avx512(const df_conv_params *p, const float *const *in_rows,
                           float *const *out_rows, const float *const *res_rows, int y0, int y1,
                           int part, int parts)
{
    /* this part's share of the 16-channel blocks */
    const int64_t blocks = df_dwconv_avx512_blocks(p);
    const int c_lo = (int)(blocks * part / parts) * 16, c_hi = (int)(blocks * (part + 1) / parts) * 16;
    const float *packed = p->packed;
    const size_t c16 = round_up16(p->in_c);

    /* pixels [x_lo, x_hi) have all k_w taps inside the input row */
    const int span = (p->k_w - 1) * p->dil_w;
    const int last_start = p->in_w - 1 - span + p->pad_left;
    int x_hi = last_start < 0 ? 0 : last_start / p->stride_w + 1;
    if (x_hi > p->out_w)
        x_hi = p->out_w;
    int x_lo = (p->pad_left + p->stride_w - 1) / p->stride_w;
    if (x_lo > x_hi)
        x_lo = x_hi;

    for (int y = y0; y < y1; y++) {
        dw_row r;
        r.p = p;
        r.in_rows = in_rows;
        r.iy0 = y * p->stride_h - p->pad_top;
        df_avx512_valid_taps(r.iy0, p->dil_h, p->k_h, p->in_h, &r.ky_lo, &r.ky_hi);
        r.c16 = c16;
        for (int c0 = c_lo; c0 < c_hi && c0 < p->in_c; c0 += 16) {
            r.c0 = (size_t)c0;
            r.n_valid = p->in_c - c0 < 16 ? p->in_c - c0 : 16;
            r.mask = df_avx512_tail_mask(r.n_valid);
            r.weights = packed + c16 + c0;
            r.bias = _mm512_loadu_ps(packed + c0);
            r.out = out_rows[y] + c0;
            r.res = res_rows ? res_rows[y] + c0 : NULL;
            if (r.n_valid == 16)
                dw_row_run(0, &r, x_lo, x_hi);
            else
                dw_row_run(1, &r, x_lo, x_hi);
        }
    }
}

void df_dwconv_rows_avx512(const df_conv_params *p, const float *const *in_rows,
                           float *const *out_rows, const float *const *res_rows, int y0, int y1)
{
    df_dwconv_part_avx512(p, in_rows, out_rows, res_rows, y0, y1, 0, 1);
}
