/* AVX2/FMA elementwise kernels (eltwise_avx2.c). Same semantics as
 * df_unary_ref; call only when df_kernel_isa() says "avx2+fma". */
#ifndef DF_KERNELS_X86_ELTWISE_AVX2_H
#define DF_KERNELS_X86_ELTWISE_AVX2_H

#include "kernels/kernels.h"

/* 1 when op has a vector form here; other ops are passed to the reference. */
int df_unary_has_avx2(df_op op);
void df_unary_avx2(df_op op, const float *x, float *y, int64_t n, float a, float b);
/* df_scale_shift_act_ref's semantics. */
void df_scale_shift_act_avx2(const float *x, float *y, const float *scale, const float *shift,
                             int64_t outer, int64_t c, df_act act, float a, float b);

/* df_binary_line_ref's semantics; vector loops for ADD, SUB, MUL and DIV
 * with unit or zero strides, the reference otherwise. Exact: each element is
 * one IEEE operation either way. */
void df_binary_line_avx2(df_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                         void *out, int64_t n);

#endif
