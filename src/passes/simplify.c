/* Graph simplification after shape inference:
 *   - Identity, Dropout (inference) and Pad by zero disappear: their consumers
 *     read the input;
 *   - BatchNormalization after a Conv is folded into the Conv's weights and bias;
 *   - a residual Add of a Conv's output and an earlier value becomes the Conv's
 *     residual input, added in the Conv's output loop;
 *   - an activation after a Conv (or after a fused Add) becomes its epilogue;
 *   - x * Sigmoid(x) becomes one SiLU op, x * HardSigmoid(x) (alpha 1/6, beta
 *     1/2) one HardSwish op, as exporters spell them out at opset 13;
 *   - ShuffleNet's channel shuffle, Reshape [N,C,H,W] -> [N,g,C/g,H,W],
 *     Transpose (0,2,1,3,4), Reshape back to [N,C,H,W], becomes one
 *     ChannelShuffle op, which the layout pass keeps NHWC (the three ops
 *     would need NCHW, and two transposes of the layout around them);
 * Each rewrite only fires when the intermediate value has one consumer and is
 * not a graph output, so no one else can observe the value that vanishes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "passes/passes.h"

static int is_const(const df_graph *g, int v) { return v >= 0 && g->values[v].data != NULL; }

/* The value is only read by one live node and is not a graph output. */
static int private_value(const df_graph *g, int v)
{
    return v >= 0 && g->values[v].n_consumers == 1 && g->values[v].graph_output < 0;
}

/* Replaces the string *field (an op type, a fused-types list) with a
 * followed by b. */
static df_status set_text(char **field, const char *a, const char *b)
{
    char *t = malloc(strlen(a) + strlen(b) + 1);
    if (!t)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while fusing ops");
    strcpy(t, a);
    strcat(t, b);
    free(*field);
    *field = t;
    return DF_OK;
}

static void replace_uses(df_graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from)
                n->in[k] = to;
        if (n->residual == from)
            n->residual = to;
    }
}

static df_status append_fused_type(df_node *n, const char *what)
{
    const char *base = n->fused_types ? n->fused_types : n->op_type;
    size_t len = strlen(base) + strlen(what) + 2;
    char *s = malloc(len);
    if (!s)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while fusing ops");
    snprintf(s, len, "%s+%s", base, what);
    free(n->fused_types);
    n->fused_types = s;
    return DF_OK;
}

/* A Pad whose pads are all zero (PyTorch exports one before some average
 * pools) copies its input: the mode and the constant value never show. */
static int is_noop_pad(const df_graph *g, const df_node *n)
{
    if (n->op != DF_OP_PAD)
        return 0;
    const int64_t *pads = NULL;
    int64_t count = df_attr_ints(n, "pads", &pads); /* before opset 11 */
    if (n->n_in >= 2 && n->in[1] >= 0) {
        const df_value *p = &g->values[n->in[1]];
        if (!p->data || p->dtype != DF_DT_I64)
            return 0;
        pads = p->data;
        count = df_value_numel(p);
    }
    if (count <= 0 || !pads || (n->n_in >= 4 && n->in[3] >= 0)) /* axes: opset 18 */
        return 0;
    for (int64_t k = 0; k < count; k++)
        if (pads[k] != 0)
            return 0;
    return 1;
}

static df_status remove_identities(df_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (n->dead || (n->op != DF_OP_IDENTITY && n->op != DF_OP_DROPOUT && !is_noop_pad(g, n)))
            continue;
        int from = n->out[0], to = n->in[0];
        /* A graph output keeps its name, so it keeps its node (a copy) when the
         * input is also visible from outside. */
        if (g->values[from].graph_output >= 0)
            continue;
        n->dead = 1;
        replace_uses(g, from, to);
    }
    df_graph_count_uses(g);
    return DF_OK;
}

