/* x86 pooling kernels, both with df_pool_rows_ref's semantics and signature:
 * df_pool_rows_avx2 (pool_avx2.c), to call only when df_kernel_isa() is
 * "avx2+fma" or "avx512", and df_pool_rows_avx512 (pool_avx512.c), to call
 * only when it is "avx512". */
#ifndef DF_KERNELS_X86_POOL_AVX2_H
#define DF_KERNELS_X86_POOL_AVX2_H

#include "kernels/kernels.h"

void df_pool_rows_avx2(const df_pool_params *p, const float *const *in_rows,
                       float *const *out_rows, int y0, int y1);
void df_pool_rows_avx512(const df_pool_params *p, const float *const *in_rows,
                         float *const *out_rows, int y0, int y1);

#endif
