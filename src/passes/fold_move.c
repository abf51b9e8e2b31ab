/* Shape rules for data movement: Identity, Reshape, Flatten, Squeeze,
 * Unsqueeze, Transpose, Concat, Split, Slice, Gather, Expand. All of them are
 * folded when their inputs are constant, which is what turns exported shape
 * arithmetic (ShuffleNet's channel split, Reshape targets) into constants. */
#include "kernels/kernels.h"
#include "passes/shape_internal.h"

#include <stdlib.h>
#include <string.h>

/* Product of dims [from, to). */
static int64_t dims_product(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        p *= dims[d];
    return p;
}

/* Folds an op that keeps the bytes and changes only the shape. */
static df_status fold_copy(df_graph *g, df_node *n)
{
    if (!df_fold_ready(g, n))
        return DF_OK;
    df_status st = DF_OK;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    memcpy(y, df_shape_in(g, n, 0)->data, df_value_bytes(df_shape_out(g, n, 0)));
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_identity(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    if ((st = df_shape_set_out(g, n, 0, x->dtype, x->rank, x->dims)) != DF_OK)
        return st;
    return fold_copy(g, n);
}

df_status df_rule_reshape(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 2);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    const int64_t *shape;
    int64_t rank;
    if ((st = df_shape_const_ints(g, n, 1, "shape", &shape, &rank)) != DF_OK)
        return st;
    if (rank > DF_MAX_RANK)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "target rank %lld is over %d",
                            (long long)rank, DF_MAX_RANK);
    int allow_zero = df_attr_int(n, "allowzero", 0) != 0;
    int64_t numel = df_shape_numel(x->rank, x->dims), known = 1;
    int64_t dims[DF_MAX_RANK];
    int infer = -1;
    char xs[160], ss[160];
    df_dims_str(xs, sizeof xs, x->rank, x->dims);
    df_dims_str(ss, sizeof ss, (int)rank, shape);
    for (int d = 0; d < rank; d++) {
        dims[d] = shape[d];
        if (shape[d] == 0 && !allow_zero) {
            /* 0 copies the input's dim at the same position */
            if (d >= x->rank)
                return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                    "target %s copies dim %d of '%s' (%s), which has none", ss,
                                    d, df_shape_name(x), xs);
            dims[d] = x->dims[d];
        } else if (shape[d] == -1 && infer < 0) {
            infer = d;
            continue;
        } else if (shape[d] <= 0) {
            return df_node_fail(g, n, shape[d] == 0 ? DF_ERR_UNSUPPORTED : DF_ERR_INVALID_MODEL,
                                "target %s is not a valid shape for '%s' (%s)", ss,
                                df_shape_name(x), xs);
        }
        /* numel < 2^40: stop before known can overflow */
        if (dims[d] > numel || known > numel / dims[d] + 1)
            known = numel + 1;
        else
            known *= dims[d];
    }
    if (infer >= 0 && known <= numel && numel % known == 0)
        dims[infer] = numel / known;
    else if (infer >= 0 || known != numel)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "cannot reshape '%s' (%s) to %s",
                            df_shape_name(x), xs, ss);
    if ((st = df_shape_set_out(g, n, 0, x->dtype, (int)rank, dims)) != DF_OK)
        return st;
    return fold_copy(g, n);
}

df_status df_rule_flatten(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int64_t axis = df_attr_int(n, "axis", 1);
    if (axis < -(int64_t)x->rank || axis > x->rank) /* rank itself is allowed */
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "axis %lld is out of range for rank %d",
                            (long long)axis, x->rank);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t dims[2] = {dims_product(x->dims, 0, a), dims_product(x->dims, a, x->rank)};
    if ((st = df_shape_set_out(g, n, 0, x->dtype, 2, dims)) != DF_OK)
        return st;
    return fold_copy(g, n);
}

/* The axes of Squeeze/Unsqueeze: input 1 from opset 13, an attribute before.
 * *count is -1 when there are none. */
