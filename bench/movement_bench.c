/* Micro-benchmark: the fast movement, Gemm and global-pool kernels against
 * the references, one thread, on the shapes of real models (ShuffleNet's
 * NCHW <-> NHWC conversions, channel shuffle and channel split, DenseNet's
 * channel concats, the classifiers' Gemm, global pooling). Prints the best
 * time per call of each and checks that the outputs agree.
 *
 * usage: movement_bench */
#define _POSIX_C_SOURCE 200112L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/movement_fast.h"
#include "kernels/x86/dense_movement_x86.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Microseconds per call: the best of 9 batches of 5 calls, after one warm-up. */
#define TIME_US(expr)                                                                        \
    ({                                                                                       \
        expr;                                                                                \
        double best_ = 1e30;                                                                 \
        for (int r_ = 0; r_ < 9; r_++) {                                                     \
            double t0_ = now();                                                              \
            for (int q_ = 0; q_ < 5; q_++) {                                                 \
                expr;                                                                        \
            }                                                                                \
            double t_ = (now() - t0_) / 5;                                                   \
            best_ = t_ < best_ ? t_ : best_;                                                 \
        }                                                                                    \
        best_ * 1e6;                                                                         \
    })

/* Buffers at different offsets within a page, so loads and stores do not
 * alias in the store buffer (as whole-page allocations would). */
static float *buffer(size_t floats, size_t skew)
{
    float *p = malloc((floats + skew) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < floats + skew; i++)
        p[i] = (float)(i % 1013) * 0.01f;
    return p + skew;
}

static void line(const char *name, double ref_us, double fast_us, int ok)
{
    printf("%-40s ref %9.1f us   fast %9.1f us   x%5.1f   %s\n", name, ref_us, fast_us,
           ref_us / fast_us, ok ? "ok" : "MISMATCH");
}

