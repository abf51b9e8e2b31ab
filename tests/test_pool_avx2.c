/* The AVX2 pooling kernel against the reference on random shapes: channels
 * around the vector and block widths, widths 1..40, kernels 1..5, strides,
 * dilations, asymmetric pads (up to windows wholly in padding), ceil-mode
 * sized outputs, count_include_pad both ways, bands of one row and whole
 * images. Every row is its own allocation, so ASan sees any overrun. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/x86/pool_avx2.h"

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
        r[i] = malloc(len * sizeof(float));
    return r;
}

static void rows_free(float **r, int h)
{
    for (int i = 0; i < h; i++)
        free(r[i]);
    free(r);
}

int main(void)
{
    const char *isa = df_kernel_isa();
    if (strcmp(isa, "avx2+fma") != 0 && strcmp(isa, "avx512") != 0) {
        printf("skipped: no AVX2 on this CPU (or DF_KERNELS=reference)\n0 passed, 0 failed\n");
        return 0;
    }
    static const int channels[] = {1, 3, 7, 8, 9, 16, 31, 32, 33, 37, 53, 64, 96};
    int passed = 0, failed = 0;
    for (int trial = 0; trial < 600; trial++) {
        df_pool_params p;
        memset(&p, 0, sizeof p);
        p.c = channels[next_u32() % (sizeof channels / sizeof channels[0])];
        p.in_h = rnd(1, 20);
        p.in_w = trial % 10 == 0 ? rnd(100, 200) : rnd(1, 40);
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
        int span_h = p.in_h + p.pad_top + p.pad_bottom - ((p.k_h - 1) * p.dil_h + 1);
        int span_w = p.in_w + p.pad_left + p.pad_right - ((p.k_w - 1) * p.dil_w + 1);
        if (span_h < 0 || span_w < 0)
            continue;
        p.out_h = (span_h + (ceil_mode ? p.stride_h - 1 : 0)) / p.stride_h + 1;
        p.out_w = (span_w + (ceil_mode ? p.stride_w - 1 : 0)) / p.stride_w + 1;
        size_t in_len = (size_t)p.in_w * p.c, out_len = (size_t)p.out_w * p.c;
        float **in = rows_new(p.in_h, in_len), **want = rows_new(p.out_h, out_len);
        float **got = rows_new(p.out_h, out_len);
        for (int r = 0; r < p.in_h; r++)
            for (size_t i = 0; i < in_len; i++)
                in[r][i] = (float)((int)(next_u32() % 2001) - 1000) / 100.0f;
        df_pool_rows_ref(&p, (const float *const *)in, want, 0, p.out_h);
        /* as bands: one row, or the whole image, or random bands */
        int mode = rnd(0, 2);
        for (int y = 0; y < p.out_h;) {
            int band = mode == 0 ? 1 : mode == 1 ? p.out_h : rnd(1, 4);
            int y1 = y + band < p.out_h ? y + band : p.out_h;
            df_pool_rows_avx2(&p, (const float *const *)in, got, y, y1);
            y = y1;
        }
        int ok = 1;
        for (int y = 0; y < p.out_h && ok; y++)
            for (size_t i = 0; i < out_len && ok; i++) {
                double tol = 1e-6 * fabs((double)want[y][i]) + 1e-6;
                if (!(fabs((double)got[y][i] - (double)want[y][i]) <= tol)) {
                    printf("FAIL trial %d %s c=%d in %dx%d k %dx%d s %d,%d d %d,%d pads %d %d %d %d "
                           "incl %d: y %d i %zu got %.9g want %.9g\n",
                           trial, p.is_max ? "max" : "avg", p.c, p.in_h, p.in_w, p.k_h, p.k_w,
                           p.stride_h, p.stride_w, p.dil_h, p.dil_w, p.pad_top, p.pad_left,
                           p.pad_bottom, p.pad_right, p.count_include_pad, y, i, got[y][i],
                           want[y][i]);
                    ok = 0;
                }
            }
        ok ? passed++ : failed++;
        rows_free(in, p.in_h);
        rows_free(want, p.out_h);
        rows_free(got, p.out_h);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
