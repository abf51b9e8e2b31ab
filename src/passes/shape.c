/* Static shape inference and constant folding: df_infer_shapes().
 *
 * Nodes are visited in topological order (sorted first when the file is not),
 * each by the rule for its op (shape_nn.c, fold.c, fold_move.c),
 * which checks the node and sets the dtype and shape of its outputs. Nodes
 * whose inputs are all constant and whose op is cheap to evaluate are folded:
 * their outputs get data and the node dies, so that shape subgraphs (Shape ->
 * Gather -> Concat -> Reshape...) vanish before the later passes see them. */
#include "passes/passes.h"
#include "passes/shape_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared by the rules ------------------------------------------ */

df_value *df_shape_in(df_graph *g, const df_node *n, int i)
{
    if (i < 0 || i >= n->n_in || n->in[i] < 0)
        return NULL;
    return &g->values[n->in[i]];
}

df_value *df_shape_out(df_graph *g, const df_node *n, int i)
{
    if (i < 0 || i >= n->n_out || n->out[i] < 0)
        return NULL;
    return &g->values[n->out[i]];
}

const char *df_shape_name(const df_value *v) { return v && v->name ? v->name : "?"; }

df_status df_shape_need_inputs(df_graph *g, const df_node *n, int min, int max)
{
    if (n->n_in < min || n->n_in > max) {
        if (min == max)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has %d inputs; %s takes %d",
                                n->n_in, n->op_type, min);
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has %d inputs; %s takes %d to %d",
                            n->n_in, n->op_type, min, max);
    }
    for (int i = 0; i < min; i++)
        if (n->in[i] < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "required input %d is missing", i);
    return DF_OK;
}

df_status df_shape_need_dtype(df_graph *g, const df_node *n, int i, df_dtype dt)
{
    const df_value *v = df_shape_in(g, n, i);
    if (!v || v->dtype == dt)
        return DF_OK;
    return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "input %d '%s' is %s; expected %s", i,
                        df_shape_name(v), df_dtype_name(v->dtype), df_dtype_name(dt));
}

int64_t df_shape_numel(int rank, const int64_t *dims)
{
    int64_t numel = 1;
    for (int d = 0; d < rank; d++)
        numel *= dims[d];
    return numel;
}

df_status df_shape_set_out(df_graph *g, const df_node *n, int i, df_dtype dt, int rank,
                           const int64_t *dims)
{
    df_value *v = df_shape_out(g, n, i);
    if (!v)
        return DF_OK;
    char buf[160];
    if (rank < 0 || rank > DF_MAX_RANK)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "output '%s' would have rank %d; deepfirst supports up to %d",
                            df_shape_name(v), rank, DF_MAX_RANK);
    /* Every dim > 0 and at most 2^40 bytes keeps all later size arithmetic
     * (strides, offsets, byte counts) inside int64 without further checks. */
    int64_t bytes = (int64_t)df_dtype_size(dt);
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "output '%s' would be an empty tensor (%s); deepfirst does "
                                "not support empty tensors",
                                df_shape_name(v), df_dims_str(buf, sizeof buf, rank, dims));
        if (dims[d] > DF_SHAPE_MAX_BYTES / bytes)
            bytes = DF_SHAPE_MAX_BYTES + 1;
        else
            bytes *= dims[d];
        if (bytes > DF_SHAPE_MAX_BYTES)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "output '%s' (%s) would need more than 2^40 bytes",
                                df_shape_name(v), df_dims_str(buf, sizeof buf, rank, dims));
    }
    if (g->memory_limit && (uint64_t)bytes > (uint64_t)g->memory_limit)
        return df_node_fail(g, n, DF_ERR_MEMORY_LIMIT,
                            "output '%s' (%s) needs %lld bytes, over the memory limit of %zu",
                            df_shape_name(v), df_dims_str(buf, sizeof buf, rank, dims),
                            (long long)bytes, g->memory_limit);
    v->dtype = dt;
    v->rank = rank;
    v->nhwc = 0;
    for (int d = 0; d < rank; d++) {
        v->dims[d] = dims[d];
        v->onnx_dims[d] = dims[d];
    }
    return DF_OK;
}

