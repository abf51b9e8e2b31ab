/* Shape rules for the compute ops: convolution, pooling, normalisation,
 * activations, dense layers, softmax, reductions and padding. None of these
 * is constant-folded (they are float compute, or too large to be worth it). */
#include "passes/shape_internal.h"

#include <string.h>

/* ---- sliding windows (Conv, MaxPool, AveragePool) ------------------------- */

/* Kernel sizes, strides, dilations and pads are capped so that the window
 * arithmetic below stays far inside int64 (dims are < 2^40). */
#define WINDOW_MAX ((int64_t)1 << 31)

typedef enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

typedef struct window {
    int64_t k[2], stride[2], dil[2];
    int64_t pads[4]; /* top, left, bottom, right (ONNX: begins, then ends) */
    auto_pad mode;
} window;

/* Reads an INTS attribute of exactly count entries in [lo, WINDOW_MAX), or
 * fills out with fallback when it is absent. */
static df_status window_ints(df_graph *g, const df_node *n, const char *name, int count,
                             int64_t lo, int64_t fallback, int64_t *out)
{
    const int64_t *vals;
    int got = df_attr_ints(n, name, &vals);
    if (got < 0) {
        for (int i = 0; i < count; i++)
            out[i] = fallback;
        return DF_OK;
    }
    if (got != count)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "attribute %s has %d values; expected %d",
                            name, got, count);
    for (int i = 0; i < count; i++) {
        if (vals[i] < lo || vals[i] >= WINDOW_MAX)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "attribute %s[%d] = %lld is invalid",
                                name, i, (long long)vals[i]);
        out[i] = vals[i];
    }
    return DF_OK;
}

static df_status read_window(df_graph *g, const df_node *n, const int64_t *kernel, window *w)
{
    for (int i = 0; i < 2; i++) {
        if (kernel[i] < 1 || kernel[i] >= WINDOW_MAX)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "kernel size %lld is invalid",
                                (long long)kernel[i]);
        w->k[i] = kernel[i];
    }
    df_status st = window_ints(g, n, "strides", 2, 1, 1, w->stride);
    if (st == DF_OK)
        st = window_ints(g, n, "dilations", 2, 1, 1, w->dil);
    if (st == DF_OK)
        st = window_ints(g, n, "pads", 4, 0, 0, w->pads);
    if (st != DF_OK)
        return st;
    const char *mode = df_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(mode, "NOTSET") == 0)
        w->mode = PAD_NOTSET;
    else if (strcmp(mode, "SAME_UPPER") == 0)
        w->mode = PAD_SAME_UPPER;
    else if (strcmp(mode, "SAME_LOWER") == 0)
        w->mode = PAD_SAME_LOWER;
    else if (strcmp(mode, "VALID") == 0)
        w->mode = PAD_VALID;
    else
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "auto_pad '%s' is not valid", mode);
    return DF_OK;
}

/* Output height and width of a window sliding over x (NCHW). ceil_mode as in
 * pooling: the last window may hang over the end, but must start inside the
 * input or its leading padding. */
static df_status window_output(df_graph *g, const df_node *n, const df_value *x, const window *w,
                               int ceil_mode, int64_t *out_hw)
{
    for (int i = 0; i < 2; i++) {
        int64_t in = x->dims[2 + i], s = w->stride[i];
        int64_t extent = w->dil[i] * (w->k[i] - 1) + 1;
        int64_t out;
        if (w->mode == PAD_SAME_UPPER || w->mode == PAD_SAME_LOWER) {
            out = (in + s - 1) / s;
        } else {
            int64_t begin = w->mode == PAD_VALID ? 0 : w->pads[i];
            int64_t end = w->mode == PAD_VALID ? 0 : w->pads[2 + i];
            int64_t padded = in + begin + end;
            if (padded < extent) {
                char buf[160];
                return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                    "window of extent %lld is larger than the padded input "
                                    "('%s' is %s, padded to %lld)",
                                    (long long)extent, df_shape_name(x),
                                    df_dims_str(buf, sizeof buf, x->rank, x->dims),
                                    (long long)padded);
            }
            if (ceil_mode) {
                out = (padded - extent + s - 1) / s + 1;
                if ((out - 1) * s >= in + begin)
                    out--;
            } else {
                out = (padded - extent) / s + 1;
            }
        }
        out_hw[i] = out;
    }
    return DF_OK;
}

