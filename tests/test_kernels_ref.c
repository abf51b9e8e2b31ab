/* Tests of the portable reference kernels (src/kernels/ref/).
 *
 * Each kernel is compared with a naive computation written here in the most
 * obvious form (convolution and pooling in NCHW with plain nested loops, every
 * broadcast or movement op element by element from its multi-index), on random
 * shapes drawn from a fixed seed, plus a few hand-computed cases that pin down
 * the semantics. Prints "N passed, M failed" and exits non-zero on failure. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

/* ---- harness -------------------------------------------------------------- */

static int n_passed, n_failed;

static void report(int ok, const char *fmt, ...)
{
    if (ok) {
        n_passed++;
        return;
    }
    n_failed++;
    if (n_failed > 30)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t rnd_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int rnd_int(int lo, int hi) /* inclusive */
{
    return lo + (int)(rnd_u32() % (uint32_t)(hi - lo + 1));
}

static float rnd_float(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd_u32() & 0xFFFFFF) / (float)0xFFFFFF;
}

static int rnd_pick(const int *values, int n) { return values[rnd_int(0, n - 1)]; }

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void fill_random(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rnd_float(lo, hi);
}

/* Same value, or both NaN. */
static int same_float(double got, double want, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= tol;
}

/* Activations written out again from their ONNX definitions, in double. */
static double naive_act(df_act act, double x, double a, double b)
{
    switch (act) {
    case DF_ACT_NONE: return x;
    case DF_ACT_RELU: return x > 0 ? x : 0;
    case DF_ACT_CLIP: return fmin(fmax(x, a), b);
    case DF_ACT_LEAKYRELU: return x >= 0 ? x : a * x;
    case DF_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case DF_ACT_HARDSIGMOID: return fmax(0.0, fmin(1.0, a * x + b));
    case DF_ACT_HARDSWISH: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case DF_ACT_TANH: return tanh(x);
    case DF_ACT_SILU: return x / (1.0 + exp(-x));
    }
    return x;
}

static void random_act(df_act *act, float *a, float *b)
{
    *act = (df_act)rnd_int(0, DF_ACT_SILU);
    *a = 0.0f;
    *b = 0.0f;
    if (*act == DF_ACT_CLIP) {
        *a = -0.5f;
        *b = 0.7f;
    } else if (*act == DF_ACT_LEAKYRELU) {
        *a = 0.1f;
    } else if (*act == DF_ACT_HARDSIGMOID) {
        *a = 0.2f;
        *b = 0.5f;
    }
}

/* Rows allocated one by one, so that AddressSanitizer catches a read past any
 * row and the kernels cannot assume that rows are contiguous. */
static float **alloc_rows(int n_rows, size_t row_len)
{
    float **rows = xmalloc((size_t)(n_rows ? n_rows : 1) * sizeof *rows);
    for (int r = 0; r < n_rows; r++)
        rows[r] = xmalloc(row_len * sizeof(float));
    return rows;
}

static void free_rows(float **rows, int n_rows)
{
    for (int r = 0; r < n_rows; r++)
        free(rows[r]);
    free(rows);
}

/* Calls a row kernel over [0, h) in the way band_mode asks: all rows at once,
 * one row per call, or random bands. */
typedef void (*band_fn)(void *ctx, int y0, int y1);

static void run_bands(band_fn fn, void *ctx, int h, int band_mode)
{
    if (band_mode == 0) {
        fn(ctx, 0, h);
    } else if (band_mode == 1) {
        for (int y = 0; y < h; y++)
            fn(ctx, y, y + 1);
    } else {
        for (int y = 0; y < h;) {
            int y1 = y + rnd_int(1, 4);
            if (y1 > h)
                y1 = h;
            fn(ctx, y, y1);
            y = y1;
        }
    }
}

/* ---- convolution ---------------------------------------------------------- */

typedef struct conv_case {
    df_conv_params p;
    int pad_bottom, pad_right;
    float **in_rows, **out_rows, **res_rows;
} conv_case;

static void conv_band(void *ctx, int y0, int y1)
{
    conv_case *c = ctx;
    df_conv_rows_ref(&c->p, (const float *const *)c->in_rows, c->out_rows,
                     (const float *const *)c->res_rows, y0, y1);
}

/* NCHW input and OIHW weights, one loop per dimension; returns the number of
 * mismatching outputs. out_rows are compared after the transposition to NHWC. */
static int conv_compare(const conv_case *c, int y_lo, int y_hi)
{
    const df_conv_params *p = &c->p;
    const int cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
    double *x = xmalloc((size_t)p->in_c * p->in_h * p->in_w * sizeof *x);
    double *w = xmalloc((size_t)p->out_c * cin_g * p->k_h * p->k_w * sizeof *w);
    for (int ch = 0; ch < p->in_c; ch++)
        for (int iy = 0; iy < p->in_h; iy++)
            for (int ix = 0; ix < p->in_w; ix++)
                x[(ch * p->in_h + iy) * p->in_w + ix] = c->in_rows[iy][ix * p->in_c + ch];
    for (int o = 0; o < p->out_c; o++)
        for (int i = 0; i < cin_g; i++)
            for (int ky = 0; ky < p->k_h; ky++)
                for (int kx = 0; kx < p->k_w; kx++)
                    w[((o * cin_g + i) * p->k_h + ky) * p->k_w + kx] =
                        p->weight[((o * p->k_h + ky) * p->k_w + kx) * cin_g + i];

    int bad = 0;
    for (int o = 0; o < p->out_c; o++) {
        const int g = o / cout_g;
        for (int oy = y_lo; oy < y_hi; oy++) {
            for (int ox = 0; ox < p->out_w; ox++) {
                double sum = p->bias ? p->bias[o] : 0.0;
                double mag = fabs(sum);
                for (int i = 0; i < cin_g; i++) {
                    for (int ky = 0; ky < p->k_h; ky++) {
                        for (int kx = 0; kx < p->k_w; kx++) {
                            int iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                            int ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                                continue;
                            double t = x[((g * cin_g + i) * p->in_h + iy) * p->in_w + ix] *
                                       w[((o * cin_g + i) * p->k_h + ky) * p->k_w + kx];
                            sum += t;
                            mag += fabs(t);
                        }
                    }
                }
                if (c->res_rows) {
                    sum += c->res_rows[oy][ox * p->out_c + o];
                    mag += fabs(c->res_rows[oy][ox * p->out_c + o]);
                }
                double want = naive_act(p->act, sum, p->act_alpha, p->act_beta);
                double got = c->out_rows[oy][ox * p->out_c + o];
                if (!same_float(got, want, 4e-5 * (mag + 1.0))) {
                    if (bad == 0)
                        fprintf(stderr, "  conv (oc %d, y %d, x %d): got %.7g want %.7g\n", o,
                                oy, ox, got, want);
                    bad++;
                }
            }
        }
    }
    free(x);
    free(w);
    return bad;
}

