/* Depthwise convolution (groups == in_c == out_c) for x86-64 AVX2 + FMA:
 * direct convolution vectorised over 8 channels, NHWC row bands.
 *
 * Each output channel sees only its own input channel, so eight neighbouring
 * channels of a pixel form one ymm vector and every tap is one FMA with the
 * tap's eight packed weights. Interior pixels (all taps inside the row) are
 * computed 4 at a time with the kernel width and stride known at compile time
 * for the common shapes (3x3 and 5x5, stride 1 and 2, no dilation): the
 * unrolled taps of neighbouring pixels read overlapping inputs, which the
 * compiler loads once. Edge pixels and other shapes take a per-pixel path over
 * their valid taps, like the reference. Channel tails use masked loads and
 * stores, so nothing past the end of a row is touched.
 *
 * Weights are packed once at load as [ky][kx][c8] (c8 = in_c rounded up to 8,
 * tails zero), bias as [c8]. */
#include <stdint.h>
#include <string.h>

#include "kernels/x86/avx2_util.h"
#include "kernels/x86/kernels_x86.h"

#define DW_TILE_PX 4

static size_t round_up8(int c) { return ((size_t)c + 7) & ~(size_t)7; }

size_t df_dwconv_avx2_packed_floats(const df_conv_params *p)
{
    const size_t taps = (size_t)p->k_h * (size_t)p->k_w;
    const size_t c8 = round_up8(p->in_c);
    if (c8 != 0 && taps + 1 > SIZE_MAX / c8)
        return 0;
    return (taps + 1) * c8;
}

void df_dwconv_avx2_pack(const df_conv_params *p, float *packed)
{
    const size_t c8 = round_up8(p->in_c), taps = (size_t)p->k_h * p->k_w;
    float *bias = packed, *weights = packed + c8;
    memset(packed, 0, (taps + 1) * c8 * sizeof(float));
    for (int c = 0; c < p->in_c; c++) {
        if (p->bias)
            bias[c] = p->bias[c];
        /* OHWI with one input channel per group: weight[c][ky][kx] */
        for (size_t t = 0; t < taps; t++)
            weights[t * c8 + c] = p->weight[(size_t)c * taps + t];
    }
}

/* Eight channels from x: a full load, or a masked one for the channel tail. */
static DF_ALWAYS_INLINE __m256 load8(const int masked, const float *x, __m256i mask)
{
    return masked ? _mm256_maskload_ps(x, mask) : _mm256_loadu_ps(x);
}

/* Residual, activation and store of eight channels of one pixel. */
static DF_ALWAYS_INLINE void store8(const int masked, const df_conv_params *p, __m256 v,
                                    float *out, const float *res, __m256i mask, int n_valid)
{
    if (res)
        v = _mm256_add_ps(v, load8(masked, res, mask));
    v = df_avx2_act(p->act, v, _mm256_set1_ps(p->act_alpha), _mm256_set1_ps(p->act_beta));
    if (masked)
        df_avx2_store_first(out, v, n_valid);
    else
        _mm256_storeu_ps(out, v);
    if (!df_avx2_act_is_vector(p->act))
        df_avx2_act_scalar(p->act, out, n_valid, p->act_alpha, p->act_beta);
}

/* What a run of pixels of one row and one 8-channel block needs. */
typedef struct dw_row {
    const df_conv_params *p;
    const float *const *in_rows;
    int iy0, ky_lo, ky_hi;
    size_t c0;              /* first channel of the block */
    size_t c8;              /* packed weights per tap */
    const float *weights;   /* packed weights + c0 */
    __m256 bias;
    __m256i mask;           /* lanes of the block that exist */
    int n_valid;
    float *out;             /* output row + c0 */
    const float *res;       /* residual row + c0, or NULL */
} dw_row;

/* n_px interior pixels from x with kernel width KW and stride S (constants)
 * and dilation 1 along the row. */
