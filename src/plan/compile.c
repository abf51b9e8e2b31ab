/* Graph -> program: one step per live node, with parameters precomputed so
 * that a run only calls kernels. Shapes were checked by shape inference; what
 * is checked here is what only matters for execution (constant inputs a kernel
 * needs, dtypes a kernel supports). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/x86/eltwise_avx2.h"
#include "kernels/x86/pool_avx2.h"
#include "plan/program.h"
#include "plan/planner.h"
#include "plan/segment.h"

static df_status oom(void) { return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while compiling"); }

static const df_value *in_value(const df_graph *g, const df_node *n, int k)
{
    return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= d[i];
    return p;
}

static int64_t norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

/* The AVX2 elementwise kernels also serve CPUs with AVX-512. */
static int has_avx2(void)
{
    const char *isa = df_kernel_isa();
    return strcmp(isa, "avx2+fma") == 0 || strcmp(isa, "avx512") == 0;
}

static int has_avx512(void) { return strcmp(df_kernel_isa(), "avx512") == 0; }

static void (*select_unary(df_op op))(df_op, const float *, float *, int64_t, float, float)
{
    if (has_avx2() && df_unary_has_avx2(op))
        return df_unary_avx2;
    return df_unary_ref;
}

/* Padding of a conv or pool window, {top, left, bottom, right}: explicit
 * pads, none for VALID, or for SAME_* the total that makes out = ceil(in /
 * stride), split with the odd row or column last (UPPER) or first (LOWER). */
static void window_pads(const df_node *n, int in_h, int in_w, int out_h, int out_w, int k_h,
                        int k_w, int s_h, int s_w, int d_h, int d_w, int pad[4])
{
    const int64_t *pads;
    int np = df_attr_ints(n, "pads", &pads);
    const char *auto_pad = df_attr_string(n, "auto_pad", "NOTSET");
    pad[0] = pad[1] = pad[2] = pad[3] = 0;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        int64_t th = ((int64_t)out_h - 1) * s_h + ((int64_t)k_h - 1) * d_h + 1 - in_h;
        int64_t tw = ((int64_t)out_w - 1) * s_w + ((int64_t)k_w - 1) * d_w + 1 - in_w;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        int upper = strcmp(auto_pad, "SAME_UPPER") == 0;
        pad[0] = (int)(upper ? th / 2 : th - th / 2);
        pad[1] = (int)(upper ? tw / 2 : tw - tw / 2);
        pad[2] = (int)(th - pad[0]);
        pad[3] = (int)(tw - pad[1]);
    } else if (np == 4 && strcmp(auto_pad, "VALID") != 0) {
        for (int k = 0; k < 4; k++)
            pad[k] = (int)pads[k];
    }
}