/* Output size along one axis: floor mode, or ceil mode with the rule that the
 * last window must start inside the input or its leading padding. */
static int pooled_size(int in, int pad0, int pad1, int k, int dil, int stride, int ceil_mode)
{
    int span = in + pad0 + pad1 - dil * (k - 1) - 1;
    if (span < 0)
        return 0;
    int out = ceil_mode ? (span + stride - 1) / stride + 1 : span / stride + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad0)
        out--;
    return out;
}

static void test_conv_random(int case_no)
{
    static const int chans[] = {1, 3, 8, 37, 53};
    conv_case c;
    memset(&c, 0, sizeof c);
    df_conv_params *p = &c.p;
    const int group_mode = rnd_int(0, 2);
    const int wide = rnd_int(0, 9) == 0;

    do {
        if (group_mode == 0) {
            p->groups = 1;
            p->in_c = rnd_pick(chans, 5);
            p->out_c = rnd_pick(chans, 5);
        } else if (group_mode == 1) {
            static const int per_group[] = {1, 3, 4, 19};
            p->groups = 2;
            p->in_c = 2 * rnd_pick(per_group, 4);
            p->out_c = 2 * rnd_pick(per_group, 4);
        } else {
            p->in_c = rnd_pick(chans, 5);
            p->groups = p->in_c;
            p->out_c = p->in_c * rnd_int(1, 2);
        }
        if (wide && p->in_c * p->out_c / p->groups > 64) {
            p->in_c = p->groups = rnd_int(1, 3);
            p->out_c = p->in_c * 2;
        }
        p->k_h = rnd_int(1, 5);
        p->k_w = rnd_int(1, 5);
        p->stride_h = rnd_int(1, 3);
        p->stride_w = rnd_int(1, 3);
        p->dil_h = rnd_int(1, 2);
        p->dil_w = rnd_int(1, 2);
        p->pad_top = rnd_int(0, 3);
        p->pad_left = rnd_int(0, 3);
        c.pad_bottom = rnd_int(0, 3);
        c.pad_right = rnd_int(0, 3);
        p->in_h = wide ? rnd_int(1, 6) : rnd_int(1, 20);
        p->in_w = wide ? rnd_int(100, 300) : rnd_int(1, 40);
        p->out_h = pooled_size(p->in_h, p->pad_top, c.pad_bottom, p->k_h, p->dil_h,
                               p->stride_h, 0);
        p->out_w = pooled_size(p->in_w, p->pad_left, c.pad_right, p->k_w, p->dil_w,
                               p->stride_w, 0);
    } while (p->out_h < 1 || p->out_w < 1);

    const int cin_g = p->in_c / p->groups;
    const size_t n_weight = (size_t)p->out_c * p->k_h * p->k_w * cin_g;
    float *weight = xmalloc(n_weight * sizeof *weight);
    float *bias = xmalloc((size_t)p->out_c * sizeof *bias);
    fill_random(weight, n_weight, -1.0f, 1.0f);
    fill_random(bias, (size_t)p->out_c, -1.0f, 1.0f);
    p->weight = weight;
    p->bias = rnd_int(0, 1) ? bias : NULL;
    random_act(&p->act, &p->act_alpha, &p->act_beta);

    const size_t in_len = (size_t)p->in_w * p->in_c, out_len = (size_t)p->out_w * p->out_c;
    c.in_rows = alloc_rows(p->in_h, in_len);
    c.out_rows = alloc_rows(p->out_h, out_len);
    for (int r = 0; r < p->in_h; r++)
        fill_random(c.in_rows[r], in_len, -1.0f, 1.0f);
    const int with_res = rnd_int(0, 1);
    if (with_res) {
        c.res_rows = alloc_rows(p->out_h, out_len);
        for (int r = 0; r < p->out_h; r++)
            fill_random(c.res_rows[r], out_len, -1.0f, 1.0f);
    }
    for (int r = 0; r < p->out_h; r++)
        for (size_t i = 0; i < out_len; i++)
            c.out_rows[r][i] = NAN;

    /* band mode 3: one band inside the image; the rows outside must stay as they were */
    const int band_mode = rnd_int(0, 3);
    int y_lo = 0, y_hi = p->out_h;
    if (band_mode == 3) {
        y_lo = rnd_int(0, p->out_h - 1);
        y_hi = rnd_int(y_lo + 1, p->out_h);
        conv_band(&c, y_lo, y_hi);
    } else {
        run_bands(conv_band, &c, p->out_h, band_mode);
    }
    int bad = conv_compare(&c, y_lo, y_hi);
    for (int r = 0; r < p->out_h; r++)
        if (r < y_lo || r >= y_hi)
            for (size_t i = 0; i < out_len; i++)
                bad += !isnan(c.out_rows[r][i]);

    report(bad == 0,
           "conv case %d: %dx%dx%d -> %dx%dx%d k %dx%d s %d,%d d %d,%d pads %d,%d,%d,%d "
           "groups %d act %d bias %d res %d bands %d: %d wrong",
           case_no, p->in_h, p->in_w, p->in_c, p->out_h, p->out_w, p->out_c, p->k_h, p->k_w,
           p->stride_h, p->stride_w, p->dil_h, p->dil_w, p->pad_top, p->pad_left, c.pad_bottom,
           c.pad_right, p->groups, (int)p->act, p->bias != NULL, with_res, band_mode, bad);

    free_rows(c.in_rows, p->in_h);
    free_rows(c.out_rows, p->out_h);
    if (c.res_rows)
        free_rows(c.res_rows, p->out_h);
    free(weight);
    free(bias);
}

/* 3x3 input 1..9, one 2x2 kernel of ones, no padding: sums of 2x2 blocks. */
static void test_conv_hand(void)
{
    float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, out[4];
    const float *in_rows[3] = {in, in + 3, in + 6};
    float *out_rows[2] = {out, out + 2};
    df_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_h = p.in_w = 3;
    p.in_c = p.out_c = 1;
    p.out_h = p.out_w = 2;
    p.k_h = p.k_w = 2;
    p.stride_h = p.stride_w = p.dil_h = p.dil_w = p.groups = 1;
    p.weight = w;
    df_conv_rows_ref(&p, in_rows, out_rows, NULL, 0, 2);
    report(out[0] == 12 && out[1] == 16 && out[2] == 24 && out[3] == 28,
           "conv by hand: %g %g %g %g, want 12 16 24 28", out[0], out[1], out[2], out[3]);
}

