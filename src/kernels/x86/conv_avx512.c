/* Dense and grouped convolution for x86-64 AVX-512 (F, DQ, BW, VL): implicit
 * GEMM over the table of input row pointers, like conv_avx2.c, on zmm
 * registers.
 *
 * An output row is a GEMM of (output pixels) x (output channels) over
 * K = k_h * k_w * (in_c / groups). The micro-kernel keeps a tile of up to 12
 * output pixels x 32 output channels in 24 zmm accumulators; for every k it
 * loads 32 packed weights (2 zmm) and broadcasts one input value per pixel,
 * so it issues 24 FMAs per 2 weight loads and 12 broadcasts: with two 512-bit
 * FMA pipes that is 12 cycles of FMAs against 14 loads, which the load ports
 * absorb. Input values are read in place through the row pointers: pixel j
 * of a tile sits j * stride_w * in_c floats after pixel 0 in the same row.
 *
 * Weights are packed once at load as [group][oc block of 32][ky][kx][ci][32];
 * when a group's out-channel count rounded up to 16 is not a multiple of 32,
 * its last block is 16 wide ([..][ci][16]) and runs a 1-zmm variant of the
 * micro-kernel, so a tail of up to 16 channels costs no wasted FMAs beyond
 * the rounding to 16. When dil_w == 1 and groups == 1, the taps of one kernel
 * row are one contiguous run of k_w * in_c values both in the input row and
 * in the packed weights.
 *
 * Padding: kernel rows outside the image are skipped; tiles at the left and
 * right borders point each tap that falls in the padding at a row of zeros
 * kept after the packed weights. Bias is the accumulators' start value. A
 * tile of a whole 32-channel block with a vector activation adds the
 * residual, activates and stores straight from the accumulators; the others
 * (channel tails, scalar activations, edge tiles) go through a small buffer
 * to one epilogue loop with __mmask16 channel masks, so that those variants
 * compile only their K loop once per tile size.
 *
 * Loop order: when the weights a call uses fit in L2 (up to 640 KiB), every
 * block of a tile runs before the next tile, so the tile's inputs stay in L1
 * and its output pixels are written whole; bigger weights go block by block
 * over the band, each block's weights read from memory once. Tiles with a
 * K loop of 64 or more prefetch their residual and output lines first.
 * ResNet-50 at 1 thread (Zen 4) took 0.96-0.97x the time tile by tile than
 * block by block in chunks of rows (the prefetches were not in the binary
 * then, see prefetch_x86.h; with them, 0.985x again at batch 1 and 0.94x at
 * batch 8). */
#include <stdint.h>
#include <string.h>

#include "kernels/x86/avx512_util.h"
#include "kernels/x86/kernels_x86.h"
#include "kernels/x86/prefetch_x86.h"

#define OCB DF_CONV_AVX512_OC_BLOCK
#define MR 12 /* output pixels per tile: 14 measured no faster */
/* A part whose weights take at most this much runs tile by tile
 * (rows_by_tile), the others block by block. */
#define TILE_MAJOR_WEIGHT_BYTES (640 * 1024)
#define TILE_MAJOR_BLOCKS 64 /* blocks rows_by_tile holds: 2048 channels */

typedef struct dense_geom {
    int in_c, cin, cout;   /* all input channels; input / output channels per group */
    int oc16;              /* cout rounded up to 16: packed channels per group */
    int oc_blocks;         /* per group: ceil(oc16 / 32) */
    size_t k;              /* k_h * k_w * cin */
    size_t px_step;        /* floats between the inputs of two neighbouring output pixels */
    int contiguous_kx;     /* the taps of one kernel row are one contiguous run */
    int edge_copy;         /* edge tiles read a zero-padded copy of their input span */
    const float *bias;     /* [groups][oc16] */
    const float *weights;  /* [groups][oc16 * k] */
    const float *zeros;    /* cin zeros, read by the taps that fall in the padding */
} dense_geom;

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