static df_status squeeze_axes(df_graph *g, const df_node *n, const int64_t **axes, int64_t *count)
{
    df_status st = df_shape_need_inputs(g, n, 1, g->opset >= 13 ? 2 : 1);
    if (st != DF_OK)
        return st;
    *count = -1;
    if (g->opset >= 13) {
        if (df_shape_in(g, n, 1))
            return df_shape_const_ints(g, n, 1, "axes", axes, count);
        return DF_OK;
    }
    *count = df_attr_ints(n, "axes", axes);
    return DF_OK;
}

df_status df_rule_squeeze(df_graph *g, df_node *n)
{
    const int64_t *axes = NULL;
    int64_t n_axes;
    df_status st = squeeze_axes(g, n, &axes, &n_axes);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int drop[DF_MAX_RANK] = {0};
    if (n_axes < 0) {
        for (int d = 0; d < x->rank; d++)
            drop[d] = x->dims[d] == 1;
    }
    for (int64_t i = 0; i < n_axes; i++) {
        int axis;
        if ((st = df_shape_axis(g, n, "axes", axes[i], x->rank, &axis)) != DF_OK)
            return st;
        if (x->dims[axis] != 1) {
            char buf[160];
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "cannot squeeze axis %d of '%s' (%s): it is not 1", axis,
                                df_shape_name(x), df_dims_str(buf, sizeof buf, x->rank, x->dims));
        }
        drop[axis] = 1;
    }
    int rank = 0;
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        if (!drop[d])
            dims[rank++] = x->dims[d];
    if ((st = df_shape_set_out(g, n, 0, x->dtype, rank, dims)) != DF_OK)
        return st;
    return fold_copy(g, n);
}

df_status df_rule_unsqueeze(df_graph *g, df_node *n)
{
    const int64_t *axes = NULL;
    int64_t n_axes;
    df_status st = squeeze_axes(g, n, &axes, &n_axes);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    if (n_axes < 1)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has no axes");
    if (n_axes > DF_MAX_RANK - x->rank)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "output rank %lld is over %d",
                            (long long)(x->rank + n_axes), DF_MAX_RANK);
    int rank = x->rank + (int)n_axes;
    int added[DF_MAX_RANK] = {0};
    for (int64_t i = 0; i < n_axes; i++) {
        int axis; /* counted in the output's rank */
        if ((st = df_shape_axis(g, n, "axes", axes[i], rank, &axis)) != DF_OK)
            return st;
        if (added[axis])
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "axis %d is repeated", axis);
        added[axis] = 1;
    }
    int64_t dims[DF_MAX_RANK];
    for (int d = 0, from = 0; d < rank; d++)
        dims[d] = added[d] ? 1 : x->dims[from++];
    if ((st = df_shape_set_out(g, n, 0, x->dtype, rank, dims)) != DF_OK)
        return st;
    return fold_copy(g, n);
}

