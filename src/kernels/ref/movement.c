/* Reference data movement: Transpose, Concat, Split, Slice, Gather and Pad.
 *
 * All but Pad move elements of any size (elem bytes). Strided walks go over
 * every output dimension but the last with an index counter, and copy along
 * the last one with a fixed source stride. */
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref_util.h"

void df_nchw_row_to_nhwc(const float *image, int64_t c, int64_t h, int64_t w, int64_t r, float *y)
{
    for (int64_t ch = 0; ch < c; ch++) {
        const float *src = image + ((size_t)ch * h + r) * w;
        for (int64_t x = 0; x < w; x++)
            y[x * c + ch] = src[x];
    }
}

void df_transpose_ref(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                      const int *perm)
{
    int64_t in_strides[DF_MAX_RANK], out_dims[DF_MAX_RANK], src_strides[DF_MAX_RANK];
    df_ref_contiguous_strides(rank, in_dims, in_strides);
    for (int d = 0; d < rank; d++) {
        out_dims[d] = in_dims[perm[d]];
        src_strides[d] = in_strides[perm[d]];
    }
    if (df_ref_numel(rank, out_dims) == 0)
        return;

    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int64_t n = rank > 0 ? out_dims[rank - 1] : 1;
    const int64_t s_last = rank > 0 ? src_strides[rank - 1] : 0;
    int64_t idx[DF_MAX_RANK] = {0};
    char *out = y;
    do {
        const char *src = (const char *)x + df_ref_offset(outer_rank, idx, src_strides) * elem;
        for (int64_t i = 0; i < n; i++)
            df_ref_copy_elem(out + (size_t)i * elem, src + (size_t)(i * s_last) * elem, elem);
        out += (size_t)n * elem;
    } while (df_ref_next_index(outer_rank, out_dims, idx));
}

void df_concat_ref(int n_in, const void *const *x, const int64_t *sizes, void *y, size_t elem,
                   int64_t outer, int64_t inner)
{
    char *out = y;
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_in; i++) {
            const size_t block = (size_t)(sizes[i] * inner) * elem;
            memcpy(out, (const char *)x[i] + (size_t)o * block, block);
            out += block;
        }
    }
}

void df_split_ref(const void *x, int n_out, void *const *y, const int64_t *sizes, size_t elem,
                  int64_t outer, int64_t inner)
{
    const char *in = x;
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_out; i++) {
            const size_t block = (size_t)(sizes[i] * inner) * elem;
            memcpy((char *)y[i] + (size_t)o * block, in, block);
            in += block;
        }
    }
}

void df_slice_ref(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                  const int64_t *starts, const int64_t *steps, const int64_t *out_dims)
{
    if (df_ref_numel(rank, out_dims) == 0)
        return;
    int64_t in_strides[DF_MAX_RANK], src_strides[DF_MAX_RANK];
    df_ref_contiguous_strides(rank, in_dims, in_strides);
    int64_t base = 0;
    for (int d = 0; d < rank; d++) {
        base += starts[d] * in_strides[d];
        src_strides[d] = steps[d] * in_strides[d];
    }

    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int64_t n = rank > 0 ? out_dims[rank - 1] : 1;
    const int64_t s_last = rank > 0 ? src_strides[rank - 1] : 0;
    int64_t idx[DF_MAX_RANK] = {0};
    char *out = y;
    do {
        const int64_t src = base + df_ref_offset(outer_rank, idx, src_strides);
        for (int64_t i = 0; i < n; i++)
            df_ref_copy_elem(out + (size_t)i * elem,
                             (const char *)x + (size_t)(src + i * s_last) * elem, elem);
        out += (size_t)n * elem;
    } while (df_ref_next_index(outer_rank, out_dims, idx));
}

/* Every index is checked before anything is written, so a bad index leaves y
 * untouched. A negative index counts from the end once: -axis_n is the first. */
int64_t df_gather_ref(const void *x, void *y, size_t elem, int64_t outer, int64_t axis_n,
                      int64_t inner, const int64_t *idx, int64_t n_idx)
{
    for (int64_t i = 0; i < n_idx; i++) {
        const int64_t j = idx[i] < 0 ? idx[i] + axis_n : idx[i];
        if (j < 0 || j >= axis_n)
            return i;
    }
    const size_t block = (size_t)inner * elem;
    char *out = y;
    for (int64_t o = 0; o < outer; o++) {
        const char *slab = (const char *)x + (size_t)(o * axis_n) * block;
        for (int64_t i = 0; i < n_idx; i++) {
            const int64_t j = idx[i] < 0 ? idx[i] + axis_n : idx[i];
            memcpy(out, slab + (size_t)j * block, block);
            out += block;
        }
    }
    return -1;
}

/* The input coordinate that output coordinate o copies along one dimension,
 * or -1 for the constant. Negative pads crop first: the source is the window
 * [lo, hi) of the input, and reflect and edge work within that window, as if
 * the input had been cropped before padding (what ONNX Runtime does). Reflect
 * mirrors without repeating the edge element, and keeps mirroring when a pad
 * is wider than the window. */
static int64_t pad_source(int64_t o, int64_t begin, int64_t in_n, int64_t out_n,
                          df_pad_mode mode)
{
    const int64_t end = out_n - in_n - begin;
    const int64_t lo = begin < 0 ? -begin : 0;
    const int64_t hi = end < 0 ? in_n + end : in_n;
    const int64_t i = o - begin;
    if (i >= lo && i < hi)
        return i;
    if (mode == DF_PAD_CONSTANT || hi <= lo)
        return -1;
    if (mode == DF_PAD_EDGE)
        return i < lo ? lo : hi - 1;
    const int64_t size = hi - lo;
    if (size == 1)
        return lo;
    const int64_t period = 2 * (size - 1);
    int64_t r = (i - lo) % period;
    if (r < 0)
        r += period;
    return lo + (r < size ? r : period - r);
}

void df_pad_ref(const float *x, float *y, int rank, const int64_t *in_dims,
                const int64_t *pads_begin, const int64_t *out_dims, df_pad_mode mode,
                float value)
{
    if (df_ref_numel(rank, out_dims) == 0)
        return;
    int64_t in_strides[DF_MAX_RANK];
    df_ref_contiguous_strides(rank, in_dims, in_strides);

    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int last = rank - 1;
    const int64_t n = rank > 0 ? out_dims[last] : 1;
    int64_t idx[DF_MAX_RANK] = {0};
    float *out = y;
    do {
        int64_t base = 0;
        int in_padding = 0;
        for (int d = 0; d < outer_rank; d++) {
            const int64_t s = pad_source(idx[d], pads_begin[d], in_dims[d], out_dims[d], mode);
            if (s < 0)
                in_padding = 1;
            else
                base += s * in_strides[d];
        }
        if (rank == 0) {
            out[0] = x[0];
        } else if (in_padding) {
            for (int64_t i = 0; i < n; i++)
                out[i] = value;
        } else {
            for (int64_t i = 0; i < n; i++) {
                const int64_t s = pad_source(i, pads_begin[last], in_dims[last], n, mode);
                out[i] = s < 0 ? value : x[base + s];
            }
        }
        out += n;
    } while (df_ref_next_index(outer_rank, out_dims, idx));
}

void df_shuffle_ref(const float *const *x, int64_t x_stride, float *y, int64_t n, int64_t groups,
                    int64_t per_group)
{
    for (int64_t p = 0; p < n; p++, y += groups * per_group)
        for (int64_t i = 0; i < per_group; i++)
            for (int64_t j = 0; j < groups; j++)
                y[i * groups + j] = x[j][p * x_stride + i];
}
