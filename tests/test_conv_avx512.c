/* AVX-512 convolution kernels (conv_avx512.c, dwconv_avx512.c) against the
 * reference (df_conv_rows_ref); test_conv_avx2.c's cases and checks, with
 * kernel selection expected to pick the AVX-512 kernels.
 *
 * Each case builds a random convolution (channels, widths, kernel sizes,
 * strides, asymmetric padding, dilation, groups, depthwise, bias, residual,
 * activation), selects its kernel with df_conv_select (so the packing is
 * tested too) and compares it with the reference, element by element, within
 * 1e-5 of the sum of the absolute values of the terms (fp32 sums in another
 * order). Every input, output and residual row is a separate allocation of
 * exactly one row, so AddressSanitizer sees any read or write past a row.
 * Outputs start as NaN: a pixel the kernel forgets fails the comparison, and
 * rows outside the requested band must stay NaN.
 *
 * Out-channel counts per group that are not a multiple of 32 exercise the
 * 16-wide last weight block and the __mmask16 channel tails.
 *
 * Prints "N passed, M failed"; exits 1 on any failure, 0 (with a message)
 * when the CPU lacks AVX-512 F/DQ/BW/VL. */
#define _POSIX_C_SOURCE 200112L /* setenv, unsetenv */
#include <cpuinfo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/x86/kernels_x86.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng_next(void)
{
    /* xorshift64*: fixed seed, same cases on every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static int rng_int(int n) { return (int)(rng_next() % (uint32_t)n); }
static float rng_float(void) { return (float)rng_next() / 4294967296.0f * 2.0f - 1.0f; }
static int pick(const int *v, int n) { return v[rng_int(n)]; }

static int n_passed, n_failed;

typedef struct rows {
    int h;
    float **row;
} rows;

static rows rows_new(int h, size_t floats, int fill_random)
{
    rows r = {h, calloc((size_t)h, sizeof(float *))};
    for (int i = 0; i < h; i++) {
        r.row[i] = malloc(floats * sizeof(float) + 1); /* +1: never a zero-byte malloc */
        for (size_t j = 0; j < floats; j++)
            r.row[i][j] = fill_random ? rng_float() : NAN;
    }
    return r;
}

static void rows_fill(rows *r, size_t floats, float v)
{
    for (int i = 0; i < r->h; i++)
        for (size_t j = 0; j < floats; j++)
            r->row[i][j] = v;
}

static void rows_free(rows *r)
{
    for (int i = 0; i < r->h; i++)
        free(r->row[i]);
    free(r->row);
}

typedef struct conv_case {
    int in_c, out_c, in_h, in_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w;
    int pad_top, pad_left, pad_bottom, pad_right, groups, has_bias, has_res;
    df_act act;
    float alpha, beta;
} conv_case;

