/* profile_report: see profile_report.h. */
#include "profile_report.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int same_op(const op_total *total, const df_op_profile *op)
{
    /* Names and types are owned by the model, so equal pointers are the
     * common case; compare the text in case a run hands out copies. */
    const char *a = total->name ? total->name : "", *b = op->name ? op->name : "";
    const char *ta = total->op_type ? total->op_type : "";
    const char *tb = op->op_type ? op->op_type : "";
    return strcmp(a, b) == 0 && strcmp(ta, tb) == 0;
}

int profile_totals_add(profile_totals *totals, const df_op_profile *ops, int count)
{
    if (count < 0 || (count > 0 && !ops))
        return -1;
    if (totals->runs == 0) {
        totals->ops = calloc((size_t)(count > 0 ? count : 1), sizeof *totals->ops);
        if (!totals->ops)
            return -1;
        totals->count = count;
        for (int i = 0; i < count; i++) {
            totals->ops[i].name = ops[i].name;
            totals->ops[i].op_type = ops[i].op_type;
            totals->ops[i].flops = ops[i].flops;
        }
    } else {
        if (count != totals->count)
            return -1;
        for (int i = 0; i < count; i++)
            if (!same_op(&totals->ops[i], &ops[i]))
                return -1;
    }
    for (int i = 0; i < count; i++)
        totals->ops[i].total_us += ops[i].duration_us;
    totals->runs++;
    return 0;
}

void profile_totals_free(profile_totals *totals)
{
    free(totals->ops);
    memset(totals, 0, sizeof *totals);
}

static int compare_by_time(const void *a, const void *b)
{
    double x = ((const op_total *)a)->total_us, y = ((const op_total *)b)->total_us;
    return (x < y) - (x > y);
}

static double total_us_of(const profile_totals *totals)
{
    double sum = 0.0;
    for (int i = 0; i < totals->count; i++)
        sum += totals->ops[i].total_us;
    return sum;
}

/* Per run: milliseconds, share of all op time, GFLOP/s and % of peak. */
static void op_figures(const op_total *op, const profile_totals *totals, double all_us,
                       double peak_gflops, double *ms, double *share, double *gflops,
                       double *peak_percent)
{
    double us = totals->runs ? op->total_us / totals->runs : 0.0;
    *ms = us / 1e3;
    *share = all_us > 0 ? 100.0 * op->total_us / all_us : 0.0;
    *gflops = us > 0 ? (double)op->flops / (us * 1e3) : 0.0;
    *peak_percent = peak_gflops > 0 ? 100.0 * *gflops / peak_gflops : 0.0;
}

static op_total *sorted_copy(const profile_totals *totals)
{
    op_total *sorted = malloc((size_t)(totals->count > 0 ? totals->count : 1) * sizeof *sorted);
    if (!sorted)
        return NULL;
    memcpy(sorted, totals->ops, (size_t)totals->count * sizeof *sorted);
    qsort(sorted, (size_t)totals->count, sizeof *sorted, compare_by_time);
    return sorted;
}

void profile_print_table(FILE *out, const profile_totals *totals, double peak_gflops)
{
    op_total *sorted = sorted_copy(totals);
    if (!sorted)
        return;
    double all_us = total_us_of(totals);
    fprintf(out, "\nper op, mean of %d profiled run%s (peak %.1f GFLOP/s):\n", totals->runs,
            totals->runs == 1 ? "" : "s", peak_gflops);
    fprintf(out, "%-32s %-20s %10s %7s %9s %7s\n", "name", "op type", "time ms", "share",
            "GFLOP/s", "% peak");
    for (int i = 0; i < totals->count; i++) {
        double ms, share, gflops, peak;
        op_figures(&sorted[i], totals, all_us, peak_gflops, &ms, &share, &gflops, &peak);
        fprintf(out, "%-32.32s %-20.20s %10.4f %6.1f%%", sorted[i].name ? sorted[i].name : "",
                sorted[i].op_type ? sorted[i].op_type : "", ms, share);
        if (sorted[i].flops > 0)
            fprintf(out, " %9.2f %6.1f%%\n", gflops, peak);
        else
            fprintf(out, " %9s %7s\n", "-", "-");
    }
    fprintf(out, "%-32s %-20s %10.4f %6.1f%%\n", "total", "",
            totals->runs ? all_us / totals->runs / 1e3 : 0.0, 100.0);
    free(sorted);
}

void profile_print_json(FILE *out, const profile_totals *totals, double peak_gflops)
{
    op_total *sorted = sorted_copy(totals);
    fputc('[', out);
    double all_us = total_us_of(totals);
    for (int i = 0; sorted && i < totals->count; i++) {
        double ms, share, gflops, peak;
        op_figures(&sorted[i], totals, all_us, peak_gflops, &ms, &share, &gflops, &peak);
        fputs(i ? ", {\"name\": " : "{\"name\": ", out);
        cli_json_string(out, sorted[i].name);
        fputs(", \"op_type\": ", out);
        cli_json_string(out, sorted[i].op_type);
        fprintf(out,
                ", \"time_ms\": %.6f, \"share_percent\": %.3f, \"flops\": %lld, "
                "\"gflops_per_s\": %.3f, \"peak_percent\": %.3f}",
                ms, share, (long long)sorted[i].flops, gflops, peak);
    }
    fputc(']', out);
    free(sorted);
}

int profile_write_trace(FILE *f, const df_op_profile *ops, int count, double run_us)
{
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"
               "{\"name\": \"run\", \"cat\": \"session\", \"ph\": \"X\", \"ts\": 0, "
               "\"dur\": %.3f, \"pid\": 1, \"tid\": 1}",
            run_us);
    for (int i = 0; i < count; i++) {
        fputs(",\n{\"name\": ", f);
        cli_json_string(f, ops[i].name);
        fputs(", \"cat\": ", f);
        cli_json_string(f, ops[i].op_type);
        fprintf(f, ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": 1, \"tid\": 2, "
                   "\"args\": {\"shape\": ",
                ops[i].start_us, ops[i].duration_us);
        /* The rank comes from the library; never read past dims. */
        int rank = ops[i].rank < 0 ? 0 : ops[i].rank > DF_MAX_RANK ? DF_MAX_RANK : ops[i].rank;
        cli_json_shape(f, rank, ops[i].dims);
        fprintf(f, ", \"flops\": %lld}}", (long long)ops[i].flops);
    }
    fputs("\n]}\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
