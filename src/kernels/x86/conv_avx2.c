/* Dense and grouped convolution for x86-64 AVX2 + FMA: implicit GEMM over the
 * table of input row pointers (no im2col buffer).
 *
 * An output row is a GEMM of (output pixels) x (output channels) over
 * K = k_h * k_w * (in_c / groups). The micro-kernel keeps a tile of up to 6
 * output pixels x 16 output channels in 12 ymm accumulators; for every k it
 * loads 16 packed weights (2 ymm) and broadcasts one input value per pixel,
 * so it issues 12 FMAs per 2 weight loads and 6 broadcasts. Input values are
 * read in place through the row pointers: pixel j of a tile sits
 * j * stride_w * in_c floats after pixel 0 in the same input row.
 *
 * Weights are packed once at load as [group][oc block of 16][ky][kx][ci][16]
 * (out-channel tails zero-padded), so the inner loop reads them
 * sequentially. When dil_w == 1 and groups == 1, the taps kx_lo..kx_hi of one
 * kernel row are contiguous both in the input row and in the packed weights,
 * and the kernel walks them as one run of (kx_hi - kx_lo) * in_c values.
 *
 * Padding: kernel rows outside the image are skipped. Along a row, tiles
 * whose pixels have all their taps inside the input take the fast path above;
 * the tiles at the left and right borders point each tap that falls in the
 * padding at a row of zeros kept after the packed weights, so they still run
 * 6 pixels at a time. Bias is the accumulators' start value; the residual and
 * the activation are applied before the (masked) store. */
#include <stdint.h>
#include <string.h>

#include "kernels/x86/avx2_util.h"
#include "kernels/x86/kernels_x86.h"

#define OCB DF_CONV_AVX2_OC_BLOCK
#define TILE_PX 6

/* Everything about p that the inner loops need, computed once per call. */
typedef struct dense_geom {
    int in_c, cin, cout;   /* all input channels; input / output channels per group */
    int oc_blocks;         /* per group */
    size_t k_per_block;    /* k_h * k_w * cin: packed weights per oc block are k * 16 */
    size_t px_step;        /* floats between the inputs of two neighbouring output pixels */
    int contiguous_kx;     /* the taps of one kernel row are one contiguous run */
    int edge_copy;         /* edge tiles read a zero-padded copy of their input span */
    const float *zeros;    /* cin zeros, read by the taps that fall in the padding */
} dense_geom;

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

int df_conv_avx2_blocks(const df_conv_params *p)
{
    return p->groups * ceil_div(p->out_c / p->groups, OCB);
}

size_t df_conv_avx2_packed_floats(const df_conv_params *p)
{
    const int cin = p->in_c / p->groups, cout = p->out_c / p->groups;
    const size_t blocks = (size_t)p->groups * (size_t)ceil_div(cout, OCB);
    const size_t k = (size_t)p->k_h * (size_t)p->k_w * (size_t)cin;
    /* sizes come from checked model shapes, but guard the products anyway */
    const size_t zeros = ((size_t)cin + OCB - 1) / OCB * OCB;
    if (k != 0 && blocks > (SIZE_MAX / 2) / OCB / (k + 1))
        return 0;
    return blocks * OCB * (k + 1) + zeros;
}

void df_conv_avx2_pack(const df_conv_params *p, float *packed)
{
    const int cin = p->in_c / p->groups, cout = p->out_c / p->groups;
    const int oc_blocks = ceil_div(cout, OCB);
    const size_t k = (size_t)p->k_h * p->k_w * cin;
    const size_t blocks = (size_t)p->groups * oc_blocks;
    float *bias = packed, *weights = packed + blocks * OCB;

    memset(packed, 0, df_conv_avx2_packed_floats(p) * sizeof(float));
    for (int g = 0; g < p->groups; g++) {
        for (int b = 0; b < oc_blocks; b++) {
            const size_t block = (size_t)g * oc_blocks + b;
            float *wb = weights + block * k * OCB;
            for (int lane = 0; lane < OCB; lane++) {
                const int oc_in_group = b * OCB + lane;
                if (oc_in_group >= cout)
                    break;
                const int oc = g * cout + oc_in_group;
                if (p->bias)
                    bias[block * OCB + lane] = p->bias[oc];
                /* OHWI: the oc's weights are already in (ky, kx, ci) order */
                const float *w_oc = p->weight + (size_t)oc * k;
                for (size_t i = 0; i < k; i++)
                    wb[i * OCB + lane] = w_oc[i];
            }
        }
    }
}

