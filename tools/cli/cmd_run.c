/* deepfirst run: one inference on .npy files or seeded random inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "npy.h"

#define SUMMARY_VALUES 8
#define DEFAULT_SEED 1

static void print_help(FILE *out)
{
    fputs("usage: deepfirst run MODEL [-i IN.npy]... [-o OUT.npy]... [options]\n"
          "\n"
          "Runs MODEL once. Give -i once per model input, in input order, each a\n"
          "float32 C-order .npy of exactly the input's shape (float64 and int32/64\n"
          "files are converted); without -i the inputs are uniform random in [-1, 1].\n"
          "The first -o receives the first output, the second -o the second, and so\n"
          "on; without -o a summary of every output is printed.\n"
          "\n"
          "options:\n"
          "  -i, --input FILE         an input tensor (.npy)\n"
          "  -o, --output FILE        where to write an output tensor (.npy)\n"
          CLI_MODEL_OPTIONS_HELP
          "      --seed N             seed of the random inputs (default 1)\n"
          "  -h, --help               this help\n",
          out);
}

typedef struct run_args {
    const char *model;
    const char **inputs; /* argc entries, input_count used */
    int input_count;
    const char **outputs;
    int output_count;
    uint64_t seed;
    df_options options;
} run_args;

/* Returns -1 to continue, or the exit code to leave with. */
static int parse_args(int argc, char **argv, run_args *a)
{
    const char *command = argv[0];
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        int rc;
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (a->model)
                return cli_usage_error(command, "one model at a time: '%s' after '%s'", arg,
                                       a->model);
            a->model = arg;
        } else if (strcmp(arg, "--") == 0) {
            options_done = 1;
        } else if (arg_is_flag(arg, "-h", "--help")) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if ((rc = cli_take_value(command, argc, argv, &i, "-i", "--input", &value))) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            a->inputs[a->input_count++] = value;
        } else if ((rc = cli_take_value(command, argc, argv, &i, "-o", "--output", &value))) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            a->outputs[a->output_count++] = value;
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

static int same_shape(const npy_array *array, const df_tensor_info *info)
{
    if (array->rank != info->rank)
        return 0;
    for (int d = 0; d < info->rank; d++)
        if (array->dims[d] != info->dims[d])
            return 0;
    return 1;
}

static int load_inputs(const run_args *a, cli_io *io)
{
    if (a->input_count != io->input_count) {
        cli_error("the model has %d input%s but %d -i %s given", io->input_count,
                  io->input_count == 1 ? "" : "s", a->input_count,
                  a->input_count == 1 ? "was" : "were");
        for (int i = 0; i < io->input_count; i++) {
            char shape[128];
            const df_tensor_info *info = &io->input_info[i];
            cli_format_shape(shape, sizeof shape, info->rank, info->dims);
            fprintf(stderr, "  input %d '%s': %s\n", i, info->name, shape);
        }
        return CLI_EXIT_ERROR;
    }
    for (int i = 0; i < io->input_count; i++) {
        const df_tensor_info *info = &io->input_info[i];
        npy_array array;
        char error[256];
        if (npy_read(a->inputs[i], &array, error, sizeof error) != 0)
            return cli_error("%s: %s", a->inputs[i], error);
        if (!same_shape(&array, info)) {
            char want[128], got[128];
            cli_format_shape(want, sizeof want, info->rank, info->dims);
            cli_format_shape(got, sizeof got, array.rank, array.dims);
            npy_free(&array);
            return cli_error("input %d '%s': expected shape %s, got %s from %s", i, info->name,
                             want, got, a->inputs[i]);
        }
        if (strcmp(array.descr, "<f4") != 0)
            fprintf(stderr, "deepfirst: %s: converted %s to float32\n", a->inputs[i],
                    array.descr);
        memcpy(io->inputs[i], array.data, (size_t)info->numel * sizeof(float));
        npy_free(&array);
    }
    return CLI_EXIT_OK;
}

