/* Micro-benchmark: the convolution kernels df_conv_select picks at each
 * instruction-set level the CPU has (AVX2/FMA, forced with DF_KERNELS=avx2,
 * and AVX-512) against the reference, on layer shapes of ResNet-50 and
 * MobileNetV2, one thread.
 *
 * For each layer and level it times the whole image as one band (input and
 * output tensors come from L2/L3 or memory) and a band of 4 output rows run
 * again and again over the same rows (inputs and outputs hot in cache, as in
 * depth-first execution), and prints GFLOP/s, the share of that level's
 * single-core FMA peak and, for AVX-512, the speed-up over AVX2 (whole image).
 * Each peak is measured first with a loop of independent FMAs (it follows the
 * clock the core really runs at, turbo included), unless given.
 *
 * usage: conv_bench [AVX2 peak GFLOP/s per core [AVX-512 peak]]
 *        (nominal at 3.15 GHz: 2 FMA x 8 lanes x 2 = 100.8, and 201.6 with 16 lanes) */
#define _POSIX_C_SOURCE 200112L /* clock_gettime, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cpuinfo.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

typedef struct layer {
    const char *name;
    int in_c, out_c, in_hw, k, stride, pad, groups;
} layer;

static const layer layers[] = {
    {"resnet50 1x1 256->64 56x56", 256, 64, 56, 1, 1, 0, 1},
    {"resnet50 3x3 64->64 56x56", 64, 64, 56, 3, 1, 1, 1},
    {"resnet50 1x1 64->256 56x56", 64, 256, 56, 1, 1, 0, 1},
    {"resnet50 3x3 512->512 7x7", 512, 512, 7, 3, 1, 1, 1},
    {"resnet50 7x7/2 3->64 224x224", 3, 64, 224, 7, 2, 3, 1},
    {"squeezenet 3x3 16->64 55x55", 16, 64, 55, 3, 1, 1, 1},
    {"mobilenetv2 dw 3x3 32 112x112", 32, 32, 112, 3, 1, 1, 32},
    {"mobilenetv2 dw 3x3/2 96 112x112", 96, 96, 112, 3, 2, 1, 96},
    {"mobilenetv2 dw 3x3 144 56x56", 144, 144, 56, 3, 1, 1, 144},
    {"mobilenetv2 dw 3x3/2 144 56x56", 144, 144, 56, 3, 2, 1, 144},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per call of fn over rows [y0, y1): the best of several timed batches. */
static double time_rows(df_conv_rows_fn fn, const df_conv_params *p, const float *const *in,
                        float *const *out, int y0, int y1, double budget)
{
    fn(p, in, out, NULL, y0, y1); /* warm up: caches, page faults */
    double best = 1e30, spent = 0.0;
    int reps = 1;
    while (spent < budget) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            fn(p, in, out, NULL, y0, y1);
        double dt = now() - t0;
        spent += dt;
        if (dt / reps < best)
            best = dt / reps;
        if (dt < 0.02)
            reps *= 2;
    }
    return best;
}

#if defined(__x86_64__)
/* FMA throughput of one core: 12 independent chains cover the FMA latency
 * (4 cycles) on both FMA pipes, so the loop runs at the peak. */
