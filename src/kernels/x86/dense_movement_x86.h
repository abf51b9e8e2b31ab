/* x86-64 fast kernels for data movement, Gemm and global pooling
 * (movement_avx2.c, gemm_avx2.c, global_pool_avx2.c). Same signatures and
 * semantics as the references in kernels.h; chosen at load by dispatch.c
 * (df_kernel_table_select). Call them only when the CPU has AVX2 and FMA. */
#ifndef DF_KERNELS_X86_DENSE_MOVEMENT_X86_H
#define DF_KERNELS_X86_DENSE_MOVEMENT_X86_H

#include "kernels/kernels.h"

/* df_transpose_fast with 8x8 register transposes of 4-byte elements. */
void df_transpose_avx2(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                       const int *perm);
void df_transpose2d_u32_avx2(const uint32_t *x, int64_t xs, uint32_t *y, int64_t ys,
                             int64_t rows, int64_t cols);

/* df_shuffle_ref's contract. Two groups (ShuffleNetV2's) are interleaved 8
 * channels of each at a time in registers; other counts go to the reference. */
void df_shuffle_avx2(const float *const *x, int64_t x_stride, float *y, int64_t n, int64_t groups,
                     int64_t per_group);

/* df_gemm_ref's contract. Fast for trans_a = 0 with trans_b = 1 (dot products
 * over contiguous k: the classifier's GEMV), and for trans_b = 0 with either
 * trans_a (rows of Y built from rows of B); trans_a = trans_b = 1 goes to the
 * reference. Sums are in a different order than the reference's. */
void df_gemm_avx2(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  int trans_a, const float *B, int64_t ldb, int trans_b, float beta,
                  const float *C, int64_t c_stride_m, int64_t c_stride_n, float *Y, int64_t ldy);

/* df_global_pool_ref vectorised over channels; the same sums in the same
 * order, so the results are identical. */
void df_global_pool_avx2(const float *x, float *y, int64_t n, int64_t hw, int64_t c, int is_max);

#endif