/* ---- convolution and pooling ---------------------------------------------- */

static df_status need_image(df_graph *g, const df_node *n, const df_value *x)
{
    if (x->rank == 4)
        return DF_OK;
    char buf[160];
    return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                        "input '%s' is %s (rank %d); only 2-D %s (4-D input) is supported",
                        df_shape_name(x), df_dims_str(buf, sizeof buf, x->rank, x->dims),
                        x->rank, n->op_type);
}

df_status df_rule_conv(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 3);
    for (int i = 0; i < 3 && st == DF_OK; i++)
        st = df_shape_need_dtype(g, n, i, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0), *w = df_shape_in(g, n, 1), *b = df_shape_in(g, n, 2);
    if ((st = need_image(g, n, x)) != DF_OK)
        return st;
    char xs[160], ws[160];
    df_dims_str(xs, sizeof xs, x->rank, x->dims);
    df_dims_str(ws, sizeof ws, w->rank, w->dims);
    if (w->rank != 4)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "weight '%s' is %s; expected 4-D",
                            df_shape_name(w), ws);
    int64_t group = df_attr_int(n, "group", 1);
    int64_t channels = x->dims[1], out_c = w->dims[0];
    if (group < 1 || channels % group != 0 || out_c % group != 0)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "group %lld does not divide the %lld input and %lld output channels",
                            (long long)group, (long long)channels, (long long)out_c);
    if (w->dims[1] * group != channels)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "input '%s' (%s) has %lld channels but weight '%s' (%s) with group "
                            "%lld expects %lld",
                            df_shape_name(x), xs, (long long)channels, df_shape_name(w), ws,
                            (long long)group, (long long)(w->dims[1] * group));
    const int64_t *ks;
    int n_ks = df_attr_ints(n, "kernel_shape", &ks);
    if (n_ks >= 0 && (n_ks != 2 || ks[0] != w->dims[2] || ks[1] != w->dims[3]))
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "kernel_shape does not match weight '%s' (%s)", df_shape_name(w), ws);
    if (b && (b->rank != 1 || b->dims[0] != out_c)) {
        char bs[160];
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "bias '%s' is %s; expected %lld",
                            df_shape_name(b), df_dims_str(bs, sizeof bs, b->rank, b->dims),
                            (long long)out_c);
    }
    window win;
    int64_t dims[4] = {x->dims[0], out_c, 0, 0};
    if ((st = read_window(g, n, &w->dims[2], &win)) != DF_OK ||
        (st = window_output(g, n, x, &win, 0, &dims[2])) != DF_OK)
        return st;
    return df_shape_set_out(g, n, 0, DF_DT_F32, 4, dims);
}

df_status df_rule_pool(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    if (df_shape_out(g, n, 1))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "the Indices output is not supported");
    const df_value *x = df_shape_in(g, n, 0);
    if ((st = need_image(g, n, x)) != DF_OK)
        return st;
    const int64_t *ks;
    if (df_attr_ints(n, "kernel_shape", &ks) != 2)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "needs a kernel_shape of 2 values");
    window win;
    if ((st = read_window(g, n, ks, &win)) != DF_OK)
        return st;
    int64_t ceil_mode = df_attr_int(n, "ceil_mode", 0);
    int64_t include_pad = df_attr_int(n, "count_include_pad", 0);
    if ((ceil_mode != 0 && ceil_mode != 1) || (include_pad != 0 && include_pad != 1))
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "ceil_mode and count_include_pad must be 0 or 1");
    if (win.mode == PAD_NOTSET)
        for (int i = 0; i < 4; i++)
            if (win.pads[i] >= win.k[i % 2])
                return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                    "pads[%d] = %lld must be smaller than the kernel (%lld)", i,
                                    (long long)win.pads[i], (long long)win.k[i % 2]);
    int64_t dims[4] = {x->dims[0], x->dims[1], 0, 0};
    if ((st = window_output(g, n, x, &win, (int)ceil_mode, &dims[2])) != DF_OK)
        return st;
    return df_shape_set_out(g, n, 0, DF_DT_F32, 4, dims);
}

