/*
 * deepfirst: run convolutional networks from ONNX files on CPUs, layer by layer
 * or depth first.
 *
 * A worked example: load a model once, then run it as often as you like.
 *
 *     df_options opt;
 *     df_options_init(&opt);
 *     opt.threads = 2;
 *
 *     df_model *model = NULL;
 *     if (df_model_open("resnet18.onnx", &opt, &model) != DF_OK) {
 *         fprintf(stderr, "%s\n", df_last_error());
 *         return 1;
 *     }
 *     df_tensor_info in, out;
 *     df_model_input(model, 0, &in);          // e.g. "input", 1x3x224x224
 *     df_model_output(model, 0, &out);        // e.g. "logits", 1x1000
 *
 *     df_session *s = NULL;
 *     df_session_create(model, &s);           // owns the activation arena
 *     const float *inputs[1] = { image };      // NCHW, float32, in.numel floats
 *     float *outputs[1] = { logits };          // out.numel floats
 *     if (df_session_run(s, inputs, outputs) != DF_OK)
 *         fprintf(stderr, "%s\n", df_last_error());
 *     df_session_destroy(s);
 *     df_model_close(model);
 *
 * Conventions
 * - Every function that can fail returns a df_status. On failure, df_last_error()
 *   returns a message naming the file, node, op and value that were wrong. The
 *   message is per thread and stays valid until that thread's next failing call.
 * - The library never aborts, exits or prints.
 * - Closing or destroying NULL is harmless.
 * - A df_model is immutable once opened: any number of threads may create
 *   sessions from it and run them at the same time. A df_session must be used
 *   by one thread at a time.
 * - Tensors cross the API in ONNX's layout (NCHW for images), float32, C order.
 */
#ifndef DEEPFIRST_H
#define DEEPFIRST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DF_VERSION "0.1.0"
#define DF_MAX_RANK 8

typedef enum df_status {
    DF_OK = 0,
    DF_ERR_INVALID_ARGUMENT, /* a NULL handle, an index out of range, a bad option */
    DF_ERR_IO,               /* the file could not be read */
    DF_ERR_PARSE,            /* the file is not a valid ONNX model */
    DF_ERR_UNSUPPORTED,      /* a valid model that uses something deepfirst lacks */
    DF_ERR_INVALID_MODEL,    /* inconsistent shapes, dangling names, cycles... */
    DF_ERR_MEMORY_LIMIT,     /* the model would need more than options.memory_limit */
    DF_ERR_OUT_OF_MEMORY,    /* malloc failed */
    DF_ERR_INTERNAL          /* a bug in deepfirst: please report it */
} df_status;

typedef enum df_schedule {
    DF_SCHEDULE_AUTO = 0, /* let the planner choose */
    DF_SCHEDULE_LAYER,    /* layer by layer: each op reads and writes whole tensors */
    DF_SCHEDULE_DEPTH     /* depth first: chains of ops run band by band */
} df_schedule;

/* Who chooses the auto schedule's segments and bands. */
typedef enum df_planner {
    DF_PLANNER_DEFAULT = 0, /* a tuned plan for this model if `deepfirst tune` cached one,
                               else the learned cost model if `deepfirst calibrate` made
                               one, else the heuristic */
    DF_PLANNER_HEURISTIC,   /* cache-size rules (segment.c) */
    DF_PLANNER_ANALYTIC,    /* dynamic programming over the roofline estimate alone */
    DF_PLANNER_LEARNED,     /* dynamic programming over the learned cost model */
    /* reported by df_model_get_stats only: */
    DF_PLANNER_TUNED,       /* a plan cached by `deepfirst tune` */
    DF_PLANNER_GIVEN,       /* options.plan, or a forced schedule or override */
} df_planner;

typedef struct df_options {
    int threads;         /* worker threads per session; 0 = cores available to the process */
    size_t memory_limit; /* bytes of weights plus activations; 0 = no limit */
    df_schedule schedule;
    df_planner planner;  /* for DF_SCHEDULE_AUTO */
    /* Where calibrations, cost models and tuned plans live: NULL means
     * $XDG_CACHE_HOME/deepfirst or ~/.cache/deepfirst; "" means nowhere (the
     * default planner is then the heuristic). A machine's files are in a
     * subdirectory named by its CPU signature. Read only: the library never
     * writes there; the command-line tool's calibrate and tune do. */
    const char *cache_dir;
    /* An explicit plan, as `deepfirst plan` prints it: segments of op indices
     * (df_model_op order) with their band heights, "first-last/band" joined by
     * commas, e.g. "2-9/4,11-15/1"; other ops run layer by layer. Overrides the
     * schedule; a plan that cannot run is an error naming the op. */
    const char *plan;
    /* Experiments and tests; leave 0 for the planner's choice. */
    int band_rows;       /* depth first: output rows per band of every segment */
    int segment_max_ops; /* depth first: at most this many ops per segment */
    unsigned plan_seed;  /* nonzero: segment cuts and band heights drawn at random */
} df_options;

typedef struct df_tensor_info {
    const char *name; /* owned by the model */
    int rank;
    int64_t dims[DF_MAX_RANK];
    int64_t numel;
} df_tensor_info;