/* ---- pooling -------------------------------------------------------------- */

typedef struct pool_case {
    df_pool_params p;
    float **in_rows, **out_rows;
} pool_case;

static void pool_band(void *ctx, int y0, int y1)
{
    pool_case *c = ctx;
    df_pool_rows_ref(&c->p, (const float *const *)c->in_rows, c->out_rows, y0, y1);
}

static int pool_compare(const pool_case *c)
{
    const df_pool_params *p = &c->p;
    int bad = 0;
    for (int ch = 0; ch < p->c; ch++) {
        for (int oy = 0; oy < p->out_h; oy++) {
            for (int ox = 0; ox < p->out_w; ox++) {
                double sum = 0.0, max = -FLT_MAX;
                int valid = 0, in_padded = 0;
                for (int ky = 0; ky < p->k_h; ky++) {
                    for (int kx = 0; kx < p->k_w; kx++) {
                        int iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                        int ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                        if (iy >= -p->pad_top && iy < p->in_h + p->pad_bottom &&
                            ix >= -p->pad_left && ix < p->in_w + p->pad_right)
                            in_padded++;
                        if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                            continue;
                        double v = c->in_rows[iy][ix * p->c + ch];
                        valid++;
                        sum += v;
                        if (v > max)
                            max = v;
                    }
                }
                int count = p->count_include_pad ? in_padded : valid;
                double want = p->is_max ? max : (count > 0 ? sum / count : 0.0);
                double got = c->out_rows[oy][ox * p->c + ch];
                if (!same_float(got, want, 1e-6 * (1.0 + fabs(want)))) {
                    if (bad == 0)
                        fprintf(stderr, "  pool (c %d, y %d, x %d): got %.7g want %.7g\n", ch,
                                oy, ox, got, want);
                    bad++;
                }
            }
        }
    }
    return bad;
}

static void test_pool_random(int case_no)
{
    static const int chans[] = {1, 3, 8, 37, 53};
    pool_case c;
    memset(&c, 0, sizeof c);
    df_pool_params *p = &c.p;
    const int ceil_mode = rnd_int(0, 1);
    do {
        p->c = rnd_pick(chans, 5);
        p->k_h = rnd_int(1, 4);
        p->k_w = rnd_int(1, 4);
        p->stride_h = rnd_int(1, 3);
        p->stride_w = rnd_int(1, 3);
        p->dil_h = rnd_int(0, 3) == 0 ? 2 : 1;
        p->dil_w = rnd_int(0, 3) == 0 ? 2 : 1;
        p->pad_top = rnd_int(0, 3);
        p->pad_left = rnd_int(0, 3);
        p->pad_bottom = rnd_int(0, 3);
        p->pad_right = rnd_int(0, 3);
        p->in_h = rnd_int(1, 20);
        p->in_w = rnd_int(0, 9) == 0 ? rnd_int(100, 300) : rnd_int(1, 40);
        p->out_h = pooled_size(p->in_h, p->pad_top, p->pad_bottom, p->k_h, p->dil_h,
                               p->stride_h, ceil_mode);
        p->out_w = pooled_size(p->in_w, p->pad_left, p->pad_right, p->k_w, p->dil_w,
                               p->stride_w, ceil_mode);
    } while (p->out_h < 1 || p->out_w < 1);
    p->is_max = rnd_int(0, 1);
    p->count_include_pad = rnd_int(0, 1);

    const size_t in_len = (size_t)p->in_w * p->c, out_len = (size_t)p->out_w * p->c;
    c.in_rows = alloc_rows(p->in_h, in_len);
    c.out_rows = alloc_rows(p->out_h, out_len);
    for (int r = 0; r < p->in_h; r++)
        fill_random(c.in_rows[r], in_len, -5.0f, 5.0f);
    const int band_mode = rnd_int(0, 2);
    run_bands(pool_band, &c, p->out_h, band_mode);
    int bad = pool_compare(&c);
    report(bad == 0,
           "pool case %d: %s %dx%dx%d -> %dx%d k %dx%d s %d,%d d %d,%d pads %d,%d,%d,%d ceil %d "
           "include_pad %d: %d wrong",
           case_no, p->is_max ? "max" : "avg", p->in_h, p->in_w, p->c, p->out_h, p->out_w,
           p->k_h, p->k_w, p->stride_h, p->stride_w, p->dil_h, p->dil_w, p->pad_top,
           p->pad_left, p->pad_bottom, p->pad_right, ceil_mode, p->count_include_pad, bad);
    free_rows(c.in_rows, p->in_h);
    free_rows(c.out_rows, p->out_h);
}

/* One row [1 2 3], kernel 1x3, pad 1 left and right, ceil mode giving 2 outputs
 * with stride 2: windows {pad,1,2} and {2,3,pad}. */
static void test_pool_hand(void)
{
    float in[3] = {1, 2, 3}, out[2];
    const float *in_rows[1] = {in};
    float *out_rows[1] = {out};
    df_pool_params p;
    memset(&p, 0, sizeof p);
    p.in_h = 1;
    p.in_w = 3;
    p.c = 1;
    p.out_h = 1;
    p.out_w = 2;
    p.k_h = 1;
    p.k_w = 3;
    p.stride_h = 1;
    p.stride_w = 2;
    p.dil_h = p.dil_w = 1;
    p.pad_left = p.pad_right = 1;
    df_pool_rows_ref(&p, in_rows, out_rows, 0, 1);
    report(out[0] == 1.5f && out[1] == 2.5f, "avgpool by hand: %g %g, want 1.5 2.5", out[0],
           out[1]);
    p.count_include_pad = 1;
    df_pool_rows_ref(&p, in_rows, out_rows, 0, 1);
    report(out[0] == 1.0f && out[1] == 5.0f / 3.0f,
           "avgpool count_include_pad by hand: %g %g, want 1 1.66667", out[0], out[1]);
    p.is_max = 1;
    df_pool_rows_ref(&p, in_rows, out_rows, 0, 1);
    report(out[0] == 2.0f && out[1] == 3.0f, "maxpool by hand: %g %g, want 2 3", out[0],
           out[1]);
    /* a window wholly in the padding: kernel 1, pad 1 */
    p.k_w = 1;
    p.stride_w = 4;
    p.out_w = 2; /* windows at x = -1 (padding) and x = 3 (padding) */
    df_pool_rows_ref(&p, in_rows, out_rows, 0, 1);
    report(out[0] == -FLT_MAX && out[1] == -FLT_MAX, "maxpool of padding only: %g %g", out[0],
           out[1]);
}