df_status df_rule_transpose(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int perm[DF_MAX_RANK], seen[DF_MAX_RANK] = {0};
    const int64_t *p;
    int count = df_attr_ints(n, "perm", &p);
    if (count >= 0 && count != x->rank)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "perm has %d entries for rank %d", count,
                            x->rank);
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        int64_t axis = count >= 0 ? p[d] : x->rank - 1 - d; /* default: reverse */
        if (axis < 0 || axis >= x->rank || seen[axis])
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "perm is not a permutation");
        seen[axis] = 1;
        perm[d] = (int)axis;
        dims[d] = x->dims[axis];
    }
    if ((st = df_shape_set_out(g, n, 0, x->dtype, x->rank, dims)) != DF_OK ||
        !df_fold_ready(g, n))
        return st;
    if (x->rank < 2)
        return fold_copy(g, n);
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    df_transpose_ref(x->data, y, df_dtype_size(x->dtype), x->rank, x->dims, perm);
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_concat(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, n->n_in > 0 ? n->n_in : 1);
    if (st != DF_OK)
        return st;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "input %d is missing", i);
    const df_value *x0 = df_shape_in(g, n, 0);
    int axis;
    if (!df_node_attr(n, "axis"))
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "has no axis attribute");
    if ((st = df_shape_axis(g, n, "axis", df_attr_int(n, "axis", 0), x0->rank, &axis)) != DF_OK)
        return st;
    int64_t dims[DF_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const df_value *x = df_shape_in(g, n, i);
        int same = x->rank == x0->rank && x->dtype == x0->dtype;
        for (int d = 0; same && d < x->rank; d++)
            same = d == axis || x->dims[d] == x0->dims[d];
        if (!same) {
            char a[160], b[160];
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "input '%s' (%s %s) does not match '%s' (%s %s) outside axis %d",
                                df_shape_name(x), df_dtype_name(x->dtype),
                                df_dims_str(a, sizeof a, x->rank, x->dims), df_shape_name(x0),
                                df_dtype_name(x0->dtype),
                                df_dims_str(b, sizeof b, x0->rank, x0->dims), axis);
        }
        dims[axis] += x->dims[axis]; /* each < 2^40: the sum of a few cannot overflow */
        if (dims[axis] > DF_SHAPE_MAX_BYTES)
            dims[axis] = DF_SHAPE_MAX_BYTES + 1;
    }
    if ((st = df_shape_set_out(g, n, 0, x0->dtype, x0->rank, dims)) != DF_OK ||
        !df_fold_ready(g, n))
        return st;
    const void **srcs = malloc(sizeof(void *) * (size_t)n->n_in);
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)n->n_in);
    void *y = srcs && sizes ? df_fold_alloc(g, n, 0, &st) : NULL;
    if (y) {
        for (int i = 0; i < n->n_in; i++) {
            srcs[i] = df_shape_in(g, n, i)->data;
            sizes[i] = df_shape_in(g, n, i)->dims[axis];
        }
        df_concat_ref(n->n_in, srcs, sizes, y, df_dtype_size(x0->dtype),
                      dims_product(dims, 0, axis), dims_product(dims, axis + 1, x0->rank));
        n->dead = 1;
    } else if (st == DF_OK) {
        st = df_node_fail(g, n, DF_ERR_OUT_OF_MEMORY, "out of memory");
    }
    free(srcs);
    free(sizes);
    return st;
}

df_status df_rule_split(df_graph *g, df_node *n)
{
    /* split sizes: an attribute before opset 13, an optional input since */
    df_status st = df_shape_need_inputs(g, n, 1, g->opset >= 13 ? 2 : 1);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int axis;
    if ((st = df_shape_axis(g, n, "axis", df_attr_int(n, "axis", 0), x->rank, &axis)) != DF_OK)
        return st;
    const int64_t *split = NULL;
    int64_t n_split = -1, dim = x->dims[axis];
    if (g->opset >= 13 && df_shape_in(g, n, 1)) {
        if ((st = df_shape_const_ints(g, n, 1, "split", &split, &n_split)) != DF_OK)
            return st;
    } else if (g->opset < 13) {
        n_split = df_attr_ints(n, "split", &split);
    }
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)n->n_out);
    void **outs = calloc((size_t)n->n_out, sizeof(void *));
    if (!sizes || !outs) {
        st = df_node_fail(g, n, DF_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    if (n_split >= 0) {
        int64_t sum = 0;
        int ok = n_split == n->n_out;
        for (int i = 0; ok && i < n->n_out; i++) {
            sizes[i] = split[i];
            ok = split[i] >= 0 && split[i] <= dim;
            sum += ok ? split[i] : 0; /* each <= dim < 2^40 */
        }
        if (!ok || sum != dim) {
            st = df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                              "split sizes (%lld of them) do not add up to %lld for %d outputs",
                              (long long)n_split, (long long)dim, n->n_out);
            goto done;
        }
    } else {
        /* equal parts; opset 18 lets the last one be smaller */
        int64_t part = (dim + n->n_out - 1) / n->n_out;
        if (dim % n->n_out != 0 && g->opset < 18) {
            st = df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                              "dim %lld of axis %d does not split into %d equal parts",
                              (long long)dim, axis, n->n_out);
            goto done;
        }
        for (int i = 0; i < n->n_out; i++) {
            int64_t left = dim - part * i;
            sizes[i] = left < part ? (left > 0 ? left : 0) : part;
        }
    }
    int all_out = 1;
    for (int i = 0; i < n->n_out && st == DF_OK; i++) {
        int64_t dims[DF_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[i];
        st = df_shape_set_out(g, n, i, x->dtype, x->rank, dims);
        all_out = all_out && df_shape_out(g, n, i);
    }
    if (st != DF_OK || !all_out || !df_fold_ready(g, n))
        goto done;
    for (int i = 0; i < n->n_out; i++)
        if (!(outs[i] = df_fold_alloc(g, n, i, &st)))
            goto done;
    df_split_ref(x->data, n->n_out, outs, sizes, df_dtype_size(x->dtype),
                 dims_product(x->dims, 0, axis), dims_product(x->dims, axis + 1, x->rank));
    n->dead = 1;
done:
    free(sizes);
    free(outs);
    return st;
}

