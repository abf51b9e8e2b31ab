/* Fast data movement in portable C: Transpose, Slice, Concat and Split, with
 * the semantics of the references in ref/movement.c.
 *
 * Transpose and Slice are both a strided walk: the output is written in
 * order, and each output dimension has a byte stride in the source. The walk
 * is first reduced to its simplest equal form: dimensions of size 1 go,
 * neighbouring dimensions that the source also walks as one are merged, and
 * the innermost run that is contiguous in the source becomes one block of
 * many bytes. What is left is then
 *   - a walk that copies whole blocks (memcpy for long ones), or
 *   - for a transpose of small blocks, a 2-D transpose of the output's last
 *     dimension with the dimension that is contiguous in the source, done in
 *     tiles that fit in L1 (NCHW -> NHWC is [C][HW] -> [HW][C] per image).
 * Concat and Split keep the reference's order (it measured fastest) and only
 * copy short blocks inline. */
#include "kernels/movement_fast.h"

#include <string.h>

typedef struct walk {
    int rank;
    size_t elem;               /* bytes per block */
    int64_t dims[DF_MAX_RANK]; /* output dimensions, C order */
    int64_t src[DF_MAX_RANK];  /* source byte stride per output dimension */
} walk;

/* Drops size-1 dimensions, merges dimension pairs the source walks as one,
 * and folds a source-contiguous innermost dimension into the block. */
static void simplify(walk *w)
{
    int m = 0;
    for (int d = 0; d < w->rank; d++) {
        if (w->dims[d] == 1)
            continue;
        if (m > 0 && w->src[m - 1] == w->src[d] * w->dims[d]) {
            w->dims[m - 1] *= w->dims[d];
            w->src[m - 1] = w->src[d];
        } else {
            w->dims[m] = w->dims[d];
            w->src[m] = w->src[d];
            m++;
        }
    }
    while (m > 0 && w->src[m - 1] == (int64_t)w->elem) {
        w->elem *= (size_t)w->dims[m - 1];
        m--;
    }
    w->rank = m;
}

/* Copies n bytes, n small or large; inline for the short runs where a call
 * to memcpy would cost more than the copy. Overlapping chunk writes within
 * the run are harmless (source and destination never overlap). */
