/* The machine fingerprint (tools/cli/fingerprint.c): with a short budget, every
 * rate comes out positive and finite, cache-resident bandwidth is at least
 * DRAM's, and the budget is roughly kept. Prints the numbers. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fingerprint.h"
#include "plan/machine.h"

static int bad(const char *what, double v)
{
    if (v > 0.0 && isfinite(v))
        return 0;
    fprintf(stderr, "%s is %g\n", what, v);
    return 1;
}

int main(void)
{
    df_machine m;
    df_machine_nominal(&m);
    const int threads = 2;
    const double budget = 2.0;
    struct timespec t0, t1;
    char err[256];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fingerprint_measure(&m, threads, budget, err, sizeof err) != 0) {
        fprintf(stderr, "fingerprint: %s\n", err);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%s: caches %zu / %zu / %zu bytes; %.2f s\n", m.signature, m.l1, m.l2, m.l3, took);
    printf("peak %.1f GFLOP/s; bandwidth L1 %.1f, L2 %.1f, L3 %.1f, DRAM %.1f GB/s; "
           "fork/join (%d threads) %.2f us\n",
           m.peak_gflops, m.bw_gbs[DF_BW_L1], m.bw_gbs[DF_BW_L2], m.bw_gbs[DF_BW_L3],
           m.bw_gbs[DF_BW_DRAM], threads, m.fork_join_us);

    int failures = bad("peak_gflops", m.peak_gflops) + bad("bw L1", m.bw_gbs[DF_BW_L1]) +
                   bad("bw L2", m.bw_gbs[DF_BW_L2]) + bad("bw L3", m.bw_gbs[DF_BW_L3]) +
                   bad("bw DRAM", m.bw_gbs[DF_BW_DRAM]) + bad("fork_join_us", m.fork_join_us);
    if (m.bw_gbs[DF_BW_L1] < m.bw_gbs[DF_BW_DRAM]) {
        fprintf(stderr, "L1 bandwidth below DRAM's\n");
        failures++;
    }
    if (!m.measured) {
        fprintf(stderr, "measured is not set\n");
        failures++;
    }
    /* Filling the DRAM buffer and a slow sanitizer build come on top. */
    if (took > 4.0 * budget) {
        fprintf(stderr, "took %.1f s for a %.1f s budget\n", took, budget);
        failures++;
    }

    df_machine one;
    df_machine_nominal(&one);
    if (fingerprint_measure(&one, 1, 0.3, err, sizeof err) != 0 || one.fork_join_us != 0.0) {
        fprintf(stderr, "one thread: %s, fork_join_us %g\n", err, one.fork_join_us);
        failures++;
    }
    if (fingerprint_measure(&one, 1, 0.0, err, sizeof err) == 0) {
        fprintf(stderr, "a zero budget was accepted\n");
        failures++;
    }
    return failures ? 1 : 0;
}
