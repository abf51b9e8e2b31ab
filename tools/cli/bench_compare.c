/* deepfirst bench --compare: the layer and depth schedules of one model in one
 * process, run alternately so that both see the same machine state (clock,
 * other load), on the same input. Prints both latencies, the speed-up and
 * both peak activation sizes, and checks that the two outputs agree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"

enum { LAYER = 0, DEPTH = 1 };

typedef struct engine {
    df_model *model;
    df_session *session;
    cli_io io;
    df_model_stats stats;
    double *samples;
} engine;

static int open_engine(const char *path, const df_options *base, df_schedule schedule,
                       long runs, engine *e)
{
    df_options opt = *base;
    opt.schedule = schedule;
    memset(&e->io, 0, sizeof e->io);
    if (df_model_open(path, &opt, &e->model) != DF_OK)
        return cli_library_error();
    if (df_model_get_stats(e->model, &e->stats) != DF_OK)
        return cli_library_error();
    int rc = cli_io_create(e->model, &e->io);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (df_session_create(e->model, &e->session) != DF_OK)
        return cli_library_error();
    e->samples = malloc((size_t)runs * sizeof *e->samples);
    return e->samples ? CLI_EXIT_OK : cli_error("out of memory");
}

static void close_engine(engine *e)
{
    free(e->samples);
    df_session_destroy(e->session);
    cli_io_destroy(&e->io);
    df_model_close(e->model);
}

static int run(engine *e)
{
    if (df_session_run(e->session, (const float *const *)e->io.inputs, e->io.outputs) != DF_OK)
        return cli_library_error();
    return CLI_EXIT_OK;
}

int bench_compare(const char *path, const df_options *options, long runs, long warmup,
                  uint64_t seed, int json)
{
    engine e[2];
    memset(e, 0, sizeof e);
    int rc = open_engine(path, options, DF_SCHEDULE_LAYER, runs, &e[LAYER]);
    if (rc == CLI_EXIT_OK)
        rc = open_engine(path, options, DF_SCHEDULE_DEPTH, runs, &e[DEPTH]);
    if (rc == CLI_EXIT_OK) {
        cli_io_fill_random(&e[LAYER].io, seed);
        cli_io_fill_random(&e[DEPTH].io, seed);
        fprintf(stderr, "deepfirst: %ld warm-up and %ld timed runs of each schedule, alternating, "
                        "%d threads\n", warmup, runs, e[LAYER].stats.threads);
    }
    for (long i = 0; i < warmup && rc == CLI_EXIT_OK; i++)
        for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++)
            rc = run(&e[k]);
    for (long i = 0; i < runs && rc == CLI_EXIT_OK; i++) {
        /* alternate which goes first, so neither always follows the other */
        for (int n = 0; n < 2 && rc == CLI_EXIT_OK; n++) {
            int k = (int)((i + n) % 2);
            double start = cli_now_ms();
            rc = run(&e[k]);
            e[k].samples[i] = cli_now_ms() - start;
        }
    }
    double max_diff = 0.0, max_ref = 0.0;
    stats_summary s[2];
    if (rc == CLI_EXIT_OK) {
        for (int k = 0; k < 2; k++)
            if (stats_summarize(e[k].samples, (int)runs, &s[k]) != 0)
                rc = cli_error("out of memory summarizing the samples");
        for (int o = 0; o < e[LAYER].io.output_count && rc == CLI_EXIT_OK; o++)
            for (int64_t j = 0; j < e[LAYER].io.output_info[o].numel; j++) {
                double a = e[LAYER].io.outputs[o][j], b = e[DEPTH].io.outputs[o][j];
                max_diff = fmax(max_diff, fabs(a - b));
                max_ref = fmax(max_ref, fabs(a));
            }
    }
    if (rc == CLI_EXIT_OK) {
        double speedup = s[DEPTH].median > 0 ? s[LAYER].median / s[DEPTH].median : 0.0;
        double memory = e[DEPTH].stats.peak_bytes
                            ? (double)e[LAYER].stats.peak_bytes / (double)e[DEPTH].stats.peak_bytes
                            : 0.0;
        if (json) {
            fputs("{\"model\": ", stdout);
            cli_json_string(stdout, path);
            printf(", \"threads\": %d, \"runs\": %ld", e[LAYER].stats.threads, runs);
            for (int k = 0; k < 2; k++)
                printf(", \"%s\": {\"median_ms\": %.6f, \"min_ms\": %.6f, \"p90_ms\": %.6f, "
                       "\"peak_bytes\": %zu, \"schedule\": \"%s\"}",
                       k == LAYER ? "layer" : "depth", s[k].median, s[k].min, s[k].p90,
                       e[k].stats.peak_bytes, cli_schedule_name(e[k].stats.schedule));
            printf(", \"speedup\": %.6f, \"memory_ratio\": %.6f, \"max_abs_diff\": %.3g}\n",
                   speedup, memory, max_diff);
        } else {
            printf("model        %s, %d threads, %ld runs each, alternating\n", path,
                   e[LAYER].stats.threads, runs);
            for (int k = 0; k < 2; k++) {
                char peak[32];
                cli_format_bytes(peak, sizeof peak, (double)e[k].stats.peak_bytes);
                printf("%-12s median %.3f ms  min %.3f  p90 %.3f  activations %s\n",
                       k == LAYER ? "layer" : "depth", s[k].median, s[k].min, s[k].p90, peak);
            }
            printf("depth first  %.3fx faster (median), %.2fx less activation memory\n", speedup,
                   memory);
            printf("agreement    max |layer - depth| = %.3g (max |layer| %.3g)\n", max_diff,
                   max_ref);
        }
    }
    for (int k = 0; k < 2; k++)
        close_engine(&e[k]);
    return rc;
}
