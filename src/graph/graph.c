#include "graph/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard caps that keep a hostile file from making the IR grow without bound. */
enum { DF_MAX_VALUES = 1 << 24, DF_MAX_NODES = 1 << 23 };

static char *dup_string(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

size_t df_dtype_size(df_dtype dt)
{
    switch (dt) {
    case DF_DT_F32: return 4;
    case DF_DT_I64: return 8;
    case DF_DT_BOOL: return 1;
    default: return 0;
    }
}

const char *df_dtype_name(df_dtype dt)
{
    switch (dt) {
    case DF_DT_F32: return "float32";
    case DF_DT_I64: return "int64";
    case DF_DT_BOOL: return "bool";
    default: return "undefined";
    }
}

static const struct {
    df_op op;
    const char *name;
} op_names[] = {
    {DF_OP_CONV, "Conv"}, {DF_OP_BATCHNORM, "BatchNormalization"},
    {DF_OP_MAXPOOL, "MaxPool"}, {DF_OP_AVGPOOL, "AveragePool"},
    {DF_OP_GLOBALAVGPOOL, "GlobalAveragePool"}, {DF_OP_GLOBALMAXPOOL, "GlobalMaxPool"},
    {DF_OP_RELU, "Relu"}, {DF_OP_CLIP, "Clip"}, {DF_OP_LEAKYRELU, "LeakyRelu"},
    {DF_OP_SIGMOID, "Sigmoid"}, {DF_OP_HARDSIGMOID, "HardSigmoid"},
    {DF_OP_HARDSWISH, "HardSwish"}, {DF_OP_TANH, "Tanh"}, {DF_OP_NEG, "Neg"},
    {DF_OP_SQRT, "Sqrt"}, {DF_OP_EXP, "Exp"}, {DF_OP_ABS, "Abs"}, {DF_OP_CAST, "Cast"},
    {DF_OP_IDENTITY, "Identity"}, {DF_OP_DROPOUT, "Dropout"},
    {DF_OP_ADD, "Add"}, {DF_OP_SUB, "Sub"}, {DF_OP_MUL, "Mul"}, {DF_OP_DIV, "Div"},
    {DF_OP_POW, "Pow"}, {DF_OP_EQUAL, "Equal"}, {DF_OP_WHERE, "Where"},
    {DF_OP_REDUCEMEAN, "ReduceMean"}, {DF_OP_GEMM, "Gemm"}, {DF_OP_MATMUL, "MatMul"},
    {DF_OP_SOFTMAX, "Softmax"}, {DF_OP_FLATTEN, "Flatten"}, {DF_OP_RESHAPE, "Reshape"},
    {DF_OP_TRANSPOSE, "Transpose"}, {DF_OP_CONCAT, "Concat"}, {DF_OP_SPLIT, "Split"},
    {DF_OP_SLICE, "Slice"}, {DF_OP_PAD, "Pad"}, {DF_OP_SQUEEZE, "Squeeze"},
    {DF_OP_UNSQUEEZE, "Unsqueeze"}, {DF_OP_GATHER, "Gather"}, {DF_OP_EXPAND, "Expand"},
    {DF_OP_SHAPE, "Shape"}, {DF_OP_CONSTANT, "Constant"},
    {DF_OP_CONSTANTOFSHAPE, "ConstantOfShape"}, {DF_OP_RANGE, "Range"},
};

df_op df_op_from_name(const char *op_type)
{
    if (!op_type)
        return DF_OP_UNKNOWN;
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(op_names[i].name, op_type) == 0)
            return op_names[i].op;
    return DF_OP_UNKNOWN;
}

const char *df_op_name(df_op op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (op_names[i].op == op)
            return op_names[i].name;
    /* made by passes: named here, but never looked up by a file's op_type */
    if (op == DF_OP_SILU)
        return "SiLU";
    if (op == DF_OP_CHANNEL_SHUFFLE)
        return "ChannelShuffle";
    return "Unknown";
}

df_graph *df_graph_new(const char *source)
{
    df_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->source = dup_string(source ? source : "<memory>");
    if (!g->source) {
        free(g);
        return NULL;
    }
    return g;
}

static void free_attr(df_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
}

void df_graph_free(df_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        free(g->values[i].data);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->in);
        free(n->out);
        free(n->fused_types);
        for (int a = 0; a < n->n_attrs; a++)
            free_attr(&n->attrs[a]);
        free(n->attrs);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->source);
    free(g);
}

int df_graph_add_value(df_graph *g, const char *name)
{
    if (g->n_values == g->cap_values) {
        if (g->cap_values >= DF_MAX_VALUES)
            return -1;
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        df_value *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        g->values = v;
        g->cap_values = cap;
    }
    df_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = dup_string(name);
    if (!v->name)
        return -1;
    v->rank = -1;
    v->producer = -1;
    v->graph_input = -1;
    v->graph_output = -1;
    return g->n_values++;
}

