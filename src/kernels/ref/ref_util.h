/* Small helpers shared by the reference kernels (private to src/kernels/ref/). */
#ifndef DF_KERNELS_REF_REF_UTIL_H
#define DF_KERNELS_REF_REF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The taps k in [0, k_n) whose position start + k * dil lies inside [0, n),
 * as the range [*lo, *hi) (empty when *lo == *hi). Computing the range once per
 * output row or column keeps bounds checks out of the inner loops. */
static inline void df_ref_valid_taps(int start, int dil, int k_n, int n, int *lo, int *hi)
{
    int first = start < 0 ? (-start + dil - 1) / dil : 0;
    int end = start < n ? (n - 1 - start) / dil + 1 : 0;
    if (end > k_n)
        end = k_n;
    if (end < first)
        end = first;
    *lo = first;
    *hi = end;
}

/* Steps idx to the next index of a C-order walk over dims[0..rank).
 * Returns 0 once the walk is over (idx is back to all zeros). */
static inline int df_ref_next_index(int rank, const int64_t *dims, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

static inline int64_t df_ref_offset(int rank, const int64_t *idx, const int64_t *strides)
{
    int64_t off = 0;
    for (int d = 0; d < rank; d++)
        off += idx[d] * strides[d];
    return off;
}

static inline int64_t df_ref_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* Element strides of a C-order tensor. */
static inline void df_ref_contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

/* Copies one element; the fixed sizes let the compiler emit a single move. */
static inline void df_ref_copy_elem(char *dst, const char *src, size_t elem)
{
    switch (elem) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, elem); break;
    }
}

#endif
