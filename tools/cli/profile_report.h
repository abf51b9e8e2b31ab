/*
 * profile_report: what bench does with df_session_profile: per-op totals over
 * several profiled runs (--ops) and a Chrome trace of one run (--profile),
 * which opens in Perfetto or chrome://tracing.
 */
#ifndef DF_CLI_PROFILE_REPORT_H
#define DF_CLI_PROFILE_REPORT_H

#include <stdio.h>

#include "deepfirst.h"

typedef struct op_total {
    const char *name;    /* owned by the model */
    const char *op_type; /* owned by the model */
    int64_t flops;       /* per run */
    double total_us;     /* summed over the runs */
} op_total;

typedef struct profile_totals {
    op_total *ops; /* in execution order */
    int count;
    int runs;
} profile_totals;

/* Adds one run's profile. Runs are matched op by op, as every run of a
 * session executes the same plan; returns -1 when this run's ops differ from
 * the first run's (or memory runs out) and then adds nothing. */
int profile_totals_add(profile_totals *totals, const df_op_profile *ops, int count);
void profile_totals_free(profile_totals *totals);

/* A table of per-run means sorted by time, slowest first. peak_gflops is the
 * machine's FMA peak for the threads used. */
void profile_print_table(FILE *out, const profile_totals *totals, double peak_gflops);
/* The same as a JSON array. */
void profile_print_json(FILE *out, const profile_totals *totals, double peak_gflops);

/* Writes {"traceEvents": [...]} with one "X" event per op plus one for the
 * whole run, and flushes out (the caller closes it). Returns 0, or -1 when
 * writing failed. */
int profile_write_trace(FILE *out, const df_op_profile *ops, int count, double run_us);

#endif
