/* x86-64 AVX2/FMA kernels: fast versions of the row-band kernels in kernels.h.
 *
 * They have the same signatures and semantics as the reference kernels and are
 * chosen at load by dispatch.c, which also packs their weights (p->packed).
 * Call them only when the CPU has AVX2 and FMA (df_kernel_isa() == "avx2+fma"). */
#ifndef DF_KERNELS_X86_KERNELS_X86_H
#define DF_KERNELS_X86_KERNELS_X86_H

#include <stddef.h>
#include <string.h>

#include "kernels/kernels.h"

/* Edge tiles of a dense conv with few input channels (the first layer's 3,
 * SqueezeNet's 16) would run k_h * k_w runs of in_c taps each, a loop
 * overhead that cost the AVX-512 kernel 20% on ResNet's 7x7 conv1 and 15% on
 * SqueezeNet's 3x3 16->64 (conv_bench). They copy their input span instead:
 * n_span pixels of in_c floats from pixel ix0 of the row, zeros where that
 * falls outside [0, in_w), and run as interior tiles on it. At 32 channels
 * a tap's run is long enough: there the copy measured no gain. */
#define DF_CONV_EDGE_SPAN_FLOATS 1024

static inline void df_conv_edge_span(const float *row, int in_w, size_t in_c, int ix0, int n_span,
                                     float *span)
{
    /* pixels [lo, hi) of the span are inside the row */
    const int lo = ix0 >= 0 ? 0 : (-ix0 < n_span ? -ix0 : n_span);
    const int end = ix0 + n_span > in_w ? in_w - ix0 : n_span;
    const int hi = end > lo ? end : lo;
    memset(span, 0, (size_t)lo * in_c * sizeof(float));
    if (hi > lo) /* else ix0 + lo may lie outside the row: no pointer to it */
        memcpy(span + (size_t)lo * in_c, row + (size_t)(ix0 + lo) * in_c,
               (size_t)(hi - lo) * in_c * sizeof(float));
    memset(span + (size_t)hi * in_c, 0, (size_t)(n_span - hi) * in_c * sizeof(float));
}

/* Whether a conv's edge tiles of up to tile_px pixels copy their span. */
static inline int df_conv_edge_copies(const df_conv_params *p, int tile_px)
{
    return p->dil_w == 1 && p->groups == 1 && p->in_c <= 16 &&
           (size_t)((tile_px - 1) * p->stride_w + p->k_w) * (size_t)p->in_c <=
               DF_CONV_EDGE_SPAN_FLOATS;
}

/* ---- dense and grouped convolution (conv_avx2.c) --------------------------
 * Packed layout (floats, 64-byte aligned blocks):
 *   bias:    [groups][oc_blocks][16]                      (zero when p->bias is NULL)
 *   weights: [groups][oc_blocks][k_h][k_w][in_c / groups][16]
 *   zeros:   in_c / groups rounded up to 16 (what taps in the padding read)
 * with oc_blocks = ceil((out_c / groups) / 16); out-channel tails are zero. */
#define DF_CONV_AVX2_OC_BLOCK 16

/* Floats needed by the packed weights of p (0 on size overflow). */
size_t df_conv_avx2_packed_floats(const df_conv_params *p);
/* Channel blocks of p's packing (groups x oc blocks): what df_conv_part_avx2 shares out. */
int df_conv_avx2_blocks(const df_conv_params *p);
/* Packs p->weight and p->bias into packed (df_conv_avx2_packed_floats(p) floats). */
void df_conv_avx2_pack(const df_conv_params *p, float *packed);
void df_conv_rows_avx2(const df_conv_params *p, const float *const *in_rows,
                       float *const *out_rows, const float *const *res_rows, int y0, int y1);
/* A share of the output channel blocks (df_conv_part_ref). */
void df_conv_part_avx2(const df_conv_params *p, const float *const *in_rows,
                       float *const *out_rows, const float *const *res_rows, int y0, int y1,
                       int part, int parts);

/* ---- depthwise convolution (dwconv_avx2.c) --------------------------------
 * groups == in_c == out_c. Packed layout, c8 = in_c rounded up to 8:
 *   bias: [c8], weights: [k_h][k_w][c8], channel tails zero. */
size_t df_dwconv_avx2_packed_floats(const df_conv_params *p);
void df_dwconv_avx2_pack(const df_conv_params *p, float *packed);
void df_dwconv_rows_avx2(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1);
/* Channel blocks of 8 (the last may be partial): what df_dwconv_part_avx2 shares out. */
int df_dwconv_avx2_blocks(const df_conv_params *p);
void df_dwconv_part_avx2(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1,
                         int part, int parts);

/* ---- AVX-512 (F, DQ, BW, VL) versions (conv_avx512.c, dwconv_avx512.c) -----
 * Same semantics; call only when the CPU has AVX-512 F/DQ/BW/VL
 * (df_kernel_isa() == "avx512").
 *
 * Dense and grouped: packed layout (floats), oc16 = (out_c / groups) rounded
 * up to 16, k = k_h * k_w * (in_c / groups):
 *   bias:    [groups][oc16]                                (zero when p->bias is NULL)
 *   weights: [groups][oc blocks of 32][k_h][k_w][in_c / groups][32]
 *            where the last block of a group is 16 wide when oc16 % 32 == 16
 *   zeros:   in_c / groups rounded up to 16 (what taps in the padding read)
 * Out-channel tails are zero. */
#define DF_CONV_AVX512_OC_BLOCK 32

size_t df_conv_avx512_packed_floats(const df_conv_params *p);
/* Channel blocks of p's packing (groups x oc blocks): what df_conv_part_avx512 shares out. */
int df_conv_avx512_blocks(const df_conv_params *p);
void df_conv_avx512_pack(const df_conv_params *p, float *packed);
void df_conv_rows_avx512(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1);
void df_conv_part_avx512(const df_conv_params *p, const float *const *in_rows,
                         float *const *out_rows, const float *const *res_rows, int y0, int y1,
                         int part, int parts);

/* Depthwise: c16 = in_c rounded up to 16; bias: [c16], weights: [k_h][k_w][c16]. */
size_t df_dwconv_avx512_packed_floats(const df_conv_params *p);
void df_dwconv_avx512_pack(const df_conv_params *p, float *packed);
void df_dwconv_rows_avx512(const df_conv_params *p, const float *const *in_rows,
                           float *const *out_rows, const float *const *res_rows, int y0, int y1);
/* Channel blocks of 16 (the last may be partial): what df_dwconv_part_avx512 shares out. */
int df_dwconv_avx512_blocks(const df_conv_params *p);
void df_dwconv_part_avx512(const df_conv_params *p, const float *const *in_rows,
                           float *const *out_rows, const float *const *res_rows, int y0, int y1,
                           int part, int parts);

#endif