static void test_global_pool(int case_no)
{
    static const int chans[] = {1, 3, 8, 37, 53};
    const int64_t n = rnd_int(1, 3), hw = rnd_int(1, 120), c = rnd_pick(chans, 5);
    const int is_max = rnd_int(0, 1);
    float *x = xmalloc((size_t)(n * hw * c) * sizeof *x);
    float *y = xmalloc((size_t)(n * c) * sizeof *y);
    fill_random(x, (size_t)(n * hw * c), -3.0f, 3.0f);
    df_global_pool_ref(x, y, n, hw, c, is_max);
    int bad = 0;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t ch = 0; ch < c; ch++) {
            double sum = 0.0, max = -INFINITY;
            for (int64_t i = 0; i < hw; i++) {
                double v = x[(b * hw + i) * c + ch];
                sum += v;
                max = v > max ? v : max;
            }
            double want = is_max ? max : sum / (double)hw;
            bad += !same_float(y[b * c + ch], want, 1e-5 * (1.0 + fabs(want)));
        }
    }
    report(bad == 0, "global %s pool case %d (%lldx%lldx%lld): %d wrong",
           is_max ? "max" : "avg", case_no, (long long)n, (long long)hw, (long long)c, bad);
    free(x);
    free(y);
}

/* ---- unary ---------------------------------------------------------------- */

static void test_unary(void)
{
    static const struct {
        df_op op;
        const char *name;
        float a, b;
    } ops[] = {
        {DF_OP_RELU, "Relu", 0, 0},          {DF_OP_CLIP, "Clip", -1.5f, 2.5f},
        {DF_OP_LEAKYRELU, "LeakyRelu", 0.01f, 0}, {DF_OP_SIGMOID, "Sigmoid", 0, 0},
        {DF_OP_HARDSIGMOID, "HardSigmoid", 0.2f, 0.5f},
        {DF_OP_HARDSWISH, "HardSwish", 0, 0}, {DF_OP_TANH, "Tanh", 0, 0},
        {DF_OP_NEG, "Neg", 0, 0},            {DF_OP_SQRT, "Sqrt", 0, 0},
        {DF_OP_EXP, "Exp", 0, 0},            {DF_OP_ABS, "Abs", 0, 0},
        {DF_OP_IDENTITY, "Identity", 0, 0},
    };
    enum { N = 1001 };
    float x[N], y[N], inplace[N];
    fill_random(x, N, -8.0f, 8.0f);
    x[0] = 0.0f;
    x[1] = -3.0f;
    x[2] = 3.0f;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        df_unary_ref(ops[k].op, x, y, N, ops[k].a, ops[k].b);
        memcpy(inplace, x, sizeof x);
        df_unary_ref(ops[k].op, inplace, inplace, N, ops[k].a, ops[k].b);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double v = x[i], want;
            switch (ops[k].op) {
            case DF_OP_RELU: want = naive_act(DF_ACT_RELU, v, 0, 0); break;
            case DF_OP_CLIP: want = naive_act(DF_ACT_CLIP, v, ops[k].a, ops[k].b); break;
            case DF_OP_LEAKYRELU: want = naive_act(DF_ACT_LEAKYRELU, v, ops[k].a, 0); break;
            case DF_OP_SIGMOID: want = naive_act(DF_ACT_SIGMOID, v, 0, 0); break;
            case DF_OP_HARDSIGMOID:
                want = naive_act(DF_ACT_HARDSIGMOID, v, ops[k].a, ops[k].b);
                break;
            case DF_OP_HARDSWISH: want = naive_act(DF_ACT_HARDSWISH, v, 0, 0); break;
            case DF_OP_TANH: want = naive_act(DF_ACT_TANH, v, 0, 0); break;
            case DF_OP_NEG: want = -v; break;
            case DF_OP_SQRT: want = sqrt(v); break;
            case DF_OP_EXP: want = exp(v); break;
            case DF_OP_ABS: want = fabs(v); break;
            default: want = v; break;
            }
            bad += !same_float(y[i], want, 1e-6 * (1.0 + fabs(want)));
            bad += memcmp(&y[i], &inplace[i], sizeof(float)) != 0 && !isnan(y[i]);
        }
        report(bad == 0, "unary %s: %d wrong", ops[k].name, bad);
    }
}

/* ---- broadcasting --------------------------------------------------------- */

/* Offset in an operand of shape dims (rank r, right-aligned against the output)
 * of the element that the output multi-index out_idx (rank out_rank) reads. */
static int64_t broadcast_source(int r, const int64_t *dims, int out_rank, const int64_t *out_idx)
{
    int64_t off = 0;
    for (int d = 0; d < r; d++) {
        int64_t i = out_idx[out_rank - r + d];
        off = off * dims[d] + (dims[d] == 1 ? 0 : i);
    }
    return off;
}

static void unravel(int64_t linear, int rank, const int64_t *dims, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = linear % dims[d];
        linear /= dims[d];
    }
}

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* An output shape and two operand shapes that broadcast to it. */
static void random_broadcast_shapes(int *out_rank, int64_t *out_dims, int *a_rank,
                                    int64_t *a_dims, int *b_rank, int64_t *b_dims)
{
    *out_rank = rnd_int(0, 5);
    for (int d = 0; d < *out_rank; d++)
        out_dims[d] = rnd_int(1, 4);
    int *ranks[2] = {a_rank, b_rank};
    int64_t *dims[2] = {a_dims, b_dims};
    for (int k = 0; k < 2; k++) {
        *ranks[k] = rnd_int(0, *out_rank);
        for (int d = 0; d < *ranks[k]; d++)
            dims[k][d] = rnd_int(0, 2) == 0 ? 1 : out_dims[*out_rank - *ranks[k] + d];
    }
}

static const char *op_name(df_op op)
{
    switch (op) {
    case DF_OP_ADD: return "Add";
    case DF_OP_SUB: return "Sub";
    case DF_OP_MUL: return "Mul";
    case DF_OP_DIV: return "Div";
    case DF_OP_POW: return "Pow";
    case DF_OP_EQUAL: return "Equal";
    default: return "?";
    }
}