/* Stores channels [0, n_valid) of one pixel's 16 results after residual and activation. */
static DF_ALWAYS_INLINE void store_px(const df_conv_params *p, __m256 v0, __m256 v1, float *out,
                                      const float *res, int n_valid)
{
    const __m256 alpha = _mm256_set1_ps(p->act_alpha), beta = _mm256_set1_ps(p->act_beta);
    if (n_valid == OCB) {
        if (res) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(res));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(res + 8));
        }
        _mm256_storeu_ps(out, df_avx2_act(p->act, v0, alpha, beta));
        _mm256_storeu_ps(out + 8, df_avx2_act(p->act, v1, alpha, beta));
    } else {
        const __m256i m0 = df_avx2_tail_mask(n_valid < 8 ? n_valid : 8);
        const __m256i m1 = df_avx2_tail_mask(n_valid > 8 ? n_valid - 8 : 0);
        if (res) {
            v0 = _mm256_add_ps(v0, _mm256_maskload_ps(res, m0));
            v1 = _mm256_add_ps(v1, _mm256_maskload_ps(res + 8, m1));
        }
        df_avx2_store_first(out, df_avx2_act(p->act, v0, alpha, beta), n_valid);
        if (n_valid > 8)
            df_avx2_store_first(out + 8, df_avx2_act(p->act, v1, alpha, beta), n_valid - 8);
    }
    if (!df_avx2_act_is_vector(p->act))
        df_avx2_act_scalar(p->act, out, n_valid, p->act_alpha, p->act_beta);
}

/* Where one tile of output pixels reads and writes. */
typedef struct tile_at {
    const float *const *in_rows;
    int iy0, ky_lo, ky_hi; /* input row of ky = 0, and the valid kernel rows */
    int x;                 /* first output pixel of the tile */
    size_t in_c0;          /* first input channel of the group */
    const float *w_block;  /* packed weights of the oc block */
    const float *bias;     /* 16 packed biases */
    float *out;            /* output row + the block's first channel */
    const float *res;      /* residual row + the same, or NULL */
    int n_valid;           /* channels of the block that exist */
} tile_at;

/* n_px output pixels from t->x, 16 output channels. Interior tiles (edge = 0)
 * have every tap of every pixel inside the input row; an edge tile points the
 * taps that fall in the padding at a row of zeros, so its pixels can still
 * share the loop. The accumulators are named variables, not an array, so that
 * the compiler keeps all 12 in registers; with a constant n_px the unused ones
 * vanish. */
