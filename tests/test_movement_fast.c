/* The fast data-movement kernels (movement_fast.c, and the AVX2 transpose and
 * channel shuffle where the CPU has AVX2) against the references, byte for
 * byte, on random shapes: every permutation of ranks 1 to 4 and random ones of ranks 5 and 6,
 * odd sizes and sizes of 1, element sizes 1, 2, 3, 4, 8 and 12; slices with
 * negative steps; concat and split with empty parts. Buffers are exactly as
 * large as the data, so a sanitizer build catches any byte read or written
 * out of bounds. Prints "N passed, M failed". */
#define _POSIX_C_SOURCE 200112L /* setenv */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/movement_fast.h"
#include "kernels/x86/dense_movement_x86.h"

static int n_passed, n_failed;

static void report(int ok, const char *what)
{
    if (ok) {
        n_passed++;
        return;
    }
    if (++n_failed <= 30)
        printf("FAIL %s\n", what);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_u32() % (uint32_t)(hi - lo + 1)); }

static const size_t elems[] = {1, 2, 3, 4, 8, 12};
static size_t rnd_elem(void)
{
    /* mostly 4 (float), the size the AVX2 path serves */
    return rnd_int(0, 2) == 0 ? elems[rnd_int(0, 5)] : 4;
}

static void *rnd_bytes(size_t n)
{
    unsigned char *p = calloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rnd_u32();
    return p;
}

static int64_t numel(int rank, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= d[i];
    return n;
}

/* Random dims with at most about max_numel elements; some 1s and odd sizes. */
static void rnd_dims(int rank, int64_t *d, int64_t max_numel)
{
    for (int i = 0; i < rank; i++) {
        int r = rnd_int(0, 9);
        d[i] = r == 0 ? 1 : r < 6 ? rnd_int(2, 9) : rnd_int(10, 70);
    }
    while (numel(rank, d) > max_numel) {
        int i = rnd_int(0, rank - 1);
        d[i] = (d[i] + 1) / 2;
    }
}

static void fmt_dims(char *buf, size_t cap, const char *op, size_t elem, int rank,
                     const int64_t *d, const int *perm)
{
    int k = snprintf(buf, cap, "%s elem %zu dims", op, elem);
    for (int i = 0; i < rank && k < (int)cap; i++)
        k += snprintf(buf + k, cap - (size_t)k, " %lld", (long long)d[i]);
    if (perm)
        for (int i = 0; i < rank && k < (int)cap; i++)
            k += snprintf(buf + k, cap - (size_t)k, "%s%d", i ? "," : " perm ", perm[i]);
}

/* ---- transpose ------------------------------------------------------------ */

static void check_transpose(int rank, const int64_t *dims, const int *perm, size_t elem)
{
    const size_t bytes = (size_t)numel(rank, dims) * elem;
    void *x = rnd_bytes(bytes), *want = rnd_bytes(bytes), *got = malloc(bytes ? bytes : 1);
    char what[256];
    df_transpose_ref(x, want, elem, rank, dims, perm);

    fmt_dims(what, sizeof what, "transpose_fast", elem, rank, dims, perm);
    memset(got, 0xA5, bytes);
    df_transpose_fast(x, got, elem, rank, dims, perm);
    report(memcmp(got, want, bytes) == 0, what);

    const char *isa = df_kernel_isa();
    if (strcmp(isa, "avx2+fma") == 0 || strcmp(isa, "avx512") == 0) {
        fmt_dims(what, sizeof what, "transpose_avx2", elem, rank, dims, perm);
        memset(got, 0x5A, bytes);
        df_transpose_avx2(x, got, elem, rank, dims, perm);
        report(memcmp(got, want, bytes) == 0, what);
    }
    free(x);
    free(want);
    free(got);
}

/* Every permutation of 0..rank-1 (Heap's algorithm), each on fresh dims. */
static void all_perms(int rank, int *perm, int k, int64_t max_numel)
{
    if (k == 1) {
        int64_t dims[DF_MAX_RANK];
        for (int t = 0; t < 3; t++) {
            rnd_dims(rank, dims, max_numel);
            check_transpose(rank, dims, perm, rnd_elem());
        }
        return;
    }
    for (int i = 0; i < k; i++) {
        all_perms(rank, perm, k - 1, max_numel);
        int j = k % 2 ? 0 : i;
        int t = perm[j];
        perm[j] = perm[k - 1];
        perm[k - 1] = t;
    }
}

