/* The executor: runs a compiled program on a session's arena and threads. */
#ifndef DF_EXEC_EXECUTOR_H
#define DF_EXEC_EXECUTOR_H

#include <pthreadpool.h>

#include "plan/program.h"

typedef struct df_exec {
    const df_program *program;
    char *arena;
    /* Row-pointer tables. value_rows[v]: the N*H rows of an NHWC activation in
     * the arena ([image * H + row]), NULL for other values. lane_rows[k] for
     * k = seg_base[s] + lane * n + j: the H rows of local step j of segment s
     * as lane `lane` sees them (ring slots, halo scratch or whole-tensor rows),
     * NULL where the lane writes the whole tensor directly. */
    float **value_rows_block;
    float ***value_rows;
    float ***lane_rows;
    int *seg_base;
    pthreadpool_t pool; /* NULL: run on the calling thread */
    uint32_t pool_flags; /* for every parallel call of a run (see df_exec_init) */
    int threads;
    const void *const *inputs; /* the caller's inputs during a run */
    df_op_profile *profile; /* per step, when profiling */
    int profiling;
} df_exec;

df_status df_exec_init(df_exec *e, const df_program *p, int threads);
void df_exec_release(df_exec *e);

/* Runs segment s (depth first): all its steps, all images. */
void df_exec_segment(df_exec *e, int s);
/* Runs local step j of segment s on rows [y0, y1) of one image for one lane:
 * share `part` of `parts` of that work (0 of 1: all of it). */
void df_exec_segment_rows(df_exec *e, int s, int lane, int image, int j, int y0, int y1,
                          int part, int parts);
/* Where value v's data is: a constant, the arena, or (during a run) a graph
 * input read in place from the caller's buffer, which nothing writes to. */
void *df_exec_value(const df_exec *e, int v);
/* Row table of value v for one image: whole tensor. */
float **df_exec_rows(const df_exec *e, int v, int image);

/* Elementwise, copy and dense steps, shared out across the threads by rows
 * of their data (shared_ops.c); small ones run on the calling thread. */
void df_exec_unary(df_exec *e, const df_step *s, const float *x, float *y, int64_t n);
void df_exec_binary(df_exec *e, const df_step *s, const float *a, const float *b, void *y);
void df_exec_scale_shift(df_exec *e, const df_step *s, const float *x, float *y);
void df_exec_gemm(df_exec *e, const df_step *s, const float *a, int64_t lda, const float *b,
                  int64_t ldb, const float *c, float *y);
/* Concat (in: the parts, out: the whole) or Split (in: the whole, out: the parts). */
void df_exec_join(df_exec *e, const df_step *s, int n, const void *const *in, void *const *out,
                  size_t elem);
/* ChannelShuffle of one input, or of n_in inputs that are its groups. */
void df_exec_shuffle(df_exec *e, const df_step *s, const float *const *in, int n_in, float *y);
/* Where NHWC ChannelShuffle step s reads group j of the pixel at in[k]
 * (one pointer per input): x[j], for j < s->in_dims[1]. Returns the floats
 * between two pixels of one x[j] (the kernel's x_stride). */
int64_t df_shuffle_sources(const df_step *s, const float *const *in, int n_in, const float **x);
/* A Transpose for which df_step_to_nhwc holds, by output rows. */
void df_exec_to_nhwc(df_exec *e, const df_step *s, const float *x, float *y);

/* Inputs and outputs in graph order, float32; values are copied in and out. */
df_status df_exec_run(df_exec *e, const float *const *inputs, float *const *outputs);

#endif