/* A new constant value holding a copy of n floats, for rewritten weights. */
static int new_const_f32(df_graph *g, const char *name, int rank, const int64_t *dims)
{
    int v = df_graph_add_value(g, name);
    if (v < 0)
        return -1;
    df_value *val = &g->values[v];
    df_value_set_shape(val, DF_DT_F32, rank, dims);
    val->data = calloc((size_t)df_value_numel(val), sizeof(float));
    return val->data ? v : -1;
}

static df_status fold_batchnorm(df_graph *g, int bn_index)
{
    df_node *bn = &g->nodes[bn_index];
    int x = bn->in[0];
    int conv_index = g->values[x].producer;
    if (conv_index < 0 || !private_value(g, x))
        return DF_OK;
    df_node *conv = &g->nodes[conv_index];
    if (conv->op != DF_OP_CONV || conv->act != DF_ACT_NONE || conv->residual >= 0)
        return DF_OK;
    for (int k = 1; k < 5; k++)
        if (!is_const(g, bn->in[k]))
            return DF_OK;
    if (!is_const(g, conv->in[1]) || (conv->n_in > 2 && conv->in[2] >= 0 && !is_const(g, conv->in[2])))
        return DF_OK;

    const df_value *w = &g->values[conv->in[1]];
    int64_t out_c = w->dims[0];
    int64_t per_out = df_value_numel(w) / out_c;
    const float *gamma = g->values[bn->in[1]].data, *beta = g->values[bn->in[2]].data;
    const float *mean = g->values[bn->in[3]].data, *var = g->values[bn->in[4]].data;
    float eps = df_attr_float(bn, "epsilon", 1e-5f);
    for (int k = 1; k < 5; k++)
        if (df_value_numel(&g->values[bn->in[k]]) != out_c)
            return df_node_fail(g, bn, DF_ERR_INVALID_MODEL,
                                "parameter '%s' has %lld elements, expected %lld channels",
                                g->values[bn->in[k]].name,
                                (long long)df_value_numel(&g->values[bn->in[k]]),
                                (long long)out_c);

    char name[512];
    snprintf(name, sizeof name, "%s/bn_folded_weight", conv->name);
    int64_t w_dims[DF_MAX_RANK];
    memcpy(w_dims, w->dims, sizeof w_dims);
    int w_rank = w->rank;
    int new_w = new_const_f32(g, name, w_rank, w_dims);
    snprintf(name, sizeof name, "%s/bn_folded_bias", conv->name);
    int new_b = new_const_f32(g, name, 1, &out_c);
    if (new_w < 0 || new_b < 0)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while folding BatchNormalization");
    /* add_value may have moved the arrays */
    bn = &g->nodes[bn_index];
    conv = &g->nodes[conv_index];
    const float *old_w = g->values[conv->in[1]].data;
    const float *old_b = conv->n_in > 2 && conv->in[2] >= 0 ? g->values[conv->in[2]].data : NULL;
    float *nw = g->values[new_w].data, *nb = g->values[new_b].data;
    for (int64_t o = 0; o < out_c; o++) {
        float scale = gamma[o] / sqrtf(var[o] + eps);
        for (int64_t j = 0; j < per_out; j++)
            nw[o * per_out + j] = old_w[o * per_out + j] * scale;
        nb[o] = ((old_b ? old_b[o] : 0.0f) - mean[o]) * scale + beta[o];
    }
    if (conv->n_in < 3) {
        int *in = realloc(conv->in, 3 * sizeof *in);
        if (!in)
            return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while folding BatchNormalization");
        conv->in = in;
        conv->n_in = 3;
    }
    conv->in[1] = new_w;
    conv->in[2] = new_b;
    conv->out[0] = bn->out[0];
    bn->dead = 1;
    df_status st = append_fused_type(conv, "BatchNormalization");
    df_graph_count_uses(g);
    return st;
}