static df_status compile_conv(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *x = in_value(g, n, 0), *w = in_value(g, n, 1), *b = in_value(g, n, 2);
    const df_value *y = &g->values[n->out[0]];
    if (!w || !w->data)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "weights '%s' must be a constant",
                            w ? w->name : "?");
    if (b && !b->data)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "bias '%s' must be a constant", b->name);
    df_conv_params *p = &s->conv;
    const int64_t *strides, *dil;
    int ns = df_attr_ints(n, "strides", &strides);
    int nd = df_attr_ints(n, "dilations", &dil);
    p->in_h = (int)x->dims[1];
    p->in_w = (int)x->dims[2];
    p->in_c = (int)x->dims[3];
    p->out_h = (int)y->dims[1];
    p->out_w = (int)y->dims[2];
    p->out_c = (int)y->dims[3];
    p->k_h = (int)w->dims[2];
    p->k_w = (int)w->dims[3];
    p->stride_h = ns == 2 ? (int)strides[0] : 1;
    p->stride_w = ns == 2 ? (int)strides[1] : 1;
    p->dil_h = nd == 2 ? (int)dil[0] : 1;
    p->dil_w = nd == 2 ? (int)dil[1] : 1;
    p->groups = (int)df_attr_int(n, "group", 1);
    int pad[4];
    window_pads(n, p->in_h, p->in_w, p->out_h, p->out_w, p->k_h, p->k_w, p->stride_h, p->stride_w,
                p->dil_h, p->dil_w, pad);
    p->pad_top = pad[0];
    p->pad_left = pad[1];
    /* OIHW -> OHWI: a row of the kernel then runs along contiguous input channels. */
    int64_t oc = w->dims[0], ic = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    s->weight_ohwi = malloc((size_t)(oc * ic * kh * kw) * sizeof(float));
    if (!s->weight_ohwi)
        return oom();
    const float *src = w->data;
    for (int64_t o = 0; o < oc; o++)
        for (int64_t c = 0; c < ic; c++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++)
                    s->weight_ohwi[((o * kh + i) * kw + j) * ic + c] =
                        src[((o * ic + c) * kh + i) * kw + j];
    p->weight = s->weight_ohwi;
    p->bias = b ? b->data : NULL;
    p->act = n->act;
    p->act_alpha = n->act_alpha;
    p->act_beta = n->act_beta;
    s->batch = (int)x->dims[0];
    s->flops = 2 * y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3] * ic * kh * kw;
    df_status st = df_conv_select(p, &s->conv_rows, &s->conv_packed);
    s->conv_part = df_conv_part_of(s->conv_rows);
    s->conv_units = df_conv_part_units(s->conv_part, p);
    return st;
}

static df_status compile_pool(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *x = in_value(g, n, 0), *y = &g->values[n->out[0]];
    df_pool_params *p = &s->pool;
    const int64_t *strides, *dil, *kernel;
    int ns = df_attr_ints(n, "strides", &strides);
    int nd = df_attr_ints(n, "dilations", &dil), nk = df_attr_ints(n, "kernel_shape", &kernel);
    if (nk != 2)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "kernel_shape must have 2 values");
    p->in_h = (int)x->dims[1];
    p->in_w = (int)x->dims[2];
    p->c = (int)x->dims[3];
    p->out_h = (int)y->dims[1];
    p->out_w = (int)y->dims[2];
    p->k_h = (int)kernel[0];
    p->k_w = (int)kernel[1];
    p->stride_h = ns == 2 ? (int)strides[0] : 1;
    p->stride_w = ns == 2 ? (int)strides[1] : 1;
    p->dil_h = nd == 2 ? (int)dil[0] : 1;
    p->dil_w = nd == 2 ? (int)dil[1] : 1;
    int pad[4];
    window_pads(n, p->in_h, p->in_w, p->out_h, p->out_w, p->k_h, p->k_w, p->stride_h, p->stride_w,
                p->dil_h, p->dil_w, pad);
    p->pad_top = pad[0];
    p->pad_left = pad[1];
    p->pad_bottom = pad[2];
    p->pad_right = pad[3];
    p->is_max = n->op == DF_OP_MAXPOOL;
    s->pool_rows = has_avx512() ? df_pool_rows_avx512
                   : has_avx2() ? df_pool_rows_avx2 : df_pool_rows_ref;
    p->count_include_pad = (int)df_attr_int(n, "count_include_pad", 0);
    s->batch = (int)x->dims[0];
    s->flops = y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3] * p->k_h * p->k_w;
    return DF_OK;
}

static df_status compile_binary(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *a = in_value(g, n, 0), *b = in_value(g, n, 1);
    const df_value *y = &g->values[n->out[0]];
    s->rank = y->rank;
    memcpy(s->out_dims, y->dims, sizeof s->out_dims);
    df_broadcast_strides(a->rank, a->dims, y->rank, y->dims, s->a_strides);
    df_broadcast_strides(b->rank, b->dims, y->rank, y->dims, s->b_strides);
    s->rank = df_binary_coalesce(s->rank, s->out_dims, s->a_strides, s->b_strides);
    s->binary_line = has_avx2() ? df_binary_line_avx2 : df_binary_line_ref;
    s->flops = df_value_numel(y);
    if (a->dtype != b->dtype || (a->dtype != DF_DT_F32 && a->dtype != DF_DT_I64))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "operands of types %s and %s",
                            df_dtype_name(a->dtype), df_dtype_name(b->dtype));
    return DF_OK;
}

