/* stats: see stats.h. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile(const double *sorted, int count, double p)
{
    if (count < 1)
        return 0.0;
    if (p <= 0.0)
        return sorted[0];
    if (p >= 100.0)
        return sorted[count - 1];
    double rank = p / 100.0 * (count - 1);
    int below = (int)rank;
    double fraction = rank - below;
    if (below + 1 >= count)
        return sorted[count - 1];
    return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

int stats_summarize(const double *samples, int count, stats_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    if (count < 1)
        return -1;
    double *sorted = malloc((size_t)count * sizeof *sorted);
    if (!sorted)
        return -1;
    memcpy(sorted, samples, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, compare_doubles);

    double sum = 0.0;
    for (int i = 0; i < count; i++)
        sum += sorted[i];
    summary->count = count;
    summary->min = sorted[0];
    summary->max = sorted[count - 1];
    summary->mean = sum / count;
    summary->median = stats_percentile(sorted, count, 50.0);
    summary->p90 = stats_percentile(sorted, count, 90.0);
    free(sorted);
    return 0;
}
