/*
 * stats: summaries of latency samples, as benchmark tools report them.
 * Percentiles interpolate linearly between the two nearest ranks (numpy's
 * default), so the median of an even count is the mean of the middle two.
 */
#ifndef DF_CLI_STATS_H
#define DF_CLI_STATS_H

typedef struct stats_summary {
    int count;
    double min;
    double max;
    double mean;
    double median;
    double p90;
} stats_summary;

/* The p-th percentile (0..100) of sorted[0..count); 0 when count is 0. */
double stats_percentile(const double *sorted, int count, double p);

/* Summarizes samples without reordering them. Returns 0, or -1 when count < 1
 * or memory runs out (then *summary is zeroed). */
int stats_summarize(const double *samples, int count, stats_summary *summary);

#endif
