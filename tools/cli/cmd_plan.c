/* deepfirst plan: the schedule the planner chose, segment by segment. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst plan MODEL [options]\n"
          "\n"
          "Prints the plan: the ops as they run after fusion, the depth-first segments\n"
          "they form, each segment's band height and thread split, and its working set\n"
          "(ring buffers of one thread plus weights) against this CPU's caches.\n"
          "\n"
          "options:\n"
          "      --json               print one JSON object\n"
          "      --band N             force N rows per band in every segment\n"
          "  -t, --threads N          worker threads to plan for (0 = all cores)\n"
          "      --schedule S         layer, depth or auto (default auto)\n"
          "  -h, --help               this help\n",
          out);
}

static const char *cache_level(size_t bytes, size_t l1, size_t l2, size_t l3)
{
    if (l1 && bytes <= l1)
        return "L1";
    if (l2 && bytes <= l2)
        return "L2";
    if (l3 && bytes <= l3)
        return "L3";
    return "DRAM";
}

static void print_text(const char *path, const df_model *model)
{
    size_t l1, l2, l3;
    df_cpu_caches(&l1, &l2, &l3);
    char b1[32], b2[32], b3[32];
    cli_format_bytes(b1, sizeof b1, (double)l1);
    cli_format_bytes(b2, sizeof b2, (double)l2);
    cli_format_bytes(b3, sizeof b3, (double)l3);
    df_model_stats stats;
    df_model_get_stats(model, &stats);
    char peak[32];
    cli_format_bytes(peak, sizeof peak, (double)stats.peak_bytes);
    printf("model        %s\n", path);
    printf("caches       L1d %s, L2 %s, L3 %s (per core as cpuinfo reports them)\n", b1, b2, b3);
    printf("schedule     %s, %d threads, %d ops, %d segments, activations %s peak\n",
           cli_schedule_name(stats.schedule), stats.threads, df_model_op_count(model),
           df_model_segment_count(model), peak);
    printf("\n");
    int ops = df_model_op_count(model);
    for (int i = 0; i < ops;) {
        df_op_info op;
        if (df_model_op(model, i, &op) != DF_OK)
            break;
        char shape[96];
        if (op.segment < 0) {
            cli_format_shape(shape, sizeof shape, op.rank, op.dims);
            printf("layer        %-40.40s %-28.28s %s\n", op.name, op.op_type, shape);
            i++;
            continue;
        }
        df_segment_info seg;
        if (df_model_segment(model, op.segment, &seg) != DF_OK)
            break;
        size_t working = seg.ring_bytes + seg.weight_bytes;
        char ring[32], weights[32];
        cli_format_bytes(ring, sizeof ring, (double)seg.ring_bytes);
        cli_format_bytes(weights, sizeof weights, (double)seg.weight_bytes);
        printf("segment %-4d %d ops, band %d rows, %d strip%s, %d thread%s, rings %s + weights "
               "%s: fits %s\n",
               op.segment, seg.last_op - seg.first_op + 1, seg.band_rows, seg.strips,
               seg.strips == 1 ? "" : "s", seg.lanes, seg.lanes == 1 ? "" : "s", ring, weights,
               cache_level(working, l1, l2, l3));
        for (int k = seg.first_op; k <= seg.last_op; k++) {
            if (df_model_op(model, k, &op) != DF_OK)
                break;
            cli_format_shape(shape, sizeof shape, op.rank, op.dims);
            printf("  |          %-40.40s %-28.28s %s\n", op.name, op.op_type, shape);
        }
        i = seg.last_op + 1;
    }
}

static void print_json(const char *path, const df_model *model)
{
    size_t l1, l2, l3;
    df_cpu_caches(&l1, &l2, &l3);
    df_model_stats stats;
    df_model_get_stats(model, &stats);
    printf("{\"model\": ");
    cli_json_string(stdout, path);
    printf(", \"schedule\": \"%s\", \"threads\": %d, \"peak_bytes\": %zu, "
           "\"caches\": {\"l1d\": %zu, \"l2\": %zu, \"l3\": %zu}, \"ops\": [",
           cli_schedule_name(stats.schedule), stats.threads, stats.peak_bytes, l1, l2, l3);
    for (int i = 0; i < df_model_op_count(model); i++) {
        df_op_info op;
        if (df_model_op(model, i, &op) != DF_OK)
            break;
        printf("%s{\"name\": ", i ? ", " : "");
        cli_json_string(stdout, op.name);
        printf(", \"op_type\": ");
        cli_json_string(stdout, op.op_type);
        printf(", \"shape\": ");
        cli_json_shape(stdout, op.rank, op.dims);
        printf(", \"flops\": %lld, \"segment\": %d}", (long long)op.flops, op.segment);
    }
    printf("], \"segments\": [");
    for (int s = 0; s < df_model_segment_count(model); s++) {
        df_segment_info seg;
        if (df_model_segment(model, s, &seg) != DF_OK)
            break;
        printf("%s{\"first_op\": %d, \"last_op\": %d, \"band_rows\": %d, \"strips\": %d, "
               "\"threads\": %d, \"ring_bytes\": %zu, \"weight_bytes\": %zu}",
               s ? ", " : "", seg.first_op, seg.last_op, seg.band_rows, seg.strips, seg.lanes,
               seg.ring_bytes, seg.weight_bytes);
    }
    printf("]}\n");
}

int cmd_plan(int argc, char **argv)
{
    const char *command = argv[0];
    const char *path = NULL;
    int json = 0, options_done = 0;
    df_options options;
    df_options_init(&options);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value;
        int rc;
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
            } else if (arg_is_flag(arg, "-h", "--help")) {
                print_help(stdout);
                return CLI_EXIT_OK;
            } else if (arg_is_flag(arg, NULL, "--json")) {
                json = 1;
            } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--band", &value)) != 0) {
                long band;
                if (rc < 0 || cli_parse_count(command, "--band", value, 1, 1 << 20, &band) != 0)
                    return CLI_EXIT_USAGE;
                options.band_rows = (int)band;
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
    if (json)
        print_json(path, model);
    else
        print_text(path, model);
    df_model_close(model);
    return CLI_EXIT_OK;
}