static df_status compile_slice(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *x = in_value(g, n, 0);
    s->rank = x->rank;
    memcpy(s->in_dims, x->dims, sizeof s->in_dims);
    memcpy(s->out_dims, g->values[n->out[0]].dims, sizeof s->out_dims);
    for (int d = 0; d < x->rank; d++) {
        s->starts[d] = 0;
        s->steps[d] = 1;
    }
    const df_value *st = in_value(g, n, 1), *en = in_value(g, n, 2);
    const df_value *ax = in_value(g, n, 3), *sp = in_value(g, n, 4);
    if (!st || !en || !st->data || (ax && !ax->data) || (sp && !sp->data))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "starts, axes and steps must be constants");
    int64_t count = df_value_numel(st);
    for (int64_t i = 0; i < count; i++) {
        int64_t axis = ax ? norm_axis(((const int64_t *)ax->data)[i], x->rank) : i;
        int64_t step = sp ? ((const int64_t *)sp->data)[i] : 1;
        if (axis < 0 || axis >= x->rank || step == 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "bad axis or zero step");
        int64_t dim = x->dims[axis], start = ((const int64_t *)st->data)[i];
        if (start < 0)
            start += dim;
        if (step > 0)
            start = start < 0 ? 0 : (start > dim ? dim : start);
        else
            start = start < 0 ? 0 : (start > dim - 1 ? dim - 1 : start);
        s->starts[axis] = start;
        s->steps[axis] = step;
    }
    return DF_OK;
}

static df_status compile_matmul(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *a = in_value(g, n, 0), *b = in_value(g, n, 1), *y = &g->values[n->out[0]];
    if (a->rank < 2 || b->rank < 2)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "1-D MatMul operands");
    s->m = a->dims[a->rank - 2];
    s->k = a->dims[a->rank - 1];
    s->n = b->dims[b->rank - 1];
    int batch_rank = y->rank - 2;
    int64_t batch_dims[DF_MAX_RANK], as[DF_MAX_RANK], bs[DF_MAX_RANK];
    for (int d = 0; d < batch_rank; d++)
        batch_dims[d] = y->dims[d];
    df_broadcast_strides(a->rank - 2, a->dims, batch_rank, batch_dims, as);
    df_broadcast_strides(b->rank - 2, b->dims, batch_rank, batch_dims, bs);
    s->batch_count = prod(batch_dims, 0, batch_rank);
    s->a_offsets = malloc((size_t)s->batch_count * sizeof(int64_t));
    s->b_offsets = malloc((size_t)s->batch_count * sizeof(int64_t));
    if (!s->a_offsets || !s->b_offsets)
        return oom();
    for (int64_t i = 0; i < s->batch_count; i++) {
        int64_t rem = i, oa = 0, ob = 0;
        for (int d = batch_rank - 1; d >= 0; d--) {
            int64_t idx = rem % batch_dims[d];
            rem /= batch_dims[d];
            oa += idx * as[d];
            ob += idx * bs[d];
        }
        s->a_offsets[i] = oa * s->m * s->k;
        s->b_offsets[i] = ob * s->k * s->n;
    }
    s->flops = 2 * s->batch_count * s->m * s->n * s->k;
    return DF_OK;
}