df_status df_rule_global_pool(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    const df_value *x = df_shape_in(g, n, 0);
    if (st != DF_OK || (st = need_image(g, n, x)) != DF_OK)
        return st;
    int64_t dims[4] = {x->dims[0], x->dims[1], 1, 1};
    return df_shape_set_out(g, n, 0, DF_DT_F32, 4, dims);
}

/* ---- per-element ops ------------------------------------------------------ */

/* Checks that input i, when present, holds one value per channel. */
static df_status need_vector(df_graph *g, const df_node *n, int i, int64_t size)
{
    const df_value *v = df_shape_in(g, n, i);
    if (!v || (v->rank == 1 && v->dims[0] == size))
        return DF_OK;
    char buf[160];
    return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "input '%s' is %s; expected %lld values",
                        df_shape_name(v), df_dims_str(buf, sizeof buf, v->rank, v->dims),
                        (long long)size);
}

df_status df_rule_batchnorm(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 5, 5);
    for (int i = 0; i < 5 && st == DF_OK; i++)
        st = df_shape_need_dtype(g, n, i, DF_DT_F32);
    if (st != DF_OK)
        return st;
    if (df_attr_int(n, "training_mode", 0) != 0)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "training_mode=1 is not supported");
    for (int i = 1; i < n->n_out; i++)
        if (df_shape_out(g, n, i))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "the training outputs (running mean/var) are not supported");
    const df_value *x = df_shape_in(g, n, 0);
    if (x->rank < 2)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "input '%s' has rank %d; expected >= 2",
                            df_shape_name(x), x->rank);
    for (int i = 1; i < 5 && st == DF_OK; i++)
        st = need_vector(g, n, i, x->dims[1]);
    if (st != DF_OK)
        return st;
    return df_shape_set_out(g, n, 0, DF_DT_F32, x->rank, x->dims);
}

df_status df_rule_unary(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    return df_shape_set_out(g, n, 0, DF_DT_F32, x->rank, x->dims);
}

df_status df_rule_clip(df_graph *g, df_node *n)
{
    /* Before opset 11 min and max were attributes; since, optional inputs,
     * which must be known at load time to become the fused activation. */
    df_status st = df_shape_need_inputs(g, n, 1, g->opset >= 11 ? 3 : 1);
    for (int i = 0; i < 3 && st == DF_OK; i++)
        st = df_shape_need_dtype(g, n, i, DF_DT_F32);
    if (st != DF_OK)
        return st;
    for (int i = 1; i < 3; i++) {
        const df_value *v = df_shape_in(g, n, i);
        if (!v)
            continue;
        if (!v->data)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "%s input '%s' is not constant",
                                i == 1 ? "min" : "max", df_shape_name(v));
        if (df_shape_numel(v->rank, v->dims) != 1)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "%s input '%s' is not a scalar",
                                i == 1 ? "min" : "max", df_shape_name(v));
    }
    const df_value *x = df_shape_in(g, n, 0);
    return df_shape_set_out(g, n, 0, DF_DT_F32, x->rank, x->dims);
}

df_status df_rule_dropout(df_graph *g, df_node *n)
{
    /* Opset 12 moved ratio and training_mode from attributes to inputs. */
    df_status st = df_shape_need_inputs(g, n, 1, g->opset >= 12 ? 3 : 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *training = df_shape_in(g, n, 2);
    if (training) {
        if (!training->data || training->dtype != DF_DT_BOOL ||
            df_shape_numel(training->rank, training->dims) != 1)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "training_mode input '%s' must be a constant boolean",
                                df_shape_name(training));
        if (*(const unsigned char *)training->data)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "training_mode=true is not supported");
    }
    const df_value *x = df_shape_in(g, n, 0);
    const df_value *mask = df_shape_out(g, n, 1);
    if (mask && (mask->n_consumers > 0 || mask->graph_output >= 0))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "the mask output '%s' is used",
                            df_shape_name(mask));
    if ((st = df_shape_set_out(g, n, 1, DF_DT_BOOL, x->rank, x->dims)) != DF_OK)
        return st;
    return df_shape_set_out(g, n, 0, DF_DT_F32, x->rank, x->dims);
}

