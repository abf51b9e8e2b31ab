/* Measuring a plan: what calibrate, tune and plan --measure share.
 *
 * A plan is run in a fresh model opened from the ONNX bytes with
 * options.plan set, a warm-up run first, then `runs` profiled runs. The time
 * of each unit (a layer step, or a whole segment) is the median over the
 * runs, so one slow run (a page fault, a preempted thread) does not count. */
#ifndef DF_CLI_MEASURE_H
#define DF_CLI_MEASURE_H

#include <stddef.h>

#include "deepfirst.h"

typedef struct measured_plan {
    int ops;
    double *op_us;     /* per op: layer time, or the segment's time on its first op */
    int *unit_last;    /* per op: last op of its unit (itself when layer by layer) */
    int *unit_band;    /* per op: band of its segment, 0 when layer by layer */
    double total_us;   /* median end-to-end time of a run */
} measured_plan;

/* options gives threads and cache_dir; its plan is replaced by `plan`.
 * Returns 0, or -1 after the library's message went to err. */
int measure_plan(const void *onnx, size_t size, const char *name, const df_options *options,
                 const char *plan, int runs, measured_plan *out, char *err, size_t errsz);
void measured_plan_free(measured_plan *m);

/* Runs the plan `spec` and stores the time of each of its units into
 * measured[k] of the candidate k it is (planner.h), and, when total_us is not
 * NULL, the median time of a run there. Units that are no candidate (ops that
 * cannot run in bands) are not stored. Returns 0, or -1 with err. */
struct df_plan_candidate;
int measure_candidates(const void *onnx, size_t size, const char *name, const df_options *options,
                       const char *spec, int runs, const struct df_plan_candidate *c, int n,
                       double *measured, double *total_us, char *err, size_t errsz);

/* A plan of segment candidates k with want[k] (all when want is NULL) and
 * measured[k] == 0, taken in order while they do not overlap: the next plan
 * to run when measuring many candidates. Returns its text (malloc'd) and, in
 * *segments, how many it holds. */
char *pack_unmeasured(const struct df_plan_candidate *c, int n, const char *want,
                      const double *measured, int *segments);

/* Progress on stderr, one line redrawn: "label [#####     ] 42% 1:07 left". */
void progress_draw(const char *label, double done_fraction, double elapsed_s);
void progress_end(void);

/* For commands that open one model many times (a fresh model per measured
 * plan): keeps freed memory in the heap for the next open instead of giving
 * it back to the kernel, which would fault its pages in again (about 1 s per
 * open of ResNet-50 under this machine's hypervisor). Call once, first. */
void measure_reuse_memory(void);

/* Median of v[0..n), n > 0 (v is sorted in place). */
double median_of(double *v, int n);

/* Reads a whole file; NULL (with err) on failure. */
void *read_whole_file(const char *path, size_t *size, char *err, size_t errsz);

#endif