int df_conv_avx512_blocks(const df_conv_params *p)
{
    return p->groups * ceil_div((int)round16((size_t)(p->out_c / p->groups)), OCB);
}

size_t df_conv_avx512_packed_floats(const df_conv_params *p)
{
    const size_t cin = (size_t)(p->in_c / p->groups);
    const size_t oc16 = round16((size_t)(p->out_c / p->groups));
    const size_t k = (size_t)p->k_h * (size_t)p->k_w * cin;
    const size_t per_group = oc16 * (k + 1); /* weights and bias */
    if (oc16 != 0 && k + 1 > (SIZE_MAX / 4) / oc16)
        return 0;
    if (per_group != 0 && (size_t)p->groups > (SIZE_MAX / 4) / per_group)
        return 0;
    return (size_t)p->groups * per_group + round16(cin);
}

void df_conv_avx512_pack(const df_conv_params *p, float *packed)
{
    const int cin = p->in_c / p->groups, cout = p->out_c / p->groups;
    const size_t oc16 = round16((size_t)cout);
    const size_t k = (size_t)p->k_h * p->k_w * cin;
    float *bias = packed, *weights = packed + (size_t)p->groups * oc16;

    memset(packed, 0, df_conv_avx512_packed_floats(p) * sizeof(float));
    for (int g = 0; g < p->groups; g++) {
        float *wg = weights + (size_t)g * oc16 * k;
        for (int o = 0; o < cout; o++) {
            const int b = o / OCB, lane = o % OCB;
            const size_t width = oc16 - (size_t)b * OCB < OCB ? oc16 - (size_t)b * OCB : OCB;
            float *wb = wg + (size_t)b * OCB * k;
            const int oc = g * cout + o;
            if (p->bias)
                bias[(size_t)g * oc16 + o] = p->bias[oc];
            /* OHWI: the oc's weights are already in (ky, kx, ci) order */
            const float *w_oc = p->weight + (size_t)oc * k;
            for (size_t i = 0; i < k; i++)
                wb[i * width + lane] = w_oc[i];
        }
    }
}

/* Where one tile of output pixels reads. */
typedef struct tile_at {
    const float *const *in_rows;
    int iy0, ky_lo, ky_hi; /* input row of ky = 0, and the valid kernel rows */
    int x;                 /* first output pixel of the tile */
    size_t in_c0;          /* first input channel of the group */
    const float *w_block;  /* packed weights of the oc block */
    const float *bias;     /* the block's packed biases */
    float *out;            /* direct stores: the tile's first output pixel */
    const float *res;      /* and its residual, or NULL */
} tile_at;

/* n_px output pixels from t->x, NV * 16 output channels, into acc[j][0..32).
 * Interior tiles (edge = 0) have every tap of every pixel inside the input
 * row; an edge tile points the taps that fall in the padding at the row of
 * zeros. The accumulators are named variables so that the compiler keeps all
 * of them in registers; with constant n_px and NV the unused ones vanish. */