static void test_binary_random(int case_no)
{
    static const df_op f32_ops[] = {DF_OP_ADD, DF_OP_SUB, DF_OP_MUL, DF_OP_DIV, DF_OP_POW,
                                    DF_OP_EQUAL};
    static const df_op i64_ops[] = {DF_OP_ADD, DF_OP_SUB, DF_OP_MUL, DF_OP_DIV, DF_OP_EQUAL};
    int out_rank, a_rank, b_rank;
    int64_t out_dims[DF_MAX_RANK], a_dims[DF_MAX_RANK], b_dims[DF_MAX_RANK];
    random_broadcast_shapes(&out_rank, out_dims, &a_rank, a_dims, &b_rank, b_dims);
    const int is_i64 = rnd_int(0, 1);
    const df_op op = is_i64 ? i64_ops[rnd_int(0, 4)] : f32_ops[rnd_int(0, 5)];
    const int64_t na = numel(a_rank, a_dims), nb = numel(b_rank, b_dims);
    const int64_t ny = numel(out_rank, out_dims);

    float *fa = xmalloc((size_t)na * sizeof *fa), *fb = xmalloc((size_t)nb * sizeof *fb);
    int64_t *ia = xmalloc((size_t)na * sizeof *ia), *ib = xmalloc((size_t)nb * sizeof *ib);
    for (int64_t i = 0; i < na; i++) {
        ia[i] = rnd_int(-1000, 1000);
        fa[i] = op == DF_OP_POW ? rnd_float(0.1f, 3.0f) : rnd_float(-4.0f, 4.0f);
        if (op == DF_OP_EQUAL) {
            ia[i] = rnd_int(-1, 2);
            fa[i] = (float)rnd_int(-1, 2);
        }
    }
    for (int64_t i = 0; i < nb; i++) {
        ib[i] = rnd_int(-30, 30); /* zeros included: division by zero gives 0 */
        fb[i] = op == DF_OP_POW ? rnd_float(-2.0f, 2.0f) : rnd_float(-4.0f, 4.0f);
        if (op == DF_OP_EQUAL) {
            ib[i] = rnd_int(-1, 2);
            fb[i] = (float)rnd_int(-1, 2);
        }
    }
    const size_t out_elem = op == DF_OP_EQUAL ? 1 : is_i64 ? 8 : 4;
    char *y = xmalloc((size_t)ny * out_elem);

    int64_t sa[DF_MAX_RANK], sb[DF_MAX_RANK];
    df_broadcast_strides(a_rank, a_dims, out_rank, out_dims, sa);
    df_broadcast_strides(b_rank, b_dims, out_rank, out_dims, sb);
    if (is_i64)
        df_binary_ref(op, DF_DT_I64, ia, sa, ib, sb, y, out_rank, out_dims);
    else
        df_binary_ref(op, DF_DT_F32, fa, sa, fb, sb, y, out_rank, out_dims);

    int bad = 0;
    for (int64_t i = 0; i < ny; i++) {
        int64_t idx[DF_MAX_RANK];
        unravel(i, out_rank, out_dims, idx);
        int64_t ja = broadcast_source(a_rank, a_dims, out_rank, idx);
        int64_t jb = broadcast_source(b_rank, b_dims, out_rank, idx);
        if (op == DF_OP_EQUAL) {
            int want = is_i64 ? ia[ja] == ib[jb] : fa[ja] == fb[jb];
            bad += ((uint8_t *)y)[i] != want;
        } else if (is_i64) {
            int64_t a = ia[ja], b = ib[jb], want;
            switch (op) {
            case DF_OP_ADD: want = a + b; break;
            case DF_OP_SUB: want = a - b; break;
            case DF_OP_MUL: want = a * b; break;
            default: want = b == 0 ? 0 : (int64_t)trunc((double)a / (double)b); break;
            }
            bad += ((int64_t *)y)[i] != want;
        } else {
            double a = fa[ja], b = fb[jb], want;
            switch (op) {
            case DF_OP_ADD: want = (float)(a + b); break;
            case DF_OP_SUB: want = (float)(a - b); break;
            case DF_OP_MUL: want = (float)(a * b); break;
            case DF_OP_DIV: want = (float)(a / b); break;
            default: want = pow(a, b); break;
            }
            bad += !same_float(((float *)y)[i], want,
                               op == DF_OP_POW ? 1e-6 * (1.0 + fabs(want)) : 0.0);
        }
    }
    report(bad == 0, "binary case %d: %s %s rank %d (a rank %d, b rank %d): %d wrong", case_no,
           is_i64 ? "i64" : "f32", op_name(op), out_rank, a_rank, b_rank, bad);
    free(fa);
    free(fb);
    free(ia);
    free(ib);
    free(y);
}

/* Division semantics and wrap-around at the ends of int64, by hand. */
static void test_binary_i64_edges(void)
{
    const int64_t a[] = {7, -7, 7, -7, 5, INT64_MIN, INT64_MAX, 0};
    const int64_t b[] = {2, 2, -2, -2, 0, -1, 1, 0};
    const int64_t want_div[] = {3, -3, -3, 3, 0, INT64_MIN, INT64_MAX, 0};
    const int64_t want_add[] = {9, -5, 5, -9, 5, INT64_MAX, INT64_MIN, 0};
    const int64_t want_mul[] = {14, -14, -14, 14, 0, INT64_MIN, INT64_MAX, 0};
    const int64_t dims[1] = {8}, strides[1] = {1};
    int64_t y[8];
    df_binary_ref(DF_OP_DIV, DF_DT_I64, a, strides, b, strides, y, 1, dims);
    report(memcmp(y, want_div, sizeof y) == 0, "i64 Div truncation, /0 and INT64_MIN/-1");
    df_binary_ref(DF_OP_ADD, DF_DT_I64, a, strides, b, strides, y, 1, dims);
    report(memcmp(y, want_add, sizeof y) == 0, "i64 Add wraps around");
    df_binary_ref(DF_OP_MUL, DF_DT_I64, a, strides, b, strides, y, 1, dims);
    report(memcmp(y, want_mul, sizeof y) == 0, "i64 Mul wraps around");
}

static void test_broadcast_strides_hand(void)
{
    const int64_t in_dims[2] = {3, 1}, out_dims[3] = {2, 3, 4};
    int64_t s[3];
    df_broadcast_strides(2, in_dims, 3, out_dims, s);
    report(s[0] == 0 && s[1] == 1 && s[2] == 0, "broadcast strides of 3x1 in 2x3x4: %lld %lld %lld",
           (long long)s[0], (long long)s[1], (long long)s[2]);
}

