/* The executor: runs a compiled program on a session's arena and threads. */
#ifndef DF_EXEC_EXECUTOR_H
#define DF_EXEC_EXECUTOR_H

#include <pthreadpool.h>

#include "plan/program.h"

/* Row-pointer tables of one spatial step, indexed [image * rows + row]. */
typedef struct df_step_rows {
    const float **in;
    float **out;
    const float **res;
} df_step_rows;

typedef struct df_exec {
    const df_program *program;
    char *arena;
    df_step_rows *rows; /* per step; zeroed for non-spatial steps */
    pthreadpool_t pool; /* NULL: run on the calling thread */
    int threads;
    df_op_profile *profile; /* per step, when profiling */
    int profiling;
} df_exec;

df_status df_exec_init(df_exec *e, const df_program *p, int threads);
void df_exec_release(df_exec *e);

/* Inputs and outputs in graph order, float32; values are copied in and out. */
df_status df_exec_run(df_exec *e, const float *const *inputs, float *const *outputs);

#endif
