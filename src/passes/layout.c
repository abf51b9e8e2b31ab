/* Layout: spatial values are stored NHWC inside deepfirst.
 *
 * A row of an NHWC image is W x C contiguous floats: what row-band kernels
 * stream, and what a 1x1 convolution multiplies as a GEMM. ONNX's tensors are
 * NCHW, so this pass decides the storage order of every rank-4 float value:
 *   - spatial ops (Conv, pools, BatchNormalization, global pools) read and
 *     write NHWC;
 *   - layout-neutral ops (elementwise, Concat/Split/Slice, ChannelShuffle,
 *     ReduceMean) follow
 *     their inputs, with their axes remapped and constant operands permuted;
 *   - every other op sees ONNX order, so a Transpose is inserted in front of
 *     it; one per value, shared by all such consumers. Graph outputs leave in
 *     ONNX order too.
 * After this pass dims[] of a value is its storage order and every node works
 * on storage order: nobody downstream needs to know about layouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "passes/passes.h"

/* NCHW axis -> NHWC axis */
static const int to_nhwc_axis[4] = {0, 3, 1, 2};

typedef struct layout_ctx {
    df_graph *g;
    int *order; /* new node order */
    int n_order, cap_order;
    int *as_nhwc; /* value -> its NHWC twin, or -1 */
    int *as_nchw; /* value -> its NCHW twin, or -1 */
    int cap_values;
} layout_ctx;

