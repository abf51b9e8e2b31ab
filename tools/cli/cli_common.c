/* cli: see cli.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "args.h"

#define MAX_THREADS 1024

int cli_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("deepfirst: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return CLI_EXIT_ERROR;
}

int cli_library_error(void)
{
    const char *message = df_last_error();
    return cli_error("%s", message && message[0] ? message : "unknown library error");
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("deepfirst: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    if (command)
        fprintf(stderr, "Try 'deepfirst %s --help' for usage.\n", command);
    else
        fputs("Try 'deepfirst --help' for usage.\n", stderr);
    return CLI_EXIT_USAGE;
}

int cli_parse_count(const char *command, const char *option, const char *text, long min,
                    long max, long *value)
{
    int rc = arg_parse_long(text, min, max, value);
    if (rc == -1) {
        cli_usage_error(command, "%s expects an integer, got '%s'", option, text);
        return -1;
    }
    if (rc == -2) {
        cli_usage_error(command, "%s must be between %ld and %ld, got '%s'", option, min, max,
                        text);
        return -1;
    }
    return 0;
}

int cli_take_value(const char *command, int argc, char **argv, int *index,
                   const char *short_name, const char *long_name, const char **value)
{
    const char *option = argv[*index];
    arg_match m = arg_take_value(argc, argv, index, short_name, long_name, value);
    if (m == ARG_MISSING_VALUE) {
        cli_usage_error(command, "%s needs a value", option);
        return -1;
    }
    return m == ARG_MATCHED;
}

int cli_parse_machine_option(const char *command, int argc, char **argv, int *index,
                             df_options *options)
{
    const char *value;
    int rc = cli_take_value(command, argc, argv, index, "-t", "--threads", &value);
    if (rc != 0) {
        long threads;
        if (rc < 0 || cli_parse_count(command, "--threads", value, 0, MAX_THREADS, &threads) != 0)
            return -1;
        options->threads = (int)threads;
        return 1;
    }
    if ((rc = cli_take_value(command, argc, argv, index, NULL, "--cache-dir", &value)) != 0) {
        options->cache_dir = value;
        return rc;
    }
    return 0;
}

int cli_parse_model_option(const char *command, int argc, char **argv, int *index,
                           df_options *options)
{
    const char *value;
    int rc = cli_parse_machine_option(command, argc, argv, index, options);
    if (rc != 0)
        return rc;
    if ((rc = cli_take_value(command, argc, argv, index, NULL, "--plan", &value)) != 0) {
        options->plan = value;
        return rc;
    }
    if ((rc = cli_take_value(command, argc, argv, index, NULL, "--planner", &value)) != 0) {
        if (rc < 0)
            return rc;
        static const df_planner planners[] = {DF_PLANNER_DEFAULT, DF_PLANNER_HEURISTIC,
                                              DF_PLANNER_ANALYTIC, DF_PLANNER_LEARNED};
        for (size_t k = 0; k < sizeof planners / sizeof planners[0]; k++)
            if (strcmp(value, df_planner_name(planners[k])) == 0) {
                options->planner = planners[k];
                return 1;
            }
        cli_usage_error(command, "--planner must be default, heuristic, analytic or learned, got '%s'",
                        value);
        return -1;
    }
    rc = cli_take_value(command, argc, argv, index, NULL, "--schedule", &value);
    if (rc <= 0)
        return rc;
    if (strcmp(value, "layer") == 0)
        options->schedule = DF_SCHEDULE_LAYER;
    else if (strcmp(value, "depth") == 0)
        options->schedule = DF_SCHEDULE_DEPTH;
    else if (strcmp(value, "auto") == 0)
        options->schedule = DF_SCHEDULE_AUTO;
    else {
        cli_usage_error(command, "--schedule must be layer, depth or auto, got '%s'", value);
        return -1;
    }
    return 1;
}

void cli_note_planner(const df_model *model, const df_options *options)
{
    static int said;
    df_model_stats stats;
    if (said || options->schedule != DF_SCHEDULE_AUTO || options->planner != DF_PLANNER_DEFAULT ||
        options->plan || (options->cache_dir && !options->cache_dir[0]) || df_model_get_stats(model, &stats) != DF_OK ||
        stats.planner != DF_PLANNER_HEURISTIC)
        return;
    said = 1;
    fprintf(stderr, "deepfirst: note: no calibration for this machine, so the auto schedule uses "
                    "the cache-size heuristic; `deepfirst calibrate` (about 3 minutes) trains the "
                    "learned planner\n");
}

const char *cli_schedule_name(df_schedule schedule)
{
    switch (schedule) {
    case DF_SCHEDULE_AUTO:
        return "auto";
    case DF_SCHEDULE_LAYER:
        return "layer";
    case DF_SCHEDULE_DEPTH:
        return "depth";
    }
    return "unknown";
}

void cli_format_shape(char *buf, size_t size, int rank, const int64_t *dims)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (rank <= 0) {
        snprintf(buf, size, "scalar");
        return;
    }
    size_t used = 0;
    for (int i = 0; i < rank && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%lld" : "%lld", (long long)dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void cli_format_bytes(char *buf, size_t size, double bytes)
{
    static const char *const UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        unit++;
    }
    snprintf(buf, size, unit ? "%.1f %s" : "%.0f %s", bytes, UNITS[unit]);
}

void cli_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void cli_json_shape(FILE *out, int rank, const int64_t *dims)
{
    fputc('[', out);
    for (int i = 0; i < rank; i++)
        fprintf(out, i ? ", %lld" : "%lld", (long long)dims[i]);
    fputc(']', out);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cli_fill_uniform(float *data, int64_t count, uint64_t *state)
{
    /* The top 24 bits give every float in [0, 1) with equal spacing. */
    for (int64_t i = 0; i < count; i++) {
        float unit = (float)(splitmix64(state) >> 40) * (1.0f / 16777216.0f);
        data[i] = 2.0f * unit - 1.0f;
    }
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