static DF_ALWAYS_INLINE void dense_tile(const int n_px, const int NV, const int edge,
                                        const int direct, const df_conv_params *p,
                                        const dense_geom *g, const tile_at *t, float *acc)
{
    const __m512 b0 = _mm512_loadu_ps(t->bias);
    const __m512 b1 = NV > 1 ? _mm512_loadu_ps(t->bias + 16) : b0;
#define DECL(j) __m512 a##j##0 = b0, a##j##1 = b1
    DECL(0); DECL(1); DECL(2); DECL(3); DECL(4); DECL(5);
    DECL(6); DECL(7); DECL(8); DECL(9); DECL(10); DECL(11);
#undef DECL
    const size_t tap_k = (size_t)g->cin, s = g->px_step, wstride = (size_t)NV * 16;
    const int ix0 = t->x * p->stride_w - p->pad_left;

#define STEP(j)                                                                 \
    if (n_px > j) {                                                             \
        const __m512 xv = _mm512_set1_ps(x##j[i]);                              \
        a##j##0 = _mm512_fmadd_ps(xv, w0, a##j##0);                             \
        if (NV > 1)                                                             \
            a##j##1 = _mm512_fmadd_ps(xv, w1, a##j##1);                         \
    }
    /* acc_j += sum over i < n of x_j[i] * w[i][..] for pixels j < n_px */
#define RUN(w_run, n_run)                                                       \
    do {                                                                        \
        const float *w_ = (w_run);                                              \
        const size_t n_ = (n_run);                                              \
        for (size_t i = 0; i < n_; i++, w_ += wstride) {                        \
            const __m512 w0 = _mm512_loadu_ps(w_);                              \
            const __m512 w1 = NV > 1 ? _mm512_loadu_ps(w_ + 16) : w0;           \
            STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5)                     \
            STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)                   \
        }                                                                       \
    } while (0)

    for (int ky = t->ky_lo; ky < t->ky_hi; ky++) {
        const float *row = t->in_rows[t->iy0 + ky * p->dil_h] + t->in_c0;
        const float *w_row = t->w_block + (size_t)ky * p->k_w * tap_k * wstride;
        if (edge && g->edge_copy) {
            /* the tile's span of the row, zero-padded, so the taps run as in
             * an interior tile: one run of k_w * cin per kernel row */
            float span[DF_CONV_EDGE_SPAN_FLOATS];
            df_conv_edge_span(row, p->in_w, tap_k, ix0, (n_px - 1) * p->stride_w + p->k_w, span);
            const float *x0 = span, *x1 = x0 + s, *x2 = x0 + 2 * s, *x3 = x0 + 3 * s;
            const float *x4 = x0 + 4 * s, *x5 = x0 + 5 * s, *x6 = x0 + 6 * s;
            const float *x7 = x0 + 7 * s, *x8 = x0 + 8 * s, *x9 = x0 + 9 * s;
            const float *x10 = x0 + 10 * s, *x11 = x0 + 11 * s;
            RUN(w_row, (size_t)p->k_w * tap_k);
        } else if (edge) {
            /* per tap, each pixel reads its input or the zero row */
            for (int kx = 0; kx < p->k_w; kx++) {
                const float *xp[MR];
                int any = 0;
                for (int j = 0; j < MR; j++) {
                    const int ix = ix0 + j * p->stride_w + kx * p->dil_w;
                    const int inside = j < n_px && ix >= 0 && ix < p->in_w;
                    xp[j] = inside ? row + (size_t)ix * g->in_c : g->zeros;
                    any |= inside;
                }
                if (!any)
                    continue;
                const float *x0 = xp[0], *x1 = xp[1], *x2 = xp[2], *x3 = xp[3];
                const float *x4 = xp[4], *x5 = xp[5], *x6 = xp[6], *x7 = xp[7];
                const float *x8 = xp[8], *x9 = xp[9], *x10 = xp[10], *x11 = xp[11];
                RUN(w_row + (size_t)kx * tap_k * wstride, tap_k);
            }
        } else {
            const int n_kx = g->contiguous_kx ? 1 : p->k_w;
            const size_t run = g->contiguous_kx ? (size_t)p->k_w * tap_k : tap_k;
            for (int kx = 0; kx < n_kx; kx++) {
                const float *x0 = row + (size_t)(ix0 + kx * p->dil_w) * g->in_c;
                const float *x1 = x0 + s, *x2 = x0 + 2 * s, *x3 = x0 + 3 * s;
                const float *x4 = x0 + 4 * s, *x5 = x0 + 5 * s, *x6 = x0 + 6 * s;
                const float *x7 = x0 + 7 * s, *x8 = x0 + 8 * s, *x9 = x0 + 9 * s;
                const float *x10 = x0 + 10 * s, *x11 = x0 + 11 * s;
                RUN(w_row + (size_t)kx * tap_k * wstride, run);
            }
        }
    }
