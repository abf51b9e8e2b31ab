/*
 * deepfirst bench: latency percentiles over timed runs on random input, in
 * the manner of onnxruntime_perf_test, with memory figures and an optional
 * per-op profile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "profile_report.h"
#include "stats.h"

int bench_compare(const char *path, const df_options *options, long runs, long warmup,
                  uint64_t seed, int json);

#define DEFAULT_RUNS 20
#define DEFAULT_WARMUP 3
#define DEFAULT_PEAK_GFLOPS_PER_THREAD 100.0
#define MAX_RUNS 1000000L

static void print_help(FILE *out)
{
    fputs("usage: deepfirst bench MODEL [options]\n"
          "\n"
          "Times MODEL on random input: warm-up runs, then timed runs; prints the\n"
          "median, minimum and 90th percentile latency, and memory.\n"
          "\n"
          "options:\n"
          "  -r, --runs N             timed runs (default 20)\n"
          "  -w, --warmup N           warm-up runs before timing (default 3)\n"
          CLI_MODEL_OPTIONS_HELP
          "      --json               print one JSON object\n"
          "      --compare            alternate the layer and depth schedules run by run\n"
          "                           and print both and the speed-up\n"
          "      --ops                per-op table over RUNS profiled runs after timing\n"
          "      --profile FILE       Chrome trace JSON of one profiled run\n"
          "      --peak-gflops X      FMA peak per thread for --ops (default 100)\n"
          "      --seed N             seed of the random input (default 1)\n"
          "  -h, --help               this help\n",
          out);
}

typedef struct bench_args {
    const char *model;
    long runs;
    long warmup;
    int json;
    int compare;
    int ops;
    const char *profile_path;
    double peak_gflops_per_thread;
    uint64_t seed;
    df_options options;
} bench_args;

/* Returns -1 to continue, or the exit code to leave with. */
static int parse_args(int argc, char **argv, bench_args *a)
{
    const char *command = argv[0];
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        int rc;
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (a->model)
                return cli_usage_error(command, "one model at a time: '%s' after '%s'", arg,
                                       a->model);
            a->model = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = 1;
        } else if (arg_is_flag(arg, "-h", "--help")) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if (arg_is_flag(arg, NULL, "--json")) {
            a->json = 1;
        } else if (arg_is_flag(arg, NULL, "--compare")) {
            a->compare = 1;
        } else if (arg_is_flag(arg, NULL, "--ops")) {
            a->ops = 1;
        } else if ((rc = cli_take_value(command, argc, argv, &i, "-r", "--runs", &value))) {
            if (rc < 0 || cli_parse_count(command, "--runs", value, 1, MAX_RUNS, &a->runs) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, "-w", "--warmup", &value))) {
            if (rc < 0 ||
                cli_parse_count(command, "--warmup", value, 0, MAX_RUNS, &a->warmup) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--profile", &value))) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            a->profile_path = value;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--peak-gflops",
                                        &value))) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            if (arg_parse_double(value, 1e-3, 1e9, &a->peak_gflops_per_thread) != 0)
                return cli_usage_error(command, "--peak-gflops expects a number > 0, got '%s'",
                                       value);
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--seed", &value))) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            if (arg_parse_u64(value, &a->seed) != 0)
                return cli_usage_error(command, "--seed expects a non-negative integer, got '%s'",
                                       value);
        } else if ((rc = cli_parse_model_option(command, argc, argv, &i, &a->options)) != 0) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
        } else {
            return cli_usage_error(command, "unknown option '%s'", arg);
        }
    }
    if (!a->model)
        return cli_usage_error(command, "no model given");
    return -1;
}

typedef struct bench_result {
    df_model_stats stats;
    stats_summary latency;
    size_t rss_bytes;
    profile_totals ops;
} bench_result;

static double gflops_per_s(const bench_result *r)
{
    return r->latency.median > 0 ? (double)r->stats.flops / (r->latency.median * 1e6) : 0.0;
}