static void test_broadcast_copy(int case_no)
{
    static const int elems[] = {1, 2, 4, 8, 3};
    int out_rank, x_rank, unused_rank;
    int64_t out_dims[DF_MAX_RANK], x_dims[DF_MAX_RANK], unused[DF_MAX_RANK];
    random_broadcast_shapes(&out_rank, out_dims, &x_rank, x_dims, &unused_rank, unused);
    const size_t elem = (size_t)rnd_pick(elems, 5);
    const int64_t nx = numel(x_rank, x_dims), ny = numel(out_rank, out_dims);
    unsigned char *x = xmalloc((size_t)nx * elem), *y = xmalloc((size_t)ny * elem);
    for (size_t i = 0; i < (size_t)nx * elem; i++)
        x[i] = (unsigned char)rnd_u32();
    int64_t sx[DF_MAX_RANK];
    df_broadcast_strides(x_rank, x_dims, out_rank, out_dims, sx);
    df_broadcast_copy(x, sx, y, elem, out_rank, out_dims);
    int bad = 0;
    for (int64_t i = 0; i < ny; i++) {
        int64_t idx[DF_MAX_RANK];
        unravel(i, out_rank, out_dims, idx);
        int64_t j = broadcast_source(x_rank, x_dims, out_rank, idx);
        bad += memcmp(y + (size_t)i * elem, x + (size_t)j * elem, elem) != 0;
    }
    report(bad == 0, "broadcast copy case %d (elem %zu, rank %d from %d): %d wrong", case_no,
           elem, out_rank, x_rank, bad);
    free(x);
    free(y);
}

static void test_scale_shift(void)
{
    enum { OUTER = 13, C = 37 };
    float x[OUTER * C], y[OUTER * C], scale[C], shift[C];
    fill_random(x, OUTER * C, -3, 3);
    fill_random(scale, C, -2, 2);
    fill_random(shift, C, -1, 1);
    df_scale_shift_ref(x, y, scale, shift, OUTER, C);
    int bad = 0;
    for (int o = 0; o < OUTER; o++)
        for (int c = 0; c < C; c++) {
            double want = (double)x[o * C + c] * scale[c] + shift[c];
            bad += !same_float(y[o * C + c], want, 1e-6 * (1.0 + fabs(want)));
        }
    report(bad == 0, "scale_shift: %d wrong", bad);
}

/* ---- dense ---------------------------------------------------------------- */

static void test_gemm(int case_no)
{
    const int64_t M = rnd_int(1, 40), N = rnd_int(1, 40), K = rnd_int(1, 40);
    const int trans_a = rnd_int(0, 1), trans_b = rnd_int(0, 1);
    const int64_t lda = (trans_a ? M : K) + rnd_int(0, 3);
    const int64_t ldb = (trans_b ? K : N) + rnd_int(0, 3);
    const int64_t ldy = N + rnd_int(0, 2);
    const int c_mode = rnd_int(0, 4);
    static const float alphas[] = {1.0f, 0.5f, -2.0f}, betas[] = {1.0f, 0.0f, 0.25f};
    const float alpha = alphas[rnd_int(0, 2)], beta = betas[rnd_int(0, 2)];
    const int64_t a_rows = trans_a ? K : M, b_rows = trans_b ? N : K;
    float *A = xmalloc((size_t)(a_rows * lda) * sizeof *A);
    float *B = xmalloc((size_t)(b_rows * ldb) * sizeof *B);
    float *C = xmalloc((size_t)(M * N) * sizeof *C);
    float *Y = xmalloc((size_t)(M * ldy) * sizeof *Y);
    fill_random(A, (size_t)(a_rows * lda), -1, 1);
    fill_random(B, (size_t)(b_rows * ldb), -1, 1);
    fill_random(C, (size_t)(M * N), -1, 1);
    for (int64_t i = 0; i < M * ldy; i++)
        Y[i] = NAN;
    /* C as none, scalar, row vector [N], column [M][1] or full [M][N] */
    const int64_t csm[] = {0, 0, 0, 1, N}, csn[] = {0, 0, 1, 0, 1};
    df_gemm_ref(M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, beta, c_mode ? C : NULL,
                csm[c_mode], csn[c_mode], Y, ldy);
    int bad = 0;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double sum = 0.0, mag = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double a = trans_a ? A[k * lda + m] : A[m * lda + k];
                double b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
                sum += a * b;
                mag += fabs(a * b);
            }
            double want = alpha * sum;
            if (c_mode) {
                double c = c_mode == 1 ? C[0] : c_mode == 2 ? C[n] : c_mode == 3 ? C[m]
                                                                                 : C[m * N + n];
                want += beta * c;
            }
            bad += !same_float(Y[m * ldy + n], want, 1e-5 * (fabs(alpha) * mag + 1.0));
        }
        for (int64_t n = N; n < ldy; n++)
            bad += !isnan(Y[m * ldy + n]); /* the padding of Y is not touched */
    }
    report(bad == 0, "gemm case %d: %lldx%lldx%lld trans %d,%d C mode %d: %d wrong", case_no,
           (long long)M, (long long)N, (long long)K, trans_a, trans_b, c_mode, bad);
    free(A);
    free(B);
    free(C);
    free(Y);
}

static void test_softmax(int case_no)
{
    const int64_t outer = rnd_int(1, 4), n = rnd_int(1, 30), inner = rnd_int(1, 5);
    const size_t total = (size_t)(outer * n * inner);
    float *x = xmalloc(total * sizeof *x), *y = xmalloc(total * sizeof *y);
    /* values up to 100: exp would overflow float without subtracting the max */
    fill_random(x, total, -100.0f, 100.0f);
    const int in_place = rnd_int(0, 1);
    if (in_place)
        memcpy(y, x, total * sizeof *x);
    df_softmax_ref(in_place ? y : x, y, outer, n, inner);
    int bad = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double sum = 0.0;
            for (int64_t j = 0; j < n; j++)
                sum += exp((double)x[(o * n + j) * inner + i]);
            for (int64_t j = 0; j < n; j++) {
                double want = exp((double)x[(o * n + j) * inner + i]) / sum;
                bad += !same_float(y[(o * n + j) * inner + i], want, 1e-6 + 1e-5 * want);
            }
        }
    report(bad == 0, "softmax case %d: %lldx%lldx%lld in place %d: %d wrong", case_no,
           (long long)outer, (long long)n, (long long)inner, in_place, bad);
    free(x);
    free(y);
}

static void test_reduce_mean(int case_no)
{
    const int rank = rnd_int(1, 5);
    int64_t dims[DF_MAX_RANK], out_dims[DF_MAX_RANK];
    int reduce[DF_MAX_RANK], out_rank = 0;
    for (int d = 0; d < rank; d++) {
        dims[d] = rnd_int(1, 5);
        reduce[d] = rnd_int(0, 1);
        if (!reduce[d])
            out_dims[out_rank++] = dims[d];
    }
    const int64_t nx = numel(rank, dims), ny = numel(out_rank, out_dims);
    float *x = xmalloc((size_t)nx * sizeof *x), *y = xmalloc((size_t)ny * sizeof *y);
    fill_random(x, (size_t)nx, -2, 2);
    df_reduce_mean_ref(x, y, rank, dims, reduce);
    int bad = 0;
    for (int64_t o = 0; o < ny; o++) {
        int64_t oidx[DF_MAX_RANK], xidx[DF_MAX_RANK];
        unravel(o, out_rank, out_dims, oidx);
        double sum = 0.0;
        int64_t count = 0;
        for (int64_t i = 0; i < nx; i++) {
            unravel(i, rank, dims, xidx);
            int match = 1;
            for (int d = 0, k = 0; d < rank; d++)
                if (!reduce[d] && xidx[d] != oidx[k++])
                    match = 0;
            if (match) {
                sum += x[i];
                count++;
            }
        }
        bad += !same_float(y[o], sum / (double)count, 1e-5);
    }
    report(bad == 0, "reduce_mean case %d (rank %d): %d wrong", case_no, rank, bad);
    free(x);
    free(y);
}