static df_status compile_step(const df_graph *g, const df_node *n, df_step *s)
{
    const df_value *x = in_value(g, n, 0);
    const df_value *y = &g->values[n->out[0]];
    s->op = n->op;
    s->node = n;
    s->kern = df_kernel_table_select();
    switch (n->op) {
    case DF_OP_CONV: return compile_conv(g, n, s);
    case DF_OP_MAXPOOL:
    case DF_OP_AVGPOOL: return compile_pool(g, n, s);
    case DF_OP_GLOBALAVGPOOL:
    case DF_OP_GLOBALMAXPOOL:
        s->outer = x->dims[0];
        s->axis_n = x->dims[1] * x->dims[2];
        s->inner = x->dims[3];
        s->flops = df_value_numel(x);
        return DF_OK;
    case DF_OP_BATCHNORM: {
        int64_t c = x->nhwc ? x->dims[3] : x->dims[1];
        if (!x->nhwc && x->rank != 2)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "BatchNormalization of a rank %d tensor", x->rank);
        for (int k = 1; k < 5; k++)
            if (!in_value(g, n, k) || !in_value(g, n, k)->data || df_value_numel(in_value(g, n, k)) != c)
                return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "parameters must be constants of %lld channels", (long long)c);
        s->scale = malloc((size_t)c * sizeof(float));
        s->shift = malloc((size_t)c * sizeof(float));
        if (!s->scale || !s->shift)
            return oom();
        const float *gamma = in_value(g, n, 1)->data, *beta = in_value(g, n, 2)->data;
        const float *mean = in_value(g, n, 3)->data, *var = in_value(g, n, 4)->data;
        float eps = df_attr_float(n, "epsilon", 1e-5f);
        for (int64_t i = 0; i < c; i++) {
            s->scale[i] = gamma[i] / sqrtf(var[i] + eps);
            s->shift[i] = beta[i] - mean[i] * s->scale[i];
        }
        s->inner = c;
        s->outer = df_value_numel(x) / c;
        s->flops = 2 * df_value_numel(x);
        s->act = n->act;
        s->alpha = n->act_alpha;
        s->beta = n->act_beta;
        s->scale_shift = has_avx2() ? df_scale_shift_act_avx2 : df_scale_shift_act_ref;
        return DF_OK;
    }
    case DF_OP_RELU: case DF_OP_SIGMOID: case DF_OP_TANH: case DF_OP_HARDSWISH:
    case DF_OP_NEG: case DF_OP_SQRT: case DF_OP_EXP: case DF_OP_ABS: case DF_OP_SILU:
        s->flops = df_value_numel(y);
        s->unary = select_unary(n->op);
        return DF_OK;
    case DF_OP_LEAKYRELU:
        s->alpha = df_attr_float(n, "alpha", 0.01f);
        s->unary = select_unary(n->op);
        return DF_OK;
    case DF_OP_HARDSIGMOID:
        s->alpha = df_attr_float(n, "alpha", 0.2f);
        s->beta = df_attr_float(n, "beta", 0.5f);
        s->unary = select_unary(n->op);
        return DF_OK;
    case DF_OP_CLIP:
        s->unary = select_unary(n->op);
        s->alpha = -INFINITY;
        s->beta = INFINITY;
        for (int k = 1; k < n->n_in && k < 3; k++) {
            const df_value *v = in_value(g, n, k);
            if (!v)
                continue;
            if (!v->data || v->dtype != DF_DT_F32)
                return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "min/max must be float constants");
            *(k == 1 ? &s->alpha : &s->beta) = *(const float *)v->data;
        }
        if (g->opset < 11) {
            s->alpha = df_attr_float(n, "min", -INFINITY);
            s->beta = df_attr_float(n, "max", INFINITY);
        }
        return DF_OK;
    case DF_OP_ADD: case DF_OP_SUB: case DF_OP_MUL: case DF_OP_DIV: case DF_OP_POW:
    case DF_OP_EQUAL:
        return compile_binary(g, n, s);
    case DF_OP_EXPAND:
        s->rank = y->rank;
        memcpy(s->out_dims, y->dims, sizeof s->out_dims);
        df_broadcast_strides(x->rank, x->dims, y->rank, y->dims, s->a_strides);
        return DF_OK;
    case DF_OP_GEMM: {
        const df_value *b = in_value(g, n, 1), *c = in_value(g, n, 2);
        s->trans_a = (int)df_attr_int(n, "transA", 0);
        s->trans_b = (int)df_attr_int(n, "transB", 0);
        s->alpha = df_attr_float(n, "alpha", 1.0f);
        s->beta = df_attr_float(n, "beta", 1.0f);
        s->m = y->dims[0];
        s->n = y->dims[1];
        s->k = s->trans_a ? x->dims[0] : x->dims[1];
        (void)b;
        if (c) {
            int64_t cs[2];
            df_broadcast_strides(c->rank, c->dims, 2, y->dims, cs);
            s->a_strides[0] = cs[0];
            s->a_strides[1] = cs[1];
        }
        s->flops = 2 * s->m * s->n * s->k;
        return DF_OK;
    }
    case DF_OP_MATMUL: return compile_matmul(g, n, s);
    case DF_OP_SOFTMAX: {
        int64_t axis = norm_axis(df_attr_int(n, "axis", g->opset < 13 ? 1 : -1), x->rank);
        s->outer = prod(x->dims, 0, (int)axis);
        if (g->opset < 13) {
            s->axis_n = prod(x->dims, (int)axis, x->rank);
            s->inner = 1;
        } else {
            s->axis_n = x->dims[axis];
            s->inner = prod(x->dims, (int)axis + 1, x->rank);
        }
        s->flops = 3 * df_value_numel(x);
        return DF_OK;
    }
    case DF_OP_REDUCEMEAN: {
        const int64_t *axes;
        int na = df_attr_ints(n, "axes", &axes);
        s->rank = x->rank;
        memcpy(s->in_dims, x->dims, sizeof s->in_dims);
        for (int d = 0; d < x->rank; d++)
            s->reduce[d] = na < 0;
        for (int i = 0; i < na; i++) {
            int64_t a = norm_axis(axes[i], x->rank);
            if (a >= 0 && a < x->rank)
                s->reduce[a] = 1;
        }
        if (n->n_in > 1 && in_value(g, n, 1))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "axes as an input (opset 18)");
        s->flops = df_value_numel(x);
        return DF_OK;
    }
    case DF_OP_TRANSPOSE: {
        const int64_t *perm;
        int np = df_attr_ints(n, "perm", &perm);
        s->rank = x->rank;
        memcpy(s->in_dims, x->dims, sizeof s->in_dims);
        for (int d = 0; d < x->rank; d++)
            s->perm[d] = np == x->rank ? (int)perm[d] : x->rank - 1 - d;
        return DF_OK;
    }
    case DF_OP_CONCAT:
    case DF_OP_SPLIT: {
        const df_value *whole = n->op == DF_OP_CONCAT ? y : x;
        int64_t axis = norm_axis(df_attr_int(n, "axis", n->op == DF_OP_CONCAT ? 1 : 0), whole->rank);
        int parts = n->op == DF_OP_CONCAT ? n->n_in : n->n_out;
        s->outer = prod(whole->dims, 0, (int)axis);
        s->inner = prod(whole->dims, (int)axis + 1, whole->rank);
        s->sizes = malloc((size_t)parts * sizeof(int64_t));
        if (!s->sizes)
            return oom();
        for (int i = 0; i < parts; i++) {
            int v = n->op == DF_OP_CONCAT ? n->in[i] : n->out[i];
            s->sizes[i] = v >= 0 ? g->values[v].dims[axis] : 0;
        }
        return DF_OK;
    }
    case DF_OP_CHANNEL_SHUFFLE: {
        /* per outer index, a [group][C / group] -> [C / group][group] transpose
         * of blocks of inner elements */
        const int axis = (int)norm_axis(df_attr_int(n, "axis", 1), x->rank);
        const int64_t group = df_attr_int(n, "group", 1);
        s->rank = 4;
        s->in_dims[0] = prod(x->dims, 0, axis);
        s->in_dims[1] = group;
        /* one input holds every group's part, or (Concat folded in) each
         * part is an input; a Slice folded in takes some of each part */
        s->part_c = n->n_in > 1 ? x->dims[axis] : x->dims[axis] / group;
        s->part_offset = df_attr_int(n, "offset", 0);
        s->in_dims[2] = g->values[n->out[0]].dims[axis] / group;
        s->in_dims[3] = prod(x->dims, axis + 1, x->rank);
        s->perm[0] = 0;
        s->perm[1] = 2;
        s->perm[2] = 1;
        s->perm[3] = 3;
        return DF_OK;
    }
    case DF_OP_SLICE: return compile_slice(g, n, s);
    case DF_OP_GATHER: {
        const df_value *idx = in_value(g, n, 1);
        int64_t axis = norm_axis(df_attr_int(n, "axis", 0), x->rank);
        s->outer = prod(x->dims, 0, (int)axis);
        s->axis_n = x->dims[axis];
        s->inner = prod(x->dims, (int)axis + 1, x->rank);
        s->n = df_value_numel(idx);
        if (idx->dtype != DF_DT_I64)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "indices of type %s", df_dtype_name(idx->dtype));
        return DF_OK;
    }
    case DF_OP_PAD: {
        const df_value *pads = in_value(g, n, 1), *val = in_value(g, n, 2);
        const char *mode = df_attr_string(n, "mode", "constant");
        s->pad_mode = strcmp(mode, "reflect") == 0 ? DF_PAD_REFLECT
                      : strcmp(mode, "edge") == 0  ? DF_PAD_EDGE
                                                   : DF_PAD_CONSTANT;
        if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge"))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "pad mode '%s'", mode);
        if (!pads || !pads->data || (val && !val->data))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "pads and value must be constants");
        if (x->dtype != DF_DT_F32)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "Pad of %s", df_dtype_name(x->dtype));
        s->rank = x->rank;
        memcpy(s->in_dims, x->dims, sizeof s->in_dims);
        memcpy(s->out_dims, y->dims, sizeof s->out_dims);
        for (int d = 0; d < x->rank; d++)
            s->starts[d] = ((const int64_t *)pads->data)[d];
        s->alpha = val ? *(const float *)val->data : 0.0f;
        return DF_OK;
    }
    case DF_OP_FLATTEN: case DF_OP_RESHAPE: case DF_OP_SQUEEZE: case DF_OP_UNSQUEEZE:
    case DF_OP_IDENTITY: case DF_OP_DROPOUT:
        return DF_OK;
    case DF_OP_CAST:
        if ((x->dtype != DF_DT_F32 && x->dtype != DF_DT_I64) ||
            (y->dtype != DF_DT_F32 && y->dtype != DF_DT_I64))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "Cast from %s to %s at run time",
                                df_dtype_name(x->dtype), df_dtype_name(y->dtype));
        return DF_OK;
    default:
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "op %s with non-constant inputs is not supported at run time", n->op_type);
    }
}