size_t cli_peak_rss_bytes(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0;
    return (size_t)usage.ru_maxrss * 1024; /* Linux reports KiB */
}

static float *alloc_tensor(const df_tensor_info *info, int zero)
{
    if (info->numel < 0 || (uint64_t)info->numel > SIZE_MAX / sizeof(float))
        return NULL;
    size_t count = info->numel > 0 ? (size_t)info->numel : 1;
    return zero ? calloc(count, sizeof(float)) : malloc(count * sizeof(float));
}

int cli_io_create(const df_model *model, cli_io *io)
{
    memset(io, 0, sizeof *io);
    int inputs = df_model_input_count(model), outputs = df_model_output_count(model);
    if (inputs < 0 || outputs < 1)
        return cli_error("the model reports %d inputs and %d outputs", inputs, outputs);
    io->input_count = inputs;
    io->output_count = outputs;
    io->input_info = calloc((size_t)inputs + 1, sizeof *io->input_info);
    io->output_info = calloc((size_t)outputs, sizeof *io->output_info);
    io->inputs = calloc((size_t)inputs + 1, sizeof *io->inputs);
    io->outputs = calloc((size_t)outputs, sizeof *io->outputs);
    if (!io->input_info || !io->output_info || !io->inputs || !io->outputs) {
        cli_io_destroy(io);
        return cli_error("out of memory");
    }
    for (int i = 0; i < inputs; i++) {
        if (df_model_input(model, i, &io->input_info[i]) != DF_OK) {
            cli_io_destroy(io);
            return cli_library_error();
        }
        if (!(io->inputs[i] = alloc_tensor(&io->input_info[i], 1))) {
            cli_io_destroy(io);
            return cli_error("out of memory for input %d", i);
        }
    }
    for (int i = 0; i < outputs; i++) {
        if (df_model_output(model, i, &io->output_info[i]) != DF_OK) {
            cli_io_destroy(io);
            return cli_library_error();
        }
        if (!(io->outputs[i] = alloc_tensor(&io->output_info[i], 0))) {
            cli_io_destroy(io);
            return cli_error("out of memory for output %d", i);
        }
    }
    return CLI_EXIT_OK;
}

void cli_io_destroy(cli_io *io)
{
    for (int i = 0; io->inputs && i < io->input_count; i++)
        free(io->inputs[i]);
    for (int i = 0; io->outputs && i < io->output_count; i++)
        free(io->outputs[i]);
    free(io->inputs);
    free(io->outputs);
    free(io->input_info);
    free(io->output_info);
    memset(io, 0, sizeof *io);
}

void cli_io_fill_random(cli_io *io, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < io->input_count; i++)
        cli_fill_uniform(io->inputs[i], io->input_info[i].numel, &state);
}