static void test_transpose(void)
{
    int perm[DF_MAX_RANK];
    for (int rank = 1; rank <= 4; rank++) {
        for (int i = 0; i < rank; i++)
            perm[i] = i;
        for (int rep = 0; rep < 4; rep++)
            all_perms(rank, perm, rank, 60000);
    }
    for (int t = 0; t < 300; t++) { /* random permutations of ranks 5 and 6 */
        const int rank = rnd_int(5, 6);
        for (int i = 0; i < rank; i++)
            perm[i] = i;
        for (int i = rank - 1; i > 0; i--) {
            int j = rnd_int(0, i), v = perm[i];
            perm[i] = perm[j];
            perm[j] = v;
        }
        int64_t dims[DF_MAX_RANK];
        rnd_dims(rank, dims, 60000);
        check_transpose(rank, dims, perm, rnd_elem());
    }
    /* the shapes of real models: NCHW <-> NHWC, and ShuffleNet's channel shuffle */
    static const struct { int rank; int64_t d[5]; int p[5]; } fixed[] = {
        {4, {1, 3, 224, 224}, {0, 2, 3, 1}},   {4, {1, 56, 56, 128}, {0, 3, 1, 2}},
        {4, {2, 116, 28, 28}, {0, 2, 3, 1}},   {4, {1, 7, 7, 1024}, {0, 3, 1, 2}},
        {5, {1, 2, 58, 28, 28}, {0, 2, 1, 3, 4}}, {4, {3, 17, 19, 5}, {0, 3, 1, 2}},
        {0, {0}, {0}},                         {3, {4, 0, 5}, {2, 0, 1}},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        for (size_t e = 0; e < sizeof elems / sizeof elems[0]; e++)
            check_transpose(fixed[i].rank, fixed[i].d, fixed[i].p, elems[e]);
}

/* ---- channel shuffle ------------------------------------------------------ */

typedef void (*shuffle_fn)(const float *const *, int64_t, float *, int64_t, int64_t, int64_t);

/* The reference against the definition, and fn against the reference, on one
 * input holding every group or (separate = 1) one input per group. */
static void check_shuffle(const char *name, shuffle_fn fn, int64_t n, int64_t groups,
                          int64_t per_group, int separate)
{
    const size_t count = (size_t)(n * groups * per_group), bytes = count * sizeof(float);
    float *x = rnd_bytes(bytes), *want = malloc(bytes ? bytes : 1), *got = malloc(bytes ? bytes : 1);
    float *parts[8];
    const float *ptr[8];
    if (!want || !got)
        abort();
    for (int64_t j = 0; j < groups; j++) {
        parts[j] = malloc((size_t)(n * per_group) * sizeof(float) + 1);
        if (!parts[j])
            abort();
        for (int64_t p = 0; p < n; p++)
            memcpy(parts[j] + p * per_group, x + (p * groups + j) * per_group,
                   (size_t)per_group * sizeof(float));
        ptr[j] = separate ? parts[j] : x + j * per_group;
    }
    const int64_t stride = separate ? per_group : groups * per_group;
    int defined = 1; /* y[p][i * groups + j] = group j's channel i of pixel p */
    df_shuffle_ref(ptr, stride, want, n, groups, per_group);
    for (int64_t p = 0; p < n; p++)
        for (int64_t i = 0; i < per_group; i++)
            for (int64_t j = 0; j < groups; j++)
                defined &= memcmp(&want[(p * per_group + i) * groups + j],
                                  &x[(p * groups + j) * per_group + i], sizeof(float)) == 0;
    memset(got, 0xA5, bytes);
    fn(ptr, stride, got, n, groups, per_group);
    char what[160];
    snprintf(what, sizeof what, "%s of %lld pixels, %lld groups of %lld channels, %s", name,
             (long long)n, (long long)groups, (long long)per_group,
             separate ? "one input per group" : "one input");
    report(defined && memcmp(got, want, bytes) == 0, what);
    for (int64_t j = 0; j < groups; j++)
        free(parts[j]);
    free(x);
    free(want);
    free(got);
}

/* Every version against the reference: ShuffleNetV2's two groups (its 58,
 * 116 and 232 channels per group), other group counts, one pixel, one
 * channel per group, odd counts that leave a tail of 1 to 7 lanes; groups in
 * one input and (the Concat folded in) each in its own. */
static void test_shuffle(void)
{
    const int x86 = strcmp(df_kernel_isa(), "avx2+fma") == 0 || strcmp(df_kernel_isa(), "avx512") == 0;
    for (int t = 0; t < 200; t++) {
        const int64_t n = rnd_int(1, 40), groups = t % 3 ? 2 : rnd_int(1, 6);
        const int64_t per_group = t < 6 ? 58 * (1 << (t % 3)) : rnd_int(1, 70);
        const int separate = t % 2;
        check_shuffle("shuffle_ref", df_shuffle_ref, n, groups, per_group, separate);
        if (x86)
            check_shuffle("shuffle_avx2", df_shuffle_avx2, n, groups, per_group, separate);
    }
}

/* ---- slice ---------------------------------------------------------------- */

static void test_slice(void)
{
    for (int t = 0; t < 3000; t++) {
        const int rank = rnd_int(0, 6);
        const size_t elem = rnd_elem();
        int64_t in[DF_MAX_RANK], starts[DF_MAX_RANK], steps[DF_MAX_RANK], out[DF_MAX_RANK];
        rnd_dims(rank, in, 40000);
        for (int d = 0; d < rank; d++) {
            const int64_t n = in[d];
            const int kind = rnd_int(0, 5);
            if (kind <= 1) { /* whole axis */
                starts[d] = 0;
                steps[d] = 1;
                out[d] = n;
                continue;
            }
            int64_t step = rnd_int(1, 3);
            if (kind == 5)
                step = -step;
            const int64_t start = rnd_int(0, (int)n - 1);
            int64_t count;
            if (step > 0) {
                const int64_t end = rnd_int((int)start, (int)n); /* may be empty */
                count = (end - start + step - 1) / step;
            } else {
                const int64_t end = rnd_int(-1, (int)start);
                count = (start - end + (-step) - 1) / (-step);
            }
            starts[d] = start;
            steps[d] = step;
            out[d] = count;
        }
        const size_t in_bytes = (size_t)numel(rank, in) * elem;
        const size_t out_bytes = (size_t)numel(rank, out) * elem;
        void *x = rnd_bytes(in_bytes), *want = rnd_bytes(out_bytes);
        void *got = malloc(out_bytes ? out_bytes : 1);
        memcpy(got, want, out_bytes);
        df_slice_ref(x, want, elem, rank, in, starts, steps, out);
        df_slice_fast(x, got, elem, rank, in, starts, steps, out);
        char what[256];
        fmt_dims(what, sizeof what, "slice_fast", elem, rank, in, NULL);
        report(memcmp(got, want, out_bytes) == 0, what);
        free(x);
        free(want);
        free(got);
    }
}

/* ---- concat and split ----------------------------------------------------- */

static void test_concat_split(void)
{
    for (int t = 0; t < 1500; t++) {
        const int parts = rnd_int(1, 30);
        const size_t elem = rnd_elem();
        const int64_t outer = rnd_int(0, 9) == 0 ? 1 : rnd_int(1, 60);
        const int64_t inner = rnd_int(0, 2) == 0 ? 1 : rnd_int(1, 20);
        int64_t sizes[30], total = 0;
        void *x[30], *back_ref[30], *back_fast[30];
        for (int i = 0; i < parts; i++) {
            sizes[i] = rnd_int(0, 7) == 0 ? 0 : rnd_int(1, 70);
            total += sizes[i];
        }
        size_t part_bytes[30];
        for (int i = 0; i < parts; i++) {
            part_bytes[i] = (size_t)(outer * sizes[i] * inner) * elem;
            x[i] = rnd_bytes(part_bytes[i]);
            back_ref[i] = rnd_bytes(part_bytes[i]);
            back_fast[i] = malloc(part_bytes[i] ? part_bytes[i] : 1);
            memcpy(back_fast[i], back_ref[i], part_bytes[i]);
        }
        const size_t bytes = (size_t)(outer * total * inner) * elem;
        void *want = rnd_bytes(bytes), *got = malloc(bytes ? bytes : 1);
        memcpy(got, want, bytes);
        df_concat_ref(parts, (const void *const *)x, sizes, want, elem, outer, inner);
        df_concat_fast(parts, (const void *const *)x, sizes, got, elem, outer, inner);
        char what[128];
        snprintf(what, sizeof what, "concat_fast parts %d elem %zu outer %lld inner %lld", parts,
                 elem, (long long)outer, (long long)inner);
        report(memcmp(got, want, bytes) == 0, what);

        df_split_ref(want, parts, back_ref, sizes, elem, outer, inner);
        df_split_fast(want, parts, back_fast, sizes, elem, outer, inner);
        int ok = 1;
        for (int i = 0; i < parts; i++)
            ok &= memcmp(back_ref[i], back_fast[i], part_bytes[i]) == 0 &&
                  memcmp(back_fast[i], x[i], part_bytes[i]) == 0;
        snprintf(what, sizeof what, "split_fast parts %d elem %zu outer %lld inner %lld", parts,
                 elem, (long long)outer, (long long)inner);
        report(ok, what);
        for (int i = 0; i < parts; i++) {
            free(x[i]);
            free(back_ref[i]);
            free(back_fast[i]);
        }
        free(want);
        free(got);
    }
}

/* DF_KERNELS=reference gives the references; otherwise the fast kernels. */
static void test_table(void)
{
    const df_kernel_table *fast = df_kernel_table_select();
    report(fast->slice == df_slice_fast && fast->concat == df_concat_fast &&
               (fast->shuffle == df_shuffle_ref || fast->shuffle == df_shuffle_avx2) &&
               fast->split == df_split_fast,
           "kernel table: fast movement kernels selected");
    const char *old = getenv("DF_KERNELS");
    char saved[64] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    setenv("DF_KERNELS", "reference", 1);
    const df_kernel_table *ref = df_kernel_table_select();
    report(ref->transpose == df_transpose_ref && ref->shuffle == df_shuffle_ref &&
               ref->slice == df_slice_ref &&
               ref->concat == df_concat_ref && ref->split == df_split_ref &&
               ref->gemm == df_gemm_ref && ref->global_pool == df_global_pool_ref,
           "kernel table: DF_KERNELS=reference selects the references");
    if (old)
        setenv("DF_KERNELS", saved, 1);
    else
        unsetenv("DF_KERNELS");
}

/* The input image's NCHW-to-NHWC rows, row by row in a random order, against
 * the reference Transpose with perm 0,2,3,1 (rows start at a random one). */
static void test_image_rows(void)
{
    static const int perm[4] = {0, 2, 3, 1};
    for (int trial = 0; trial < 60; trial++) {
        const int64_t d[4] = {rnd_int(1, 3), rnd_int(1, 9), rnd_int(1, 40), rnd_int(1, 70)};
        const size_t n = (size_t)numel(4, d), image = (size_t)(d[1] * d[2] * d[3]);
        float *x = rnd_bytes(n * sizeof(float)), *want = malloc(n * sizeof(float));
        float *got = malloc(n * sizeof(float));
        if (!x || !want || !got)
            abort();
        df_transpose_ref(x, want, sizeof(float), 4, d, perm);
        memset(got, 0xff, n * sizeof(float));
        const int64_t rows = d[0] * d[2], first = rnd_int(0, (int)rows - 1);
        for (int64_t k = 0; k < rows; k++) {
            const int64_t row = (first + k) % rows, b = row / d[2], r = row % d[2];
            df_nchw_row_to_nhwc(x + (size_t)b * image, d[1], d[2], d[3], r,
                                got + (size_t)row * (size_t)(d[3] * d[1]));
        }
        char what[160];
        fmt_dims(what, sizeof what, "nchw_row_to_nhwc", sizeof(float), 4, d, NULL);
        report(memcmp(got, want, n * sizeof(float)) == 0, what);
        free(x);
        free(want);
        free(got);
    }
}

int main(void)
{
    const char *force = getenv("DF_KERNELS");
    if (!force || strcmp(force, "reference") != 0)
        test_table();
    test_transpose();
    test_shuffle();
    test_slice();
    test_concat_split();
    test_image_rows();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