static double peak_gflops(const bench_args *a, const bench_result *r)
{
    int threads = r->stats.threads > 0 ? r->stats.threads : 1;
    return a->peak_gflops_per_thread * threads;
}

static void print_text(const bench_args *a, const bench_result *r)
{
    char peak[32], weights[32], rss[32];
    cli_format_bytes(peak, sizeof peak, (double)r->stats.peak_bytes);
    cli_format_bytes(weights, sizeof weights, (double)r->stats.weight_bytes);
    cli_format_bytes(rss, sizeof rss, (double)r->rss_bytes);
    printf("model        %s\n", a->model);
    printf("threads      %d, schedule %s\n", r->stats.threads,
           cli_schedule_name(r->stats.schedule));
    printf("runs         %d timed after %ld warm-up\n", r->latency.count, a->warmup);
    printf("latency ms   median %.3f  min %.3f  p90 %.3f  mean %.3f  max %.3f\n",
           r->latency.median, r->latency.min, r->latency.p90, r->latency.mean, r->latency.max);
    printf("compute      %.4f GFLOPs per run, %.2f GFLOP/s at the median\n",
           r->stats.flops / 1e9, gflops_per_s(r));
    printf("memory       activations %s peak (%zu bytes), weights %s, max rss %s\n", peak,
           r->stats.peak_bytes, weights, rss);
    if (a->ops)
        profile_print_table(stdout, &r->ops, peak_gflops(a, r));
}

static void print_json(const bench_args *a, const bench_result *r)
{
    fputs("{\"model\": ", stdout);
    cli_json_string(stdout, a->model);
    printf(", \"threads\": %d, \"schedule\": \"%s\", \"planner\": \"%s\", \"runs\": %d, \"warmup\": %ld, "
           "\"median_ms\": %.6f, \"min_ms\": %.6f, \"p90_ms\": %.6f, \"mean_ms\": %.6f, "
           "\"max_ms\": %.6f, \"peak_bytes\": %zu, \"weight_bytes\": %zu, \"rss_bytes\": %zu, "
           "\"params\": %lld, \"flops\": %lld, \"gflops_per_s\": %.6f",
           r->stats.threads, cli_schedule_name(r->stats.schedule),
           df_planner_name(r->stats.planner), r->latency.count, a->warmup,
           r->latency.median, r->latency.min, r->latency.p90, r->latency.mean, r->latency.max,
           r->stats.peak_bytes, r->stats.weight_bytes, r->rss_bytes, (long long)r->stats.params,
           (long long)r->stats.flops, gflops_per_s(r));
    if (a->ops) {
        printf(", \"profiled_runs\": %d, \"peak_gflops\": %.3f, \"ops\": ", r->ops.runs,
               peak_gflops(a, r));
        profile_print_json(stdout, &r->ops, peak_gflops(a, r));
    }
    fputs("}\n", stdout);
}

static int run_once(df_session *session, const cli_io *io)
{
    if (df_session_run(session, (const float *const *)io->inputs, io->outputs) != DF_OK)
        return cli_library_error();
    return CLI_EXIT_OK;
}

static int time_runs(const bench_args *a, df_session *session, const cli_io *io,
                     bench_result *r)
{
    fprintf(stderr, "deepfirst: %ld warm-up and %ld timed runs, %d threads, schedule %s\n",
            a->warmup, a->runs, r->stats.threads, cli_schedule_name(r->stats.schedule));
    for (long i = 0; i < a->warmup; i++)
        if (run_once(session, io) != CLI_EXIT_OK)
            return CLI_EXIT_ERROR;

    double *samples = malloc((size_t)a->runs * sizeof *samples);
    if (!samples)
        return cli_error("out of memory for %ld samples", a->runs);
    for (long i = 0; i < a->runs; i++) {
        double start = cli_now_ms();
        if (run_once(session, io) != CLI_EXIT_OK) {
            free(samples);
            return CLI_EXIT_ERROR;
        }
        samples[i] = cli_now_ms() - start;
    }
    int rc = stats_summarize(samples, (int)a->runs, &r->latency);
    free(samples);
    return rc == 0 ? CLI_EXIT_OK : cli_error("out of memory summarizing the samples");
}

