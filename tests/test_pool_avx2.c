/* The x86 pooling kernels against the reference: the AVX2 kernel when
 * df_kernel_isa() is "avx2+fma" or "avx512", and the AVX-512 kernel as well
 * when it is "avx512" (so DF_KERNELS=avx2 tests the AVX2 kernel alone).
 *
 * Random shapes: channels 1..70 and counts around the vector and block
 * widths (16 and 64 for AVX-512, 8 and 32 for AVX2) up to 256, widths 1..60
 * and some up to 200, kernels 1..5, strides 1..3, dilations, asymmetric pads
 * (up to windows wholly in padding), ceil-mode sized outputs,
 * count_include_pad both ways, some inputs with NaN and infinities. Fixed
 * cases: real network shapes (GoogLeNet, ResNet) and edge cases. Each case
 * runs as bands of one row, the whole image, random bands, or one band whose
 * neighbouring rows must stay untouched.
 *
 * Results match within 1e-6 relative + 1e-6 absolute (the fast kernels
 * multiply by 1 / count where the reference divides), or are equal, or are
 * both NaN. Outputs start as a value no pooling here produces, so a pixel a
 * kernel forgets fails. Every row is its own allocation of exactly one row,
 * so ASan sees any overrun.
 *
 * Prints "N passed, M failed" (one per case and kernel); exits 1 on any
 * failure, 0 (with a message) when there is no AVX2. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/x86/pool_avx2.h"

#define UNTOUCHED 12345.0f /* what outputs start as */

typedef void (*pool_fn)(const df_pool_params *p, const float *const *in_rows,
                        float *const *out_rows, int y0, int y1);

typedef struct kernel {
    const char *name;
    pool_fn fn;
} kernel;

static uint32_t state = 88172645u;
static uint32_t next_u32(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}
static int rnd(int lo, int hi) { return lo + (int)(next_u32() % (uint32_t)(hi - lo + 1)); }

static float **rows_new(int h, size_t len)
{
    float **r = calloc((size_t)h, sizeof *r);
    for (int i = 0; i < h; i++)
        r[i] = malloc(len * sizeof(float) + 1); /* +1: never a zero-byte malloc */
    return r;
}

static void rows_free(float **r, int h)
{
    for (int i = 0; i < h; i++)
        free(r[i]);
    free(r);
}

static int n_passed, n_failed;

static int same(float got, float want)
{
    if (got == want || (isnan(got) && isnan(want)))
        return 1;
    double tol = 1e-6 * fabs((double)want) + 1e-6;
    return fabs((double)got - (double)want) <= tol;
}

/* Runs every kernel on p (out_h and out_w set) with inputs in [-10, 10]
 * (with `specials`, about 3% of them NaN or +-inf) and band mode `mode`
 * (0: rows one by one, 1: the whole image, 2: random bands, 3: one random
 * band), and compares with the reference. */
static void run_case(const char *what, const df_pool_params *p, int specials, int mode,
                     const kernel *kernels, int n_kernels)
{
    size_t in_len = (size_t)p->in_w * p->c, out_len = (size_t)p->out_w * p->c;
    float **in = rows_new(p->in_h, in_len), **want = rows_new(p->out_h, out_len);
    float **got = rows_new(p->out_h, out_len);
    for (int r = 0; r < p->in_h; r++)
        for (size_t i = 0; i < in_len; i++) {
            in[r][i] = (float)((int)(next_u32() % 2001) - 1000) / 100.0f;
            if (specials && next_u32() % 32 == 0) {
                static const float special[] = {NAN, INFINITY, -INFINITY};
                in[r][i] = special[next_u32() % 3];
            }
        }
    df_pool_rows_ref(p, (const float *const *)in, want, 0, p->out_h);

    /* the bands, as [y0, y1) pairs, the same for every kernel */
    int *bands = malloc(2 * (size_t)p->out_h * sizeof *bands), n_bands = 0;
    if (mode == 3) {
        int a = rnd(0, p->out_h - 1), b = rnd(a + 1, p->out_h);
        bands[n_bands++] = a;
        bands[n_bands++] = b;
    } else {
        for (int y = 0; y < p->out_h;) {
            int band = mode == 0 ? 1 : mode == 1 ? p->out_h : rnd(1, 4);
            int y1 = y + band < p->out_h ? y + band : p->out_h;
            bands[n_bands++] = y;
            bands[n_bands++] = y1;
            y = y1;
        }
    }

    for (int k = 0; k < n_kernels; k++) {
        for (int y = 0; y < p->out_h; y++)
            for (size_t i = 0; i < out_len; i++)
                got[y][i] = UNTOUCHED;
        for (int b = 0; b < n_bands; b += 2)
            kernels[k].fn(p, (const float *const *)in, got, bands[b], bands[b + 1]);
        int ok = 1;
        for (int y = 0; y < p->out_h && ok; y++) {
            int inside = 0;
            for (int b = 0; b < n_bands; b += 2)
                inside |= y >= bands[b] && y < bands[b + 1];
            for (size_t i = 0; i < out_len && ok; i++) {
                float expect = inside ? want[y][i] : UNTOUCHED;
                if (!same(got[y][i], expect)) {
                    printf("FAIL %s %s %s c=%d in %dx%d k %dx%d s %d,%d d %d,%d pads %d %d %d %d "
                           "incl %d out %dx%d mode %d: y %d i %zu got %.9g want %.9g\n",
                           kernels[k].name, what, p->is_max ? "max" : "avg", p->c, p->in_h,
                           p->in_w, p->k_h, p->k_w, p->stride_h, p->stride_w, p->dil_h,
                           p->dil_w, p->pad_top, p->pad_left, p->pad_bottom, p->pad_right,
                           p->count_include_pad, p->out_h, p->out_w, mode, y, i, got[y][i],
                           expect);
                    ok = 0;
                }
            }
        }
        ok ? n_passed++ : n_failed++;
    }
    free(bands);
    rows_free(in, p->in_h);
    rows_free(want, p->out_h);
    rows_free(got, p->out_h);
}