__attribute__((target("avx2,fma"))) static double measure_peak(void)
{
    /* named variables, not an array, so that all 12 chains stay in registers */
    __m256 c0 = _mm256_set1_ps(0.0f), c1 = _mm256_set1_ps(1.0f), c2 = _mm256_set1_ps(2.0f);
    __m256 c3 = _mm256_set1_ps(3.0f), c4 = _mm256_set1_ps(4.0f), c5 = _mm256_set1_ps(5.0f);
    __m256 c6 = _mm256_set1_ps(6.0f), c7 = _mm256_set1_ps(7.0f), c8 = _mm256_set1_ps(8.0f);
    __m256 c9 = _mm256_set1_ps(9.0f), c10 = _mm256_set1_ps(10.0f), c11 = _mm256_set1_ps(11.0f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    const long iters = 20000000;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (long n = 0; n < iters; n++) {
            c0 = _mm256_fmadd_ps(c0, a, b);
            c1 = _mm256_fmadd_ps(c1, a, b);
            c2 = _mm256_fmadd_ps(c2, a, b);
            c3 = _mm256_fmadd_ps(c3, a, b);
            c4 = _mm256_fmadd_ps(c4, a, b);
            c5 = _mm256_fmadd_ps(c5, a, b);
            c6 = _mm256_fmadd_ps(c6, a, b);
            c7 = _mm256_fmadd_ps(c7, a, b);
            c8 = _mm256_fmadd_ps(c8, a, b);
            c9 = _mm256_fmadd_ps(c9, a, b);
            c10 = _mm256_fmadd_ps(c10, a, b);
            c11 = _mm256_fmadd_ps(c11, a, b);
        }
        double g = (double)iters * 12 * 16 / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    /* use every chain, so none is optimised away */
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                               _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float sink[8];
    _mm256_storeu_ps(sink, sum);
    return sink[0] == 12345.0f ? best + 1e-9 : best;
}

/* The same on zmm registers: 16 lanes per FMA. */
__attribute__((target("avx512f"))) static double measure_peak_avx512(void)
{
    __m512 c0 = _mm512_set1_ps(0.0f), c1 = _mm512_set1_ps(1.0f), c2 = _mm512_set1_ps(2.0f);
    __m512 c3 = _mm512_set1_ps(3.0f), c4 = _mm512_set1_ps(4.0f), c5 = _mm512_set1_ps(5.0f);
    __m512 c6 = _mm512_set1_ps(6.0f), c7 = _mm512_set1_ps(7.0f), c8 = _mm512_set1_ps(8.0f);
    __m512 c9 = _mm512_set1_ps(9.0f), c10 = _mm512_set1_ps(10.0f), c11 = _mm512_set1_ps(11.0f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    const long iters = 20000000;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (long n = 0; n < iters; n++) {
            c0 = _mm512_fmadd_ps(c0, a, b);
            c1 = _mm512_fmadd_ps(c1, a, b);
            c2 = _mm512_fmadd_ps(c2, a, b);
            c3 = _mm512_fmadd_ps(c3, a, b);
            c4 = _mm512_fmadd_ps(c4, a, b);
            c5 = _mm512_fmadd_ps(c5, a, b);
            c6 = _mm512_fmadd_ps(c6, a, b);
            c7 = _mm512_fmadd_ps(c7, a, b);
            c8 = _mm512_fmadd_ps(c8, a, b);
            c9 = _mm512_fmadd_ps(c9, a, b);
            c10 = _mm512_fmadd_ps(c10, a, b);
            c11 = _mm512_fmadd_ps(c11, a, b);
        }
        double g = (double)iters * 12 * 32 / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                               _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    sum = _mm512_add_ps(sum, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    float sink[16];
    _mm512_storeu_ps(sink, sum);
    return sink[0] == 12345.0f ? best + 1e-9 : best;
}
#endif

/* The instruction-set levels to time: DF_KERNELS values, names, peaks. */
typedef struct level {
    const char *force; /* DF_KERNELS value, or NULL for the default (best) choice */
    const char *isa;   /* what df_kernel_isa() must then say */
    double peak;
} level;

/* Times fn (selected at one level) on layer l; GFLOP/s for the image and a 4-row band. */
static int time_level(const layer *l, df_conv_params *p, const float *const *in_rows,
                      float *const *out_rows, double flops, double *g_img, double *g_band)
{
    df_conv_rows_fn fn;
    void *packed;
    if (df_conv_select(p, &fn, &packed) != DF_OK) {
        fprintf(stderr, "%s: kernel selection failed\n", l->name);
        return 0;
    }
    const double t_img = time_rows(fn, p, in_rows, out_rows, 0, p->out_h, 0.5);
    const int mid = p->out_h / 2, y1 = mid + 4 < p->out_h ? mid + 4 : p->out_h;
    const double t_band = time_rows(fn, p, in_rows, out_rows, mid, y1, 0.3);
    *g_img = flops / t_img * 1e-9;
    *g_band = flops * (y1 - mid) / p->out_h / t_band * 1e-9;
    df_conv_release(packed);
    p->packed = NULL;
    return 1;
}

int main(int argc, char **argv)
{
    level levels[2];
    int n_levels = 0;
    const char *saved = getenv("DF_KERNELS");
    if (saved && strcmp(saved, "reference") == 0) {
        fprintf(stderr, "DF_KERNELS=reference: no fast kernels to time\n");
        return 1;
    }
    setenv("DF_KERNELS", "avx2", 1);
    if (strcmp(df_kernel_isa(), "avx2+fma") == 0)
        levels[n_levels++] = (level){"avx2", "avx2+fma", 100.8};
    unsetenv("DF_KERNELS");
    if (strcmp(df_kernel_isa(), "avx512") == 0 && !(saved && strcmp(saved, "avx2") == 0))
        levels[n_levels++] = (level){NULL, "avx512", 201.6};
    if (n_levels == 0) {
        fprintf(stderr, "this CPU has no fast kernels to time\n");
        return 1;
    }
    for (int i = 0; i < n_levels; i++) {
        if (argc > 1 + i) {
            levels[i].peak = atof(argv[1 + i]);
            continue;
        }
#if defined(__x86_64__)
        levels[i].peak = strcmp(levels[i].isa, "avx512") == 0 ? measure_peak_avx512()
                                                              : measure_peak();
#endif
    }
    for (int i = 0; i < n_levels; i++)
        printf("kernels %s: peak %.1f GFLOP/s per core (%s)\n", levels[i].isa, levels[i].peak,
               argc > 1 + i ? "given" : "measured");
    printf("%-32s %7s %8s %-9s %9s %7s %9s %7s %8s\n", "layer", "MFLOP", "ref", "kernels",
           "image", "", "4 rows", "", "image");
    printf("%-32s %7s %8s %-9s %9s %7s %9s %7s %8s\n", "", "", "GFLOP/s", "", "GFLOP/s",
           "%peak", "GFLOP/s", "%peak", "vs avx2");
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const layer *l = &layers[li];
        df_conv_params p = {0};
        p.in_h = p.in_w = l->in_hw;
        p.in_c = l->in_c;
        p.out_c = l->out_c;
        p.k_h = p.k_w = l->k;
        p.stride_h = p.stride_w = l->stride;
        p.dil_h = p.dil_w = 1;
        p.pad_top = p.pad_left = l->pad;
        p.groups = l->groups;
        p.out_h = p.out_w = (l->in_hw + 2 * l->pad - l->k) / l->stride + 1;
        p.act = DF_ACT_RELU;

        const size_t n_w = (size_t)l->out_c * l->k * l->k * (l->in_c / l->groups);
        const size_t n_in = (size_t)p.in_h * p.in_w * p.in_c;
        const size_t n_out = (size_t)p.out_h * p.out_w * p.out_c;
        float *w = malloc(n_w * sizeof(float)), *bias = malloc((size_t)l->out_c * sizeof(float));
        /* 64-byte aligned, as the executor's arena is: rows of a multiple of 16
         * channels then start on a cache line */
        float *in = aligned_alloc(64, (n_in * sizeof(float) + 63) / 64 * 64);
        float *out = aligned_alloc(64, (n_out * sizeof(float) + 63) / 64 * 64);
        const float **in_rows = malloc((size_t)p.in_h * sizeof(float *));
        float **out_rows = malloc((size_t)p.out_h * sizeof(float *));
        if (!w || !bias || !in || !out || !in_rows || !out_rows) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < n_w; i++)
            w[i] = (float)((int)(i * 7919 % 201) - 100) * 0.001f;
        for (int i = 0; i < l->out_c; i++)
            bias[i] = 0.01f * (float)(i % 7);
        for (size_t i = 0; i < n_in; i++)
            in[i] = (float)((int)(i * 104729 % 199) - 99) * 0.01f;
        for (int y = 0; y < p.in_h; y++)
            in_rows[y] = in + (size_t)y * p.in_w * p.in_c;
        for (int y = 0; y < p.out_h; y++)
            out_rows[y] = out + (size_t)y * p.out_w * p.out_c;
        p.weight = w;
        p.bias = bias;

        const double flops = 2.0 * (double)n_out * l->k * l->k * (l->in_c / l->groups);
        const double t_ref = time_rows(df_conv_rows_ref, &p, in_rows, out_rows, 0, p.out_h, 0.3);
        const double g_ref = flops / t_ref * 1e-9;
        double g_avx2 = 0.0;
        for (int i = 0; i < n_levels; i++) {
            const level *lv = &levels[i];
            if (lv->force)
                setenv("DF_KERNELS", lv->force, 1);
            else
                unsetenv("DF_KERNELS");
            double g_img, g_band;
            if (!time_level(l, &p, in_rows, out_rows, flops, &g_img, &g_band))
                return 1;
            if (strcmp(lv->isa, "avx2+fma") == 0)
                g_avx2 = g_img;
            char vs[16] = "";
            if (strcmp(lv->isa, "avx512") == 0 && g_avx2 > 0.0)
                snprintf(vs, sizeof vs, "%.2fx", g_img / g_avx2);
            printf("%-32s %7.1f %8.2f %-9s %9.2f %6.1f%% %9.2f %6.1f%% %8s\n",
                   i == 0 ? l->name : "", flops * 1e-6, g_ref, lv->isa, g_img,
                   100 * g_img / lv->peak, g_band, 100 * g_band / lv->peak, vs);
            fflush(stdout);
        }
        free(w);
        free(bias);
        free(in);
        free(out);
        free(in_rows);
        free(out_rows);
    }
    if (saved)
        setenv("DF_KERNELS", saved, 1);
    else
        unsetenv("DF_KERNELS");
    return 0;
}