static DF_ALWAYS_INLINE void dense_tile(const int n_px, const int edge, const df_conv_params *p,
                                        const dense_geom *g, const tile_at *t)
{
    const __m256 bias0 = _mm256_loadu_ps(t->bias), bias1 = _mm256_loadu_ps(t->bias + 8);
    __m256 a00 = bias0, a01 = bias1, a10 = bias0, a11 = bias1, a20 = bias0, a21 = bias1;
    __m256 a30 = bias0, a31 = bias1, a40 = bias0, a41 = bias1, a50 = bias0, a51 = bias1;
    const size_t tap_k = (size_t)g->cin, s = g->px_step;
    const int ix0 = t->x * p->stride_w - p->pad_left;

    /* acc_j += sum over i < n of x_j[i] * w[i][0..15] for pixels j < n_px */
#define ACCUMULATE_RUN(x0, x1, x2, x3, x4, x5, w_run, n_run)                    \
    do {                                                                        \
        const float *w_ = (w_run);                                              \
        for (size_t i = 0; i < (n_run); i++, w_ += OCB) {                       \
            const __m256 w0 = _mm256_loadu_ps(w_), w1 = _mm256_loadu_ps(w_ + 8); \
            __m256 xv = _mm256_broadcast_ss((x0) + i);                          \
            a00 = _mm256_fmadd_ps(xv, w0, a00);                                 \
            a01 = _mm256_fmadd_ps(xv, w1, a01);                                 \
            if (n_px > 1) {                                                     \
                xv = _mm256_broadcast_ss((x1) + i);                             \
                a10 = _mm256_fmadd_ps(xv, w0, a10);                             \
                a11 = _mm256_fmadd_ps(xv, w1, a11);                             \
            }                                                                   \
            if (n_px > 2) {                                                     \
                xv = _mm256_broadcast_ss((x2) + i);                             \
                a20 = _mm256_fmadd_ps(xv, w0, a20);                             \
                a21 = _mm256_fmadd_ps(xv, w1, a21);                             \
            }                                                                   \
            if (n_px > 3) {                                                     \
                xv = _mm256_broadcast_ss((x3) + i);                             \
                a30 = _mm256_fmadd_ps(xv, w0, a30);                             \
                a31 = _mm256_fmadd_ps(xv, w1, a31);                             \
            }                                                                   \
            if (n_px > 4) {                                                     \
                xv = _mm256_broadcast_ss((x4) + i);                             \
                a40 = _mm256_fmadd_ps(xv, w0, a40);                             \
                a41 = _mm256_fmadd_ps(xv, w1, a41);                             \
            }                                                                   \
            if (n_px > 5) {                                                     \
                xv = _mm256_broadcast_ss((x5) + i);                             \
                a50 = _mm256_fmadd_ps(xv, w0, a50);                             \
                a51 = _mm256_fmadd_ps(xv, w1, a51);                             \
            }                                                                   \
        }                                                                       \
    } while (0)

    for (int ky = t->ky_lo; ky < t->ky_hi; ky++) {
        const float *row = t->in_rows[t->iy0 + ky * p->dil_h] + t->in_c0;
        const float *w_row = t->w_block + (size_t)ky * p->k_w * tap_k * OCB;
        if (edge && g->edge_copy) {
            float span[DF_CONV_EDGE_SPAN_FLOATS];
            df_conv_edge_span(row, p->in_w, tap_k, ix0, (n_px - 1) * p->stride_w + p->k_w, span);
            ACCUMULATE_RUN(span, span + s, span + 2 * s, span + 3 * s, span + 4 * s, span + 5 * s,
                           w_row, (size_t)p->k_w * tap_k);
        } else if (edge) {
            /* per tap, each pixel reads its input or the zero row */
            for (int kx = 0; kx < p->k_w; kx++) {
                const float *xp[TILE_PX];
                int any = 0;
                for (int j = 0; j < TILE_PX; j++) {
                    const int ix = ix0 + j * p->stride_w + kx * p->dil_w;
                    const int inside = j < n_px && ix >= 0 && ix < p->in_w;
                    xp[j] = inside ? row + (size_t)ix * g->in_c : g->zeros;
                    any |= inside;
                }
                if (any)
                    ACCUMULATE_RUN(xp[0], xp[1], xp[2], xp[3], xp[4], xp[5],
                                   w_row + (size_t)kx * tap_k * OCB, tap_k);
            }
        } else if (g->contiguous_kx) {
            /* the whole kernel row is one run of k_w * in_c values */
            const float *x = row + (size_t)ix0 * g->in_c;
            ACCUMULATE_RUN(x, x + s, x + 2 * s, x + 3 * s, x + 4 * s, x + 5 * s, w_row,
                           (size_t)p->k_w * tap_k);
        } else {
            for (int kx = 0; kx < p->k_w; kx++) {
                const float *x = row + (size_t)(ix0 + kx * p->dil_w) * g->in_c;
                ACCUMULATE_RUN(x, x + s, x + 2 * s, x + 3 * s, x + 4 * s, x + 5 * s,
                               w_row + (size_t)kx * tap_k * OCB, tap_k);
            }
        }
    }
#undef ACCUMULATE_RUN

    const size_t o = (size_t)p->out_c * t->x;
    const size_t step = (size_t)p->out_c;
    float *out = t->out + o;
    const float *res = t->res ? t->res + o : NULL;
    store_px(p, a00, a01, out, res, t->n_valid);
    if (n_px > 1)
        store_px(p, a10, a11, out + step, res ? res + step : NULL, t->n_valid);
    if (n_px > 2)
        store_px(p, a20, a21, out + 2 * step, res ? res + 2 * step : NULL, t->n_valid);
    if (n_px > 3)
        store_px(p, a30, a31, out + 3 * step, res ? res + 3 * step : NULL, t->n_valid);
    if (n_px > 4)
        store_px(p, a40, a41, out + 4 * step, res ? res + 4 * step : NULL, t->n_valid);
    if (n_px > 5)
        store_px(p, a50, a51, out + 5 * step, res ? res + 5 * step : NULL, t->n_valid);
}