/* Conv output + earlier value -> Conv with a residual input. */
static df_status fuse_residual_add(df_graph *g, int add_index)
{
    df_node *add = &g->nodes[add_index];
    for (int side = 0; side < 2; side++) {
        int a = add->in[side], b = add->in[1 - side];
        int conv_index = g->values[a].producer;
        if (conv_index < 0 || !private_value(g, a) || b < 0 || is_const(g, b))
            continue;
        df_node *conv = &g->nodes[conv_index];
        if (conv->op != DF_OP_CONV || conv->act != DF_ACT_NONE || conv->residual >= 0)
            continue;
        const df_value *va = &g->values[a], *vb = &g->values[b];
        if (va->rank != vb->rank || va->dtype != vb->dtype ||
            memcmp(va->dims, vb->dims, (size_t)va->rank * sizeof va->dims[0]) != 0)
            continue;
        /* The residual must exist before the conv runs. */
        int b_producer = g->values[b].producer;
        if (b_producer >= conv_index)
            continue;
        conv->residual = b;
        conv->out[0] = add->out[0];
        add->dead = 1;
        df_status st = append_fused_type(conv, "Add");
        df_graph_count_uses(g);
        return st;
    }
    return DF_OK;
}

static df_status fuse_activation(df_graph *g, int act_index)
{
    df_node *n = &g->nodes[act_index];
    int x = n->in[0];
    int producer = g->values[x].producer;
    if (producer < 0 || !private_value(g, x))
        return DF_OK;
    df_node *p = &g->nodes[producer];
    /* a BatchNormalization left standing (DenseNet's, after a Concat) takes
     * its activation into the same pass over the data */
    if ((p->op != DF_OP_CONV && p->op != DF_OP_BATCHNORM) || p->act != DF_ACT_NONE)
        return DF_OK;

    df_act act = DF_ACT_NONE;
    float a = 0.0f, b = 0.0f;
    switch (n->op) {
    case DF_OP_RELU: act = DF_ACT_RELU; break;
    case DF_OP_SIGMOID: act = DF_ACT_SIGMOID; break;
    case DF_OP_TANH: act = DF_ACT_TANH; break;
    case DF_OP_HARDSWISH: act = DF_ACT_HARDSWISH; break;
    case DF_OP_SILU: act = DF_ACT_SILU; break;
    case DF_OP_LEAKYRELU: act = DF_ACT_LEAKYRELU; a = df_attr_float(n, "alpha", 0.01f); break;
    case DF_OP_HARDSIGMOID:
        act = DF_ACT_HARDSIGMOID;
        a = df_attr_float(n, "alpha", 0.2f);
        b = df_attr_float(n, "beta", 0.5f);
        break;
    case DF_OP_CLIP:
        act = DF_ACT_CLIP;
        a = -INFINITY;
        b = INFINITY;
        if (g->opset < 11) {
            a = df_attr_float(n, "min", -INFINITY);
            b = df_attr_float(n, "max", INFINITY);
        } else {
            for (int k = 1; k < n->n_in && k < 3; k++) {
                if (n->in[k] < 0)
                    continue;
                if (!is_const(g, n->in[k]) || g->values[n->in[k]].dtype != DF_DT_F32)
                    return DF_OK;
                float v = *(const float *)g->values[n->in[k]].data;
                if (k == 1)
                    a = v;
                else
                    b = v;
            }
        }
        break;
    default: return DF_OK;
    }
    p->act = act;
    p->act_alpha = a;
    p->act_beta = b;
    p->out[0] = n->out[0];
    n->dead = 1;
    df_status st = append_fused_type(p, n->op_type);
    df_graph_count_uses(g);
    return st;
}

static int is_activation(df_op op)
{
    return op == DF_OP_RELU || op == DF_OP_CLIP || op == DF_OP_LEAKYRELU || op == DF_OP_SIGMOID ||
           op == DF_OP_HARDSIGMOID || op == DF_OP_HARDSWISH || op == DF_OP_TANH ||
           op == DF_OP_SILU;
}

/* Mul(x, g(x)) with g = Sigmoid or HardSigmoid(1/6, 1/2), where g(x) is read by
 * the Mul alone: the Mul becomes SiLU(x) or HardSwish(x) and g dies. */