/* ---- dense ---------------------------------------------------------------- */

df_status df_rule_gemm(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 3);
    for (int i = 0; i < 3 && st == DF_OK; i++)
        st = df_shape_need_dtype(g, n, i, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *a = df_shape_in(g, n, 0), *b = df_shape_in(g, n, 1), *c = df_shape_in(g, n, 2);
    char as[160], bs[160], cs[160];
    df_dims_str(as, sizeof as, a->rank, a->dims);
    df_dims_str(bs, sizeof bs, b->rank, b->dims);
    if (a->rank != 2 || b->rank != 2)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "A (%s) and B (%s) must be 2-D", as, bs);
    int trans_a = df_attr_int(n, "transA", 0) != 0, trans_b = df_attr_int(n, "transB", 0) != 0;
    int64_t m = a->dims[trans_a], k = a->dims[!trans_a];
    int64_t kb = b->dims[trans_b], nn = b->dims[!trans_b];
    if (k != kb)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "A (%s, transA=%d) and B (%s, transB=%d) disagree on K", as, trans_a,
                            bs, trans_b);
    int64_t dims[2] = {m, nn};
    if (c) {
        /* C broadcasts one way only: to M x N. */
        int ok = c->rank <= 2;
        for (int d = 0; ok && d < c->rank; d++) {
            int64_t want = dims[2 - c->rank + d];
            ok = c->dims[d] == 1 || c->dims[d] == want;
        }
        if (!ok)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "C '%s' (%s) does not broadcast to %lldx%lld", df_shape_name(c),
                                df_dims_str(cs, sizeof cs, c->rank, c->dims), (long long)m,
                                (long long)nn);
    }
    return df_shape_set_out(g, n, 0, DF_DT_F32, 2, dims);
}

df_status df_rule_matmul(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 2);
    for (int i = 0; i < 2 && st == DF_OK; i++)
        st = df_shape_need_dtype(g, n, i, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *a = df_shape_in(g, n, 0), *b = df_shape_in(g, n, 1);
    char as[160], bs[160];
    df_dims_str(as, sizeof as, a->rank, a->dims);
    df_dims_str(bs, sizeof bs, b->rank, b->dims);
    if (a->rank < 1 || b->rank < 1)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "operands %s and %s must not be scalars",
                            as, bs);
    /* numpy: a 1-D A is a row (its 1 is dropped from the result), a 1-D B a column */
    int64_t m = a->rank >= 2 ? a->dims[a->rank - 2] : 1, k = a->dims[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    int64_t nn = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (k != kb)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "operands %s and %s disagree on K", as,
                            bs);
    int batch_rank;
    int64_t dims[DF_MAX_RANK + 2];
    int a_batch = a->rank > 2 ? a->rank - 2 : 0, b_batch = b->rank > 2 ? b->rank - 2 : 0;
    if ((st = df_shape_broadcast(g, n, a_batch, a->dims, b_batch, b->dims, &batch_rank, dims)) !=
        DF_OK)
        return st;
    int rank = batch_rank;
    if (a->rank >= 2)
        dims[rank++] = m;
    if (b->rank >= 2)
        dims[rank++] = nn;
    return df_shape_set_out(g, n, 0, DF_DT_F32, rank, dims);
}

df_status df_rule_softmax(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    /* Before opset 13 the input was flattened to 2-D at axis (default 1);
     * since, softmax runs along one axis (default -1). Same output shape. */
    const df_value *x = df_shape_in(g, n, 0);
    int axis;
    int64_t fallback = g->opset >= 13 ? -1 : 1;
    if (x->rank < 1)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "input '%s' is a scalar",
                            df_shape_name(x));
    if ((st = df_shape_axis(g, n, "axis", df_attr_int(n, "axis", fallback), x->rank, &axis)) !=
        DF_OK)
        return st;
    return df_shape_set_out(g, n, 0, DF_DT_F32, x->rank, x->dims);
}