static int out_size(int in, int pad0, int pad1, int k, int dil, int stride)
{
    int span = in + pad0 + pad1 - dil * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

static const char *act_name(df_act a)
{
    static const char *names[] = {"none",        "relu",      "clip", "leakyrelu", "sigmoid",
                                  "hardsigmoid", "hardswish", "tanh", "silu"};
    return (size_t)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

static void describe(const conv_case *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "in %dx%dx%d out_c %d k %dx%d s %d,%d d %d,%d pads t%d l%d b%d r%d g %d bias %d "
             "res %d act %s",
             c->in_h, c->in_w, c->in_c, c->out_c, c->k_h, c->k_w, c->stride_h, c->stride_w,
             c->dil_h, c->dil_w, c->pad_top, c->pad_left, c->pad_bottom, c->pad_right, c->groups,
             c->has_bias, c->has_res, act_name(c->act));
}

/* Compares out against ref within 1e-5 of the absolute sum, over rows [y0, y1);
 * the other rows of out must be untouched (NaN). Returns the mismatches. */
static int compare(const conv_case *c, const df_conv_params *p, rows *out, rows *ref, rows *abs_sum,
                   int y0, int y1, char *why, size_t why_n)
{
    const size_t n = (size_t)p->out_w * p->out_c;
    /* activations scale errors by their steepest slope: max(1, |alpha|), or
     * 1.5 for hardswish (at x = 3) and silu */
    float slope = fabsf(c->alpha) > 1.0f ? fabsf(c->alpha) : 1.0f;
    if (c->act == DF_ACT_HARDSWISH || c->act == DF_ACT_SILU)
        slope = 1.5f;
    int bad = 0;
    for (int y = 0; y < p->out_h; y++) {
        for (size_t i = 0; i < n; i++) {
            float got = out->row[y][i];
            if (y < y0 || y >= y1) {
                if (!isnan(got) && !bad++)
                    snprintf(why, why_n, "row %d outside band [%d,%d) written", y, y0, y1);
                continue;
            }
            float want = ref->row[y][i];
            /* plus a few ulps of the result: a vector activation rounds
             * on its own, however small the sum it was given */
            float tol = 1e-5f * slope * abs_sum->row[y][i] + 4e-7f * fabsf(want) + 1e-30f;
            if (!(fabsf(got - want) <= tol) && !bad++)
                snprintf(why, why_n, "y %d x %zu oc %zu: got %.8g want %.8g (tol %.3g)", y,
                         i / (size_t)p->out_c, i % (size_t)p->out_c, got, want, tol);
        }
    }
    return bad;
}

static void run_case(const conv_case *c)
{
    df_conv_params p = {0};
    p.in_h = c->in_h;
    p.in_w = c->in_w;
    p.in_c = c->in_c;
    p.out_c = c->out_c;
    p.k_h = c->k_h;
    p.k_w = c->k_w;
    p.stride_h = c->stride_h;
    p.stride_w = c->stride_w;
    p.dil_h = c->dil_h;
    p.dil_w = c->dil_w;
    p.pad_top = c->pad_top;
    p.pad_left = c->pad_left;
    p.groups = c->groups;
    p.out_h = out_size(c->in_h, c->pad_top, c->pad_bottom, c->k_h, c->dil_h, c->stride_h);
    p.out_w = out_size(c->in_w, c->pad_left, c->pad_right, c->k_w, c->dil_w, c->stride_w);
    p.act = c->act;
    p.act_alpha = c->alpha;
    p.act_beta = c->beta;

    const size_t n_w = (size_t)c->out_c * c->k_h * c->k_w * (c->in_c / c->groups);
    float *weight = malloc(n_w * sizeof(float)), *bias = malloc((size_t)c->out_c * sizeof(float));
    float *abs_weight = malloc(n_w * sizeof(float));
    float *abs_bias = malloc((size_t)c->out_c * sizeof(float));
    for (size_t i = 0; i < n_w; i++) {
        weight[i] = rng_float();
        abs_weight[i] = fabsf(weight[i]);
    }
    for (int i = 0; i < c->out_c; i++) {
        bias[i] = rng_float();
        abs_bias[i] = fabsf(bias[i]);
    }
    p.weight = weight;
    p.bias = c->has_bias ? bias : NULL;

    const size_t in_n = (size_t)c->in_w * c->in_c, out_n = (size_t)p.out_w * c->out_c;
    rows in = rows_new(c->in_h, in_n, 1), res = rows_new(p.out_h, out_n, 1);
    rows ref = rows_new(p.out_h, out_n, 0), out = rows_new(p.out_h, out_n, 0);
    rows abs_in = rows_new(c->in_h, in_n, 0), abs_res = rows_new(p.out_h, out_n, 0);
    rows abs_sum = rows_new(p.out_h, out_n, 0);
    for (int y = 0; y < c->in_h; y++)
        for (size_t i = 0; i < in_n; i++)
            abs_in.row[y][i] = fabsf(in.row[y][i]);
    for (int y = 0; y < p.out_h; y++)
        for (size_t i = 0; i < out_n; i++)
            abs_res.row[y][i] = fabsf(res.row[y][i]);
    const float *const *in_t = (const float *const *)in.row;
    const float *const *res_t = c->has_res ? (const float *const *)res.row : NULL;

    df_conv_rows_ref(&p, in_t, ref.row, res_t, 0, p.out_h);
    /* the sum of |terms|: the same convolution over absolute values, no activation */
    df_conv_params pa = p;
    pa.weight = abs_weight;
    pa.bias = c->has_bias ? abs_bias : NULL;
    pa.act = DF_ACT_NONE;
    df_conv_rows_ref(&pa, (const float *const *)abs_in.row, abs_sum.row,
                     c->has_res ? (const float *const *)abs_res.row : NULL, 0, p.out_h);

    df_conv_rows_fn fn;
    void *packed;
    char what[256], why[256] = "";
    describe(c, what, sizeof what);
    const int depthwise = c->groups > 1 && c->groups == c->in_c && c->out_c == c->in_c;
    if (df_conv_select(&p, &fn, &packed) != DF_OK || !packed ||
        fn != (depthwise ? df_dwconv_rows_avx512 : df_conv_rows_avx512)) {
        n_failed++;
        printf("FAIL %s: the AVX-512 kernel was not selected\n", what);
        if (packed)
            df_conv_release(packed);
        goto done;
    }

    /* 1: the whole image as bands of random heights */
    for (int y0 = 0; y0 < p.out_h;) {
        int y1 = y0 + 1 + rng_int(4);
        y1 = y1 > p.out_h ? p.out_h : y1;
        fn(&p, in_t, out.row, res_t, y0, y1);
        y0 = y1;
    }
    if (compare(c, &p, &out, &ref, &abs_sum, 0, p.out_h, why, sizeof why)) {
        n_failed++;
        printf("FAIL %s: bands: %s\n", what, why);
    } else {
        n_passed++;
    }

    /* 2: one row alone; the other rows must stay untouched */
    rows_fill(&out, out_n, NAN);
    int y = rng_int(p.out_h);
    fn(&p, in_t, out.row, res_t, y, y + 1);
    if (compare(c, &p, &out, &ref, &abs_sum, y, y + 1, why, sizeof why)) {
        n_failed++;
        printf("FAIL %s: row %d: %s\n", what, y, why);
    } else {
        n_passed++;
    }

    /* 3: the output channels in parts (how threads share a small image),
     * each part on bands of its own, the last part first; the reference's
     * parts too, whose count may pass the channel count */
    const df_conv_part_fn fast_part = df_conv_part_of(fn);
    for (int k = 0; k < 2; k++) {
        const df_conv_part_fn part = k == 0 ? fast_part : df_conv_part_ref;
        if (!part)
            continue;
        const int parts = 2 + rng_int(k == 0 ? 6 : c->out_c + 2);
        rows_fill(&out, out_n, NAN);
        for (int q = parts - 1; q >= 0; q--) {
            for (int y0 = 0; y0 < p.out_h;) {
                int y1 = y0 + 1 + rng_int(4);
                y1 = y1 > p.out_h ? p.out_h : y1;
                part(&p, in_t, out.row, res_t, y0, y1, q, parts);
                y0 = y1;
            }
        }
        if (compare(c, &p, &out, &ref, &abs_sum, 0, p.out_h, why, sizeof why)) {
            n_failed++;
            printf("FAIL %s: %s, %d channel parts: %s\n", what, k == 0 ? "fast" : "reference",
                   parts, why);
        } else {
            n_passed++;
        }
    }
    df_conv_release(packed);

done:
    rows_free(&in);
    rows_free(&res);
    rows_free(&ref);
    rows_free(&out);
    rows_free(&abs_in);
    rows_free(&abs_res);
    rows_free(&abs_sum);
    free(weight);
    free(bias);
    free(abs_weight);
    free(abs_bias);
}

static void random_act(conv_case *c)
{
    c->act = (df_act)rng_int(DF_ACT_SILU + 1); /* every activation */
    c->alpha = c->beta = 0.0f;
    switch (c->act) {
    case DF_ACT_CLIP:
        c->alpha = -0.5f * (float)rng_int(3);
        c->beta = 0.25f + (float)rng_int(6);
        break;
    case DF_ACT_LEAKYRELU: c->alpha = rng_int(2) ? 0.1f : 1.5f; break;
    case DF_ACT_HARDSIGMOID:
        c->alpha = 0.2f;
        c->beta = 0.5f;
        break;
    default: break;
    }
}

/* kind: 0 dense, 1 two groups, 2 depthwise */
static int random_case(conv_case *c, int kind)
{
    static const int channels[] = {1, 3, 8, 16, 37, 53, 64};
    static const int wide[] = {17, 32, 48, 80, 96};
    static const int kernels[] = {1, 3, 5, 7};
    memset(c, 0, sizeof *c);
    int ci = pick(channels, 7), co = pick(channels, 7);
    if (kind == 0 && rng_int(4) == 0)
        co = pick(wide, 5); /* 16-wide last blocks, several 32-wide blocks */
    c->groups = kind == 0 ? 1 : kind == 1 ? 2 : ci;
    c->in_c = kind == 1 ? 2 * ci : ci;
    c->out_c = kind == 1 ? 2 * co : kind == 2 ? ci : co;
    c->in_w = rng_int(8) == 0 ? 41 + rng_int(260) : 1 + rng_int(40);
    c->in_h = 1 + rng_int(kind == 2 ? 12 : 6);
    c->k_h = pick(kernels, 4);
    c->k_w = rng_int(4) == 0 ? pick(kernels, 4) : c->k_h;
    c->stride_h = 1 + rng_int(3);
    c->stride_w = rng_int(3) == 0 ? 1 + rng_int(3) : c->stride_h;
    c->dil_h = 1 + rng_int(2);
    c->dil_w = rng_int(3) == 0 ? 1 + rng_int(2) : c->dil_h;
    c->pad_top = rng_int(4);
    c->pad_left = rng_int(4);
    c->pad_bottom = rng_int(4);
    c->pad_right = rng_int(4);
    c->has_bias = rng_int(4) != 0;
    c->has_res = rng_int(2);
    random_act(c);
    int oh = out_size(c->in_h, c->pad_top, c->pad_bottom, c->k_h, c->dil_h, c->stride_h);
    int ow = out_size(c->in_w, c->pad_left, c->pad_right, c->k_w, c->dil_w, c->stride_w);
    if (oh < 1 || ow < 1)
        return 0;
    /* keep the reference's work per case small */
    double flops = 2.0 * oh * ow * c->out_c * c->k_h * c->k_w * (c->in_c / c->groups);
    return flops < 2e7;
}

/* Shapes that real networks use, and corners the random ones may miss. */
static void fixed_cases(void)
{
    const conv_case fixed[] = {
        /* ResNet-50 shapes, cut in height */
        {256, 64, 4, 56, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {64, 64, 5, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {64, 256, 3, 56, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, DF_ACT_RELU, 0, 0},
        {512, 512, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {3, 64, 13, 224, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {128, 128, 8, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, DF_ACT_NONE, 0, 0},
        /* MobileNetV2 depthwise and pointwise */
        {144, 144, 6, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144, 1, 0, DF_ACT_CLIP, 0, 6},
        {144, 144, 7, 56, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 144, 1, 0, DF_ACT_CLIP, 0, 6},
        {96, 96, 9, 30, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 96, 1, 1, DF_ACT_HARDSWISH, 0, 0},
        {37, 37, 9, 23, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 37, 1, 1, DF_ACT_SIGMOID, 0, 0},
        {24, 144, 3, 56, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, DF_ACT_CLIP, 0, 6},
        /* one input column, kernel wider than the padded row */
        {16, 16, 5, 1, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 0, DF_ACT_NONE, 0, 0},
        {16, 16, 5, 1, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 16, 1, 0, DF_ACT_NONE, 0, 0},
        /* padding larger than the dilated reach: outputs from the bias alone */
        {8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 1, DF_ACT_TANH, 0, 0},
        {8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 8, 1, 1, DF_ACT_TANH, 0, 0},
        /* few input channels (edge tiles read a zero-padded copy of their
         * span): tiles wholly in the left or right padding, and a row
         * narrower than the kernel */
        {3, 32, 3, 12, 3, 3, 1, 1, 1, 1, 1, 20, 1, 20, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {5, 16, 4, 9, 7, 7, 2, 2, 1, 1, 3, 30, 3, 29, 1, 1, 1, DF_ACT_NONE, 0, 0},
        {3, 48, 3, 2, 5, 5, 1, 3, 1, 1, 2, 2, 2, 2, 1, 0, 0, DF_ACT_NONE, 0, 0},
        /* 16 input channels (copied too): SqueezeNet's fire 3x3, and tiles
         * wholly in the padding */
        {16, 64, 3, 55, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, DF_ACT_RELU, 0, 0},
        {16, 40, 3, 10, 3, 3, 1, 1, 1, 1, 1, 17, 1, 18, 1, 1, 1, DF_ACT_NONE, 0, 0},
        /* out-channel tails: a 16-wide last block, full and partial */
        {32, 48, 3, 29, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, DF_ACT_SILU, 0, 0},
        {32, 47, 3, 29, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, DF_ACT_LEAKYRELU, 0.1f, 0},
        {32, 33, 3, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 1, DF_ACT_RELU, 0, 0},
        {64, 96, 2, 37, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 0, DF_ACT_HARDSWISH, 0, 0},
        /* depthwise channel tails of 1..15 lanes, and more than one block */
        {17, 17, 5, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 17, 1, 1, DF_ACT_NONE, 0, 0},
        {31, 31, 5, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 31, 1, 0, DF_ACT_CLIP, 0, 6},
        {40, 40, 6, 35, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 40, 1, 1, DF_ACT_SILU, 0, 0},
        {33, 33, 6, 35, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 33, 0, 0, DF_ACT_TANH, 0, 0},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        run_case(&fixed[i]);
}

/* DF_KERNELS=reference and DF_KERNELS=avx2 cap the selection; by default a
 * CPU with AVX-512 gets the AVX-512 kernels, dense and depthwise. */
static void dispatch_checks(void)
{
    float w[2] = {1.0f, 1.0f};
    df_conv_params p = {.in_h = 1, .in_w = 1, .in_c = 1, .out_h = 1, .out_w = 1, .out_c = 1,
                        .k_h = 1, .k_w = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1,
                        .dil_w = 1, .groups = 1, .weight = w};
    df_conv_params dw = p;
    dw.in_c = dw.out_c = dw.groups = 2;
    df_conv_rows_fn fn;
    void *packed;
    setenv("DF_KERNELS", "reference", 1);
    int forced_ref = df_conv_select(&p, &fn, &packed) == DF_OK && fn == df_conv_rows_ref &&
                     packed == NULL && p.packed == NULL &&
                     strcmp(df_kernel_isa(), "reference") == 0;
    setenv("DF_KERNELS", "avx2", 1);
    int forced_avx2 = df_conv_select(&p, &fn, &packed) == DF_OK && fn == df_conv_rows_avx2 &&
                      packed != NULL && p.packed == packed &&
                      strcmp(df_kernel_isa(), "avx2+fma") == 0;
    df_conv_release(packed);
    forced_avx2 = forced_avx2 && df_conv_select(&dw, &fn, &packed) == DF_OK &&
                  fn == df_dwconv_rows_avx2;
    df_conv_release(packed);
    unsetenv("DF_KERNELS");
    int fast = df_conv_select(&p, &fn, &packed) == DF_OK && fn == df_conv_rows_avx512 &&
               packed != NULL && p.packed == packed && strcmp(df_kernel_isa(), "avx512") == 0;
    df_conv_release(packed);
    fast = fast && df_conv_select(&dw, &fn, &packed) == DF_OK && fn == df_dwconv_rows_avx512;
    df_conv_release(packed);
    if (forced_ref && forced_avx2 && fast) {
        n_passed++;
    } else {
        n_failed++;
        printf("FAIL dispatch: DF_KERNELS=reference %s, DF_KERNELS=avx2 %s, default %s\n",
               forced_ref ? "ok" : "wrong", forced_avx2 ? "ok" : "wrong", fast ? "ok" : "wrong");
    }
}

int main(void)
{
    if (!cpuinfo_initialize() || !cpuinfo_has_x86_avx512f() || !cpuinfo_has_x86_avx512dq() ||
        !cpuinfo_has_x86_avx512bw() || !cpuinfo_has_x86_avx512vl() || !cpuinfo_has_x86_avx2() ||
        !cpuinfo_has_x86_fma3()) {
        printf("skipped: this CPU lacks AVX-512 F/DQ/BW/VL\n0 passed, 0 failed\n");
        return 0;
    }
    unsetenv("DF_KERNELS");
    dispatch_checks();
    fixed_cases();
    int made[3] = {0, 0, 0};
    const int per_kind[3] = {250, 120, 200};
    for (int kind = 0; kind < 3; kind++) {
        while (made[kind] < per_kind[kind]) {
            conv_case c;
            if (!random_case(&c, kind))
                continue;
            run_case(&c);
            made[kind]++;
        }
    }
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