df_status df_shape_const_ints(df_graph *g, const df_node *n, int i, const char *role,
                              const int64_t **vals, int64_t *count)
{
    const df_value *v = df_shape_in(g, n, i);
    if (!v)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "%s input %d is missing", role, i);
    if (v->dtype != DF_DT_I64)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "%s input '%s' is %s; expected int64",
                            role, df_shape_name(v), df_dtype_name(v->dtype));
    if (v->rank > 1)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "%s input '%s' has rank %d; expected a scalar or 1-D tensor", role,
                            df_shape_name(v), v->rank);
    if (!v->data)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "%s input '%s' is not constant; deepfirst needs static shapes",
                            role, df_shape_name(v));
    *vals = v->data;
    *count = v->rank == 0 ? 1 : v->dims[0];
    return DF_OK;
}

df_status df_shape_broadcast(df_graph *g, const df_node *n, int a_rank, const int64_t *a_dims,
                             int b_rank, const int64_t *b_dims, int *out_rank, int64_t *out_dims)
{
    int rank = a_rank > b_rank ? a_rank : b_rank;
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        /* right-aligned: a missing leading dim counts as 1 */
        int da = d - (rank - a_rank), db = d - (rank - b_rank);
        int64_t a = da >= 0 ? a_dims[da] : 1;
        int64_t b = db >= 0 ? b_dims[db] : 1;
        if (a != b && a != 1 && b != 1) {
            char sa[160], sb[160];
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "cannot broadcast %s with %s",
                                df_dims_str(sa, sizeof sa, a_rank, a_dims),
                                df_dims_str(sb, sizeof sb, b_rank, b_dims));
        }
        dims[d] = a == 1 ? b : a;
    }
    *out_rank = rank;
    memcpy(out_dims, dims, sizeof(int64_t) * (size_t)rank);
    return DF_OK;
}

df_status df_shape_axis(df_graph *g, const df_node *n, const char *what, int64_t axis, int rank,
                        int *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "%s %lld is out of range for rank %d",
                            what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return DF_OK;
}

/* ---- topological order ---------------------------------------------------- */

/* Sorts the nodes so that every producer comes before its consumers, keeping
 * the file's order where it already is one (depth-first post-order, visiting
 * roots in file order). Dead nodes stay put relative to the roots. */
static df_status sort_nodes(df_graph *g)
{
    int nn = g->n_nodes;
    df_status st = DF_OK;
    int *producer = malloc(sizeof(int) * (size_t)(g->n_values > 0 ? g->n_values : 1));
    int *state = calloc((size_t)(nn > 0 ? nn : 1), sizeof(int)); /* 0 new, 1 open, 2 done */
    int *next_in = calloc((size_t)(nn > 0 ? nn : 1), sizeof(int));
    int *stack = malloc(sizeof(int) * (size_t)(nn > 0 ? nn : 1));
    int *order = malloc(sizeof(int) * (size_t)(nn > 0 ? nn : 1));
    df_node *sorted = NULL;
    if (!producer || !state || !next_in || !stack || !order) {
        st = df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory sorting the nodes", g->source);
        goto done;
    }
    for (int v = 0; v < g->n_values; v++)
        producer[v] = -1;
    for (int i = 0; i < nn; i++) {
        const df_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            if (producer[v] >= 0) {
                st = df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                  "output '%s' is also produced by node '%s'",
                                  df_shape_name(&g->values[v]), g->nodes[producer[v]].name);
                goto done;
            }
            producer[v] = i;
        }
    }

    int in_order = 1;
    for (int i = 0; i < nn && in_order; i++) {
        const df_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in && !n->dead; k++)
            if (n->in[k] >= 0 && producer[n->in[k]] >= i)
                in_order = 0;
    }
    if (in_order)
        goto done;

    int n_sorted = 0;
    for (int root = 0; root < nn; root++) {
        if (state[root] != 0)
            continue;
        if (g->nodes[root].dead) {
            state[root] = 2;
            order[n_sorted++] = root;
            continue;
        }
        int top = 0;
        stack[top++] = root;
        state[root] = 1;
        while (top > 0) {
            int i = stack[top - 1];
            const df_node *n = &g->nodes[i];
            if (next_in[i] < n->n_in) {
                int v = n->in[next_in[i]++];
                int p = v >= 0 ? producer[v] : -1;
                if (p < 0 || state[p] == 2)
                    continue;
                if (state[p] == 1) {
                    st = df_node_fail(g, &g->nodes[p], DF_ERR_INVALID_MODEL,
                                      "is on a cycle: its output '%s' feeds back into it",
                                      df_shape_name(&g->values[v]));
                    goto done;
                }
                state[p] = 1;
                stack[top++] = p;
            } else {
                state[i] = 2;
                order[n_sorted++] = i;
                top--;
            }
        }
    }
    sorted = malloc(sizeof(df_node) * (size_t)nn);
    if (!sorted) {
        st = df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory sorting the nodes", g->source);
        goto done;
    }
    for (int i = 0; i < nn; i++)
        sorted[i] = g->nodes[order[i]];
    memcpy(g->nodes, sorted, sizeof(df_node) * (size_t)nn);