static inline void copy_run(char *d, const char *s, size_t n)
{
    if (n >= 32) {
        memcpy(d, s, n);
    } else if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* n blocks of e bytes from a source stride of s bytes to contiguous y. */
#define GATHER_TYPED(T)                                                                      \
    for (int64_t i = 0; i < n; i++) {                                                      \
        T v;                                                                                 \
        memcpy(&v, x + i * s, sizeof v);                                                     \
        memcpy(y + (size_t)i * sizeof v, &v, sizeof v);                                      \
    }

static void gather_blocks(const char *x, char *y, int64_t n, int64_t s, size_t e)
{
    switch (e) {
    case 1: GATHER_TYPED(uint8_t) break;
    case 2: GATHER_TYPED(uint16_t) break;
    case 4: GATHER_TYPED(uint32_t) break;
    case 8: GATHER_TYPED(uint64_t) break;
    default:
        for (int64_t i = 0; i < n; i++)
            copy_run(y + (size_t)i * e, x + i * s, e);
        break;
    }
}

/* The strided walk: every output dimension but the last with an index
 * counter (the source offset kept up to date), the last as one gather. */
static void copy_walk(const char *x, char *y, const walk *w)
{
    if (w->rank == 0) {
        memcpy(y, x, w->elem);
        return;
    }
    const int last = w->rank - 1;
    const int64_t n = w->dims[last], s = w->src[last];
    const size_t row = (size_t)n * w->elem;
    int64_t idx[DF_MAX_RANK] = {0};
    int64_t off = 0;
    for (;;) {
        gather_blocks(x + off, y, n, s, w->elem);
        y += row;
        int d = last - 1;
        for (; d >= 0; d--) {
            off += w->src[d];
            if (++idx[d] < w->dims[d])
                break;
            off -= w->src[d] * w->dims[d];
            idx[d] = 0;
        }
        if (d < 0)
            return;
    }
}

/* ---- 2-D tile transpose: y[a * ys + b] = x[b * xs + a] (strides in blocks) --- */

#define T2D_TYPED(T, TILE)                                                                   \
    for (int64_t a0 = 0; a0 < rows; a0 += TILE) {                                            \
        const int64_t a1 = a0 + TILE < rows ? a0 + TILE : rows;                              \
        for (int64_t b0 = 0; b0 < cols; b0 += TILE) {                                        \
            const int64_t b1 = b0 + TILE < cols ? b0 + TILE : cols;                          \
            for (int64_t a = a0; a < a1; a++) {                                              \
                char *out = y + (size_t)(a * ys) * sizeof(T);                                \
                const char *in = x + (size_t)a * sizeof(T);                                  \
                for (int64_t b = b0; b < b1; b++) {                                          \
                    T v;                                                                     \
                    memcpy(&v, in + (size_t)(b * xs) * sizeof(T), sizeof v);                 \
                    memcpy(out + (size_t)b * sizeof(T), &v, sizeof v);                       \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

static void transpose2d(const char *x, int64_t xs, char *y, int64_t ys, int64_t rows,
                        int64_t cols, size_t e)
{
    switch (e) {
    case 1: T2D_TYPED(uint8_t, 32) break;
    case 2: T2D_TYPED(uint16_t, 32) break;
    case 4: T2D_TYPED(uint32_t, 16) break;
    case 8: T2D_TYPED(uint64_t, 8) break;
    default:
        for (int64_t a0 = 0; a0 < rows; a0 += 8) {
            const int64_t a1 = a0 + 8 < rows ? a0 + 8 : rows;
            for (int64_t b0 = 0; b0 < cols; b0 += 8) {
                const int64_t b1 = b0 + 8 < cols ? b0 + 8 : cols;
                for (int64_t a = a0; a < a1; a++)
                    for (int64_t b = b0; b < b1; b++)
                        copy_run(y + (size_t)(a * ys + b) * e, x + (size_t)(b * xs + a) * e, e);
            }
        }
        break;
    }
}

/* Blocks up to this size are transposed in tiles; longer ones are copied one
 * by one by the plain walk, which then moves whole cache lines anyway. */
#define TILE_MAX_BLOCK 32

void df_transpose_fast_with(const void *x, void *y, size_t elem, int rank,
                            const int64_t *in_dims, const int *perm, df_transpose2d_u32_fn t32)
{
    int64_t in_strides[DF_MAX_RANK];
    int64_t s = (int64_t)elem;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = s;
        s *= in_dims[d];
    }
    walk w = {.rank = rank, .elem = elem};
    for (int d = 0; d < rank; d++) {
        if (in_dims[d] == 0)
            return;
        w.dims[d] = in_dims[perm[d]];
        w.src[d] = in_strides[perm[d]];
    }
    simplify(&w);

    /* the dimension contiguous in the source: it exists whenever rank >= 1
     * after simplify, and is not the last one (that would have been folded) */
    int p = -1;
    for (int d = 0; d + 1 < w.rank; d++)
        if (w.src[d] == (int64_t)w.elem)
            p = d;
    if (p < 0 || w.elem > TILE_MAX_BLOCK) {
        copy_walk(x, y, &w);
        return;
    }

    /* output strides in blocks; the walk goes over the other dimensions */
    const int last = w.rank - 1;
    int64_t dst[DF_MAX_RANK];
    int64_t ds = 1;
    for (int d = last; d >= 0; d--) {
        dst[d] = ds;
        ds *= w.dims[d];
    }
    int64_t odims[DF_MAX_RANK], osrc[DF_MAX_RANK], odst[DF_MAX_RANK];
    int on = 0;
    for (int d = 0; d < last; d++) {
        if (d == p)
            continue;
        odims[on] = w.dims[d];
        osrc[on] = w.src[d];
        odst[on] = dst[d] * (int64_t)w.elem;
        on++;
    }
    const int64_t rows = w.dims[p], cols = w.dims[last];
    const int64_t xs = w.src[last] / (int64_t)w.elem, ys = dst[p];
    int64_t idx[DF_MAX_RANK] = {0};
    int64_t src_off = 0, dst_off = 0;
    for (;;) {
        const char *xi = (const char *)x + src_off;
        char *yi = (char *)y + dst_off;
        if (w.elem == 4 && t32)
            t32((const uint32_t *)(const void *)xi, xs, (uint32_t *)(void *)yi, ys, rows, cols);
        else
            transpose2d(xi, xs, yi, ys, rows, cols, w.elem);
        int d = on - 1;
        for (; d >= 0; d--) {
            src_off += osrc[d];
            dst_off += odst[d];
            if (++idx[d] < odims[d])
                break;
            src_off -= osrc[d] * odims[d];
            dst_off -= odst[d] * odims[d];
            idx[d] = 0;
        }
        if (d < 0)
            return;
    }
}

void df_transpose_fast(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                       const int *perm)
{
    df_transpose_fast_with(x, y, elem, rank, in_dims, perm, NULL);
}

void df_slice_fast(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                   const int64_t *starts, const int64_t *steps, const int64_t *out_dims)
{
    int64_t s = (int64_t)elem, base = 0;
    walk w = {.rank = rank, .elem = elem};
    for (int d = rank - 1; d >= 0; d--) {
        if (out_dims[d] == 0)
            return;
        w.dims[d] = out_dims[d];
        w.src[d] = steps[d] * s;
        base += starts[d] * s;
        s *= in_dims[d];
    }
    simplify(&w);
    copy_walk((const char *)x + base, y, &w);
}

/* Output-major, as the reference: every part is read as a steady stream and
 * every output line is written whole, in order. Going part by part instead,
 * even in L1-sized chunks of rows, measured 20-40% slower on DenseNet's
 * concats: the parts' streams restart at every chunk. What this adds to the
 * reference is inline copies for blocks too short to be worth a memcpy call. */
void df_concat_fast(int n_in, const void *const *x, const int64_t *sizes, void *y, size_t elem,
                    int64_t outer, int64_t inner)
{
    char *out = y;
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_in; i++) {
            const size_t block = (size_t)(sizes[i] * inner) * elem;
            if (block)
                copy_run(out, (const char *)x[i] + (size_t)o * block, block);
            out += block;
        }
    }
}

void df_split_fast(const void *x, int n_out, void *const *y, const int64_t *sizes, size_t elem,
                   int64_t outer, int64_t inner)
{
    const char *in = x;
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_out; i++) {
            const size_t block = (size_t)(sizes[i] * inner) * elem;
            if (block) /* a missing output (NULL) has no elements */
                copy_run((char *)y[i] + (size_t)o * block, in, block);
            in += block;
        }
    }
}
