/* deepfirst plan: the schedule the planner chose, segment by segment, with the
 * cost model's predicted times and, with --measure, the measured ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "args.h"
#include "cli.h"
#include "measure.h"
#include "plan/segment.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst plan MODEL [options]\n"
          "\n"
          "Prints the plan: the ops as they run after fusion, the depth-first segments\n"
          "they form, each segment's band height and thread split, its working set\n"
          "(ring buffers of one thread plus weights) against this CPU's caches, and the\n"
          "time the cost model predicts for each unit (when a calibration exists, or\n"
          "with --planner analytic). The plan line can be given back with --plan.\n"
          "\n"
          "options:\n"
          "      --json               print one JSON object\n"
          "      --measure            run the plan and print measured times beside the\n"
          "                           predicted ones (median of --runs runs)\n"
          "      --runs N             runs for --measure (default 10)\n"
          "      --dot FILE           write a Graphviz graph of the ops and segments\n"
          "      --band N             force N rows per band in every segment\n"
          CLI_MODEL_OPTIONS_HELP
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

/* "  123.4 us" or blanks when there is nothing to show. */
static void format_us(char *buf, size_t size, double us, int show)
{
    if (show && us > 0.0)
        snprintf(buf, size, "%9.1f us", us);
    else
        snprintf(buf, size, "%12s", show ? "-" : "");
}

static void print_text(const char *path, const df_model *model, const measured_plan *mp)
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
    int predicted = stats.predicted_us > 0.0;
    printf("model        %s\n", path);
    printf("caches       L1d %s, L2 %s, L3 %s (per core as the CPU reports them)\n", b1, b2, b3);
    printf("schedule     %s by the %s planner, %d threads, %d ops, %d segments, activations %s "
           "peak\n", cli_schedule_name(stats.schedule), df_planner_name(stats.planner),
           stats.threads, df_model_op_count(model), df_model_segment_count(model), peak);
    int need = df_model_plan(model, NULL, 0);
    char *plan = malloc((size_t)need + 1);
    if (plan) {
        df_model_plan(model, plan, (size_t)need + 1);
        printf("plan         \"%s\"\n", plan);
        free(plan);
    }
    if (predicted || mp) {
        printf("time         ");
        if (predicted)
            printf("predicted %.1f us for the ops that can run in bands", stats.predicted_us);
        if (mp)
            printf("%smeasured %.1f us per run (all ops)", predicted ? "; " : "", mp->total_us);
        printf("\n");
    }
    printf("\n%-6s %-12s %-12s %-40s %-28s %s\n", "op", predicted ? "predicted" : "",
           mp ? "measured" : "", "name", "type", "shape");
    int ops = df_model_op_count(model);
    for (int i = 0; i < ops;) {
        df_op_info op;
        if (df_model_op(model, i, &op) != DF_OK)
            break;
        char shape[96], pred[32], meas[32];
        if (op.segment < 0) {
            cli_format_shape(shape, sizeof shape, op.rank, op.dims);
            format_us(pred, sizeof pred, op.predicted_us, predicted);
            format_us(meas, sizeof meas, mp ? mp->op_us[i] : 0.0, mp != NULL);
            printf("%-6d %s %s %-40.40s %-28.28s %s\n", i, pred, meas, op.name, op.op_type, shape);
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
        format_us(pred, sizeof pred, seg.predicted_us, predicted);
        format_us(meas, sizeof meas, mp ? mp->op_us[i] : 0.0, mp != NULL);
        char split[64];
        if (seg.shared)
            snprintf(split, sizeof split, "%d threads sharing each op", seg.lanes);
        else
            snprintf(split, sizeof split, "%d strip%s, %d thread%s", seg.strips,
                     seg.strips == 1 ? "" : "s", seg.lanes, seg.lanes == 1 ? "" : "s");
        printf("%-6s %s %s segment %d: ops %d-%d, band %d rows, %s, rings %s + weights %s: "
               "fits %s\n", "", pred, meas, op.segment, seg.first_op, seg.last_op, seg.band_rows,
               split, ring, weights, cache_level(working, l1, l2, l3));
        for (int k = seg.first_op; k <= seg.last_op; k++) {
            if (df_model_op(model, k, &op) != DF_OK)
                break;
            cli_format_shape(shape, sizeof shape, op.rank, op.dims);
            printf("%-6d %12s %12s |%-39.39s %-28.28s %s\n", k, "", "", op.name, op.op_type, shape);
        }
        i = seg.last_op + 1;
    }
}

