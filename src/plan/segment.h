/* Depth-first segments: runs of row-local steps executed band by band.
 *
 * A segment is a contiguous run of steps [first, last] whose ops compute an
 * output row from a few input rows (convs, pools, elementwise, channel concat).
 * Values made and used only inside it live in ring buffers of a few rows (row r
 * in slot r mod depth); values read after the segment are written whole.
 *
 * For each band of `band` output rows of the last step, the walk goes back
 * through the steps to find how many rows each must have (kernel, stride,
 * dilation, padding), then forward computing only the rows not yet computed:
 * a sliding window, so along the height no row is computed twice within a
 * strip. Work is split into lanes, one per thread: whole images when the batch
 * has enough of them, otherwise strips of one image's rows, each lane
 * recomputing the few halo rows at its strip's seams into its own scratch.
 * An image too short for strips is shared instead: one walk, whose every step
 * the threads split among them as the layer schedule does (output channels of
 * a conv, rows of the rest), with one fork and join per step and band.
 *
 * The same walk sizes the rings at plan time and drives the executor, so the
 * two cannot disagree. */
#ifndef DF_PLAN_SEGMENT_H
#define DF_PLAN_SEGMENT_H

#include "plan/program.h"

/* How an input row range follows from an output row range. */
typedef enum df_row_map { DF_ROWS_SAME, DF_ROWS_WINDOW } df_row_map;

enum { DF_SEG_MAX_INPUTS = 64 };

typedef struct df_seg_input {
    int producer;      /* local index of the producing step */
    df_row_map map;
} df_seg_input;

typedef struct df_seg_step {
    int step;          /* index into program steps */
    int value;         /* its output value */
    int out_h;
    int n_inputs;      /* inputs made inside the segment */
    df_seg_input inputs[DF_SEG_MAX_INPUTS];
    int k_h, stride_h, dil_h, pad_top, in_h; /* window of the main input */
    int full;          /* 1: the output is read after the segment: written whole */
    int depth;         /* ring rows (ring outputs), or halo rows (full outputs, strips) */
    size_t row_bytes;
    size_t lane_offset; /* of the ring / halo scratch in a lane's block */
} df_seg_step;

typedef struct df_segment {
    int first, last;   /* program steps, inclusive */
    int n;
    df_seg_step *steps;
    int band;          /* rows of the last step per band */
    int strips;        /* strips per image: > 1 only for a single image */
    int lanes;         /* parallel lanes, each with its own rings */
    int shared;        /* > 1: this many threads share every step of every
                          band (output channels, or rows), one lane's rings */
    int batch;
    size_t lane_bytes; /* ring and halo storage of one lane */
    size_t scratch_offset; /* of lanes * lane_bytes in the arena (memplan) */
    size_t weight_bytes;
    double predicted_us; /* by the cost model, when there is one; else 0 */
    /* per strip s and local step j, [s * n + j]: rows the strip computes and,
     * for full outputs, the rows it owns and writes to the whole tensor */
    int *start, *end, *own_lo, *own_hi;
} df_segment;

/* A plan as a list: segment k runs steps [first, last] with bands of `band`
 * rows; steps in no segment run layer by layer. Its text form (plan_spec.c) is
 * "first-last/band" joined by commas, e.g. "2-9/4,11-15/1". */
typedef struct df_plan_unit {
    int first, last, band;
} df_plan_unit;

typedef struct df_plan_spec {
    int n;
    df_plan_unit *units;   /* owned */
} df_plan_spec;

/* Parses the text form; an empty string is the layer-by-layer plan. */
df_status df_plan_spec_parse(const char *text, df_plan_spec *spec);
/* Writes the text form; returns the length it needs (like snprintf). */
int df_plan_spec_format(const df_plan_spec *spec, char *buf, size_t size);
void df_plan_spec_free(df_plan_spec *spec);

/* Overrides for experiments and tests; zero fields mean "planner decides". */
typedef struct df_plan_overrides {
    int band;          /* band height for every segment */
    int max_steps;     /* cut segments after this many steps */
    unsigned seed;     /* nonzero: random cuts and bands drawn from this seed */
    const df_plan_spec *plan; /* these segments exactly (checked) */
    const struct df_cost_model *cost; /* auto: plan by this model, not the heuristic */
    const struct df_cost_model *predict; /* fill predicted_us with this model */
} df_plan_overrides;

/* Forms segments over p->steps for the schedule and sizes their rings.
 * DF_SCHEDULE_LAYER forms none. Fills p->segments and p->steps[i].segment. */
df_status df_plan_segments(df_program *p, df_schedule schedule, int threads,
                           const df_plan_overrides *over);
void df_segments_free(df_program *p);

/* For planners: whether step i can start a segment, whether step i can join
 * the one that starts at first, and one segment over steps [first, last] with
 * bands of `band` rows, split for the threads (images, or strips of one
 * image), sized. Release with df_segment_release (also after a failure). */
int df_segment_can_start(const df_program *p, int i);
int df_segment_can_join(const df_program *p, int first, int i);
df_status df_segment_build(df_program *p, int first, int last, int band, int threads,
                           df_segment *seg);
/* Whether a built segment's band is one the planners should consider: a
 * segment whose weights (each thread's share, when threads share its steps)
 * pass the cache budget reads them again for every band, so only the whole
 * image; shared steps no shorter than their fork and join allows. */
int df_segment_band_sensible(const df_program *p, const df_segment *seg);
void df_segment_release(df_segment *seg);

/* Called by the walk: compute rows [y0, y1) of local step j. */
typedef void (*df_seg_compute_fn)(void *ctx, int j, int y0, int y1);

/* Walks strip `strip` of one image: calls compute for every row range each
 * step must produce, in an order where inputs always exist. */
void df_segment_walk(const df_segment *s, int strip, df_seg_compute_fn compute, void *ctx);

/* Row r of local step j for a lane working on strip `strip`: where it lives.
 * Returns 1 and the slot for rows in the lane's ring or halo scratch, 0 for
 * rows of the whole tensor. */
int df_segment_row_slot(const df_segment *s, int strip, int j, int r, int *slot);

#endif