static df_status fuse_gated_activation(df_graph *g, int mul_index)
{
    df_node *mul = &g->nodes[mul_index];
    for (int side = 0; side < 2; side++) {
        int x = mul->in[side], gate = mul->in[1 - side];
        int gate_index = gate >= 0 ? g->values[gate].producer : -1;
        if (x < 0 || gate_index < 0 || !private_value(g, gate))
            continue;
        df_node *gn = &g->nodes[gate_index];
        if (gn->dead || gn->in[0] != x || g->values[x].dtype != DF_DT_F32)
            continue;
        df_op fused;
        const char *type;
        if (gn->op == DF_OP_SIGMOID) {
            fused = DF_OP_SILU;
            type = "SiLU";
        } else if (gn->op == DF_OP_HARDSIGMOID &&
                   fabsf(df_attr_float(gn, "alpha", 0.2f) - 1.0f / 6.0f) < 1e-7f &&
                   df_attr_float(gn, "beta", 0.5f) == 0.5f) {
            fused = DF_OP_HARDSWISH;
            type = "HardSwish";
        } else {
            continue;
        }
        const df_status st = set_text(&mul->op_type, type, "");
        if (st != DF_OK)
            return st;
        mul->op = fused;
        mul->in[0] = x;
        mul->n_in = 1;
        gn->dead = 1;
        df_graph_count_uses(g);
        return DF_OK;
    }
    return DF_OK;
}

/* transpose_index is the Transpose of a channel shuffle: rewrite the three
 * nodes as one ChannelShuffle on the first Reshape's input. */
static df_status fuse_channel_shuffle(df_graph *g, int transpose_index)
{
    df_node *t = &g->nodes[transpose_index];
    const int64_t *perm;
    static const int64_t shuffle[5] = {0, 2, 1, 3, 4};
    if (t->n_in < 1 || df_attr_ints(t, "perm", &perm) != 5 || memcmp(perm, shuffle, sizeof shuffle) != 0)
        return DF_OK;
    const int mid = t->in[0], out5 = t->out[0];
    if (!private_value(g, mid) || !private_value(g, out5) || g->values[mid].producer < 0)
        return DF_OK;
    df_node *r1 = &g->nodes[g->values[mid].producer];
    int r2_index = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].n_in >= 1 && g->nodes[i].in[0] == out5)
            r2_index = i;
    if (r1->op != DF_OP_RESHAPE || r2_index < 0 || g->nodes[r2_index].op != DF_OP_RESHAPE)
        return DF_OK;
    df_node *r2 = &g->nodes[r2_index];
    const int x = r1->in[0];
    const df_value *xv = &g->values[x], *mv = &g->values[mid], *yv = &g->values[r2->out[0]];
    if (x < 0 || xv->dtype != DF_DT_F32 || xv->rank != 4 || mv->rank != 5 || yv->rank != 4)
        return DF_OK;
    const int64_t group = mv->dims[1];
    if (memcmp(xv->dims, yv->dims, 4 * sizeof xv->dims[0]) != 0 || mv->dims[0] != xv->dims[0] ||
        group * mv->dims[2] != xv->dims[1] || mv->dims[3] != xv->dims[2] ||
        mv->dims[4] != xv->dims[3])
        return DF_OK;

    df_status st = set_text(&r2->op_type, "ChannelShuffle", "");
    if (st != DF_OK)
        return st;
    r2->op = DF_OP_CHANNEL_SHUFFLE;
    r2->in[0] = x;
    r2->n_in = 1; /* the shape input is no longer read */
    st = df_node_set_int(r2, "axis", 1);
    if (st == DF_OK)
        st = df_node_set_int(r2, "group", group);
    r1->dead = 1;
    g->nodes[transpose_index].dead = 1;
    df_graph_count_uses(g);
    return st;
}