static df_status oom(void) { return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory in layout pass"); }

static df_status push_order(layout_ctx *c, int node)
{
    if (c->n_order == c->cap_order) {
        int cap = c->cap_order ? c->cap_order * 2 : 256;
        int *o = realloc(c->order, (size_t)cap * sizeof *o);
        if (!o)
            return oom();
        c->order = o;
        c->cap_order = cap;
    }
    c->order[c->n_order++] = node;
    return DF_OK;
}

static df_status grow_maps(layout_ctx *c)
{
    int need = c->g->n_values + 8;
    if (need <= c->cap_values)
        return DF_OK;
    int cap = need * 2;
    int *a = realloc(c->as_nhwc, (size_t)cap * sizeof *a);
    if (!a)
        return oom();
    c->as_nhwc = a;
    int *b = realloc(c->as_nchw, (size_t)cap * sizeof *b);
    if (!b)
        return oom();
    c->as_nchw = b;
    for (int i = c->cap_values; i < cap; i++)
        c->as_nhwc[i] = c->as_nchw[i] = -1;
    c->cap_values = cap;
    return DF_OK;
}

static int is_f32_rank4(const df_value *v) { return v->dtype == DF_DT_F32 && v->rank == 4; }

static void make_nhwc(df_value *v)
{
    int64_t n = v->onnx_dims[0], ch = v->onnx_dims[1], h = v->onnx_dims[2], w = v->onnx_dims[3];
    v->dims[0] = n;
    v->dims[1] = h;
    v->dims[2] = w;
    v->dims[3] = ch;
    v->nhwc = 1;
}

/* A transpose node converting value v to the other layout; returns the new value. */
static df_status insert_transpose(layout_ctx *c, int v, int to_nhwc, int *out)
{
    df_graph *g = c->g;
    int *cache = to_nhwc ? c->as_nhwc : c->as_nchw;
    if (cache[v] >= 0) {
        *out = cache[v];
        return DF_OK;
    }
    char name[512];
    snprintf(name, sizeof name, "%s/%s", g->values[v].name, to_nhwc ? "nhwc" : "nchw");
    int nv = df_graph_add_value(g, name);
    if (nv < 0)
        return oom();
    df_value *src = &g->values[v], *dst = &g->values[nv];
    dst->dtype = src->dtype;
    dst->rank = 4;
    memcpy(dst->onnx_dims, src->onnx_dims, sizeof dst->onnx_dims);
    memcpy(dst->dims, src->onnx_dims, sizeof dst->dims);
    if (to_nhwc)
        make_nhwc(dst);
    int node = df_graph_add_node(g, DF_OP_TRANSPOSE, "Transpose", name, 1, 1);
    if (node < 0)
        return oom();
    df_node *n = &g->nodes[node];
    n->in[0] = v;
    n->out[0] = nv;
    n->attrs = calloc(1, sizeof *n->attrs);
    if (!n->attrs)
        return oom();
    n->n_attrs = 1;
    n->attrs[0].name = malloc(5);
    n->attrs[0].ints = malloc(4 * sizeof(int64_t));
    if (!n->attrs[0].name || !n->attrs[0].ints)
        return oom();
    memcpy(n->attrs[0].name, "perm", 5);
    n->attrs[0].type = DF_ATTR_INTS;
    n->attrs[0].n = 4;
    /* perm is in storage order of the input: NCHW->NHWC is {0,2,3,1}, back {0,3,1,2} */
    static const int64_t to_nhwc_perm[4] = {0, 2, 3, 1}, to_nchw_perm[4] = {0, 3, 1, 2};
    memcpy(n->attrs[0].ints, to_nhwc ? to_nhwc_perm : to_nchw_perm, 4 * sizeof(int64_t));
    df_status st = grow_maps(c);
    if (st != DF_OK)
        return st;
    cache = to_nhwc ? c->as_nhwc : c->as_nchw;
    cache[v] = nv;
    (to_nhwc ? c->as_nchw : c->as_nhwc)[nv] = v;
    *out = nv;
    return push_order(c, node);
}

/* A copy of constant v broadcast-aligned to rank 4 and stored NHWC. */
static df_status permuted_constant(layout_ctx *c, int v, int *out)
{
    df_graph *g = c->g;
    if (c->as_nhwc[v] >= 0) {
        *out = c->as_nhwc[v];
        return DF_OK;
    }
    char name[512];
    snprintf(name, sizeof name, "%s/nhwc", g->values[v].name);
    int nv = df_graph_add_value(g, name);
    if (nv < 0)
        return oom();
    df_value *src = &g->values[v], *dst = &g->values[nv];
    int64_t d4[4] = {1, 1, 1, 1};
    for (int k = 0; k < src->rank; k++)
        d4[4 - src->rank + k] = src->dims[k];
    df_value_set_shape(dst, src->dtype, 4, d4);
    size_t bytes = df_value_bytes(dst);
    dst->data = malloc(bytes ? bytes : 1);
    if (!dst->data)
        return oom();
    static const int perm[4] = {0, 2, 3, 1};
    df_transpose_ref(src->data, dst->data, df_dtype_size(src->dtype), 4, d4, perm);
    make_nhwc(dst);
    df_status st = grow_maps(c);
    if (st != DF_OK)
        return st;
    c->as_nhwc[v] = nv;
    *out = nv;
    return DF_OK;
}

static df_status want_nchw(layout_ctx *c, df_node *n, int k, int node_index)
{
    int v = n->in[k];
    if (v < 0 || !c->g->values[v].nhwc)
        return DF_OK;
    int nv;
    df_status st = insert_transpose(c, v, 0, &nv);
    c->g->nodes[node_index].in[k] = nv;
    return st;
}

static df_status want_nhwc(layout_ctx *c, int node_index, int k)
{
    df_graph *g = c->g;
    int v = g->nodes[node_index].in[k];
    if (v < 0 || g->values[v].nhwc)
        return DF_OK;
    int nv;
    df_status st = g->values[v].data ? permuted_constant(c, v, &nv)
                                     : insert_transpose(c, v, 1, &nv);
    if (st == DF_OK)
        g->nodes[node_index].in[k] = nv;
    return st;
}

static int is_spatial(df_op op)
{
    return op == DF_OP_CONV || op == DF_OP_MAXPOOL || op == DF_OP_AVGPOOL ||
           op == DF_OP_BATCHNORM || op == DF_OP_GLOBALAVGPOOL || op == DF_OP_GLOBALMAXPOOL;
}

static int is_unary(df_op op)
{
    return op == DF_OP_RELU || op == DF_OP_CLIP || op == DF_OP_LEAKYRELU || op == DF_OP_SIGMOID ||
           op == DF_OP_HARDSIGMOID || op == DF_OP_HARDSWISH || op == DF_OP_TANH ||
           op == DF_OP_NEG || op == DF_OP_SQRT || op == DF_OP_EXP || op == DF_OP_ABS ||
           op == DF_OP_IDENTITY || op == DF_OP_DROPOUT || op == DF_OP_SILU;
}

static int is_binary(df_op op)
{
    return op == DF_OP_ADD || op == DF_OP_SUB || op == DF_OP_MUL || op == DF_OP_DIV ||
           op == DF_OP_POW;
}

static int64_t norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

/* Binary ops go NHWC when a rank-4 non-constant input is NHWC and every other
 * input can follow: constants are permuted, rank-4 values transposed. */
static int binary_can_go_nhwc(const df_graph *g, const df_node *n)
{
    const df_value *out = &g->values[n->out[0]];
    if (!is_f32_rank4(out))
        return 0;
    int any = 0;
    for (int k = 0; k < n->n_in; k++) {
        const df_value *v = &g->values[n->in[k]];
        if (v->nhwc)
            any = 1;
        else if (!v->data && v->rank != 4)
            return 0;
    }
    return any;
}

/* Concat/Split keep their "axis" attribute; the pass rewrites it for NHWC. */
static df_status remap_axis_attr(df_node *n, int64_t fallback)
{
    int64_t axis = norm_axis(df_attr_int(n, "axis", fallback), 4);
    if (axis < 0 || axis > 3)
        return DF_OK; /* shape inference has rejected it already */
    return df_node_set_int(n, "axis", to_nhwc_axis[axis]);
}

static df_status handle_node(layout_ctx *c, int i)
{
    df_graph *g = c->g;
    df_node *n = &g->nodes[i];
    df_status st = DF_OK;
    df_op op = n->op;

    if (is_spatial(op)) {
        st = want_nhwc(c, i, 0);
        if (n = &g->nodes[i], st == DF_OK && n->residual >= 0 && !g->values[n->residual].nhwc) {
            int nv;
            st = insert_transpose(c, n->residual, 1, &nv);
            g->nodes[i].residual = nv;
        }
        if (st == DF_OK)
            make_nhwc(&g->values[g->nodes[i].out[0]]);
        return st;
    }
    if (is_unary(op)) {
        /* Clip's min/max inputs are scalars: only input 0 carries the layout. */
        df_value *x = &g->values[n->in[0]];
        if (x->nhwc)
            make_nhwc(&g->values[n->out[0]]);
        return DF_OK;
    }
    if (is_binary(op) && binary_can_go_nhwc(g, n)) {
        for (int k = 0; k < n->n_in && st == DF_OK; k++)
            st = want_nhwc(c, i, k);
        if (st == DF_OK)
            make_nhwc(&g->values[g->nodes[i].out[0]]);
        return st;
    }
    if (op == DF_OP_CONCAT) {
        int all4 = 1, any = 0;
        for (int k = 0; k < n->n_in; k++) {
            const df_value *v = &g->values[n->in[k]];
            all4 &= is_f32_rank4(v);
            any |= v->nhwc;
        }
        if (all4 && any) {
            for (int k = 0; k < g->nodes[i].n_in && st == DF_OK; k++)
                st = want_nhwc(c, i, k);
            if (st == DF_OK)
                st = remap_axis_attr(&g->nodes[i], 1);
            if (st == DF_OK)
                make_nhwc(&g->values[g->nodes[i].out[0]]);
            return st;
        }
    }
    if (op == DF_OP_CHANNEL_SHUFFLE && g->values[n->in[0]].nhwc) {
        st = remap_axis_attr(n, 1);
        if (st == DF_OK)
            make_nhwc(&g->values[g->nodes[i].out[0]]);
        return st;
    }
    if (op == DF_OP_SPLIT && g->values[n->in[0]].nhwc) {
        st = remap_axis_attr(n, 0);
        for (int k = 0; k < g->nodes[i].n_out && st == DF_OK; k++)
            if (g->nodes[i].out[k] >= 0)
                make_nhwc(&g->values[g->nodes[i].out[k]]);
        return st;
    }
    if (op == DF_OP_SLICE && g->values[n->in[0]].nhwc && n->n_in >= 4 && n->in[3] >= 0 &&
        g->values[n->in[3]].data && g->values[n->in[3]].dtype == DF_DT_I64) {
        /* axes is an input: give this node its own remapped copy */
        const df_value *axes = &g->values[n->in[3]];
        int64_t count = df_value_numel(axes);
        char name[512];
        snprintf(name, sizeof name, "%s/axes_nhwc", n->name);
        int nv = df_graph_add_value(g, name);
        if (nv < 0)
            return oom();
        n = &g->nodes[i];
        axes = &g->values[n->in[3]];
        df_value *na = &g->values[nv];
        df_value_set_shape(na, DF_DT_I64, 1, &count);
        na->data = malloc((size_t)count * sizeof(int64_t) + 1);
        if (!na->data)
            return oom();
        for (int64_t k = 0; k < count; k++) {
            int64_t a = norm_axis(((const int64_t *)axes->data)[k], 4);
            ((int64_t *)na->data)[k] = a >= 0 && a < 4 ? to_nhwc_axis[a] : a;
        }
        n->in[3] = nv;
        make_nhwc(&g->values[n->out[0]]);
        return grow_maps(c);
    }
    if (op == DF_OP_REDUCEMEAN && g->values[n->in[0]].nhwc && n->n_in == 1) {
        /* opsets 11-17 keep axes as an attribute */
        df_attr *axes = NULL;
        for (int k = 0; k < n->n_attrs; k++)
            if (strcmp(n->attrs[k].name, "axes") == 0 && n->attrs[k].type == DF_ATTR_INTS)
                axes = &n->attrs[k];
        if (axes) {
            for (int k = 0; k < axes->n; k++) {
                int64_t a = norm_axis(axes->ints[k], 4);
                if (a >= 0 && a < 4)
                    axes->ints[k] = to_nhwc_axis[a];
            }
            if (df_attr_int(n, "keepdims", 1))
                make_nhwc(&g->values[n->out[0]]);
            else if (g->values[n->out[0]].rank != 2)
                goto plain; /* the kept dims would come out in the wrong order */
            return DF_OK;
        }
    }
plain:
    /* Ops that need ONNX order. */
    for (int k = 0; k < g->nodes[i].n_in && st == DF_OK; k++)
        st = want_nchw(c, &g->nodes[i], k, i);
    return st;
}

df_status df_assign_layout(df_graph *g)
{
    layout_ctx c = {.g = g};
    df_status st = grow_maps(&c);
    int n_nodes = g->n_nodes;
    for (int i = 0; i < n_nodes && st == DF_OK; i++) {
        if (g->nodes[i].dead)
            continue;
        st = handle_node(&c, i);
        if (st == DF_OK)
            st = push_order(&c, i);
    }
    for (int k = 0; k < g->n_outputs && st == DF_OK; k++) {
        int v = g->outputs[k];
        if (g->values[v].nhwc) {
            int nv;
            st = insert_transpose(&c, v, 0, &nv);
            if (st == DF_OK) {
                g->values[nv].graph_output = k;
                g->values[v].graph_output = -1;
                g->outputs[k] = nv;
            }
        }
    }
    if (st == DF_OK) {
        /* Rebuild the node array in execution order; dead nodes go to the end. */
        df_node *nodes = malloc((size_t)(g->cap_nodes ? g->cap_nodes : 1) * sizeof *nodes);
        if (!nodes) {
            st = oom();
        } else {
            int k = 0;
            char *used = calloc((size_t)g->n_nodes + 1, 1);
            if (!used) {
                free(nodes);
                st = oom();
            } else {
                for (int j = 0; j < c.n_order; j++) {
                    nodes[k++] = g->nodes[c.order[j]];
                    used[c.order[j]] = 1;
                }
                for (int j = 0; j < g->n_nodes; j++)
                    if (!used[j])
                        nodes[k++] = g->nodes[j];
                free(used);
                free(g->nodes);
                g->nodes = nodes;
                df_graph_count_uses(g);
            }
        }
    }
    free(c.order);
    free(c.as_nhwc);
    free(c.as_nchw);
    return st;
}