/* Profiled runs come after timing so that profiling never slows the timed ones. */
static int profile_runs(const bench_args *a, df_session *session, const cli_io *io,
                        FILE *trace, bench_result *r)
{
    long runs = a->ops ? a->runs : 1;
    if (df_session_enable_profiling(session, 1) != DF_OK)
        return cli_library_error();
    const df_op_profile *ops = NULL;
    int count = 0;
    double run_us = 0.0;
    for (long i = 0; i < runs; i++) {
        double start = cli_now_ms();
        if (run_once(session, io) != CLI_EXIT_OK)
            return CLI_EXIT_ERROR;
        run_us = (cli_now_ms() - start) * 1e3;
        if (df_session_profile(session, &ops, &count) != DF_OK)
            return cli_library_error();
        if (a->ops && profile_totals_add(&r->ops, ops, count) != 0)
            return cli_error("the profile of run %ld differs from the first profiled run", i);
    }
    if (trace) {
        if (profile_write_trace(trace, ops, count, run_us) != 0)
            return cli_error("%s: cannot write the trace", a->profile_path);
        fprintf(stderr, "deepfirst: wrote a trace of %d ops to %s\n", count, a->profile_path);
    }
    return CLI_EXIT_OK;
}

static int bench_model(const bench_args *a)
{
    df_model *model = NULL;
    df_session *session = NULL;
    cli_io io;
    bench_result r;
    memset(&io, 0, sizeof io);
    memset(&r, 0, sizeof r);
    int rc = CLI_EXIT_OK;

    /* Open the trace first, so that a bad path fails before minutes of timing. */
    FILE *trace = NULL;
    if (a->profile_path && !(trace = fopen(a->profile_path, "w")))
        return cli_error("%s: cannot create: %s", a->profile_path, strerror(errno));

    if (df_model_open(a->model, &a->options, &model) != DF_OK)
        rc = cli_library_error();
    else
        cli_note_planner(model, &a->options);
    if (rc == CLI_EXIT_OK && df_model_get_stats(model, &r.stats) != DF_OK)
        rc = cli_library_error();
    if (rc == CLI_EXIT_OK)
        rc = cli_io_create(model, &io);
    if (rc == CLI_EXIT_OK) {
        cli_io_fill_random(&io, a->seed);
        if (df_session_create(model, &session) != DF_OK)
            rc = cli_library_error();
    }
    if (rc == CLI_EXIT_OK)
        rc = time_runs(a, session, &io, &r);
    if (rc == CLI_EXIT_OK && (a->ops || a->profile_path))
        rc = profile_runs(a, session, &io, trace, &r);
    if (rc == CLI_EXIT_OK) {
        r.rss_bytes = cli_peak_rss_bytes();
        if (a->json)
            print_json(a, &r);
        else
            print_text(a, &r);
    }
    if (trace && fclose(trace) != 0 && rc == CLI_EXIT_OK)
        rc = cli_error("%s: cannot write the trace", a->profile_path);
    if (trace && rc != CLI_EXIT_OK)
        remove(a->profile_path); /* no half-written traces */
    profile_totals_free(&r.ops);
    df_session_destroy(session);
    cli_io_destroy(&io);
    df_model_close(model);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    memset(&a, 0, sizeof a);
    a.runs = DEFAULT_RUNS;
    a.warmup = DEFAULT_WARMUP;
    a.peak_gflops_per_thread = DEFAULT_PEAK_GFLOPS_PER_THREAD;
    a.seed = 1;
    df_options_init(&a.options);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.compare) {
        if (a.ops || a.profile_path)
            return cli_usage_error(argv[0], "--compare does not take --ops or --profile");
        return bench_compare(a.model, &a.options, a.runs, a.warmup, a.seed, a.json);
    }
    return bench_model(&a);
}