/* Facts about a loaded model, for reports. */
typedef struct df_model_stats {
    int64_t params;        /* weights and biases in the ONNX file, in elements */
    int64_t flops;         /* per run, counting a multiply-add as 2 */
    size_t weight_bytes;   /* constant tensors held by the loaded model */
    size_t peak_bytes;     /* activation arena of one session: intermediates and scratch */
    int ops;               /* nodes executed per run, after fusion */
    int threads;
    df_schedule schedule;  /* the schedule actually used */
    df_planner planner;    /* what chose the plan */
    double predicted_us;   /* the cost model's prediction for the ops that can run in
                              bands (others excluded); 0 without a cost model */
    uint64_t hash;         /* of the model file: keys tuned plans */
} df_model_stats;

typedef struct df_model df_model;
typedef struct df_session df_session;

const char *df_version(void);
const char *df_status_string(df_status status);
/* The message of this thread's last failing call; "" when there was none. */
const char *df_last_error(void);

void df_options_init(df_options *options);

/* Loads, checks, optimises and plans a model. options may be NULL (defaults).
 * On success *model owns everything it needs; the file or buffer may go. */
df_status df_model_open(const char *path, const df_options *options, df_model **model);
/* name is used in error messages only and may be NULL. */
df_status df_model_open_memory(const void *data, size_t size, const char *name,
                               const df_options *options, df_model **model);
void df_model_close(df_model *model);

int df_model_input_count(const df_model *model);
int df_model_output_count(const df_model *model);
df_status df_model_input(const df_model *model, int index, df_tensor_info *info);
df_status df_model_output(const df_model *model, int index, df_tensor_info *info);
df_status df_model_get_stats(const df_model *model, df_model_stats *stats);

/* Op histogram of the ONNX graph as loaded (before fusion): entry i names an op
 * type and how many nodes use it. Returns DF_ERR_INVALID_ARGUMENT past the end. */
int df_model_op_type_count(const df_model *model);
df_status df_model_op_type(const df_model *model, int index, const char **op_type, int *count);

/* The plan: the ops as they run (after fusion, in order) and the depth-first
 * segments they form. Strings are owned by the model. */
typedef struct df_op_info {
    const char *name;
    const char *op_type;       /* ONNX op type, fused ops joined by '+' */
    int rank;
    int64_t dims[DF_MAX_RANK]; /* output shape, ONNX order */
    int64_t flops;
    int segment;               /* depth-first segment, or -1 when it runs whole */
    double predicted_us;       /* layer by layer, by the cost model; 0 when there is
                                  none or the op cannot run in bands */
} df_op_info;

typedef struct df_segment_info {
    int first_op, last_op;     /* indices of df_model_op, inclusive */
    int band_rows;             /* output rows of the last op per band */
    int strips;                /* strips of one image run by different threads */
    int lanes;                 /* threads working on the segment */
    int shared;                /* 1: those threads split each op of each band
                                  (an image too short for strips); 0: each
                                  works on its own strip or images */
    size_t ring_bytes;         /* ring buffers and halo rows of one lane: the
                                  working set of a band, with the weights below */
    size_t weight_bytes;
    double predicted_us;       /* by the cost model; 0 when there is none */
} df_segment_info;

int df_model_op_count(const df_model *model);
df_status df_model_op(const df_model *model, int index, df_op_info *info);
int df_model_segment_count(const df_model *model);
df_status df_model_segment(const df_model *model, int index, df_segment_info *info);

/* The plan in the text form options.plan takes ("" when every op runs layer by
 * layer). Returns the length it needs, like snprintf. */
int df_model_plan(const df_model *model, char *buf, size_t size);
const char *df_planner_name(df_planner planner);

/* Data cache sizes of this CPU in bytes (0 where unknown), as the planner sees them. */
void df_cpu_caches(size_t *l1, size_t *l2, size_t *l3);

/* A session owns the activation arena (stats.peak_bytes) and the worker threads.
 * Creating one allocates; running one does not. */
df_status df_session_create(const df_model *model, df_session **session);
void df_session_destroy(df_session *session);

/* inputs[i] holds input i (df_model_input order), outputs[i] receives output i.
 * Buffers belong to the caller and must hold info.numel floats each. Inputs
 * are read where they are, not copied (so the arena has no room for them):
 * they must not change while the run lasts, and are never written. */
df_status df_session_run(df_session *session, const float *const *inputs, float *const *outputs);

/* Per-op timing of the runs that follow, for profilers. */
typedef struct df_op_profile {
    const char *name;    /* node name (owned by the model) */
    const char *op_type; /* ONNX op type, with fused ops joined by '+' */
    int rank;
    int64_t dims[DF_MAX_RANK]; /* output shape, ONNX order */
    int64_t flops;
    double start_us;     /* since the start of the run */
    double duration_us;  /* depth first: the whole segment's time on its first op, 0 on the rest */
    int segment;         /* depth-first segment the op ran in, or -1 */
} df_op_profile;

df_status df_session_enable_profiling(df_session *session, int enable);
/* Entries of the last run; valid until the next run or destroy. */
df_status df_session_profile(const df_session *session, const df_op_profile **ops, int *count);

#ifdef __cplusplus
}
#endif
#endif
