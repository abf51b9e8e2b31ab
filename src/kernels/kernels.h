/* Kernels: the portable C reference of every op, and the interface the fast
 * (ISA-specific) versions share.
 *
 * Spatial kernels are row-band kernels: they compute output rows [y0, y1) of one
 * image, NHWC, reading input row r (0 <= r < in_h, in_w * channels floats)
 * through a table of row pointers, in_rows[r], and writing output row y through
 * out_rows[y]. Rows outside [0, in_h) are padding: the kernels skip them, so
 * tables need no entries there. Layer by layer, a table points into a whole
 * tensor; depth first, into a ring buffer. The same kernel serves both.
 *
 * Kernels never allocate, never fail on shapes the compiler has checked, and
 * are single-threaded: the executor splits work across threads. */
#ifndef DF_KERNELS_KERNELS_H
#define DF_KERNELS_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

static inline float df_act_apply(df_act act, float x, float a, float b)
{
    switch (act) {
    case DF_ACT_NONE: return x;
    case DF_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DF_ACT_CLIP: return x < a ? a : (x > b ? b : x);
    case DF_ACT_LEAKYRELU: return x >= 0.0f ? x : a * x;
    case DF_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DF_ACT_HARDSIGMOID: {
        float v = a * x + b;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    case DF_ACT_HARDSWISH: {
        float v = x / 6.0f + 0.5f;
        return x * (v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v));
    }
    case DF_ACT_TANH: return tanhf(x);
    case DF_ACT_SILU: return x / (1.0f + expf(-x));
    }
    return x;
}

/* ---- convolution ---------------------------------------------------------- */

typedef struct df_conv_params {
    int in_h, in_w, in_c;     /* in_c: all channels of the input */
    int out_h, out_w, out_c;
    int k_h, k_w;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_top, pad_left;    /* bottom/right padding only shows in out_h/out_w */
    int groups;
    const float *weight;      /* [out_c][k_h][k_w][in_c / groups] (OHWI) */
    const float *bias;        /* [out_c] or NULL */
    df_act act;
    float act_alpha, act_beta;
    const void *packed;       /* weights packed for a fast kernel, or NULL */
} df_conv_params;

/* out_rows[y] = act(conv(in) + bias + res_rows[y]) for y in [y0, y1).
 * res_rows may be NULL (no residual); otherwise res_rows[y] has the output's shape. */
void df_conv_rows_ref(const df_conv_params *p, const float *const *in_rows,
                      float *const *out_rows, const float *const *res_rows, int y0, int y1);

/* The same for the part-th of `parts` near-equal shares of the output channels
 * (0 <= part < parts; a share may be empty): how threads split a conv whose
 * image has too few rows to share out evenly, each reading only its share of
 * the weights. Fast kernels share out whole channel blocks. */
void df_conv_part_ref(const df_conv_params *p, const float *const *in_rows,
                      float *const *out_rows, const float *const *res_rows, int y0, int y1,
                      int part, int parts);

/* ---- pooling -------------------------------------------------------------- */

typedef struct df_pool_params {
    int in_h, in_w, c;
    int out_h, out_w;
    int k_h, k_w;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int is_max;
    int count_include_pad;    /* average: divide by the window clipped to the padded
                                 input instead of by the valid elements */
} df_pool_params;

void df_pool_rows_ref(const df_pool_params *p, const float *const *in_rows,
                      float *const *out_rows, int y0, int y1);

/* x: [n][hw][c] -> y: [n][c]; mean (is_max = 0) or max over hw. */
void df_global_pool_ref(const float *x, float *y, int64_t n, int64_t hw, int64_t c, int is_max);

/* ---- elementwise ---------------------------------------------------------- */

/* y[i] = f(x[i]) for the activations (via df_act_apply), SILU, and NEG, SQRT, EXP, ABS. */
void df_unary_ref(df_op op, const float *x, float *y, int64_t n, float a, float b);

/* Broadcasting binary op over a common output shape y_dims (rank <= DF_MAX_RANK).
 * a_strides/b_strides are element strides per output dimension, 0 where the
 * operand is broadcast (see df_broadcast_strides). Supports ADD, SUB, MUL, DIV,
 * POW for F32; ADD, SUB, MUL, DIV for I64; EQUAL for both (writes bytes, BOOL). */
void df_binary_ref(df_op op, df_dtype dt, const void *a, const int64_t *a_strides,
                   const void *b, const int64_t *b_strides, void *y, int rank,
                   const int64_t *y_dims);

/* One line of it on F32 operands: out[i] = a[i * sa] op b[i * sb] for i < n
 * (out is bytes for EQUAL, floats otherwise). */
void df_binary_line_ref(df_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                        void *out, int64_t n);

/* Merges neighbouring dimensions that both operands walk as one (contiguous,
 * or both broadcast) and drops dimensions of size 1, in place, so that the
 * last dimension, the one a line runs along, is as long as it can be. The
 * element order is unchanged. Returns the new rank (at least 1). */