int df_graph_add_node(df_graph *g, df_op op, const char *op_type, const char *name, int n_in,
                      int n_out)
{
    if (n_in < 0 || n_out < 0)
        return -1;
    if (g->n_nodes == g->cap_nodes) {
        if (g->cap_nodes >= DF_MAX_NODES)
            return -1;
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        df_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    df_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->residual = -1;
    n->name = dup_string(name);
    n->op_type = dup_string(op_type ? op_type : df_op_name(op));
    n->in = malloc((size_t)(n_in ? n_in : 1) * sizeof *n->in);
    n->out = malloc((size_t)(n_out ? n_out : 1) * sizeof *n->out);
    if (!n->name || !n->op_type || !n->in || !n->out) {
        free(n->name);
        free(n->op_type);
        free(n->in);
        free(n->out);
        return -1;
    }
    for (int i = 0; i < n_in; i++)
        n->in[i] = -1;
    for (int i = 0; i < n_out; i++)
        n->out[i] = -1;
    n->n_in = n_in;
    n->n_out = n_out;
    return g->n_nodes++;
}

void df_graph_count_uses(df_graph *g)
{
    for (int i = 0; i < g->n_values; i++) {
        g->values[i].n_consumers = 0;
        g->values[i].producer = -1;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                g->values[n->in[k]].n_consumers++;
        if (n->residual >= 0)
            g->values[n->residual].n_consumers++;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                g->values[n->out[k]].producer = i;
    }
}

int64_t df_value_numel(const df_value *v)
{
    if (v->rank < 0)
        return 0;
    int64_t n = 1;
    for (int d = 0; d < v->rank; d++)
        n *= v->dims[d];
    return n;
}

size_t df_value_bytes(const df_value *v)
{
    return (size_t)df_value_numel(v) * df_dtype_size(v->dtype);
}

void df_value_set_shape(df_value *v, df_dtype dt, int rank, const int64_t *dims)
{
    v->dtype = dt;
    v->rank = rank;
    for (int d = 0; d < rank; d++) {
        v->dims[d] = dims[d];
        v->onnx_dims[d] = dims[d];
    }
}

const df_attr *df_node_attr(const df_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

df_status df_node_set_int(df_node *n, const char *name, int64_t value)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            n->attrs[i].type = DF_ATTR_INT;
            n->attrs[i].i = value;
            return DF_OK;
        }
    df_attr *a = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *a);
    if (!a)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory setting attribute '%s'", name);
    n->attrs = a;
    df_attr *na = &a[n->n_attrs];
    memset(na, 0, sizeof *na);
    na->name = malloc(strlen(name) + 1);
    if (!na->name)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory setting attribute '%s'", name);
    strcpy(na->name, name);
    na->type = DF_ATTR_INT;
    na->i = value;
    n->n_attrs++;
    return DF_OK;
}

int64_t df_attr_int(const df_node *n, const char *name, int64_t fallback)
{
    const df_attr *a = df_node_attr(n, name);
    return a && a->type == DF_ATTR_INT ? a->i : fallback;
}

float df_attr_float(const df_node *n, const char *name, float fallback)
{
    const df_attr *a = df_node_attr(n, name);
    if (!a)
        return fallback;
    if (a->type == DF_ATTR_FLOAT)
        return a->f;
    if (a->type == DF_ATTR_INT)
        return (float)a->i;
    return fallback;
}

const char *df_attr_string(const df_node *n, const char *name, const char *fallback)
{
    const df_attr *a = df_node_attr(n, name);
    return a && a->type == DF_ATTR_STRING && a->s ? a->s : fallback;
}

int df_attr_ints(const df_node *n, const char *name, const int64_t **ints)
{
    const df_attr *a = df_node_attr(n, name);
    if (!a || a->type != DF_ATTR_INTS)
        return -1;
    *ints = a->ints;
    return a->n;
}

df_status df_node_fail(const df_graph *g, const df_node *n, df_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return df_fail(st, "%s: node '%s' (%s): %s", g && g->source ? g->source : "<model>",
                   n && n->name ? n->name : "?", n && n->op_type ? n->op_type : "?", msg);
}

const char *df_dims_str(char *buf, size_t size, int rank, const int64_t *dims)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (rank <= 0) {
        snprintf(buf, size, rank == 0 ? "scalar" : "unknown");
        return buf;
    }
    for (int d = 0; d < rank && used < size; d++) {
        int w = snprintf(buf + used, size - used, d ? "x%lld" : "%lld", (long long)dims[d]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}