df_status df_rule_reduce_mean(df_graph *g, df_node *n)
{
    /* axes: an attribute up to opset 17, an optional input from opset 18 */
    df_status st = df_shape_need_inputs(g, n, 1, g->opset >= 18 ? 2 : 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    const int64_t *axes = NULL;
    int64_t n_axes = 0;
    if (df_shape_in(g, n, 1)) {
        if ((st = df_shape_const_ints(g, n, 1, "axes", &axes, &n_axes)) != DF_OK)
            return st;
    } else {
        int count = df_attr_ints(n, "axes", &axes);
        n_axes = count < 0 ? 0 : count;
    }
    int reduce[DF_MAX_RANK] = {0};
    if (n_axes == 0 && !df_attr_int(n, "noop_with_empty_axes", 0))
        for (int d = 0; d < x->rank; d++)
            reduce[d] = 1;
    for (int64_t i = 0; i < n_axes; i++) {
        int axis;
        if ((st = df_shape_axis(g, n, "axes", axes[i], x->rank, &axis)) != DF_OK)
            return st;
        if (reduce[axis])
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "axis %d is repeated", axis);
        reduce[axis] = 1;
    }
    int keep = df_attr_int(n, "keepdims", 1) != 0, rank = 0;
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        if (!reduce[d])
            dims[rank++] = x->dims[d];
        else if (keep)
            dims[rank++] = 1;
    }
    return df_shape_set_out(g, n, 0, DF_DT_F32, rank, dims);
}

/* ---- padding -------------------------------------------------------------- */

df_status df_rule_pad(df_graph *g, df_node *n)
{
    /* pads and the constant value: attributes before opset 11, inputs since;
     * axes (input 3) since opset 18. */
    int by_input = g->opset >= 11;
    df_status st = df_shape_need_inputs(g, n, by_input ? 2 : 1, by_input ? 4 : 1);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_F32);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int rank = x->rank;
    const int64_t *pads;
    int64_t n_pads;
    if (by_input) {
        if ((st = df_shape_const_ints(g, n, 1, "pads", &pads, &n_pads)) != DF_OK)
            return st;
    } else {
        int count = df_attr_ints(n, "pads", &pads);
        if (count < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has no pads attribute");
        n_pads = count;
    }
    /* Full begins and ends per dim; with axes, pads cover only those axes. */
    int64_t begin[DF_MAX_RANK] = {0}, end[DF_MAX_RANK] = {0};
    const int64_t *axes = NULL;
    int64_t n_axes = rank;
    if (df_shape_in(g, n, 3) &&
        (st = df_shape_const_ints(g, n, 3, "axes", &axes, &n_axes)) != DF_OK)
        return st;
    if (n_pads != 2 * n_axes)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has %lld pads for %lld axes",
                            (long long)n_pads, (long long)n_axes);
    for (int64_t i = 0; i < n_axes; i++) {
        int axis = (int)i;
        if (axes && (st = df_shape_axis(g, n, "axes", axes[i], rank, &axis)) != DF_OK)
            return st;
        begin[axis] = pads[i];
        end[axis] = pads[n_axes + i];
    }
    const df_value *value = df_shape_in(g, n, 2);
    if (value && (value->dtype != DF_DT_F32 || !value->data ||
                  df_shape_numel(value->rank, value->dims) != 1))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "constant_value input '%s' must be a constant float scalar",
                            df_shape_name(value));
    const char *mode = df_attr_string(n, "mode", "constant");
    int reflect = strcmp(mode, "reflect") == 0, edge = strcmp(mode, "edge") == 0;
    if (!reflect && !edge && strcmp(mode, "constant") != 0)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        int64_t limit = reflect ? x->dims[d] - 1 : WINDOW_MAX;
        if (begin[d] <= -WINDOW_MAX || end[d] <= -WINDOW_MAX || begin[d] > limit ||
            end[d] > limit)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "pads %lld,%lld are invalid for dim %d of size %lld (mode %s)",
                                (long long)begin[d], (long long)end[d], d,
                                (long long)x->dims[d], mode);
        dims[d] = x->dims[d] + begin[d] + end[d];
    }
    return df_shape_set_out(g, n, 0, DF_DT_F32, rank, dims);
}
