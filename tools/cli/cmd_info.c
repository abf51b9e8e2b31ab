/* deepfirst info: what a model is and what running it will cost. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst info MODEL [options]\n"
          "\n"
          "Describes a model: inputs and outputs, op histogram, parameter count,\n"
          "FLOPs per run, weight bytes, peak activation bytes and the schedule chosen.\n"
          "\n"
          "options:\n"
          "      --json               print one JSON object\n"
          CLI_MODEL_OPTIONS_HELP
          "  -h, --help               this help\n",
          out);
}

static void print_tensors_text(const df_model *model, int count, int outputs)
{
    for (int i = 0; i < count; i++) {
        df_tensor_info info;
        if ((outputs ? df_model_output(model, i, &info) : df_model_input(model, i, &info)) !=
            DF_OK)
            continue;
        char shape[128];
        cli_format_shape(shape, sizeof shape, info.rank, info.dims);
        printf("  %-3d %-24s %s\n", i, info.name ? info.name : "", shape);
    }
}

static void print_text(const char *path, const df_model *model, const df_model_stats *stats)
{
    char weights[32], peak[32];
    cli_format_bytes(weights, sizeof weights, (double)stats->weight_bytes);
    cli_format_bytes(peak, sizeof peak, (double)stats->peak_bytes);

    printf("model        %s\n", path);
    printf("inputs       %d\n", df_model_input_count(model));
    print_tensors_text(model, df_model_input_count(model), 0);
    printf("outputs      %d\n", df_model_output_count(model));
    print_tensors_text(model, df_model_output_count(model), 1);

    int nodes = 0;
    for (int i = 0; i < df_model_op_type_count(model); i++) {
        const char *type;
        int count;
        if (df_model_op_type(model, i, &type, &count) == DF_OK)
            nodes += count;
    }
    printf("ops          %d node%s in the graph, %d run after fusion\n", nodes,
           nodes == 1 ? "" : "s", stats->ops);
    for (int i = 0; i < df_model_op_type_count(model); i++) {
        const char *type;
        int count;
        if (df_model_op_type(model, i, &type, &count) == DF_OK)
            printf("  %-28s %d\n", type, count);
    }
    printf("parameters   %lld (%.2f M)\n", (long long)stats->params, stats->params / 1e6);
    printf("flops        %lld per run (%.4f GFLOPs)\n", (long long)stats->flops,
           stats->flops / 1e9);
    printf("weights      %zu bytes (%s)\n", stats->weight_bytes, weights);
    printf("activations  %zu bytes peak (%s)\n", stats->peak_bytes, peak);
    printf("schedule     %s, %d threads\n", cli_schedule_name(stats->schedule), stats->threads);
}

static void print_tensors_json(const df_model *model, int count, int outputs)
{
    putchar('[');
    for (int i = 0, printed = 0; i < count; i++) {
        df_tensor_info info;
        if ((outputs ? df_model_output(model, i, &info) : df_model_input(model, i, &info)) !=
            DF_OK)
            continue;
        fputs(printed++ ? ", {\"name\": " : "{\"name\": ", stdout);
        cli_json_string(stdout, info.name);
        fputs(", \"shape\": ", stdout);
        cli_json_shape(stdout, info.rank, info.dims);
        putchar('}');
    }
    putchar(']');
}

static void print_json(const char *path, const df_model *model, const df_model_stats *stats)
{
    fputs("{\"model\": ", stdout);
    cli_json_string(stdout, path);
    fputs(", \"inputs\": ", stdout);
    print_tensors_json(model, df_model_input_count(model), 0);
    fputs(", \"outputs\": ", stdout);
    print_tensors_json(model, df_model_output_count(model), 1);
    fputs(", \"op_types\": {", stdout);
    for (int i = 0, printed = 0; i < df_model_op_type_count(model); i++) {
        const char *type;
        int count;
        if (df_model_op_type(model, i, &type, &count) != DF_OK)
            continue;
        if (printed++)
            fputs(", ", stdout);
        cli_json_string(stdout, type);
        printf(": %d", count);
    }
    printf("}, \"nodes_executed\": %d, \"params\": %lld, \"flops\": %lld, \"gflops\": %.6f, "
           "\"weight_bytes\": %zu, \"peak_bytes\": %zu, \"schedule\": \"%s\", "
           "\"threads\": %d}\n",
           stats->ops, (long long)stats->params, (long long)stats->flops, stats->flops / 1e9,
           stats->weight_bytes, stats->peak_bytes, cli_schedule_name(stats->schedule),
           stats->threads);
}

int cmd_info(int argc, char **argv)
{
    const char *command = argv[0];
    const char *path = NULL;
    int json = 0, options_done = 0;
    df_options options;
    df_options_init(&options);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
            } else if (arg_is_flag(arg, "-h", "--help")) {
                print_help(stdout);
                return CLI_EXIT_OK;
            } else if (arg_is_flag(arg, NULL, "--json")) {
                json = 1;
            } else if ((rc = cli_parse_model_option(command, argc, argv, &i, &options)) != 0) {
                if (rc < 0)
                    return CLI_EXIT_USAGE;
            } else {
                return cli_usage_error(command, "unknown option '%s'", arg);
            }
        } else if (!path) {
            path = arg;
        } else {
            return cli_usage_error(command, "one model at a time: '%s' after '%s'", arg, path);
        }
    }
    if (!path)
        return cli_usage_error(command, "no model given");

    df_model *model = NULL;
    if (df_model_open(path, &options, &model) != DF_OK)
        return cli_library_error();
    cli_note_planner(model, &options);
    df_model_stats stats;
    if (df_model_get_stats(model, &stats) != DF_OK) {
        df_model_close(model);
        return cli_library_error();
    }
    if (json)
        print_json(path, model, &stats);
    else
        print_text(path, model, &stats);
    df_model_close(model);
    return CLI_EXIT_OK;
}
