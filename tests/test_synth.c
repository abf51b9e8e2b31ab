/* Synthetic models (tools/cli/synth.c): every seed gives a model deepfirst
 * loads and runs with finite outputs, the same layer by layer and depth first;
 * the same seed gives the same bytes.
 *
 *   test_synth [COUNT]            checks seeds 0..COUNT-1 (default 200)
 *   test_synth --dump SEED FILE   writes that seed's model to FILE, e.g. for
 *       /usr/bin/python3 -c "import onnx; onnx.checker.check_model(onnx.load('FILE'))"
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deepfirst.h"
#include "synth.h"

static int dump(unsigned seed, const char *path)
{
    char err[256];
    synth_model m;
    if (synth_random_model(seed, &m, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(m.onnx, 1, m.size, f) == m.size;
    if (f && fclose(f) != 0)
        ok = 0;
    printf("seed %u: %s\n", seed, m.desc);
    synth_free(&m);
    if (!ok)
        fprintf(stderr, "could not write %s\n", path);
    return ok ? 0 : 1;
}

static df_model *open_model(const synth_model *m, df_schedule schedule)
{
    df_options opt;
    df_options_init(&opt);
    opt.threads = 1;
    opt.schedule = schedule;
    df_model *model = NULL;
    if (df_model_open_memory(m->onnx, m->size, "synth", &opt, &model) != DF_OK) {
        fprintf(stderr, "open (%s): %s\n", schedule == DF_SCHEDULE_LAYER ? "layer" : "depth",
                df_last_error());
        return NULL;
    }
    return model;
}

static int run_model(df_model *model, const float *in, float *out)
{
    df_session *s = NULL;
    df_status st = df_session_create(model, &s);
    if (st == DF_OK)
        st = df_session_run(s, &in, &out);
    if (st != DF_OK)
        fprintf(stderr, "run: %s\n", df_last_error());
    df_session_destroy(s);
    return st == DF_OK ? 0 : -1;
}

/* Opens one seed's model both ways, runs both on the same random input and
 * compares. Adds the model's FLOPs to *flops. Returns 0 when all is well. */
static int check_seed(unsigned seed, double *flops)
{
    char err[256];
    synth_model a, b;
    if (synth_random_model(seed, &a, err, sizeof err) != 0) {
        fprintf(stderr, "seed %u: %s\n", seed, err);
        return -1;
    }
    if (synth_random_model(seed, &b, err, sizeof err) != 0) {
        fprintf(stderr, "seed %u (again): %s\n", seed, err);
        synth_free(&a);
        return -1;
    }
    int bad = a.size != b.size || memcmp(a.onnx, b.onnx, a.size) != 0;
    if (bad)
        fprintf(stderr, "seed %u: two builds differ\n", seed);
    synth_free(&b);

    df_model *layer = open_model(&a, DF_SCHEDULE_LAYER), *depth = open_model(&a, DF_SCHEDULE_DEPTH);
    float *in = NULL, *out_layer = NULL, *out_depth = NULL;
    df_tensor_info ii, oi;
    if (!layer || !depth || df_model_input_count(layer) != 1 ||
        df_model_output_count(layer) != 1 || df_model_input(layer, 0, &ii) != DF_OK ||
        df_model_output(layer, 0, &oi) != DF_OK) {
        bad = 1;
        goto done;
    }
    in = malloc((size_t)ii.numel * sizeof *in);
    out_layer = malloc((size_t)oi.numel * sizeof *out_layer);
    out_depth = malloc((size_t)oi.numel * sizeof *out_depth);
    if (!in || !out_layer || !out_depth) {
        fprintf(stderr, "out of memory\n");
        bad = 1;
        goto done;
    }
    uint32_t x = seed * 2654435761u + 1;
    for (int64_t i = 0; i < ii.numel; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        in[i] = (float)(x >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
    }
    if (run_model(layer, in, out_layer) != 0 || run_model(depth, in, out_depth) != 0) {
        bad = 1;
        goto done;
    }
    double max_abs = 0.0, max_diff = 0.0;
    for (int64_t i = 0; i < oi.numel; i++) {
        if (!isfinite(out_layer[i]) || !isfinite(out_depth[i])) {
            fprintf(stderr, "seed %u: output %lld is not finite\n", seed, (long long)i);
            bad = 1;
            goto done;
        }
        max_abs = fmax(max_abs, fabs(out_layer[i]));
        max_diff = fmax(max_diff, fabs((double)out_layer[i] - out_depth[i]));
    }
    if (max_diff > 1e-4 * max_abs) {
        fprintf(stderr, "seed %u: layer and depth differ by %g (max |out| %g)\n", seed, max_diff,
                max_abs);
        bad = 1;
    }
    df_model_stats stats;
    if (df_model_get_stats(layer, &stats) == DF_OK)
        *flops = (double)stats.flops;
done:
    if (bad)
        fprintf(stderr, "seed %u failed: %s\n", seed, a.desc);
    free(in);
    free(out_layer);
    free(out_depth);
    df_model_close(layer);
    df_model_close(depth);
    synth_free(&a);
    return bad ? -1 : 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--dump") == 0)
        return dump((unsigned)strtoul(argv[2], NULL, 10), argv[3]);
    const int count = argc > 1 ? atoi(argv[1]) : 200;
    if (count < 1) {
        fprintf(stderr, "usage: test_synth [COUNT] | --dump SEED FILE\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double *flops = calloc((size_t)count, sizeof *flops);
    if (!flops)
        return 1;
    int failures = 0;
    for (int seed = 0; seed < count; seed++)
        if (check_seed((unsigned)seed, &flops[seed]) != 0)
            failures++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    qsort(flops, (size_t)count, sizeof *flops, compare_double);
    printf("%d models, %d failed, %.1f s; MFLOP min %.2f median %.1f max %.1f\n", count, failures,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
           flops[0] / 1e6, flops[count / 2] / 1e6, flops[count - 1] / 1e6);
    /* The budget is 600 MFLOP as synth counts; deepfirst counts a little
     * differently (BatchNorm folded away, activations fused). */
    if (flops[count - 1] > 700e6) {
        fprintf(stderr, "a model has %.0f MFLOP, over the 600 MFLOP budget\n",
                flops[count - 1] / 1e6);
        failures++;
    }
    free(flops);
    return failures ? 1 : 0;
}
