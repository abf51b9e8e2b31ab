/* fingerprint: see fingerprint.h. Every measurement takes the best (or, for
 * the thread pool, the median) of repetitions long enough for the clock,
 * within its share of the time budget. */
#define _DEFAULT_SOURCE /* madvise */

#include "fingerprint.h"

#include <math.h>
#include <pthreadpool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kernels/dispatch.h"
#include "kernels/x86/eltwise_avx2.h"

/* The conv of the peak measurement: 1x1, 256 -> 256 channels, 4 rows of 48
 * pixels. Input and output are 192 KiB each and the weights 256 KiB, so all
 * of it stays in L2 between calls: what the kernel's inner loop reaches when
 * memory is not what limits it. */
enum { PEAK_C = 256, PEAK_W = 48, PEAK_ROWS = 4 };

#define MIN_REP_S 1e-3                      /* one timed repetition at least this long */
#define DRAM_MIN_BYTES ((size_t)256 << 20)
#define DRAM_MAX_BYTES ((size_t)600 << 20)

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best time of one call of fn(ctx), in seconds: calls are batched so one
 * repetition lasts at least MIN_REP_S, and repetitions go on for `seconds`
 * (at least three of them). The first call warms caches and is not timed. */
static double best_call_time(void (*fn)(void *), void *ctx, double seconds)
{
    fn(ctx);
    long calls = 1;
    double t;
    for (;;) {
        const double t0 = now_s();
        for (long i = 0; i < calls; i++)
            fn(ctx);
        t = now_s() - t0;
        if (t >= MIN_REP_S || calls >= (1L << 30))
            break;
        calls *= 2;
    }
    double best = t / (double)calls;
    const double end = now_s() + seconds;
    for (int rep = 1; rep < 3 || now_s() < end; rep++) {
        const double t0 = now_s();
        for (long i = 0; i < calls; i++)
            fn(ctx);
        t = (now_s() - t0) / (double)calls;
        if (t < best)
            best = t;
    }
    return best;
}

/* ---- peak: the conv kernel ------------------------------------------------ */

typedef struct conv_bench {
    df_conv_params p;
    df_conv_rows_fn rows;
    const float *in_rows[PEAK_ROWS];
    float *out_rows[PEAK_ROWS];
} conv_bench;

static void conv_call(void *ctx)
{
    conv_bench *c = ctx;
    c->rows(&c->p, c->in_rows, c->out_rows, NULL, 0, c->p.out_h);
}

static int measure_peak(df_machine *m, double seconds, char *err, size_t errsz)
{
    const size_t act = (size_t)PEAK_ROWS * PEAK_W * PEAK_C, weights = (size_t)PEAK_C * PEAK_C;
    float *in = malloc(act * sizeof *in), *out = malloc(act * sizeof *out);
    float *w = malloc(weights * sizeof *w), *bias = malloc(PEAK_C * sizeof *bias);
    if (!in || !out || !w || !bias) {
        free(in), free(out), free(w), free(bias);
        return fail(err, errsz, "out of memory");
    }
    /* Small values of both signs: no overflow, no denormals. */
    for (size_t i = 0; i < act; i++)
        in[i] = (float)((int)(i % 13) - 6) * 0.125f;
    for (size_t i = 0; i < weights; i++)
        w[i] = (float)((int)(i % 7) - 3) * (1.0f / 256.0f);
    for (int i = 0; i < PEAK_C; i++)
        bias[i] = 0.01f * (float)i;

    conv_bench c = {.p = {.in_h = PEAK_ROWS, .in_w = PEAK_W, .in_c = PEAK_C, .out_h = PEAK_ROWS,
                          .out_w = PEAK_W, .out_c = PEAK_C, .k_h = 1, .k_w = 1, .stride_h = 1,
                          .stride_w = 1, .dil_h = 1, .dil_w = 1, .groups = 1, .weight = w,
                          .bias = bias, .act = DF_ACT_NONE}};
    void *packed = NULL;
    if (df_conv_select(&c.p, &c.rows, &packed) != DF_OK) {
        free(in), free(out), free(w), free(bias);
        return fail(err, errsz, "conv kernel: %s", df_last_error());
    }
    for (int r = 0; r < PEAK_ROWS; r++) {
        c.in_rows[r] = in + (size_t)r * PEAK_W * PEAK_C;
        c.out_rows[r] = out + (size_t)r * PEAK_W * PEAK_C;
    }
    const double t = best_call_time(conv_call, &c, seconds);
    m->peak_gflops = 2.0 * PEAK_C * PEAK_C * PEAK_W * PEAK_ROWS / t * 1e-9;
    df_conv_release(packed);
    free(in), free(out), free(w), free(bias);
    return 0;
}

/* ---- bandwidth: a streaming pass --------------------------------------------- */

/* The pass is deepfirst's own kernel of its commonest memory-bound op, Relu,
 * chosen as compile.c chooses it: the AVX2 one wherever the CPU has AVX2.
 * That is the rate the planner's memory-bound ops see. A plain C loop here
 * (y = a * x + b) would be compiled for SSE2, whose 16-byte loads and stores
 * cap L1 and L2 at about L3's rate on a recent core (113 GB/s at all three
 * on a Zen 5, where AVX2 reaches 200); the library's HardSigmoid kernel,
 * which is a * x + b clamped, is latency-bound at the same 110. Being in
 * another file, the call cannot be optimised away. */
typedef void (*unary_fn)(df_op op, const float *x, float *y, int64_t n, float a, float b);