/* A tile of 1..6 pixels: one compiled copy of dense_tile per size and kind. */
static void dense_tile_any(int n_px, int edge, const df_conv_params *p, const dense_geom *g,
                           const tile_at *t)
{
#define SIZE(n)                                  \
    case n:                                      \
        if (edge)                                \
            dense_tile(n, 1, p, g, t);           \
        else                                     \
            dense_tile(n, 0, p, g, t);           \
        break
    switch (n_px) {
        SIZE(1);
        SIZE(2);
        SIZE(3);
        SIZE(4);
        SIZE(5);
        SIZE(6);
    }
#undef SIZE
}

/* Output pixels [*x_lo, *x_hi) have all k_w taps inside the input row. */
static void interior_columns(const df_conv_params *p, int *x_lo, int *x_hi)
{
    const int span = (p->k_w - 1) * p->dil_w;                /* first to last tap */
    const int lo = ceil_div(p->pad_left, p->stride_w);       /* ix0 >= 0 */
    const int last_start = p->in_w - 1 - span + p->pad_left; /* x * stride_w <= this */
    int hi = last_start < 0 ? 0 : last_start / p->stride_w + 1;
    if (hi > p->out_w)
        hi = p->out_w;
    *x_lo = lo < hi ? lo : hi;
    *x_hi = hi;
}

/* Output rows [y0, y1) of one oc block of one group. */
static void dense_block_rows(const df_conv_params *p, const dense_geom *g,
                             const float *const *in_rows, float *const *out_rows,
                             const float *const *res_rows, int y0, int y1, int group, int block)
{
    const float *packed = p->packed;
    const size_t block_index = (size_t)group * g->oc_blocks + block;
    const size_t n_blocks = (size_t)p->groups * g->oc_blocks;
    const size_t oc0 = (size_t)group * g->cout + (size_t)block * OCB;
    tile_at t;
    t.in_rows = in_rows;
    t.in_c0 = (size_t)group * g->cin;
    t.bias = packed + block_index * OCB;
    t.w_block = packed + n_blocks * OCB + block_index * g->k_per_block * OCB;
    t.n_valid = g->cout - block * OCB < OCB ? g->cout - block * OCB : OCB;
    int x_lo, x_hi;
    interior_columns(p, &x_lo, &x_hi);

    /* Tiles as even as possible: a row of 56 is 6,6,6,6,6,6,5,5,5,5, not
     * nine 6s and a 2, so no tile runs with a poor FMA-to-load ratio. */
    const int n_tiles = ceil_div(p->out_w, TILE_PX);
    const int base = p->out_w / n_tiles, wider = p->out_w % n_tiles;

    for (int y = y0; y < y1; y++) {
        t.iy0 = y * p->stride_h - p->pad_top;
        df_avx2_valid_taps(t.iy0, p->dil_h, p->k_h, p->in_h, &t.ky_lo, &t.ky_hi);
        t.out = out_rows[y] + oc0;
        t.res = res_rows ? res_rows[y] + oc0 : NULL;
        t.x = 0;
        for (int i = 0; i < n_tiles; i++) {
            const int n_px = base + (i < wider);
            const int edge = t.x < x_lo || t.x + n_px > x_hi;
            if (n_px == TILE_PX && !edge)
                dense_tile(TILE_PX, 0, p, g, &t);
            else
                dense_tile_any(n_px, edge, p, g, &t);
            t.x += n_px;
        }
    }
}