/* Where a Slice starts and how far it steps along every dim, and its output. */
typedef struct slice_plan {
    int64_t starts[DF_MAX_RANK], steps[DF_MAX_RANK], dims[DF_MAX_RANK];
} slice_plan;

/* One axis of a Slice, as ONNX defines it: negative positions count from the
 * end, then starts and ends are clamped to the dim (for negative steps, to
 * [0, dim-1] and [-1, dim-1]). Returns the output length. */
static int64_t slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
    start = start < 0 ? start + dim : start; /* start >= INT64_MIN: no overflow */
    end = end < 0 ? end + dim : end;
    int64_t lo_end = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    start = start < 0 ? 0 : (start > hi ? hi : start);
    end = end < lo_end ? lo_end : (end > hi ? hi : end);
    *first = start;
    if (step > 0)
        return end > start ? 1 + (end - start - 1) / step : 0;
    /* |step| as unsigned: -INT64_MIN does not fit in int64 */
    uint64_t magnitude = (uint64_t)(-(step + 1)) + 1;
    return start > end ? (int64_t)(1 + (uint64_t)(start - end - 1) / magnitude) : 0;
}

static df_status plan_slice(df_graph *g, const df_node *n, const df_value *x, slice_plan *plan)
{
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    int64_t n_starts, n_ends, n_axes = -1, n_steps = -1;
    df_status st;
    if (g->opset < 10) {
        n_starts = df_attr_ints(n, "starts", &starts);
        n_ends = df_attr_ints(n, "ends", &ends);
        n_axes = df_attr_ints(n, "axes", &axes);
        if (n_starts < 0 || n_ends < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "needs starts and ends attributes");
    } else if ((st = df_shape_const_ints(g, n, 1, "starts", &starts, &n_starts)) != DF_OK ||
               (st = df_shape_const_ints(g, n, 2, "ends", &ends, &n_ends)) != DF_OK ||
               (df_shape_in(g, n, 3) &&
                (st = df_shape_const_ints(g, n, 3, "axes", &axes, &n_axes)) != DF_OK) ||
               (df_shape_in(g, n, 4) &&
                (st = df_shape_const_ints(g, n, 4, "steps", &steps, &n_steps)) != DF_OK)) {
        return st;
    }
    if (n_ends != n_starts || (axes && n_axes != n_starts) || (steps && n_steps != n_starts) ||
        n_starts > x->rank)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                            "starts, ends, axes and steps disagree in length for rank %d",
                            x->rank);
    int seen[DF_MAX_RANK] = {0};
    for (int d = 0; d < x->rank; d++) {
        plan->starts[d] = 0;
        plan->steps[d] = 1;
        plan->dims[d] = x->dims[d];
    }
    for (int64_t i = 0; i < n_starts; i++) {
        int axis = (int)i;
        if (axes && (st = df_shape_axis(g, n, "axes", axes[i], x->rank, &axis)) != DF_OK)
            return st;
        int64_t step = steps ? steps[i] : 1;
        if (seen[axis] || step == 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "axis %d is repeated or has step 0",
                                axis);
        seen[axis] = 1;
        plan->steps[axis] = step;
        plan->dims[axis] = slice_axis(x->dims[axis], starts[i], ends[i], step,
                                      &plan->starts[axis]);
    }
    return DF_OK;
}