df_status df_simplify(df_graph *g)
{
    df_status st = remove_identities(g);
    if (st != DF_OK)
        return st;
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++) {
        if (g->nodes[i].dead)
            continue;
        if (g->nodes[i].op == DF_OP_BATCHNORM)
            st = fold_batchnorm(g, i);
    }
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++) {
        if (!g->nodes[i].dead && g->nodes[i].op == DF_OP_MUL && g->nodes[i].n_in == 2)
            st = fuse_gated_activation(g, i);
    }
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++) {
        if (!g->nodes[i].dead && g->nodes[i].op == DF_OP_TRANSPOSE)
            st = fuse_channel_shuffle(g, i);
    }
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++) {
        if (g->nodes[i].dead)
            continue;
        if (g->nodes[i].op == DF_OP_ADD)
            st = fuse_residual_add(g, i);
        else if (is_activation(g->nodes[i].op))
            st = fuse_activation(g, i);
    }
    return st;
}

/* ShuffleNetV2 concatenates its two branches and shuffles the result at once:
 * a ChannelShuffle of `group` groups whose input is a Concat of `group`
 * equal parts along the channels reads each group straight from its part,
 * one pass over the data instead of two. Runs after the layout pass, on NHWC
 * values (channels innermost, axis 3). */
static df_status fold_concat_into_shuffle(df_graph *g, int shuffle_index)
{
    df_node *s = &g->nodes[shuffle_index];
    const int64_t group = df_attr_int(s, "group", 1);
    if (s->n_in != 1 || df_attr_int(s, "axis", 1) != 3 || group < 2 ||
        group > DF_SHUFFLE_MAX_GROUPS || !private_value(g, s->in[0]))
        return DF_OK;
    const df_value *whole = &g->values[s->in[0]];
    const int producer = whole->producer;
    if (producer < 0 || !whole->nhwc || whole->rank != 4 || whole->dims[3] % group != 0)
        return DF_OK;
    df_node *cat = &g->nodes[producer];
    if (cat->dead || cat->op != DF_OP_CONCAT || cat->n_in != group || df_attr_int(cat, "axis", 0) != 3)
        return DF_OK;
    for (int k = 0; k < cat->n_in; k++) {
        const df_value *v = cat->in[k] >= 0 ? &g->values[cat->in[k]] : NULL;
        if (!v || v->dtype != DF_DT_F32 || v->rank != 4 || !v->nhwc ||
            memcmp(v->dims, whole->dims, 3 * sizeof v->dims[0]) != 0 ||
            v->dims[3] != whole->dims[3] / group)
            return DF_OK;
    }
    int *in = malloc((size_t)cat->n_in * sizeof *in);
    if (!in)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while fusing ops");
    memcpy(in, cat->in, (size_t)cat->n_in * sizeof *in);
    free(s->in);
    s->in = in;
    s->n_in = cat->n_in;
    cat->dead = 1;
    df_graph_count_uses(g);
    return set_text(&s->fused_types, "Concat+ChannelShuffle", "");
}

/* The first channel a Slice of NHWC value v takes, when it takes a run of
 * channels with step 1 and every pixel (-1 otherwise). */
static int64_t channel_slice_start(const df_graph *g, const df_node *n, int v)
{
    const df_value *x = &g->values[v];
    if (n->op != DF_OP_SLICE || n->n_in < 4 || n->in[0] != v || n->in[1] < 0 || n->out[0] < 0)
        return -1;
    for (int k = 1; k < n->n_in; k++)
        if (n->in[k] == v)
            return -1;
    const df_value *st = &g->values[n->in[1]], *ax = n->in[3] >= 0 ? &g->values[n->in[3]] : NULL;
    const df_value *sp = n->n_in > 4 && n->in[4] >= 0 ? &g->values[n->in[4]] : NULL;
    const df_value *y = &g->values[n->out[0]];
    if (!st->data || st->dtype != DF_DT_I64 || !ax || !ax->data || ax->dtype != DF_DT_I64 ||
        df_value_numel(ax) != 1 || df_value_numel(st) != 1 ||
        (sp && (!sp->data || sp->dtype != DF_DT_I64 || df_value_numel(sp) != 1 ||
                ((const int64_t *)sp->data)[0] != 1)))
        return -1;
    const int64_t axis = ((const int64_t *)ax->data)[0];
    if ((axis != 3 && axis != -1) || y->rank != 4 || memcmp(y->dims, x->dims, 3 * sizeof x->dims[0]))
        return -1;
    /* as compile_slice normalises it: from the end when negative, clamped */
    int64_t start = ((const int64_t *)st->data)[0];
    if (start < 0)
        start += x->dims[3];
    start = start < 0 ? 0 : start > x->dims[3] ? x->dims[3] : start;
    return start + y->dims[3] <= x->dims[3] ? start : -1;
}