#undef RUN
#undef STEP

    if (direct) {
        /* a full 32-channel block with a vector activation: residual,
         * activation and store straight from the accumulators */
        const __m512 alpha = _mm512_set1_ps(p->act_alpha), beta = _mm512_set1_ps(p->act_beta);
        const size_t step = (size_t)p->out_c;
#define PUT(j)                                                                  \
    if (n_px > j) {                                                             \
        float *o_ = t->out + j * step;                                          \
        if (t->res) {                                                           \
            a##j##0 = _mm512_add_ps(a##j##0, _mm512_loadu_ps(t->res + j * step));      \
            a##j##1 = _mm512_add_ps(a##j##1, _mm512_loadu_ps(t->res + j * step + 16)); \
        }                                                                       \
        _mm512_storeu_ps(o_, df_avx512_act(p->act, a##j##0, alpha, beta));      \
        _mm512_storeu_ps(o_ + 16, df_avx512_act(p->act, a##j##1, alpha, beta)); \
    }
        PUT(0) PUT(1) PUT(2) PUT(3) PUT(4) PUT(5)
        PUT(6) PUT(7) PUT(8) PUT(9) PUT(10) PUT(11)
#undef PUT
        return;
    }

#define SAVE(j)                                                                 \
    if (n_px > j) {                                                             \
        _mm512_storeu_ps(acc + j * OCB, a##j##0);                               \
        if (NV > 1)                                                             \
            _mm512_storeu_ps(acc + j * OCB + 16, a##j##1);                      \
    }
    SAVE(0) SAVE(1) SAVE(2) SAVE(3) SAVE(4) SAVE(5)
    SAVE(6) SAVE(7) SAVE(8) SAVE(9) SAVE(10) SAVE(11)
#undef SAVE
}

/* One compiled copy of dense_tile per tile size, width and kind. */
static void dense_tile_any(int n_px, int nv, int edge, int direct, const df_conv_params *p,
                           const dense_geom *g, const tile_at *t, float *acc)
{
#define SIZE(n)                                                                 \
    case n:                                                                     \
        if (nv == 2) {                                                          \
            if (edge)                                                           \
                dense_tile(n, 2, 1, 0, p, g, t, acc);                           \
            else if (direct)                                                    \
                dense_tile(n, 2, 0, 1, p, g, t, acc);                           \
            else                                                                \
                dense_tile(n, 2, 0, 0, p, g, t, acc);                           \
        } else {                                                                \
            if (edge)                                                           \
                dense_tile(n, 1, 1, 0, p, g, t, acc);                           \
            else                                                                \
                dense_tile(n, 1, 0, 0, p, g, t, acc);                           \
        }                                                                       \
        break
    switch (n_px) {
        SIZE(1); SIZE(2); SIZE(3); SIZE(4); SIZE(5); SIZE(6);
        SIZE(7); SIZE(8); SIZE(9); SIZE(10); SIZE(11); SIZE(12);
    }
#undef SIZE
}

/* Residual, activation and (masked) store of n_px pixels x n_valid channels. */
static void store_tile(const df_conv_params *p, const float *acc, int n_px, float *out,
                       const float *res, int n_valid)
{
    const __m512 alpha = _mm512_set1_ps(p->act_alpha), beta = _mm512_set1_ps(p->act_beta);
    const __mmask16 m0 = df_avx512_tail_mask(n_valid), m1 = df_avx512_tail_mask(n_valid - 16);
    const size_t step = (size_t)p->out_c;
    for (int j = 0; j < n_px; j++, out += step, res = res ? res + step : NULL) {
        __m512 v0 = _mm512_loadu_ps(acc + j * OCB);
        if (res)
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res));
        _mm512_mask_storeu_ps(out, m0, df_avx512_act(p->act, v0, alpha, beta));
        if (n_valid > 16) {
            __m512 v1 = _mm512_loadu_ps(acc + j * OCB + 16);
            if (res)
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + 16));
            _mm512_mask_storeu_ps(out + 16, m1, df_avx512_act(p->act, v1, alpha, beta));
        }
        if (!df_avx512_act_is_vector(p->act))
            df_avx512_act_scalar(p->act, out, n_valid, p->act_alpha, p->act_beta);
    }
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

/* One oc block of one group: its packed weights and biases, and where its
 * channels sit in an output pixel. */
typedef struct block_at {
    const float *w_block, *bias;
    size_t oc0;       /* first output channel, in the whole tensor */
    int nv;           /* zmm vectors of packed channels: 1 or 2 */
    int n_valid;      /* real channels, at most nv * 16 */
    int direct;       /* a whole 32-channel block with a vector activation:
                       * finished in registers, the others go through acc */
} block_at;

static block_at block_of(const df_conv_params *p, const dense_geom *g, int b)
{
    const int group = b / g->oc_blocks, oc_first = b % g->oc_blocks * OCB; /* in the group */
    const int width = g->oc16 - oc_first < OCB ? g->oc16 - oc_first : OCB;
    block_at k;
    k.w_block = g->weights + ((size_t)group * g->oc16 + (size_t)oc_first) * g->k;
    k.bias = g->bias + (size_t)group * g->oc16 + oc_first;
    k.oc0 = (size_t)group * g->cout + (size_t)oc_first;
    k.nv = width / 16;
    k.n_valid = g->cout - oc_first < width ? g->cout - oc_first : width;
    k.direct = k.nv == 2 && k.n_valid == OCB && df_avx512_act_is_vector(p->act);
    return k;
}

/* The tiles of an output row: as even as possible, so a row of 56 is
 * 12,11,11,11,11, not four 12s and an 8, and no tile runs with a poor
 * FMA-to-load ratio. */
typedef struct row_tiles {
    int n, base, wider; /* tiles, pixels of the narrow ones, how many are one wider */
    int x_lo, x_hi;     /* interior columns: all k_w taps inside the input row */
} row_tiles;

static row_tiles tiles_of(const df_conv_params *p)
{
    row_tiles r;
    r.n = ceil_div(p->out_w, MR);
    r.base = p->out_w / r.n;
    r.wider = p->out_w % r.n;
    interior_columns(p, &r.x_lo, &r.x_hi);
    return r;
}

/* Asks for the lines of a tile's residual and output, which its epilogue
 * wants after the K loop: they arrive while the FMAs run instead of stalling
 * the stores. A 1x1 conv of 64 -> 256 channels over ResNet-50's batch-8
 * tensor size, whose output comes from DRAM, ran at 90 GFLOP/s with them and
 * 75 without (bench/conv_bench.c; asking for the lines for writing,
 * PREFETCHW, measured the same). Short K loops would not hide the wait, and
 * there the lines are mostly in cache anyway (depth-first rings). */
static void prefetch_tile_outputs(const df_conv_params *p, const tile_at *t, int n_px,
                                  int n_valid)
{
    const size_t step = (size_t)p->out_c;
    for (int j = 0; j < n_px; j++) {
        if (t->res) {
            df_x86_prefetch(t->res + j * step);
            df_x86_prefetch(t->res + j * step + n_valid - 1);
        }
        df_x86_prefetch(t->out + j * step);
        df_x86_prefetch(t->out + j * step + n_valid - 1);
    }
}

/* One tile of output row `out` (residual row `res`, or NULL) for one block;
 * t holds the row and the tile's first pixel. */
static void block_tile(const df_conv_params *p, const dense_geom *g, const block_at *k,
                       tile_at *t, int n_px, int edge, float *out, const float *res)
{
    float acc[MR * OCB];
    const size_t o = (size_t)p->out_c * t->x + k->oc0;
    t->w_block = k->w_block;
    t->bias = k->bias;
    t->out = out + o;
    t->res = res ? res + o : NULL;
    if (g->k >= 64)
        prefetch_tile_outputs(p, t, n_px, k->n_valid);
    if (n_px == MR && k->direct && !edge) {
        dense_tile(MR, 2, 0, 1, p, g, t, acc);
    } else if (!edge && k->direct) {
        dense_tile_any(n_px, k->nv, edge, 1, p, g, t, acc);
    } else {
        if (n_px == MR && k->nv == 2 && !edge)
            dense_tile(MR, 2, 0, 0, p, g, t, acc);
        else
            dense_tile_any(n_px, k->nv, edge, 0, p, g, t, acc);
        store_tile(p, acc, n_px, t->out, t->res, k->n_valid);
    }
}

static void start_row(const df_conv_params *p, tile_at *t, int y)
{
    t->iy0 = y * p->stride_h - p->pad_top;
    df_avx512_valid_taps(t->iy0, p->dil_h, p->k_h, p->in_h, &t->ky_lo, &t->ky_hi);
}

/* Output rows [y0, y1) of blocks [b0, b1), every block of one tile before
 * the next tile: a tile's inputs stay in L1 while the weights stream from
 * L2, and each output pixel's channels are written (and its residual read)
 * as one run, which the prefetchers follow. Over one block, the block's
 * weights stay in L1 while its tiles pass. */
static void rows_by_tile(const df_conv_params *p, const dense_geom *g,
                         const float *const *in_rows, float *const *out_rows,
                         const float *const *res_rows, int y0, int y1, int b0, int b1)
{
    block_at k[TILE_MAJOR_BLOCKS];
    for (int b = b0; b < b1; b++)
        k[b - b0] = block_of(p, g, b);
    const row_tiles r = tiles_of(p);
    tile_at t = {.in_rows = in_rows};
    for (int y = y0; y < y1; y++) {
        start_row(p, &t, y);
        t.x = 0;
        for (int i = 0; i < r.n; i++) {
            const int n_px = r.base + (i < r.wider);
            const int edge = t.x < r.x_lo || t.x + n_px > r.x_hi;
            for (int b = b0; b < b1; b++) {
                t.in_c0 = (size_t)(b / g->oc_blocks) * g->cin;
                block_tile(p, g, &k[b - b0], &t, n_px, edge, out_rows[y],
                           res_rows ? res_rows[y] : NULL);
            }
            t.x += n_px;
        }
    }
}

void df_conv_part_avx512(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1,
                         int part, int parts)
{
    dense_geom g;
    g.in_c = p->in_c;
    g.cin = p->in_c / p->groups;
    g.cout = p->out_c / p->groups;
    g.oc16 = (int)round16((size_t)g.cout);
    g.oc_blocks = ceil_div(g.oc16, OCB);
    g.k = (size_t)p->k_h * p->k_w * g.cin;
    g.px_step = (size_t)p->stride_w * p->in_c;
    g.contiguous_kx = p->dil_w == 1 && p->groups == 1;
    g.edge_copy = df_conv_edge_copies(p, MR);
    g.bias = p->packed;
    g.weights = g.bias + (size_t)p->groups * g.oc16;
    g.zeros = g.weights + (size_t)p->groups * g.oc16 * g.k;

    /* This part's share of the (group, oc block) pairs, in packing order. */
    const int64_t n_blocks = df_conv_avx512_blocks(p);
    const int b0 = (int)(n_blocks * part / parts), b1 = (int)(n_blocks * (part + 1) / parts);
    if (b0 == b1)
        return;

    /* Weights that fit in L2 beside a tile's inputs stream from there, tile
     * by tile; bigger ones go block by block over the whole band, so that
     * each block's weights are read from memory once. */
    const size_t weight_bytes = (size_t)p->groups * g.oc16 * g.k * sizeof(float) /
                                (size_t)n_blocks * (size_t)(b1 - b0);
    if (weight_bytes <= TILE_MAJOR_WEIGHT_BYTES && b1 - b0 <= TILE_MAJOR_BLOCKS) {
        rows_by_tile(p, &g, in_rows, out_rows, res_rows, y0, y1, b0, b1);
    } else {
        for (int b = b0; b < b1; b++)
            rows_by_tile(p, &g, in_rows, out_rows, res_rows, y0, y1, b, b + 1);
    }
}

void df_conv_rows_avx512(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1)
{
    df_conv_part_avx512(p, in_rows, out_rows, res_rows, y0, y1, 0, 1);
}