static DF_ALWAYS_INLINE void dw_tile(const int n_px, const int KW, const int S, const int masked,
                                     const dw_row *r, int x)
{
    const df_conv_params *p = r->p;
    const size_t C = (size_t)p->in_c;
    const int ix0 = x * S - p->pad_left;
    __m256 acc[DW_TILE_PX];
    for (int t = 0; t < n_px; t++)
        acc[t] = r->bias;
    for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {
        const float *row = r->in_rows[r->iy0 + ky * p->dil_h] + r->c0 + (size_t)ix0 * C;
        const float *w = r->weights + (size_t)ky * KW * r->c8;
        for (int kx = 0; kx < KW; kx++) {
            const __m256 wv = _mm256_loadu_ps(w + kx * r->c8);
            for (int t = 0; t < n_px; t++)
                acc[t] = _mm256_fmadd_ps(load8(masked, row + (size_t)(t * S + kx) * C, r->mask),
                                         wv, acc[t]);
        }
    }
    for (int t = 0; t < n_px; t++) {
        const size_t o = (size_t)(x + t) * C;
        store8(masked, p, acc[t], r->out + o, r->res ? r->res + o : NULL, r->mask, r->n_valid);
    }
}

/* Any pixel, any kernel width, stride and dilation: its valid taps only. */
static DF_ALWAYS_INLINE void dw_pixel(const int masked, const dw_row *r, int x)
{
    const df_conv_params *p = r->p;
    const size_t C = (size_t)p->in_c;
    const int ix0 = x * p->stride_w - p->pad_left;
    int kx_lo, kx_hi;
    df_avx2_valid_taps(ix0, p->dil_w, p->k_w, p->in_w, &kx_lo, &kx_hi);
    __m256 acc = r->bias;
    for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {
        const float *row = r->in_rows[r->iy0 + ky * p->dil_h] + r->c0;
        const float *w = r->weights + (size_t)ky * p->k_w * r->c8;
        for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *in = row + (size_t)(ix0 + kx * p->dil_w) * C;
            acc = _mm256_fmadd_ps(load8(masked, in, r->mask),
                                  _mm256_loadu_ps(w + kx * r->c8), acc);
        }
    }
    const size_t o = (size_t)x * C;
    store8(masked, p, acc, r->out + o, r->res ? r->res + o : NULL, r->mask, r->n_valid);
}

/* Interior pixels [x, x_hi) in tiles with constant KW and S. */
static DF_ALWAYS_INLINE void dw_interior(const int KW, const int S, const int masked,
                                         const dw_row *r, int x, int x_hi)
{
    for (; x + DW_TILE_PX <= x_hi; x += DW_TILE_PX)
        dw_tile(DW_TILE_PX, KW, S, masked, r, x);
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

int df_dwconv_avx2_blocks(const df_conv_params *p) { return (p->in_c + 8 - 1) / 8; }

void df_dwconv_part_avx2(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1,
                         int part, int parts)
{
    /* this part's share of the 8-channel blocks */
    const int64_t blocks = df_dwconv_avx2_blocks(p);
    const int c_lo = (int)(blocks * part / parts) * 8, c_hi = (int)(blocks * (part + 1) / parts) * 8;
    const float *packed = p->packed;
    const size_t c8 = round_up8(p->in_c);

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
        df_avx2_valid_taps(r.iy0, p->dil_h, p->k_h, p->in_h, &r.ky_lo, &r.ky_hi);
        r.c8 = c8;
        for (int c0 = c_lo; c0 < c_hi && c0 < p->in_c; c0 += 8) {
            r.c0 = (size_t)c0;
            r.n_valid = p->in_c - c0 < 8 ? p->in_c - c0 : 8;
            r.mask = df_avx2_tail_mask(r.n_valid);
            r.weights = packed + c8 + c0;
            r.bias = _mm256_loadu_ps(packed + c0);
            r.out = out_rows[y] + c0;
            r.res = res_rows ? res_rows[y] + c0 : NULL;
            if (r.n_valid == 8)
                dw_row_run(0, &r, x_lo, x_hi);
            else
                dw_row_run(1, &r, x_lo, x_hi);
        }
    }
}

void df_dwconv_rows_avx2(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1)
{
    df_dwconv_part_avx2(p, in_rows, out_rows, res_rows, y0, y1, 0, 1);
}