typedef struct stream_bench {
    unary_fn pass;
    const float *x;
    float *y;
    int64_t n;
} stream_bench;

static void stream_call(void *ctx)
{
    stream_bench *s = ctx;
    s->pass(DF_OP_RELU, s->x, s->y, s->n, 0.0f, 0.0f);
}

/* Read + write bandwidth over two buffers of total_bytes at the start of buf. */
static double stream_gbs(float *buf, size_t total_bytes, double seconds)
{
    const char *isa = df_kernel_isa();
    const int avx2 = strcmp(isa, "avx2+fma") == 0 || strcmp(isa, "avx512") == 0;
    stream_bench s = {avx2 ? df_unary_avx2 : df_unary_ref, buf, NULL,
                      (int64_t)(total_bytes / (2 * sizeof(float)))};
    if (s.n < 64)
        s.n = 64;
    s.y = buf + s.n;
    const double t = best_call_time(stream_call, &s, seconds);
    return 2.0 * (double)s.n * sizeof(float) / t * 1e-9;
}

static int measure_bandwidth(df_machine *m, const double seconds[DF_BW_LEVELS], char *err,
                             size_t errsz)
{
    const size_t l1 = m->l1 ? m->l1 : (size_t)32 << 10, l2 = m->l2 ? m->l2 : (size_t)512 << 10;
    const size_t l3 = m->l3 ? m->l3 : (size_t)8 << 20;
    size_t dram = l3 > DRAM_MIN_BYTES / 4 ? 4 * l3 : DRAM_MIN_BYTES;
    if (dram > DRAM_MAX_BYTES)
        dram = DRAM_MAX_BYTES;
    const size_t totals[DF_BW_LEVELS] = {l1 / 2, l2 / 2, l3 / 4, dram};

    /* One buffer for all levels; each uses its start. Filling it touches
     * every page, so no level times page faults. Huge pages make that fill
     * much faster (in a VM 4 KiB faults cost seconds for 600 MiB) and keep
     * TLB misses out of the DRAM rate; the fill's time comes out of DRAM's
     * share of the budget. */
    const double t0 = now_s();
    const size_t huge = (size_t)2 << 20;
    float *buf = aligned_alloc(huge, (dram + huge - 1) / huge * huge);
    if (!buf)
        return fail(err, errsz, "cannot allocate %zu MiB for the bandwidth test", dram >> 20);
#ifdef MADV_HUGEPAGE
    madvise(buf, dram, MADV_HUGEPAGE); /* a hint: failure only costs time */
#endif
    for (size_t i = 0; i < dram / sizeof *buf; i++)
        buf[i] = 1.0f;
    const double fill_s = now_s() - t0;
    for (int level = 0; level < DF_BW_LEVELS; level++) {
        double s = seconds[level];
        if (level == DF_BW_DRAM)
            s = s > fill_s ? s - fill_s : 0.0;
        m->bw_gbs[level] = stream_gbs(buf, totals[level], s);
    }
    free(buf);
    return 0;
}

/* ---- the thread pool ------------------------------------------------------------- */

static void empty_task(void *ctx, size_t i)
{
    (void)ctx;
    (void)i;
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int measure_fork_join(df_machine *m, int threads, double seconds, char *err, size_t errsz)
{
    enum { WARMUP = 100, MAX_SAMPLES = 20000 };
    if (threads <= 1) {
        m->fork_join_us = 0.0;
        return 0;
    }
    pthreadpool_t pool = pthreadpool_create((size_t)threads);
    double *samples = malloc(MAX_SAMPLES * sizeof *samples);
    if (!pool || !samples) {
        pthreadpool_destroy(pool);
        free(samples);
        return fail(err, errsz, "cannot create a pool of %d threads", threads);
    }
    const uint32_t flags = PTHREADPOOL_FLAG_DISABLE_DENORMALS;
    for (int i = 0; i < WARMUP; i++)
        pthreadpool_parallelize_1d(pool, empty_task, NULL, (size_t)threads, flags);
    /* Back-to-back calls, as between the ops of a run. */
    int n = 0;
    const double end = now_s() + seconds;
    while (n < MAX_SAMPLES && (n < 10 || now_s() < end)) {
        const double t0 = now_s();
        pthreadpool_parallelize_1d(pool, empty_task, NULL, (size_t)threads, flags);
        samples[n++] = now_s() - t0;
    }
    qsort(samples, (size_t)n, sizeof *samples, compare_double);
    m->fork_join_us = samples[n / 2] * 1e6;
    free(samples);
    pthreadpool_destroy(pool);
    return 0;
}

/* ---- all of it -------------------------------------------------------------- */

int fingerprint_measure(df_machine *m, int threads, double budget_s, char *err, size_t errsz)
{
    if (!m || !(budget_s > 0.0) || !isfinite(budget_s))
        return fail(err, errsz, "fingerprint: needs a machine and a positive time budget");
    /* Shares of the budget; DRAM gets the most, its passes are the longest,
     * and filling its buffer comes on top. */
    const double bw_share[DF_BW_LEVELS] = {0.1, 0.1, 0.15, 0.3};
    double bw_seconds[DF_BW_LEVELS];
    for (int i = 0; i < DF_BW_LEVELS; i++)
        bw_seconds[i] = bw_share[i] * budget_s;
    if (measure_peak(m, 0.2 * budget_s, err, errsz) != 0 ||
        measure_bandwidth(m, bw_seconds, err, errsz) != 0 ||
        measure_fork_join(m, threads, 0.1 * budget_s, err, errsz) != 0)
        return -1;
    m->measured = 1;
    return 0;
}