/* ShuffleNetV2 splits the shuffled tensor in halves at once: when every
 * consumer of a ChannelShuffle's output is a Slice of whole groups of its
 * channels, each Slice becomes a ChannelShuffle of the same inputs that
 * takes only its share of each group's part, and the tensor in between is
 * never written. Channel c = i * group + j of the output is channel i of part
 * j, so channels [c0, c1) are channels [c0 / group, c1 / group) of each
 * part when group divides c0 and c1. */
static df_status fold_slices_into_shuffle(df_graph *g, int shuffle_index)
{
    const df_node *s = &g->nodes[shuffle_index];
    const int64_t group = df_attr_int(s, "group", 1);
    const int v = s->out[0];
    if (df_attr_int(s, "axis", 1) != 3 || df_attr_int(s, "offset", 0) != 0 || v < 0 ||
        g->values[v].graph_output >= 0 || !g->values[v].nhwc || g->values[v].rank != 4 ||
        group > DF_SHUFFLE_MAX_GROUPS)
        return DF_OK;
    int consumers = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        int reads = 0;
        for (int k = 0; k < n->n_in; k++)
            reads |= n->in[k] == v;
        if (n->dead || !reads)
            continue;
        const int64_t c0 = channel_slice_start(g, n, v);
        if (c0 < 0 || c0 % group != 0 || g->values[n->out[0]].dims[3] % group != 0)
            return DF_OK;
        consumers++;
    }
    if (consumers == 0)
        return DF_OK;

    const char *fused = s->fused_types ? s->fused_types : "ChannelShuffle";
    for (int i = 0; i < g->n_nodes; i++) {
        df_node *n = &g->nodes[i];
        if (n->dead || n->n_in < 1 || n->in[0] != v)
            continue;
        s = &g->nodes[shuffle_index];
        const int64_t c0 = channel_slice_start(g, n, v);
        int *in = malloc((size_t)s->n_in * sizeof *in);
        if (!in)
            return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while fusing ops");
        memcpy(in, s->in, (size_t)s->n_in * sizeof *in);
        free(n->in);
        n->in = in;
        n->n_in = s->n_in;
        n->op = DF_OP_CHANNEL_SHUFFLE;
        df_status st = set_text(&n->op_type, "ChannelShuffle", "");
        if (st == DF_OK)
            st = set_text(&n->fused_types, fused, "+Slice");
        if (st == DF_OK)
            st = df_node_set_int(n, "axis", 3);
        if (st == DF_OK)
            st = df_node_set_int(n, "group", group);
        if (st == DF_OK)
            st = df_node_set_int(n, "offset", c0 / group);
        if (st != DF_OK)
            return st;
    }
    g->nodes[shuffle_index].dead = 1;
    df_graph_count_uses(g);
    return DF_OK;
}

df_status df_fold_into_shuffles(df_graph *g)
{
    df_graph_count_uses(g);
    df_status st = DF_OK;
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == DF_OP_CHANNEL_SHUFFLE)
            st = fold_concat_into_shuffle(g, i);
    /* after the Concats, so that the Slices' shuffles read their parts too */
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == DF_OP_CHANNEL_SHUFFLE)
            st = fold_slices_into_shuffle(g, i);
    return st;
}