void df_conv_part_avx2(const df_conv_params *p, const float *const *in_rows,
                       float *const *out_rows, const float *const *res_rows, int y0, int y1,
                       int part, int parts)
{
    dense_geom g;
    g.in_c = p->in_c;
    g.cin = p->in_c / p->groups;
    g.cout = p->out_c / p->groups;
    g.oc_blocks = ceil_div(g.cout, OCB);
    g.k_per_block = (size_t)p->k_h * p->k_w * g.cin;
    g.px_step = (size_t)p->stride_w * p->in_c;
    g.contiguous_kx = p->dil_w == 1 && p->groups == 1;
    g.edge_copy = df_conv_edge_copies(p, TILE_PX);
    const size_t n_blocks = (size_t)df_conv_avx2_blocks(p);
    g.zeros = (const float *)p->packed + n_blocks * OCB * (g.k_per_block + 1);

    /* This part's share of the (group, oc block) pairs, in packing order. */
    const int b0 = (int)((int64_t)n_blocks * part / parts);
    const int b1 = (int)((int64_t)n_blocks * (part + 1) / parts);
    if (b0 == b1)
        return;

    /* Rows are taken in chunks, each swept once per oc block, so that a
     * chunk's input and output rows and the part's weights stay in L2 while
     * the blocks pass over them. When the weights alone are too big for that,
     * the whole band is one chunk and each block's weights are read once. */
    const size_t l2_budget = 320 * 1024;
    const size_t weight_bytes = (size_t)(b1 - b0) * g.k_per_block * OCB * sizeof(float);
    const size_t in_row_bytes = (size_t)p->in_w * p->in_c * sizeof(float);
    const size_t per_row = in_row_bytes * (size_t)p->stride_h +
                           (size_t)p->out_w * p->out_c * sizeof(float);
    const size_t halo = in_row_bytes * (size_t)((p->k_h - 1) * p->dil_h);
    int chunk = y1 - y0;
    if (weight_bytes + halo < l2_budget) {
        const size_t rows = (l2_budget - weight_bytes - halo) / (per_row ? per_row : 1);
        if (rows < (size_t)chunk)
            chunk = rows < 1 ? 1 : (int)rows;
    }

    for (int c0 = y0; c0 < y1; c0 += chunk) {
        const int c1 = c0 + chunk < y1 ? c0 + chunk : y1;
        for (int b = b0; b < b1; b++)
            dense_block_rows(p, &g, in_rows, out_rows, res_rows, c0, c1, b / g.oc_blocks,
                             b % g.oc_blocks);
    }
}

void df_conv_rows_avx2(const df_conv_params *p, const float *const *in_rows,
                       float *const *out_rows, const float *const *res_rows, int y0, int y1)
{
    df_conv_part_avx2(p, in_rows, out_rows, res_rows, y0, y1, 0, 1);
}