/* Output size with floor or ceil rounding (ceil_mode; a last window that
 * starts in the bottom/right padding is kept); 0 when no window fits. */
static int out_size(int in, int pad_lo, int pad_hi, int k, int dil, int stride, int ceil_mode)
{
    int span = in + pad_lo + pad_hi - ((k - 1) * dil + 1);
    if (span < 0)
        return 0;
    return (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
}

/* A fixed shape with square kernel k, stride s, pad on every side, run as
 * max and as average both ways, in bands of one row and as the whole image. */
static void fixed(const char *what, int h, int w, int c, int k, int s, int pad, int dil,
                  int ceil_mode, const kernel *kernels, int n_kernels)
{
    for (int variant = 0; variant < 3; variant++)
        for (int mode = 0; mode < 2; mode++) {
            df_pool_params p;
            memset(&p, 0, sizeof p);
            p.in_h = h;
            p.in_w = w;
            p.c = c;
            p.k_h = p.k_w = k;
            p.stride_h = p.stride_w = s;
            p.dil_h = p.dil_w = dil;
            p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
            p.is_max = variant == 0;
            p.count_include_pad = variant == 2;
            p.out_h = out_size(h, pad, pad, k, dil, s, ceil_mode);
            p.out_w = out_size(w, pad, pad, k, dil, s, ceil_mode);
            run_case(what, &p, 0, mode, kernels, n_kernels);
        }
}

int main(void)
{
    const char *isa = df_kernel_isa();
    kernel kernels[2];
    int n_kernels = 0;
    if (strcmp(isa, "avx2+fma") == 0 || strcmp(isa, "avx512") == 0)
        kernels[n_kernels++] = (kernel){"avx2", df_pool_rows_avx2};
    if (strcmp(isa, "avx512") == 0)
        kernels[n_kernels++] = (kernel){"avx512", df_pool_rows_avx512};
    if (n_kernels == 0) {
        printf("skipped: no AVX2 on this CPU (or DF_KERNELS=reference)\n0 passed, 0 failed\n");
        return 0;
    }
    printf("kernels:%s%s\n", kernels[0].name, n_kernels > 1 ? " avx512" : "");

    /* GoogLeNet's pools (ceil mode), ResNet's stem, a global-sized average */
    fixed("googlenet-3a", 28, 28, 192, 3, 1, 1, 1, 0, kernels, n_kernels);
    fixed("googlenet-4a", 14, 14, 480, 3, 1, 1, 1, 0, kernels, n_kernels);
    fixed("googlenet-pool2", 56, 56, 192, 3, 2, 0, 1, 1, kernels, n_kernels);
    fixed("googlenet-pool1", 112, 112, 64, 3, 2, 0, 1, 1, kernels, n_kernels);
    fixed("resnet-stem", 112, 112, 64, 3, 2, 1, 1, 0, kernels, n_kernels);
    fixed("global-7x7", 7, 7, 1024, 7, 1, 0, 1, 0, kernels, n_kernels);
    /* windows wholly in padding; 1x1 subsampling; dilated; tiny channel counts */
    fixed("pad-beyond-kernel", 5, 6, 37, 2, 1, 3, 1, 0, kernels, n_kernels);
    fixed("1x1-stride2", 9, 11, 53, 1, 2, 0, 1, 0, kernels, n_kernels);
    fixed("dilated", 13, 17, 70, 3, 2, 2, 2, 1, kernels, n_kernels);
    fixed("one-channel", 8, 60, 1, 5, 3, 2, 1, 1, kernels, n_kernels);
    fixed("one-pixel", 1, 1, 256, 3, 1, 1, 1, 0, kernels, n_kernels);

    static const int channels[] = {16, 17, 31, 32, 33, 37, 47, 48, 49, 53, 63, 64, 65,
                                   80, 96, 112, 127, 128, 129, 192, 255, 256};
    for (int trial = 0; trial < 1200; trial++) {
        df_pool_params p;
        memset(&p, 0, sizeof p);
        p.c = trial % 2 ? rnd(1, 70) : channels[next_u32() % (sizeof channels / sizeof channels[0])];
        p.in_h = rnd(1, 20);
        p.in_w = trial % 10 == 0 ? rnd(100, 200) : rnd(1, 60);
        p.k_h = rnd(1, 5);
        p.k_w = rnd(1, 5);
        p.stride_h = rnd(1, 3);
        p.stride_w = rnd(1, 3);
        p.dil_h = rnd(1, 2);
        p.dil_w = rnd(1, 2);
        p.pad_top = rnd(0, 3);
        p.pad_left = rnd(0, 3);
        p.pad_bottom = rnd(0, 3);
        p.pad_right = rnd(0, 3);
        p.is_max = rnd(0, 1);
        p.count_include_pad = rnd(0, 1);
        int ceil_mode = rnd(0, 1);
        p.out_h = out_size(p.in_h, p.pad_top, p.pad_bottom, p.k_h, p.dil_h, p.stride_h, ceil_mode);
        p.out_w = out_size(p.in_w, p.pad_left, p.pad_right, p.k_w, p.dil_w, p.stride_w, ceil_mode);
        if (p.out_h == 0 || p.out_w == 0)
            continue;
        run_case("random", &p, trial % 8 == 0, rnd(0, 3), kernels, n_kernels);
    }
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