/* Constants that no step reads any more (folded away, or conv weights the step
 * holds in its own layout) give their memory back. */
static void release_unused_constants(df_program *p)
{
    df_graph *g = p->graph;
    char *used = calloc((size_t)g->n_values + 1, 1);
    if (!used)
        return; /* keeping them is harmless */
    for (int i = 0; i < p->n_steps; i++) {
        const df_node *n = p->steps[i].node;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !(n->op == DF_OP_CONV && k == 1))
                used[n->in[k]] = 1;
        if (n->residual >= 0)
            used[n->residual] = 1;
    }
    for (int k = 0; k < g->n_outputs; k++)
        used[g->outputs[k]] = 1;
    for (int v = 0; v < g->n_values; v++)
        if (!used[v] && g->values[v].data) {
            free(g->values[v].data);
            g->values[v].data = NULL;
            g->values[v].rank = -1; /* shape-only now; nobody may read it */
        }
    free(used);
}

df_status df_compile(df_graph *g, df_schedule schedule, int threads,
                     const df_plan_overrides *over, df_program **out)
{
    *out = NULL;
    df_program *p = calloc(1, sizeof *p);
    if (!p)
        return oom();
    p->graph = g;
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].dead;
    p->steps = calloc((size_t)(live ? live : 1), sizeof *p->steps);
    if (!p->steps) {
        p->graph = NULL;
        df_program_free(p);
        return oom();
    }
    df_status st = DF_OK;
    for (int i = 0; i < g->n_nodes && st == DF_OK; i++) {
        if (g->nodes[i].dead)
            continue;
        st = compile_step(g, &g->nodes[i], &p->steps[p->n_steps++]);
        p->flops += p->steps[p->n_steps - 1].flops;
    }
    if (st == DF_OK)
        st = df_plan_segments(p, schedule, threads, over);
    if (st == DF_OK && over && over->predict)
        df_plan_predict(p, threads, over->predict);
    p->schedule = p->n_segments > 0 ? DF_SCHEDULE_DEPTH : DF_SCHEDULE_LAYER;
    if (st == DF_OK)
        st = df_plan_memory(p);
    if (st == DF_OK)
        release_unused_constants(p);
    if (st != DF_OK) {
        p->graph = NULL; /* the caller still owns the graph on failure */
        df_program_free(p);
        return st;
    }
    *out = p;
    return DF_OK;
}