static void print_summary(int index, const df_tensor_info *info, const float *data)
{
    char shape[128];
    cli_format_shape(shape, sizeof shape, info->rank, info->dims);
    printf("output %d '%s': shape %s\n", index, info->name ? info->name : "", shape);
    if (info->numel <= 0)
        return;

    double sum = 0.0;
    float min = INFINITY, max = -INFINITY;
    int64_t argmax = -1, nans = 0;
    for (int64_t i = 0; i < info->numel; i++) {
        float v = data[i];
        if (isnan(v)) {
            nans++;
            continue;
        }
        sum += v;
        if (v < min)
            min = v;
        if (argmax < 0 || v > max) {
            max = v;
            argmax = i;
        }
    }
    int64_t finite = info->numel - nans;
    printf("  min %.6g  max %.6g  mean %.6g", min, max, finite ? sum / finite : NAN);
    if (nans)
        printf("  nan %lld", (long long)nans);
    printf("\n  first");
    for (int64_t i = 0; i < info->numel && i < SUMMARY_VALUES; i++)
        printf(" %.6g", data[i]);
    printf(info->numel > SUMMARY_VALUES ? " ...\n" : "\n");
    if (argmax >= 0)
        printf("  argmax %lld (%.6g)\n", (long long)argmax, max);
}

static int write_outputs(const run_args *a, const cli_io *io)
{
    for (int i = 0; i < a->output_count; i++) {
        const df_tensor_info *info = &io->output_info[i];
        char error[256];
        if (npy_write(a->outputs[i], io->outputs[i], info->rank, info->dims, error,
                      sizeof error) != 0)
            return cli_error("%s: %s", a->outputs[i], error);
        fprintf(stderr, "deepfirst: wrote output %d '%s' to %s\n", i, info->name,
                a->outputs[i]);
    }
    return CLI_EXIT_OK;
}

static int run_model(const run_args *a)
{
    df_model *model = NULL;
    df_session *session = NULL;
    cli_io io;
    memset(&io, 0, sizeof io);
    int rc = CLI_EXIT_OK;

    if (df_model_open(a->model, &a->options, &model) != DF_OK)
        return cli_library_error();
    cli_note_planner(model, &a->options);
    rc = cli_io_create(model, &io);
    if (rc == CLI_EXIT_OK && a->output_count > io.output_count)
        rc = cli_error("%d -o given but the model has only %d output%s", a->output_count,
                       io.output_count, io.output_count == 1 ? "" : "s");
    if (rc == CLI_EXIT_OK) {
        if (a->input_count > 0) {
            rc = load_inputs(a, &io);
        } else {
            cli_io_fill_random(&io, a->seed);
            fprintf(stderr, "deepfirst: random inputs in [-1, 1], seed %llu\n",
                    (unsigned long long)a->seed);
        }
    }
    if (rc == CLI_EXIT_OK && df_session_create(model, &session) != DF_OK)
        rc = cli_library_error();
    if (rc == CLI_EXIT_OK) {
        double start = cli_now_ms();
        if (df_session_run(session, (const float *const *)io.inputs, io.outputs) != DF_OK)
            rc = cli_library_error();
        else
            fprintf(stderr, "deepfirst: ran in %.3f ms\n", cli_now_ms() - start);
    }
    if (rc == CLI_EXIT_OK) {
        if (a->output_count > 0)
            rc = write_outputs(a, &io);
        else
            for (int i = 0; i < io.output_count; i++)
                print_summary(i, &io.output_info[i], io.outputs[i]);
    }
    df_session_destroy(session);
    cli_io_destroy(&io);
    df_model_close(model);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    a.seed = DEFAULT_SEED;
    df_options_init(&a.options);
    a.inputs = calloc((size_t)argc, sizeof *a.inputs);
    a.outputs = calloc((size_t)argc, sizeof *a.outputs);
    int rc;
    if (!a.inputs || !a.outputs)
        rc = cli_error("out of memory");
    else if ((rc = parse_args(argc, argv, &a)) < 0)
        rc = run_model(&a);
    free(a.inputs);
    free(a.outputs);
    return rc;
}