done:
    free(producer);
    free(state);
    free(next_in);
    free(stack);
    free(order);
    free(sorted);
    return st;
}

/* ---- graph inputs --------------------------------------------------------- */

static df_status check_graph_inputs(df_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const df_value *v = &g->values[g->inputs[i]];
        if (v->rank < 0)
            return df_fail(DF_ERR_UNSUPPORTED,
                           "%s: input '%s' has no static shape; deepfirst needs static shapes",
                           g->source, df_shape_name(v));
        int64_t numel = 1;
        for (int d = 0; d < v->rank; d++) {
            if (v->dims[d] < 0)
                return df_fail(DF_ERR_UNSUPPORTED,
                               "%s: input '%s' has a symbolic dimension (dim %d); deepfirst "
                               "needs static shapes",
                               g->source, df_shape_name(v), d);
            if (v->dims[d] == 0)
                return df_fail(DF_ERR_UNSUPPORTED,
                               "%s: input '%s' has an empty dimension (dim %d); deepfirst does "
                               "not support empty tensors",
                               g->source, df_shape_name(v), d);
            if (v->dims[d] > DF_SHAPE_MAX_BYTES / 4 / numel)
                return df_fail(DF_ERR_UNSUPPORTED,
                               "%s: input '%s' would need more than 2^40 bytes", g->source,
                               df_shape_name(v));
            numel *= v->dims[d];
        }
        if (v->dtype != DF_DT_F32)
            return df_fail(DF_ERR_UNSUPPORTED, "%s: input '%s' is %s; deepfirst takes float32",
                           g->source, df_shape_name(v), df_dtype_name(v->dtype));
    }
    return DF_OK;
}

/* ---- one node ------------------------------------------------------------- */

typedef struct rule_entry {
    df_shape_rule fn;
    int max_out; /* outputs the op may have; the rule rejects unsupported extras */
} rule_entry;