int df_step_to_nhwc(const df_graph *g, const df_step *s)
{
    if (s->op != DF_OP_TRANSPOSE)
        return 0;
    const df_value *x = &g->values[s->node->in[0]], *y = &g->values[s->node->out[0]];
    return x->dtype == DF_DT_F32 && x->rank == 4 && !x->nhwc && y->nhwc && s->rank == 4 &&
           s->perm[0] == 0 && s->perm[1] == 2 && s->perm[2] == 3 && s->perm[3] == 1;
}

int df_step_parts_by_channels(const df_step *s, int parts)
{
    return s->op == DF_OP_CONV && s->conv_part && s->conv_units >= parts;
}

/* max load / mean load when n equal units go to t threads */
static double imbalance(int n, int t)
{
    return n <= 0 ? 1e9 : (double)((n + t - 1) / t * t) / n;
}

/* Row bands, about four per thread so uneven bands even out; or, for a conv
 * on a small image (fewer than eight rows per thread: the 14x14 and 7x7
 * stages at batch 1), output channels unless those share out worse. Then
 * each thread reads its share of the weights, which at that size outweigh
 * the image, and 7 rows are no longer split 4:3 between 2 threads.
 * ResNet-50, 2 threads: its layer3 and layer4 convs ran 10-35% faster by
 * channels than by rows, its layer1 and layer2 convs slower. */