/* ---- data movement -------------------------------------------------------- */

static void fill_bytes(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rnd_u32();
}

static void test_transpose(int case_no)
{
    static const int elems[] = {1, 2, 4, 8};
    const int rank = rnd_int(1, 6);
    int64_t dims[DF_MAX_RANK], out_dims[DF_MAX_RANK];
    int perm[DF_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        dims[d] = rnd_int(1, 4);
        perm[d] = d;
    }
    for (int d = rank - 1; d > 0; d--) { /* Fisher-Yates shuffle */
        int j = rnd_int(0, d), t = perm[d];
        perm[d] = perm[j];
        perm[j] = t;
    }
    for (int d = 0; d < rank; d++)
        out_dims[d] = dims[perm[d]];
    const size_t elem = (size_t)rnd_pick(elems, 4);
    const int64_t n = numel(rank, dims);
    unsigned char *x = xmalloc((size_t)n * elem), *y = xmalloc((size_t)n * elem);
    fill_bytes(x, (size_t)n * elem);
    df_transpose_ref(x, y, elem, rank, dims, perm);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[DF_MAX_RANK], out_idx[DF_MAX_RANK];
        unravel(i, rank, dims, idx);
        for (int d = 0; d < rank; d++)
            out_idx[d] = idx[perm[d]];
        int64_t o = 0;
        for (int d = 0; d < rank; d++)
            o = o * out_dims[d] + out_idx[d];
        bad += memcmp(y + (size_t)o * elem, x + (size_t)i * elem, elem) != 0;
    }
    report(bad == 0, "transpose case %d (rank %d, elem %zu): %d wrong", case_no, rank, elem,
           bad);
    free(x);
    free(y);
}

static void test_concat_split(int case_no)
{
    static const int elems[] = {1, 4, 8};
    const int n_in = rnd_int(1, 4);
    const int64_t outer = rnd_int(1, 4), inner = rnd_int(1, 4);
    const size_t elem = (size_t)rnd_pick(elems, 3);
    int64_t sizes[4], total = 0;
    unsigned char *x[4], *back[4];
    for (int i = 0; i < n_in; i++) {
        sizes[i] = rnd_int(0, 5);
        total += sizes[i];
        size_t bytes = (size_t)(outer * sizes[i] * inner) * elem;
        x[i] = xmalloc(bytes);
        back[i] = xmalloc(bytes);
        fill_bytes(x[i], bytes);
    }
    unsigned char *y = xmalloc((size_t)(outer * total * inner) * elem);
    df_concat_ref(n_in, (const void *const *)x, sizes, y, elem, outer, inner);
    df_split_ref(y, n_in, (void *const *)back, sizes, elem, outer, inner);

    int bad = 0, bad_split = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t a = 0; a < total; a++)
            for (int64_t i = 0; i < inner; i++) {
                int src = 0;
                int64_t at = a;
                while (at >= sizes[src])
                    at -= sizes[src++];
                size_t want = (size_t)((o * sizes[src] + at) * inner + i) * elem;
                size_t got = (size_t)((o * total + a) * inner + i) * elem;
                bad += memcmp(y + got, x[src] + want, elem) != 0;
            }
    for (int i = 0; i < n_in; i++)
        bad_split += memcmp(back[i], x[i], (size_t)(outer * sizes[i] * inner) * elem) != 0;
    report(bad == 0, "concat case %d (%d inputs): %d wrong", case_no, n_in, bad);
    report(bad_split == 0, "split case %d (%d outputs): %d wrong", case_no, n_in, bad_split);
    for (int i = 0; i < n_in; i++) {
        free(x[i]);
        free(back[i]);
    }
    free(y);
}

static void test_slice(int case_no)
{
    static const int elems[] = {1, 4, 8}, step_choices[] = {-3, -2, -1, 1, 1, 2, 3};
    const int rank = rnd_int(1, 4);
    int64_t dims[DF_MAX_RANK], starts[DF_MAX_RANK], steps[DF_MAX_RANK], out_dims[DF_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        dims[d] = rnd_int(1, 6);
        steps[d] = rnd_pick(step_choices, 7);
        starts[d] = rnd_int(0, (int)dims[d] - 1);
        int64_t room = steps[d] > 0 ? (dims[d] - starts[d] + steps[d] - 1) / steps[d]
                                    : starts[d] / -steps[d] + 1;
        out_dims[d] = rnd_int(1, (int)room);
    }
    const size_t elem = (size_t)rnd_pick(elems, 3);
    const int64_t nx = numel(rank, dims), ny = numel(rank, out_dims);
    unsigned char *x = xmalloc((size_t)nx * elem), *y = xmalloc((size_t)ny * elem);
    fill_bytes(x, (size_t)nx * elem);
    df_slice_ref(x, y, elem, rank, dims, starts, steps, out_dims);
    int bad = 0;
    for (int64_t o = 0; o < ny; o++) {
        int64_t idx[DF_MAX_RANK], src = 0;
        unravel(o, rank, out_dims, idx);
        for (int d = 0; d < rank; d++)
            src = src * dims[d] + starts[d] + idx[d] * steps[d];
        bad += memcmp(y + (size_t)o * elem, x + (size_t)src * elem, elem) != 0;
    }
    report(bad == 0, "slice case %d (rank %d): %d wrong", case_no, rank, bad);
    free(x);
    free(y);
}

