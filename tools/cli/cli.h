/*
 * cli: what the deepfirst commands share: exit codes, error reporting, option
 * parsing for model options, and the buffers of one model's inputs and outputs.
 * Results go to stdout; progress and diagnostics to stderr.
 */
#ifndef DF_CLI_CLI_H
#define DF_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "deepfirst.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

/* Each command takes argv[0] = its own name and returns the exit code. */
int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);

/* "deepfirst: error: <message>" on stderr; returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* The message of the library's last failing call; returns CLI_EXIT_ERROR. */
int cli_library_error(void);
/* An error in the command line, followed by a hint to --help; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);

/* arg_take_value that reports a missing value: returns 1 when argv[*index]
 * is the option (its value in *value), 0 when it is not, and -1 after printing
 * a usage error when the value is missing. */
int cli_take_value(const char *command, int argc, char **argv, int *index,
                   const char *short_name, const char *long_name, const char **value);

/* -t/--threads and --cache-dir: what the commands that measure this machine
 * (calibrate, tune, evaluate) take of the model options. Returns as
 * cli_parse_model_option. */
int cli_parse_machine_option(const char *command, int argc, char **argv, int *index,
                             df_options *options);

/* Options every model-loading command accepts: -t/--threads, --schedule,
 * --planner, --plan and --cache-dir (CLI_MODEL_OPTIONS_HELP says what they do).
 * Returns 1 when argv[*index] was one of them, 0 when it was not, and -1
 * (after printing a usage error) when its value was missing or bad. */
int cli_parse_model_option(const char *command, int argc, char **argv, int *index,
                           df_options *options);
/* Handles the value of a numeric option, printing a usage error when it is
 * not a number in range. Return 0 or -1. */
int cli_parse_count(const char *command, const char *option, const char *text, long min,
                    long max, long *value);

#define CLI_MODEL_OPTIONS_HELP                                                                    \
    "  -t, --threads N          worker threads (0 = all cores available, the default)\n"           \
    "      --schedule S         layer, depth or auto (default auto)\n"                              \
    "      --planner P          who plans auto: default (tuned plan, else learned cost\n"           \
    "                           model, else heuristic), heuristic, analytic or learned\n"           \
    "      --plan SPEC          run this plan: segments FIRST-LAST/BAND of op indices,\n"           \
    "                           comma-separated, as `deepfirst plan` prints it\n"                   \
    "      --cache-dir DIR      calibrations and tuned plans (default ~/.cache/deepfirst)\n"

/* When the default planner fell back to the heuristic for want of a
 * calibration, says so on stderr, once per process. */
void cli_note_planner(const df_model *model, const df_options *options);

const char *cli_schedule_name(df_schedule schedule);
/* "1x3x224x224"; "scalar" for rank 0. */
void cli_format_shape(char *buf, size_t size, int rank, const int64_t *dims);
/* A JSON string literal with the escapes JSON requires. */
void cli_json_string(FILE *out, const char *text);
/* "12.3 MiB" and the like, for people. */
void cli_format_bytes(char *buf, size_t size, double bytes);
void cli_json_shape(FILE *out, int rank, const int64_t *dims);

/* Deterministic uniform [-1, 1) numbers from a 64-bit seed (splitmix64). */
void cli_fill_uniform(float *data, int64_t count, uint64_t *state);

double cli_now_ms(void);
/* Peak resident set size of this process, in bytes. */
size_t cli_peak_rss_bytes(void);

/* The input and output buffers of one session. */
typedef struct cli_io {
    int input_count;
    int output_count;
    df_tensor_info *input_info;
    df_tensor_info *output_info;
    float **inputs;
    float **outputs;
} cli_io;

/* Allocates one buffer per input and output of model (inputs zeroed).
 * Returns CLI_EXIT_OK or an exit code after printing the error. */
int cli_io_create(const df_model *model, cli_io *io);
void cli_io_destroy(cli_io *io);
/* Fills every input with cli_fill_uniform from seed. */
void cli_io_fill_random(cli_io *io, uint64_t seed);

#endif