df_status df_rule_slice(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, g->opset < 10 ? 1 : 3, g->opset < 10 ? 1 : 5);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    slice_plan plan;
    if ((st = plan_slice(g, n, x, &plan)) != DF_OK ||
        (st = df_shape_set_out(g, n, 0, x->dtype, x->rank, plan.dims)) != DF_OK ||
        !df_fold_ready(g, n))
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    df_slice_ref(x->data, y, df_dtype_size(x->dtype), x->rank, x->dims, plan.starts, plan.steps,
                 plan.dims);
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_gather(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 2);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 1, DF_DT_I64);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0), *idx = df_shape_in(g, n, 1);
    int axis;
    if (x->rank < 1)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "data '%s' is a scalar",
                            df_shape_name(x));
    if ((st = df_shape_axis(g, n, "axis", df_attr_int(n, "axis", 0), x->rank, &axis)) != DF_OK)
        return st;
    if (x->rank - 1 + idx->rank > DF_MAX_RANK)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "output rank %d is over %d",
                            x->rank - 1 + idx->rank, DF_MAX_RANK);
    int rank = 0;
    int64_t dims[DF_MAX_RANK];
    for (int d = 0; d < axis; d++)
        dims[rank++] = x->dims[d];
    for (int d = 0; d < idx->rank; d++)
        dims[rank++] = idx->dims[d];
    for (int d = axis + 1; d < x->rank; d++)
        dims[rank++] = x->dims[d];
    int64_t n_idx = df_shape_numel(idx->rank, idx->dims), axis_n = x->dims[axis];
    const int64_t *iv = idx->data;
    for (int64_t i = 0; iv && i < n_idx; i++)
        if (iv[i] < -axis_n || iv[i] >= axis_n)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "index %lld is out of range for axis %d of size %lld",
                                (long long)iv[i], axis, (long long)axis_n);
    if ((st = df_shape_set_out(g, n, 0, x->dtype, rank, dims)) != DF_OK || !df_fold_ready(g, n))
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    int64_t bad = df_gather_ref(x->data, y, df_dtype_size(x->dtype),
                                dims_product(x->dims, 0, axis), axis_n,
                                dims_product(x->dims, axis + 1, x->rank), iv, n_idx);
    if (bad >= 0) /* checked above; kept so a kernel change cannot go unnoticed */
        return df_node_fail(g, n, DF_ERR_INTERNAL, "index %lld out of range", (long long)bad);
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_expand(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 2);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    const int64_t *shape;
    int64_t count;
    if ((st = df_shape_const_ints(g, n, 1, "shape", &shape, &count)) != DF_OK)
        return st;
    if (count > DF_MAX_RANK)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "target rank %lld is over %d",
                            (long long)count, DF_MAX_RANK);
    for (int64_t i = 0; i < count; i++)
        if (shape[i] < 1)
            return df_node_fail(g, n, shape[i] == 0 ? DF_ERR_UNSUPPORTED : DF_ERR_INVALID_MODEL,
                                "target dim %lld is %lld", (long long)i, (long long)shape[i]);
    int rank;
    int64_t dims[DF_MAX_RANK];
    if ((st = df_shape_broadcast(g, n, x->rank, x->dims, (int)count, shape, &rank, dims)) !=
            DF_OK ||
        (st = df_shape_set_out(g, n, 0, x->dtype, rank, dims)) != DF_OK || !df_fold_ready(g, n))
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    /* a scalar result is copied as one element of a 1-D tensor */
    int k_rank = rank > 0 ? rank : 1;
    int64_t k_dims[DF_MAX_RANK] = {1}, strides[DF_MAX_RANK];
    memcpy(k_dims, dims, sizeof(int64_t) * (size_t)rank);
    df_broadcast_strides(x->rank, x->dims, k_rank, k_dims, strides);
    df_broadcast_copy(x->data, strides, y, df_dtype_size(x->dtype), k_rank, k_dims);
    n->dead = 1;
    return DF_OK;
}