int main(void)
{
    const df_kernel_table *k = df_kernel_table_select();
    printf("kernels: %s\n", df_kernel_isa());
    const size_t cap = 4u << 20;
    float *x = buffer(cap, 352), *want = buffer(cap, 1712), *got = buffer(cap, 2960);

    static const struct { const char *name; int rank; int64_t d[5]; int p[5]; } tr[] = {
        {"transpose NCHW->NHWC 3x224x224", 4, {1, 3, 224, 224}, {0, 2, 3, 1}},
        {"transpose NHWC->NCHW 56x56x128", 4, {1, 56, 56, 128}, {0, 3, 1, 2}},
        {"transpose NCHW->NHWC 116x28x28", 4, {1, 116, 28, 28}, {0, 2, 3, 1}},
        {"transpose NHWC->NCHW 28x28x116", 4, {1, 28, 28, 116}, {0, 3, 1, 2}},
        {"transpose shuffle 2x58x28x28", 5, {1, 2, 58, 28, 28}, {0, 2, 1, 3, 4}},
    };
    for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++) {
        int64_t n = 1;
        for (int d = 0; d < tr[i].rank; d++)
            n *= tr[i].d[d];
        double r = TIME_US(df_transpose_ref(x, want, 4, tr[i].rank, tr[i].d, tr[i].p));
        double f = TIME_US(k->transpose(x, got, 4, tr[i].rank, tr[i].d, tr[i].p));
        line(tr[i].name, r, f, memcmp(want, got, (size_t)n * 4) == 0);
    }

    static const struct { const char *name; int64_t in[4], st[4], out[4]; } sl[] = {
        {"slice NHWC channels 116 -> 58", {1, 28, 28, 116}, {0, 0, 0, 58}, {1, 28, 28, 58}},
        {"slice NCHW channels 116 -> 58", {1, 116, 28, 28}, {0, 58, 0, 0}, {1, 58, 28, 28}},
    };
    static const int64_t ones[4] = {1, 1, 1, 1};
    for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        double r = TIME_US(df_slice_ref(x, want, 4, 4, sl[i].in, sl[i].st, ones, sl[i].out));
        double f = TIME_US(k->slice(x, got, 4, 4, sl[i].in, sl[i].st, ones, sl[i].out));
        line(sl[i].name, r, f, memcmp(want, got, 28 * 28 * 58 * 4) == 0);
    }

    /* DenseNet: 64 + 32 * (parts - 1) channels */
    static const int parts[] = {2, 6, 12, 25}, hws[] = {56, 56, 28, 14};
    for (int t = 0; t < 4; t++) {
        const void *xs[32];
        int64_t sizes[32], total = 0;
        const int64_t hw = (int64_t)hws[t] * hws[t];
        for (int i = 0; i < parts[t]; i++) {
            sizes[i] = i == 0 ? 64 : 32;
            xs[i] = x + total * hw;
            total += sizes[i];
        }
        char name[64];
        snprintf(name, sizeof name, "concat %d parts -> %lldx%dx%d", parts[t], (long long)total,
                 hws[t], hws[t]);
        double r = TIME_US(df_concat_ref(parts[t], xs, sizes, want, 4, hw, 1));
        double f = TIME_US(k->concat(parts[t], xs, sizes, got, 4, hw, 1));
        line(name, r, f, memcmp(want, got, (size_t)(total * hw) * 4) == 0);
    }

    /* Gemm of a classifier, weights cold (a different matrix each call) and
     * an attention-like MatMul */
    {
        enum { NB = 6 };
        float *w[NB];
        for (int i = 0; i < NB; i++)
            w[i] = buffer(1000 * 1024, 64 * (size_t)i);
        static const int ms[] = {1, 4};
        for (int t = 0; t < 2; t++) {
            const int m = ms[t];
            int b = 0;
            double r = TIME_US((df_gemm_ref(m, 1000, 1024, 1.0f, x, 1024, 0, w[b], 1024, 1, 1.0f,
                                            x, 0, 1, want, 1000),
                                b = (b + 1) % NB));
            b = 0;
            double f = TIME_US((k->gemm(m, 1000, 1024, 1.0f, x, 1024, 0, w[b], 1024, 1, 1.0f, x,
                                        0, 1, got, 1000),
                                b = (b + 1) % NB));
            int ok = 1;
            for (int i = 0; i < m * 1000; i++)
                ok &= fabsf(want[i] - got[i]) <= 1e-4f * fabsf(want[i]) + 1e-3f;
            char name[64];
            snprintf(name, sizeof name, "gemm transB %dx1000x1024 (cold B)", m);
            line(name, r, f, ok);
        }
        double r = TIME_US(df_gemm_ref(197, 197, 64, 1.0f, x, 64, 0, w[0], 197, 0, 0.0f, NULL, 0,
                                       0, want, 197));
        double f = TIME_US(k->gemm(197, 197, 64, 1.0f, x, 64, 0, w[0], 197, 0, 0.0f, NULL, 0, 0,
                                   got, 197));
        int ok = 1;
        for (int i = 0; i < 197 * 197; i++)
            ok &= fabsf(want[i] - got[i]) <= 1e-4f * fabsf(want[i]) + 1e-3f;
        line("matmul 197x64 by 64x197", r, f, ok);
    }

    static const struct { const char *name; int64_t hw, c; } gp[] = {
        {"global avg pool 13x13x1000", 169, 1000},
        {"global avg pool 7x7x1024", 49, 1024},
    };
    for (size_t i = 0; i < sizeof gp / sizeof gp[0]; i++) {
        double r = TIME_US(df_global_pool_ref(x, want, 1, gp[i].hw, gp[i].c, 0));
        double f = TIME_US(k->global_pool(x, got, 1, gp[i].hw, gp[i].c, 0));
        line(gp[i].name, r, f, memcmp(want, got, (size_t)gp[i].c * 4) == 0);
    }
    return 0;
}
