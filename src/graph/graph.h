/* The graph IR: values (tensors with static shapes) and nodes (ops).
 *
 * The loader fills it from ONNX; the passes (shape inference, constant folding,
 * fusion, layout) rewrite it in place; the compiler turns what is left into
 * steps for the executor. Values and nodes live in arrays and refer to each
 * other by index, so passes can add and kill entries without dangling pointers.
 *
 * Shapes: dims[] is the order in which the elements are stored. For a value
 * with nhwc = 1 (set by the layout pass) that is N,H,W,C; onnx_dims[] keeps the
 * ONNX order for reports. Before the layout pass every value has nhwc = 0. */
#ifndef DF_GRAPH_GRAPH_H
#define DF_GRAPH_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum df_dtype {
    DF_DT_UNDEFINED = 0,
    DF_DT_F32 = 1,  /* values match ONNX TensorProto.DataType */
    DF_DT_I64 = 7,
    DF_DT_BOOL = 9
} df_dtype;

size_t df_dtype_size(df_dtype dt);
const char *df_dtype_name(df_dtype dt);

typedef enum df_op {
    DF_OP_UNKNOWN = 0,
    /* spatial, NHWC */
    DF_OP_CONV, DF_OP_BATCHNORM, DF_OP_MAXPOOL, DF_OP_AVGPOOL,
    DF_OP_GLOBALAVGPOOL, DF_OP_GLOBALMAXPOOL,
    /* elementwise unary */
    DF_OP_RELU, DF_OP_CLIP, DF_OP_LEAKYRELU, DF_OP_SIGMOID, DF_OP_HARDSIGMOID,
    DF_OP_HARDSWISH, DF_OP_TANH, DF_OP_NEG, DF_OP_SQRT, DF_OP_EXP, DF_OP_ABS,
    DF_OP_CAST, DF_OP_IDENTITY, DF_OP_DROPOUT,
    /* elementwise binary with broadcasting */
    DF_OP_ADD, DF_OP_SUB, DF_OP_MUL, DF_OP_DIV, DF_OP_POW, DF_OP_EQUAL, DF_OP_WHERE,
    /* reductions and dense */
    DF_OP_REDUCEMEAN, DF_OP_GEMM, DF_OP_MATMUL, DF_OP_SOFTMAX,
    /* data movement */
    DF_OP_FLATTEN, DF_OP_RESHAPE, DF_OP_TRANSPOSE, DF_OP_CONCAT, DF_OP_SPLIT,
    DF_OP_SLICE, DF_OP_PAD, DF_OP_SQUEEZE, DF_OP_UNSQUEEZE, DF_OP_GATHER,
    DF_OP_EXPAND,
    /* shape computation (folded at load) */
    DF_OP_SHAPE, DF_OP_CONSTANT, DF_OP_CONSTANTOFSHAPE, DF_OP_RANGE,
    /* made by passes, never read from a file: x * sigmoid(x); ShuffleNet's
     * Reshape-Transpose-Reshape as one op (attributes axis, group): channel
     * c = i * (C / group) + j of the input becomes j * group + i */
    DF_OP_SILU, DF_OP_CHANNEL_SHUFFLE,
    DF_OP_COUNT_
} df_op;

df_op df_op_from_name(const char *op_type);
const char *df_op_name(df_op op);

/* Activation fused into the op that produces its input (epilogue). */
typedef enum df_act {
    DF_ACT_NONE = 0, DF_ACT_RELU, DF_ACT_CLIP, DF_ACT_LEAKYRELU, DF_ACT_SIGMOID,
    DF_ACT_HARDSIGMOID, DF_ACT_HARDSWISH, DF_ACT_TANH, DF_ACT_SILU
} df_act;

typedef enum df_attr_type {
    DF_ATTR_FLOAT, DF_ATTR_INT, DF_ATTR_STRING, DF_ATTR_FLOATS, DF_ATTR_INTS, DF_ATTR_TENSOR
} df_attr_type;

typedef struct df_attr {
    char *name;
    df_attr_type type;
    float f;
    int64_t i;
    char *s;         /* STRING, NUL-terminated */
    int n;           /* element count of floats / ints */
    float *floats;
    int64_t *ints;
    int tensor;      /* TENSOR: index of a constant value holding it */
} df_attr;

typedef struct df_value {
    char *name;
    df_dtype dtype;
    int rank;                  /* -1 until shape inference knows it */
    int64_t dims[DF_MAX_RANK]; /* storage order (see top of file) */
    int64_t onnx_dims[DF_MAX_RANK];
    int nhwc;
    void *data;                /* constants only: initializers and folded values; owned */
    int producer;              /* node index; -1 for graph inputs and constants */
    int n_consumers;           /* maintained by df_graph_count_uses() */
    int graph_input;           /* position in graph inputs, or -1 */
    int graph_output;          /* position in graph outputs, or -1 */
    int is_param;              /* came from an initializer (counts towards params) */
} df_value;

typedef struct df_node {
    df_op op;
    char *name;
    char *op_type;
    int n_in, n_out;
    int *in, *out;             /* value indices; -1 for an absent optional input */
    int n_attrs;
    df_attr *attrs;
    int dead;                  /* removed by a pass; skipped by everyone after */
    /* fusion results, set by passes/fuse.c */
    df_act act;
    float act_alpha, act_beta; /* CLIP: min/max; LEAKYRELU: alpha; HARDSIGMOID: alpha/beta */
    int residual;              /* value added to the output before the activation, or -1 */
    char *fused_types;         /* "Conv+Add+Relu" for reports, or NULL */
} df_node;

typedef struct df_graph {
    char *source;              /* file name for messages */
    int64_t opset;
    df_value *values;
    int n_values, cap_values;
    df_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;               /* graph inputs that are not initializers */
    int n_inputs;
    int *outputs;
    int n_outputs;
    size_t memory_limit;       /* 0: none */
} df_graph;

df_graph *df_graph_new(const char *source);
void df_graph_free(df_graph *g);

/* Adds a value with no shape; returns its index or -1 when out of memory. */
int df_graph_add_value(df_graph *g, const char *name);
/* Adds a node with room for n_in inputs and n_out outputs (all -1). */
int df_graph_add_node(df_graph *g, df_op op, const char *op_type, const char *name, int n_in,
                      int n_out);
/* Recomputes producer and n_consumers of every value from the live nodes. */
void df_graph_count_uses(df_graph *g);

int64_t df_value_numel(const df_value *v);
size_t df_value_bytes(const df_value *v);
void df_value_set_shape(df_value *v, df_dtype dt, int rank, const int64_t *dims);

const df_attr *df_node_attr(const df_node *n, const char *name);
int64_t df_attr_int(const df_node *n, const char *name, int64_t fallback);
float df_attr_float(const df_node *n, const char *name, float fallback);
const char *df_attr_string(const df_node *n, const char *name, const char *fallback);
/* Returns the count, or -1 when absent; *ints points into the node. */
int df_attr_ints(const df_node *n, const char *name, const int64_t **ints);
/* Sets integer attribute name of n, adding it if absent (passes use it). */
df_status df_node_set_int(df_node *n, const char *name, int64_t value);

/* An error about a node: "file: node 'name' (Conv): message". */
df_status df_node_fail(const df_graph *g, const df_node *n, df_status st, const char *fmt, ...)
    DF_PRINTF(4, 5);

/* Formats dims as "1x3x224x224" into buf. */
const char *df_dims_str(char *buf, size_t size, int rank, const int64_t *dims);

#endif