void df_step_split(const df_step *s, int threads, int *bands, int *parts)
{
    *bands = 1;
    *parts = 1;
    if (threads <= 1)
        return;
    const int out_h = s->op == DF_OP_CONV ? s->conv.out_h : s->pool.out_h;
    const int rows = s->batch * out_h;
    /* a depthwise conv's weights are small, so it splits by channels only
     * where rows split worse: split by rows, it reads the rows the threads
     * themselves wrote (ShuffleNet's 14x14 stage, 2 threads: 5-9 us slower
     * per depthwise conv by channels on a tie) */
    const int depthwise = s->op == DF_OP_CONV && s->conv.groups > 1 &&
                          s->conv.groups == s->conv.in_c;
    const double by_rows = imbalance(rows, threads), by_parts = imbalance(s->conv_units, threads);
    if (s->op == DF_OP_CONV && s->conv_part && rows < 8 * threads &&
        (depthwise ? by_parts < by_rows : by_parts <= by_rows)) {
        *parts = threads;
        return;
    }
    const int b = (4 * threads + s->batch - 1) / s->batch;
    *bands = b < out_h ? b : out_h;
}

void df_program_free(df_program *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++) {
        df_step *s = &p->steps[i];
        free(s->weight_ohwi);
        df_conv_release(s->conv_packed);
        free(s->sizes);
        free(s->scale);
        free(s->shift);
        free(s->a_offsets);
        free(s->b_offsets);
    }
    df_segments_free(p);
    free(p->steps);
    free(p->offsets);
    df_graph_free(p->graph);
    free(p);
}