static void print_json(const char *path, const df_model *model, const measured_plan *mp)
{
    size_t l1, l2, l3;
    df_cpu_caches(&l1, &l2, &l3);
    df_model_stats stats;
    df_model_get_stats(model, &stats);
    int need = df_model_plan(model, NULL, 0);
    char *plan = malloc((size_t)need + 1);
    if (plan)
        df_model_plan(model, plan, (size_t)need + 1);
    printf("{\"model\": ");
    cli_json_string(stdout, path);
    printf(", \"schedule\": \"%s\", \"planner\": \"%s\", \"plan\": ",
           cli_schedule_name(stats.schedule), df_planner_name(stats.planner));
    cli_json_string(stdout, plan ? plan : "");
    free(plan);
    printf(", \"threads\": %d, \"peak_bytes\": %zu, \"predicted_us\": %.3f",
           stats.threads, stats.peak_bytes, stats.predicted_us);
    if (mp)
        printf(", \"measured_us\": %.3f", mp->total_us);
    printf(", \"caches\": {\"l1d\": %zu, \"l2\": %zu, \"l3\": %zu}, \"ops\": [", l1, l2, l3);
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
        printf(", \"flops\": %lld, \"segment\": %d, \"predicted_us\": %.3f", (long long)op.flops,
               op.segment, op.predicted_us);
        if (mp && op.segment < 0)
            printf(", \"measured_us\": %.3f", mp->op_us[i]);
        printf("}");
    }
    printf("], \"segments\": [");
    for (int s = 0; s < df_model_segment_count(model); s++) {
        df_segment_info seg;
        if (df_model_segment(model, s, &seg) != DF_OK)
            break;
        printf("%s{\"first_op\": %d, \"last_op\": %d, \"band_rows\": %d, \"strips\": %d, "
               "\"threads\": %d, \"shared\": %s, \"ring_bytes\": %zu, \"weight_bytes\": %zu, "
               "\"predicted_us\": %.3f",
               s ? ", " : "", seg.first_op, seg.last_op, seg.band_rows, seg.strips, seg.lanes,
               seg.shared ? "true" : "false", seg.ring_bytes, seg.weight_bytes, seg.predicted_us);
        if (mp)
            printf(", \"measured_us\": %.3f", mp->op_us[seg.first_op]);
        printf("}");
    }
    printf("]}\n");
}

/* Graphviz: one node per op, edges from producer to consumer, one cluster
 * per segment labelled with its band and predicted time. */
static int write_dot(const char *file, const df_model *model)
{
    FILE *f = fopen(file, "w");
    if (!f)
        return cli_error("%s: cannot write", file);
    const df_program *p = df_model_program(model);
    fprintf(f, "digraph plan {\n  rankdir=TB;\n  node [shape=box, fontsize=10];\n");
    for (int s = 0; s < p->n_segments; s++) {
        const df_segment *seg = &p->segments[s];
        fprintf(f, "  subgraph cluster_%d {\n    style=filled; color=\"#dbe8f6\";\n"
                   "    label=\"segment %d: band %d rows", s, s, seg->band);
        if (seg->predicted_us > 0)
            fprintf(f, ", predicted %.1f us", seg->predicted_us);
        fprintf(f, "\";\n");
        for (int i = seg->first; i <= seg->last; i++)
            fprintf(f, "    op%d;\n", i);
        fprintf(f, "  }\n");
    }
    for (int i = 0; i < p->n_steps; i++) {
        const df_node *n = p->steps[i].node;
        fprintf(f, "  op%d [label=\"%d %s\\n", i, i, n->fused_types ? n->fused_types : n->op_type);
        for (const char *c = n->name; *c; c++)
            if (*c != '"' && *c != '\\')
                fputc(*c, f);
        fprintf(f, "\"];\n");
    }
    int *producer = malloc((size_t)p->graph->n_values * sizeof *producer);
    if (!producer) {
        fclose(f);
        return cli_error("out of memory");
    }
    for (int v = 0; v < p->graph->n_values; v++)
        producer[v] = -1;
    for (int i = 0; i < p->n_steps; i++)
        for (int k = 0; k < p->steps[i].node->n_out; k++)
            if (p->steps[i].node->out[k] >= 0)
                producer[p->steps[i].node->out[k]] = i;
    for (int i = 0; i < p->n_steps; i++) {
        const df_node *n = p->steps[i].node;
        for (int k = 0; k < n->n_in + 1; k++) {
            int v = k < n->n_in ? n->in[k] : n->residual;
            if (v >= 0 && producer[v] >= 0)
                fprintf(f, "  op%d -> op%d;\n", producer[v], i);
        }
    }
    free(producer);
    fprintf(f, "}\n");
    if (fclose(f) != 0)
        return cli_error("%s: write error", file);
    return CLI_EXIT_OK;
}

int cmd_plan(int argc, char **argv)
{
    const char *command = argv[0];
    const char *path = NULL, *dot = NULL;
    int json = 0, measure = 0, options_done = 0;
    long runs = 10;
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
            } else if (arg_is_flag(arg, NULL, "--measure")) {
                measure = 1;
            } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--runs", &value)) != 0) {
                if (rc < 0 || cli_parse_count(command, "--runs", value, 1, 10000, &runs) != 0)
                    return CLI_EXIT_USAGE;
            } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--dot", &value)) != 0) {
                if (rc < 0)
                    return CLI_EXIT_USAGE;
                dot = value;
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

    char err[1024];
    size_t size = 0;
    if (measure)
        measure_reuse_memory();
    void *bytes = read_whole_file(path, &size, err, sizeof err);
    if (!bytes)
        return cli_error("%s", err);
    df_model *model = NULL;
    if (df_model_open_memory(bytes, size, path, &options, &model) != DF_OK) {
        free(bytes);
        return cli_library_error();
    }
    cli_note_planner(model, &options);
    int rc = CLI_EXIT_OK;
    measured_plan mp = {0};
    if (measure) {
        int need = df_model_plan(model, NULL, 0);
        char *plan = malloc((size_t)need + 1);
        if (!plan)
            rc = cli_error("out of memory");
        else
            df_model_plan(model, plan, (size_t)need + 1);
        if (plan && measure_plan(bytes, size, path, &options, plan, (int)runs, &mp, err,
                                 sizeof err) != 0)
            rc = cli_error("%s", err);
        free(plan);
    }
    if (rc == CLI_EXIT_OK && dot)
        rc = write_dot(dot, model);
    if (rc == CLI_EXIT_OK) {
        if (json)
            print_json(path, model, measure ? &mp : NULL);
        else
            print_text(path, model, measure ? &mp : NULL);
    }
    measured_plan_free(&mp);
    df_model_close(model);
    free(bytes);
    return rc;
}
