/* The compiled program: what the executor runs.
 *
 * compile.c turns an optimised graph (storage-order shapes, see graph.h) into
 * a list of steps with every parameter precomputed and weights packed, and
 * memplan.c gives every non-constant value an offset in one arena whose size
 * is known before the first run. A program is immutable and shared by all
 * sessions of a model. */
#ifndef DF_PLAN_PROGRAM_H
#define DF_PLAN_PROGRAM_H

#include "graph/graph.h"
#include "kernels/kernels.h"

typedef void (*df_pool_rows_fn)(const df_pool_params *p, const float *const *in_rows,
                                float *const *out_rows, int y0, int y1);
typedef void (*df_conv_rows_fn)(const df_conv_params *p, const float *const *in_rows,
                                float *const *out_rows, const float *const *res_rows, int y0,
                                int y1);
typedef void (*df_conv_part_fn)(const df_conv_params *p, const float *const *in_rows,
                                float *const *out_rows, const float *const *res_rows, int y0,
                                int y1, int part, int parts);

struct df_segment;
struct df_kernel_table;

typedef struct df_step {
    df_op op;
    int segment;          /* depth-first segment it belongs to, or -1 */
    const df_node *node;  /* names, inputs and outputs (value indices) */
    int64_t flops;
    double predicted_us;  /* layer by layer, by the cost model; 0 when none or not banded */

    /* spatial ops */
    df_conv_params conv;
    df_conv_rows_fn conv_rows;
    df_conv_part_fn conv_part; /* the kernel's output-channel split, or NULL */
    int conv_units;       /* channel blocks conv_part shares out */
    void *conv_packed;    /* owned: packed weights of a fast kernel */
    float *weight_ohwi;   /* owned: conv weights in the reference layout */
    df_pool_params pool;
    df_pool_rows_fn pool_rows;
    int batch;            /* images */

    /* elementwise and movement */
    void (*unary)(df_op op, const float *x, float *y, int64_t n, float a, float b);
    void (*binary_line)(df_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                        void *out, int64_t n); /* F32 binary ops, one line */
    const struct df_kernel_table *kern; /* movement, gemm, global pool (dispatch.h) */
    int rank;
    int64_t out_dims[DF_MAX_RANK];
    int64_t in_dims[DF_MAX_RANK];
    int64_t a_strides[DF_MAX_RANK], b_strides[DF_MAX_RANK];
    int perm[DF_MAX_RANK];
    int reduce[DF_MAX_RANK];
    int64_t starts[DF_MAX_RANK], steps[DF_MAX_RANK];
    int64_t outer, inner, axis_n;
    /* ChannelShuffle (NHWC): each group's part of the input has part_c
     * channels, of which in_dims[2] from part_offset on are taken */
    int64_t part_c, part_offset;
    int64_t *sizes;       /* owned: concat/split part sizes */
    float alpha, beta;
    int trans_a, trans_b;
    df_act act;
    df_pad_mode pad_mode;
    float *scale, *shift; /* owned: unfused BatchNormalization */
    void (*scale_shift)(const float *x, float *y, const float *scale, const float *shift,
                        int64_t outer, int64_t c, df_act act, float a, float b);
    int64_t m, n, k, batch_count; /* gemm / matmul */
    int64_t *a_offsets, *b_offsets; /* owned: matmul batch offsets */
} df_step;

typedef struct df_program {
    df_graph *graph;      /* owned */
    df_step *steps;
    int n_steps;
    size_t *offsets;      /* per value: arena offset; SIZE_MAX for constants */
    size_t arena_bytes;
    int64_t flops;
    struct df_segment *segments;
    int n_segments;
    df_schedule schedule; /* what was planned: LAYER, or DEPTH when segments exist */
} df_program;

/* Compiles the graph (taking ownership of it on success) and plans segments
 * for the schedule and memory for them. */
struct df_plan_overrides;
df_status df_compile(df_graph *g, df_schedule schedule, int threads,
                     const struct df_plan_overrides *over, df_program **out);
void df_program_free(df_program *p);

/* How `threads` threads share spatial step s layer by layer: *bands row bands
 * per image times *parts output-channel parts (one of the two is 1). The
 * executor runs this split and the cost model's features describe it. */
void df_step_split(const df_step *s, int threads, int *bands, int *parts);

/* Whether s is a Transpose of an NCHW float image to NHWC (perm 0,2,3,1), as
 * the layout pass puts after a network's input: output row y is row y of
 * every channel plane, so it runs by rows (df_nchw_row_to_nhwc). */
int df_step_to_nhwc(const df_graph *g, const df_step *s);

/* Whether `parts` threads sharing step s inside a depth-first segment split
 * its output channels (a conv with a channel block for each), rather than
 * the band's rows. The executor (depth.c) and the features agree through it. */
int df_step_parts_by_channels(const df_step *s, int parts);

/* Assigns arena offsets to values by their lifetimes over the units of work
 * (a step, or a whole segment), and to each segment's ring scratch. Graph
 * inputs that df_input_read_in_place accepts get none (SIZE_MAX). */
df_status df_plan_memory(df_program *p);

/* Whether graph input k is read where the caller keeps it rather than copied
 * into the arena: all but NHWC activations, whose row tables are made once
 * with the session (the layout pass gives a network's NCHW image input a
 * Transpose of its own, so that input is read in place). */
int df_input_read_in_place(const df_graph *g, int k);

#endif
