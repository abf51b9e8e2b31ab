/* AVX2 pooling kernels (pool_avx2.c): df_pool_rows_ref's semantics and
 * signature. Call only when df_kernel_isa() is "avx2+fma" or "avx512". */
#ifndef DF_KERNELS_X86_POOL_AVX2_H
#define DF_KERNELS_X86_POOL_AVX2_H

#include "kernels/kernels.h"

void df_pool_rows_avx2(const df_pool_params *p, const float *const *in_rows,
                       float *const *out_rows, int y0, int y1);

#endif