int df_binary_coalesce(int rank, int64_t *y_dims, int64_t *a_strides, int64_t *b_strides);

/* Strides of an operand of shape in_dims (rank in_rank, right-aligned numpy
 * style) when broadcast to out_dims (rank out_rank). */
void df_broadcast_strides(int in_rank, const int64_t *in_dims, int out_rank,
                          const int64_t *out_dims, int64_t *strides);

/* y = x broadcast to y_dims (Expand, and Where's operands); elem = bytes per element. */
void df_broadcast_copy(const void *x, const int64_t *x_strides, void *y, size_t elem, int rank,
                       const int64_t *y_dims);

/* Per-channel y = x * scale[c] + shift[c] on [outer][c] (unfused BatchNormalization). */
void df_scale_shift_ref(const float *x, float *y, const float *scale, const float *shift,
                        int64_t outer, int64_t c);
/* The same followed by an activation (a BatchNormalization with the ReLU after it). */
void df_scale_shift_act_ref(const float *x, float *y, const float *scale, const float *shift,
                            int64_t outer, int64_t c, df_act act, float a, float b);

/* ---- dense ---------------------------------------------------------------- */

/* Y[m][n] = alpha * sum_k A(m,k) * B(k,n) + beta * C(m,n)
 * A(m,k) = trans_a ? A[k*lda + m] : A[m*lda + k]; B likewise with ldb.
 * C is NULL or read as C[m*c_stride_m + n*c_stride_n] (0 strides broadcast). */
void df_gemm_ref(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                 int trans_a, const float *B, int64_t ldb, int trans_b, float beta,
                 const float *C, int64_t c_stride_m, int64_t c_stride_n, float *Y, int64_t ldy);

/* Softmax over the middle axis of x: [outer][n][inner]. */
void df_softmax_ref(const float *x, float *y, int64_t outer, int64_t n, int64_t inner);

/* Mean of x over the dimensions with reduce[d] != 0; y has the kept dims in order. */
void df_reduce_mean_ref(const float *x, float *y, int rank, const int64_t *dims,
                        const int *reduce);

/* ---- data movement (any dtype: elem = bytes per element) ------------------ */

void df_transpose_ref(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                      const int *perm);

/* ChannelShuffle of n pixels, channels innermost (NHWC), y[p][i * groups + j]
 * = x[j][p * x_stride + i] for i < per_group: group j of pixel p is read from
 * x[j]. One input holding every group is x[j] = input + j * per_group with
 * x_stride = groups * per_group; a shuffle with ShuffleNet's Concat folded in
 * reads each group from its own input (x_stride = per_group). */
void df_shuffle_ref(const float *const *x, int64_t x_stride, float *y, int64_t n, int64_t groups,
                    int64_t per_group);
/* Callers keep one pointer per group on the stack; shuffles of more groups
 * (one input only) run as a Transpose. */
enum { DF_SHUFFLE_MAX_GROUPS = 64 };

/* Row r of an NCHW float image of c x h x w as an NHWC row: y[x * c + ch] =
 * x[(ch * h + r) * w + x]. How the input image enters NHWC, a row at a time
 * (depth first) or rows split among threads (layer by layer). */
void df_nchw_row_to_nhwc(const float *image, int64_t c, int64_t h, int64_t w, int64_t r, float *y);

/* Concat along one axis: x[i] is [outer][sizes[i]][inner]. */
void df_concat_ref(int n_in, const void *const *x, const int64_t *sizes, void *y, size_t elem,
                   int64_t outer, int64_t inner);

/* Split along one axis into n_out pieces of sizes[i]: inverse of concat. */
void df_split_ref(const void *x, int n_out, void *const *y, const int64_t *sizes, size_t elem,
                  int64_t outer, int64_t inner);

/* y[i...] = x[starts + i * steps] for every output index; starts are in range
 * and steps non-zero (the compiler clamps them). */
void df_slice_ref(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                  const int64_t *starts, const int64_t *steps, const int64_t *out_dims);

/* x: [outer][axis_n][inner]; y: [outer][n_idx][inner]. Indices may be negative
 * (counted from the end). Returns the position of the first index out of
 * range, or -1 when all are valid (then y is written). */
int64_t df_gather_ref(const void *x, void *y, size_t elem, int64_t outer, int64_t axis_n,
                      int64_t inner, const int64_t *idx, int64_t n_idx);

typedef enum df_pad_mode { DF_PAD_CONSTANT, DF_PAD_REFLECT, DF_PAD_EDGE } df_pad_mode;

/* pads_begin may be negative (crop). out_dims[d] = in_dims[d] + begin[d] + end[d]. */
void df_pad_ref(const float *x, float *y, int rank, const int64_t *in_dims,
                const int64_t *pads_begin, const int64_t *out_dims, df_pad_mode mode,
                float value);

#endif
