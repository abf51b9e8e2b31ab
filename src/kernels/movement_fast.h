/* Fast data movement (movement_fast.c): Transpose, Slice, Concat and Split
 * with the signatures and semantics of the references in kernels.h, in
 * portable C (compiled everywhere). They copy the longest run that is
 * contiguous in both source and destination at once, and transpose the two
 * axes that trade places in cache-sized tiles. Chosen at load by dispatch.c;
 * DF_KERNELS=reference selects the references instead. */
#ifndef DF_KERNELS_MOVEMENT_FAST_H
#define DF_KERNELS_MOVEMENT_FAST_H

#include "kernels/kernels.h"

void df_transpose_fast(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                       const int *perm);

void df_slice_fast(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                   const int64_t *starts, const int64_t *steps, const int64_t *out_dims);

void df_concat_fast(int n_in, const void *const *x, const int64_t *sizes, void *y, size_t elem,
                    int64_t outer, int64_t inner);

void df_split_fast(const void *x, int n_out, void *const *y, const int64_t *sizes, size_t elem,
                   int64_t outer, int64_t inner);

/* A 2-D tile transpose of 4-byte elements, for an ISA-specific version:
 * y[a * y_stride + b] = x[b * x_stride + a] for a < rows, b < cols (strides
 * in elements). df_transpose_fast_with uses it in place of the portable one. */
typedef void (*df_transpose2d_u32_fn)(const uint32_t *x, int64_t x_stride, uint32_t *y,
                                      int64_t y_stride, int64_t rows, int64_t cols);

void df_transpose_fast_with(const void *x, void *y, size_t elem, int rank,
                            const int64_t *in_dims, const int *perm, df_transpose2d_u32_fn t32);

#endif