static rule_entry rule_for(df_op op)
{
    switch (op) {
    case DF_OP_CONV: return (rule_entry){df_rule_conv, 1};
    case DF_OP_BATCHNORM: return (rule_entry){df_rule_batchnorm, 5};
    case DF_OP_MAXPOOL: return (rule_entry){df_rule_pool, 2};
    case DF_OP_AVGPOOL: return (rule_entry){df_rule_pool, 1};
    case DF_OP_GLOBALAVGPOOL:
    case DF_OP_GLOBALMAXPOOL: return (rule_entry){df_rule_global_pool, 1};
    case DF_OP_RELU:
    case DF_OP_LEAKYRELU:
    case DF_OP_SIGMOID:
    case DF_OP_HARDSIGMOID:
    case DF_OP_HARDSWISH:
    case DF_OP_TANH:
    case DF_OP_NEG:
    case DF_OP_SQRT:
    case DF_OP_EXP:
    case DF_OP_ABS: return (rule_entry){df_rule_unary, 1};
    case DF_OP_CLIP: return (rule_entry){df_rule_clip, 1};
    case DF_OP_CAST: return (rule_entry){df_rule_cast, 1};
    case DF_OP_IDENTITY: return (rule_entry){df_rule_identity, 1};
    case DF_OP_DROPOUT: return (rule_entry){df_rule_dropout, 2};
    case DF_OP_ADD:
    case DF_OP_SUB:
    case DF_OP_MUL:
    case DF_OP_DIV:
    case DF_OP_POW:
    case DF_OP_EQUAL: return (rule_entry){df_rule_binary, 1};
    case DF_OP_WHERE: return (rule_entry){df_rule_where, 1};
    case DF_OP_REDUCEMEAN: return (rule_entry){df_rule_reduce_mean, 1};
    case DF_OP_GEMM: return (rule_entry){df_rule_gemm, 1};
    case DF_OP_MATMUL: return (rule_entry){df_rule_matmul, 1};
    case DF_OP_SOFTMAX: return (rule_entry){df_rule_softmax, 1};
    case DF_OP_FLATTEN: return (rule_entry){df_rule_flatten, 1};
    case DF_OP_RESHAPE: return (rule_entry){df_rule_reshape, 1};
    case DF_OP_TRANSPOSE: return (rule_entry){df_rule_transpose, 1};
    case DF_OP_CONCAT: return (rule_entry){df_rule_concat, 1};
    case DF_OP_SPLIT: return (rule_entry){df_rule_split, INT_MAX};
    case DF_OP_SLICE: return (rule_entry){df_rule_slice, 1};
    case DF_OP_PAD: return (rule_entry){df_rule_pad, 1};
    case DF_OP_SQUEEZE: return (rule_entry){df_rule_squeeze, 1};
    case DF_OP_UNSQUEEZE: return (rule_entry){df_rule_unsqueeze, 1};
    case DF_OP_GATHER: return (rule_entry){df_rule_gather, 1};
    case DF_OP_EXPAND: return (rule_entry){df_rule_expand, 1};
    case DF_OP_SHAPE: return (rule_entry){df_rule_shape, 1};
    case DF_OP_CONSTANT: return (rule_entry){df_rule_constant, 1};
    case DF_OP_CONSTANTOFSHAPE: return (rule_entry){df_rule_constant_of_shape, 1};
    case DF_OP_RANGE: return (rule_entry){df_rule_range, 1};
    case DF_OP_SILU: /* made by simplify.c after this pass; never in a file */
    case DF_OP_CHANNEL_SHUFFLE:
    case DF_OP_UNKNOWN:
    case DF_OP_COUNT_: break;
    }
    return (rule_entry){NULL, 0};
}

static df_status infer_node(df_graph *g, df_node *n)
{
    rule_entry rule = rule_for(n->op);
    if (!rule.fn)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "op %s (opset %lld) is not supported",
                            n->op_type ? n->op_type : "?", (long long)g->opset);
    if (n->n_out < 1 || n->n_out > rule.max_out)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has %d outputs; %s has at most %d",
                            n->n_out, n->op_type, rule.max_out);
    for (int i = 0; i < n->n_in; i++) {
        const df_value *v = df_shape_in(g, n, i);
        if (!v)
            continue;
        if (v->rank < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "input '%s' is neither a graph input, an initializer nor the "
                                "output of a node",
                                df_shape_name(v));
        if (v->dtype != DF_DT_F32 && v->dtype != DF_DT_I64 && v->dtype != DF_DT_BOOL)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "input '%s' has an unsupported type",
                                df_shape_name(v));
    }
    for (int i = 0; i < n->n_out; i++) {
        const df_value *v = df_shape_out(g, n, i);
        if (v && (v->data || v->graph_input >= 0))
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "output '%s' is also a graph input or an initializer",
                                df_shape_name(v));
    }
    return rule.fn(g, n);
}

df_status df_infer_shapes(df_graph *g)
{
    if (!g)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_infer_shapes: no graph");
    df_status st = check_graph_inputs(g);
    if (st == DF_OK)
        st = sort_nodes(g);
    if (st != DF_OK)
        return st;
    /* Rules ask whether an output is used (Dropout's mask). */
    df_graph_count_uses(g);
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++)
        if (!g->nodes[i].dead)
            st = infer_node(g, &g->nodes[i]);
    /* Folded values have no producer any more. */
    df_graph_count_uses(g);
    return st;
}