static void test_gather(int case_no)
{
    const int64_t outer = rnd_int(1, 3), axis_n = rnd_int(1, 6), inner = rnd_int(1, 4);
    const int64_t n_idx = rnd_int(0, 6);
    int64_t idx[8];
    for (int64_t i = 0; i < n_idx; i++)
        idx[i] = rnd_int(-(int)axis_n, (int)axis_n - 1);
    float *x = xmalloc((size_t)(outer * axis_n * inner) * sizeof *x);
    float *y = xmalloc((size_t)(outer * n_idx * inner) * sizeof *y);
    fill_random(x, (size_t)(outer * axis_n * inner), -1, 1);
    int64_t ret = df_gather_ref(x, y, sizeof(float), outer, axis_n, inner, idx, n_idx);
    int bad = ret != -1;
    for (int64_t o = 0; o < outer && ret == -1; o++)
        for (int64_t i = 0; i < n_idx; i++)
            for (int64_t k = 0; k < inner; k++) {
                int64_t j = idx[i] < 0 ? idx[i] + axis_n : idx[i];
                bad += y[(o * n_idx + i) * inner + k] != x[(o * axis_n + j) * inner + k];
            }
    report(bad == 0, "gather case %d: %d wrong", case_no, bad);

    /* one index just out of range on either side: its position comes back, y untouched */
    if (n_idx > 0) {
        const int64_t at = rnd_int(0, (int)n_idx - 1);
        idx[at] = rnd_int(0, 1) ? axis_n : -axis_n - 1;
        for (int64_t i = 0; i < outer * n_idx * inner; i++)
            y[i] = NAN;
        ret = df_gather_ref(x, y, sizeof(float), outer, axis_n, inner, idx, n_idx);
        int touched = 0;
        for (int64_t i = 0; i < outer * n_idx * inner; i++)
            touched += !isnan(y[i]);
        /* an earlier index could not be bad: they were drawn in range */
        report(ret == at && touched == 0, "gather case %d with index %lld at %lld: returned %lld",
               case_no, (long long)idx[at], (long long)at, (long long)ret);
    }
    free(x);
    free(y);
}

/* Coordinate in a source of size m (the cropped input) for coordinate c, which
 * may fall outside it: reflected one bounce at a time, or clamped; -1 for the
 * constant. */
static int64_t naive_pad_coord(int64_t c, int64_t m, df_pad_mode mode)
{
    if (c >= 0 && c < m)
        return c;
    if (mode == DF_PAD_CONSTANT)
        return -1;
    if (mode == DF_PAD_EDGE)
        return c < 0 ? 0 : m - 1;
    if (m == 1)
        return 0;
    while (c < 0 || c >= m)
        c = c < 0 ? -c : 2 * (m - 1) - c;
    return c;
}

static void test_pad(int case_no)
{
    const int rank = rnd_int(1, 4);
    const df_pad_mode mode = (df_pad_mode)rnd_int(0, 2);
    int64_t dims[DF_MAX_RANK], begin[DF_MAX_RANK], end[DF_MAX_RANK], out_dims[DF_MAX_RANK];
    int64_t crop_lo[DF_MAX_RANK], crop_n[DF_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        do {
            dims[d] = rnd_int(1, 5);
            begin[d] = rnd_int(-2, 3);
            end[d] = rnd_int(-2, 3);
            crop_lo[d] = begin[d] < 0 ? -begin[d] : 0;
            crop_n[d] = dims[d] - crop_lo[d] - (end[d] < 0 ? -end[d] : 0);
        } while (crop_n[d] < 1);
        out_dims[d] = dims[d] + begin[d] + end[d];
    }
    const int64_t nx = numel(rank, dims), ny = numel(rank, out_dims);
    float *x = xmalloc((size_t)nx * sizeof *x), *y = xmalloc((size_t)ny * sizeof *y);
    fill_random(x, (size_t)nx, -1, 1);
    df_pad_ref(x, y, rank, dims, begin, out_dims, mode, 7.5f);
    int bad = 0;
    for (int64_t o = 0; o < ny; o++) {
        int64_t idx[DF_MAX_RANK], src = 0;
        int constant = 0;
        unravel(o, rank, out_dims, idx);
        for (int d = 0; d < rank; d++) {
            int64_t c = naive_pad_coord(idx[d] - (begin[d] > 0 ? begin[d] : 0), crop_n[d], mode);
            if (c < 0)
                constant = 1;
            src = src * dims[d] + crop_lo[d] + (c < 0 ? 0 : c);
        }
        bad += y[o] != (constant ? 7.5f : x[src]);
    }
    report(bad == 0, "pad case %d (mode %d, rank %d): %d wrong", case_no, (int)mode, rank, bad);
    free(x);
    free(y);
}

static void test_pad_hand(void)
{
    const float x[3] = {1, 2, 3};
    const int64_t in_dims[1] = {3}, begin[1] = {2}, out_dims[1] = {7};
    const float want_reflect[7] = {3, 2, 1, 2, 3, 2, 1}, want_edge[7] = {1, 1, 1, 2, 3, 3, 3};
    const float want_const[7] = {0, 0, 1, 2, 3, 0, 0};
    float y[7];
    df_pad_ref(x, y, 1, in_dims, begin, out_dims, DF_PAD_REFLECT, 0.0f);
    report(memcmp(y, want_reflect, sizeof y) == 0, "pad reflect by hand");
    df_pad_ref(x, y, 1, in_dims, begin, out_dims, DF_PAD_EDGE, 0.0f);
    report(memcmp(y, want_edge, sizeof y) == 0, "pad edge by hand");
    df_pad_ref(x, y, 1, in_dims, begin, out_dims, DF_PAD_CONSTANT, 0.0f);
    report(memcmp(y, want_const, sizeof y) == 0, "pad constant by hand");
    /* crop one element at the start, reflect two at the end: [2 3] -> [2 3 2 3] */
    const int64_t crop_begin[1] = {-1}, crop_out[1] = {4};
    const float want_crop[4] = {2, 3, 2, 3};
    df_pad_ref(x, y, 1, in_dims, crop_begin, crop_out, DF_PAD_REFLECT, 0.0f);
    report(memcmp(y, want_crop, sizeof want_crop) == 0,
           "pad crop then reflect by hand: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

int main(void)
{
    test_conv_hand();
    for (int i = 0; i < 300; i++)
        test_conv_random(i);
    test_pool_hand();
    for (int i = 0; i < 300; i++)
        test_pool_random(i);
    for (int i = 0; i < 20; i++)
        test_global_pool(i);
    test_unary();
    test_binary_i64_edges();
    test_broadcast_strides_hand();
    for (int i = 0; i < 300; i++)
        test_binary_random(i);
    for (int i = 0; i < 100; i++)
        test_broadcast_copy(i);
    test_scale_shift();
    for (int i = 0; i < 100; i++)
        test_gemm(i);
    for (int i = 0; i < 50; i++)
        test_softmax(i);
    for (int i = 0; i < 100; i++)
        test_reduce_mean(i);
    for (int i = 0; i < 100; i++)
        test_transpose(i);
    for (int i = 0; i < 100; i++)
        test_concat_split(i);
    for (int i = 0; i < 100; i++)
        test_slice(i);
    for (int i = 0; i < 100; i++)
        test_gather(i);
    test_pad_hand();
    for (int i = 0; i < 200; i++)
        test_pad(i);

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
