/* Shape rules for the ops that constant folding evaluates at load time:
 * element-wise arithmetic and comparison with broadcasting, Where, Cast, and
 * the ops that make constants (Shape, Constant, ConstantOfShape, Range).
 * Data movement (Reshape, Slice, Gather...) is in fold_move.c.
 *
 * A foldable node whose inputs all hold data gets its outputs computed here;
 * the node is then marked dead and its outputs become constants. */
#include "kernels/kernels.h"
#include "passes/shape_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

int df_fold_ready(df_graph *g, const df_node *n)
{
    for (int i = 0; i < n->n_in; i++) {
        const df_value *v = df_shape_in(g, n, i);
        if (v && !v->data)
            return 0;
    }
    for (int i = 0; i < n->n_out; i++) {
        const df_value *v = df_shape_out(g, n, i);
        if (v && (int64_t)df_value_bytes(v) > DF_FOLD_MAX_BYTES)
            return 0;
    }
    return 1;
}

void *df_fold_alloc(df_graph *g, const df_node *n, int i, df_status *st)
{
    df_value *v = df_shape_out(g, n, i);
    size_t bytes = df_value_bytes(v);
    void *data = malloc(bytes > 0 ? bytes : 1);
    if (!data) {
        *st = df_node_fail(g, n, DF_ERR_OUT_OF_MEMORY, "out of memory folding '%s'",
                           df_shape_name(v));
        return NULL;
    }
    free(v->data);
    v->data = data;
    return data;
}

/* Walks the elements of a broadcast result in order, keeping each operand's
 * element offset (operands have stride 0 along the dims they broadcast). */
typedef struct bcast_walk {
    int rank;
    int n_ops;
    int64_t dims[DF_MAX_RANK];
    int64_t idx[DF_MAX_RANK];
    int64_t strides[3][DF_MAX_RANK];
    int64_t off[3];
} bcast_walk;

static void walk_init(bcast_walk *w, int rank, const int64_t *dims, int n_ops,
                      const df_value *const *ops)
{
    memset(w, 0, sizeof *w);
    /* a scalar result is walked as one element of a 1-D tensor */
    w->rank = rank > 0 ? rank : 1;
    w->n_ops = n_ops;
    for (int d = 0; d < w->rank; d++)
        w->dims[d] = rank > 0 ? dims[d] : 1;
    for (int k = 0; k < n_ops; k++)
        df_broadcast_strides(ops[k]->rank, ops[k]->dims, w->rank, w->dims, w->strides[k]);
}

static void walk_next(bcast_walk *w)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        w->idx[d]++;
        for (int k = 0; k < w->n_ops; k++)
            w->off[k] += w->strides[k][d];
        if (w->idx[d] < w->dims[d])
            return;
        for (int k = 0; k < w->n_ops; k++)
            w->off[k] -= w->strides[k][d] * w->dims[d];
        w->idx[d] = 0;
    }
}

/* ---- Add, Sub, Mul, Div, Pow, Equal --------------------------------------- */

/* int64 arithmetic on values from the file: overflow and division by zero
 * would be undefined behaviour, so each is checked. Returns 0 on failure. */
static int int_arith(df_op op, int64_t a, int64_t b, int64_t *out)
{
    switch (op) {
    case DF_OP_ADD:
        if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
            return 0;
        *out = a + b;
        return 1;
    case DF_OP_SUB:
        if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
            return 0;
        *out = a - b;
        return 1;
    case DF_OP_MUL:
        if (a != 0 && b != 0) {
            if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
                      : (b > 0 ? a < INT64_MIN / b : b < INT64_MAX / a))
                return 0;
        }
        *out = a * b;
        return 1;
    case DF_OP_DIV:
        if (b == 0 || (a == INT64_MIN && b == -1))
            return 0;
        *out = a / b; /* truncates, as ONNX integer Div does */
        return 1;
    default: return 0;
    }
}

static df_status fold_int_arith(df_graph *g, const df_node *n, const df_value *a,
                                const df_value *b, const df_value *y, int64_t *out)
{
    const df_value *ops[2] = {a, b};
    const int64_t *av = a->data, *bv = b->data;
    bcast_walk w;
    walk_init(&w, y->rank, y->dims, 2, ops);
    int64_t numel = df_shape_numel(y->rank, y->dims);
    for (int64_t i = 0; i < numel; i++, walk_next(&w))
        if (!int_arith(n->op, av[w.off[0]], bv[w.off[1]], &out[i]))
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "%lld %s %lld overflows or divides by zero",
                                (long long)av[w.off[0]], n->op_type, (long long)bv[w.off[1]]);
    return DF_OK;
}

df_status df_rule_binary(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 2, 2);
    if (st != DF_OK)
        return st;
    const df_value *a = df_shape_in(g, n, 0), *b = df_shape_in(g, n, 1);
    int int_ok = n->op != DF_OP_POW;
    if (a->dtype != b->dtype)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "operands '%s' (%s) and '%s' (%s) differ",
                            df_shape_name(a), df_dtype_name(a->dtype), df_shape_name(b),
                            df_dtype_name(b->dtype));
    if (a->dtype != DF_DT_F32 && !(int_ok && a->dtype == DF_DT_I64))
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "operands of type %s are not supported",
                            df_dtype_name(a->dtype));
    int rank;
    int64_t dims[DF_MAX_RANK];
    if ((st = df_shape_broadcast(g, n, a->rank, a->dims, b->rank, b->dims, &rank, dims)) != DF_OK)
        return st;
    df_dtype out_dt = n->op == DF_OP_EQUAL ? DF_DT_BOOL : a->dtype;
    if ((st = df_shape_set_out(g, n, 0, out_dt, rank, dims)) != DF_OK || !df_fold_ready(g, n))
        return st;

    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    const df_value *yv = df_shape_out(g, n, 0);
    if (a->dtype == DF_DT_I64 && n->op != DF_OP_EQUAL) {
        if ((st = fold_int_arith(g, n, a, b, yv, y)) != DF_OK)
            return st;
    } else {
        const df_value *ops[2] = {a, b};
        bcast_walk w; /* for the strides and the scalar-as-1-D shape */
        walk_init(&w, yv->rank, yv->dims, 2, ops);
        df_binary_ref(n->op, a->dtype, a->data, w.strides[0], b->data, w.strides[1], y, w.rank,
                      w.dims);
    }
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_where(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 3, 3);
    if (st == DF_OK)
        st = df_shape_need_dtype(g, n, 0, DF_DT_BOOL);
    if (st != DF_OK)
        return st;
    const df_value *c = df_shape_in(g, n, 0), *x = df_shape_in(g, n, 1), *y = df_shape_in(g, n, 2);
    if (x->dtype != y->dtype)
        return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "X '%s' (%s) and Y '%s' (%s) differ",
                            df_shape_name(x), df_dtype_name(x->dtype), df_shape_name(y),
                            df_dtype_name(y->dtype));
    int rank;
    int64_t dims[DF_MAX_RANK];
    if ((st = df_shape_broadcast(g, n, c->rank, c->dims, x->rank, x->dims, &rank, dims)) != DF_OK ||
        (st = df_shape_broadcast(g, n, rank, dims, y->rank, y->dims, &rank, dims)) != DF_OK ||
        (st = df_shape_set_out(g, n, 0, x->dtype, rank, dims)) != DF_OK || !df_fold_ready(g, n))
        return st;

    unsigned char *out = df_fold_alloc(g, n, 0, &st);
    if (!out)
        return st;
    const df_value *ops[3] = {c, x, y};
    const unsigned char *cond = c->data, *xb = x->data, *yb = y->data;
    size_t elem = df_dtype_size(x->dtype);
    bcast_walk w;
    walk_init(&w, rank, dims, 3, ops);
    int64_t numel = df_shape_numel(rank, dims);
    for (int64_t i = 0; i < numel; i++, walk_next(&w)) {
        const unsigned char *src = cond[w.off[0]] ? xb + w.off[1] * elem : yb + w.off[2] * elem;
        memcpy(out + i * elem, src, elem);
    }
    n->dead = 1;
    return DF_OK;
}

/* ---- Cast ----------------------------------------------------------------- */

static int64_t float_to_int(float f)
{
    /* Saturate instead of the undefined behaviour of an out-of-range cast. */
    if (isnan(f))
        return 0;
    if (f >= 9223372036854775807.0f)
        return INT64_MAX;
    if (f <= -9223372036854775808.0f)
        return INT64_MIN;
    return (int64_t)f;
}

static void cast_data(df_dtype from, const void *x, df_dtype to, void *y, int64_t numel)
{
    for (int64_t i = 0; i < numel; i++) {
        double as_double = 0.0; /* exact for bool and float; int64 only goes to float */
        int64_t as_int = 0;
        switch (from) {
        case DF_DT_F32: as_double = ((const float *)x)[i]; break;
        case DF_DT_I64: as_int = ((const int64_t *)x)[i]; as_double = (double)as_int; break;
        default: as_int = ((const unsigned char *)x)[i] != 0; as_double = (double)as_int; break;
        }
        switch (to) {
        case DF_DT_F32:
            ((float *)y)[i] = from == DF_DT_I64 ? (float)as_int : (float)as_double;
            break;
        case DF_DT_I64:
            ((int64_t *)y)[i] = from == DF_DT_F32 ? float_to_int((float)as_double) : as_int;
            break;
        default:
            ((unsigned char *)y)[i] = from == DF_DT_I64 ? as_int != 0 : as_double != 0.0;
            break;
        }
    }
}

df_status df_rule_cast(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    int64_t to = df_attr_int(n, "to", -1);
    if (to != DF_DT_F32 && to != DF_DT_I64 && to != DF_DT_BOOL)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "cast to ONNX type %lld is not supported (only float, int64, bool)",
                            (long long)to);
    const df_value *x = df_shape_in(g, n, 0);
    if ((st = df_shape_set_out(g, n, 0, (df_dtype)to, x->rank, x->dims)) != DF_OK ||
        !df_fold_ready(g, n))
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    cast_data(x->dtype, x->data, (df_dtype)to, y, df_shape_numel(x->rank, x->dims));
    n->dead = 1;
    return DF_OK;
}

/* ---- ops that make constants ---------------------------------------------- */

df_status df_rule_shape(df_graph *g, df_node *n)
{
    /* Always folded: the result depends on the input's shape, never its data. */
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    const df_value *x = df_shape_in(g, n, 0);
    int64_t r = x->rank;
    /* start and end (opset 15) are clamped into [0, rank] like Slice's */
    int64_t start = df_attr_int(n, "start", 0), end = df_attr_int(n, "end", r);
    start = start < 0 ? start + r : start;
    end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : (start > r ? r : start);
    end = end < 0 ? 0 : (end > r ? r : end);
    int64_t len = end - start;
    if (len <= 0)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                            "the shape of '%s' (rank %d) from %lld to %lld is an empty tensor",
                            df_shape_name(x), x->rank, (long long)start, (long long)end);
    if ((st = df_shape_set_out(g, n, 0, DF_DT_I64, 1, &len)) != DF_OK)
        return st;
    int64_t *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    memcpy(y, &x->dims[start], sizeof(int64_t) * (size_t)len);
    n->dead = 1;
    return DF_OK;
}

static df_status constant_from(df_graph *g, df_node *n, df_dtype dt, int rank,
                               const int64_t *dims, const void *data)
{
    df_status st = df_shape_set_out(g, n, 0, dt, rank, dims);
    if (st != DF_OK)
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    memcpy(y, data, df_value_bytes(df_shape_out(g, n, 0)));
    n->dead = 1;
    return DF_OK;
}

df_status df_rule_constant(df_graph *g, df_node *n)
{
    /* Always folded, whatever its size: there is nothing to compute. */
    df_status st = df_shape_need_inputs(g, n, 0, 0);
    if (st != DF_OK)
        return st;
    const df_attr *a;
    if ((a = df_node_attr(n, "value")) != NULL) {
        if (a->type != DF_ATTR_TENSOR || a->tensor < 0 || a->tensor >= g->n_values ||
            !g->values[a->tensor].data || g->values[a->tensor].rank < 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "attribute value is not a tensor");
        const df_value *t = &g->values[a->tensor];
        if (t->dtype != DF_DT_F32 && t->dtype != DF_DT_I64 && t->dtype != DF_DT_BOOL)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "tensor of type %s is not supported",
                                df_dtype_name(t->dtype));
        return constant_from(g, n, t->dtype, t->rank, t->dims, t->data);
    }
    if ((a = df_node_attr(n, "value_float")) != NULL && a->type == DF_ATTR_FLOAT)
        return constant_from(g, n, DF_DT_F32, 0, NULL, &a->f);
    if ((a = df_node_attr(n, "value_int")) != NULL && a->type == DF_ATTR_INT)
        return constant_from(g, n, DF_DT_I64, 0, NULL, &a->i);
    int64_t count;
    if ((a = df_node_attr(n, "value_floats")) != NULL && a->type == DF_ATTR_FLOATS) {
        count = a->n;
        return constant_from(g, n, DF_DT_F32, 1, &count, a->floats);
    }
    if ((a = df_node_attr(n, "value_ints")) != NULL && a->type == DF_ATTR_INTS) {
        count = a->n;
        return constant_from(g, n, DF_DT_I64, 1, &count, a->ints);
    }
    return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                        "needs a value, value_float(s) or value_int(s) attribute (sparse and "
                        "string constants are not supported)");
}

df_status df_rule_constant_of_shape(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 1, 1);
    if (st != DF_OK)
        return st;
    const int64_t *shape;
    int64_t rank;
    if ((st = df_shape_const_ints(g, n, 0, "shape", &shape, &rank)) != DF_OK)
        return st;
    const df_value *sv = df_shape_in(g, n, 0);
    if (sv->rank == 1 && sv->dims[0] == 0)
        rank = 0; /* an empty shape makes a scalar */
    if (rank > DF_MAX_RANK)
        return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "output rank %lld is over %d",
                            (long long)rank, DF_MAX_RANK);
    /* the fill value: a one-element tensor, float 0 by default */
    static const unsigned char zero[8];
    df_dtype dt = DF_DT_F32;
    const void *fill = zero;
    const df_attr *a = df_node_attr(n, "value");
    if (a) {
        const df_value *t = a->type == DF_ATTR_TENSOR && a->tensor >= 0 && a->tensor < g->n_values
                                ? &g->values[a->tensor]
                                : NULL;
        if (!t || !t->data || t->rank < 0 || df_shape_numel(t->rank, t->dims) != 1)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL,
                                "attribute value is not a one-element tensor");
        if (t->dtype != DF_DT_F32 && t->dtype != DF_DT_I64 && t->dtype != DF_DT_BOOL)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED, "value of type %s is not supported",
                                df_dtype_name(t->dtype));
        dt = t->dtype;
        fill = t->data;
    }
    if ((st = df_shape_set_out(g, n, 0, dt, (int)rank, shape)) != DF_OK || !df_fold_ready(g, n))
        return st;
    unsigned char *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    size_t elem = df_dtype_size(dt);
    int64_t numel = df_shape_numel((int)rank, shape);
    for (int64_t i = 0; i < numel; i++)
        memcpy(y + i * elem, fill, elem);
    n->dead = 1;
    return DF_OK;
}

/* Number of elements of Range(start, limit, delta) for int64, without overflow. */
static int64_t int_range_count(int64_t start, int64_t limit, int64_t delta)
{
    if ((delta > 0 && limit <= start) || (delta < 0 && limit >= start))
        return 0;
    uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start
                              : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta > 0 ? (uint64_t)delta : (uint64_t)(-(delta + 1)) + 1;
    uint64_t count = 1 + (span - 1) / step;
    return count > (uint64_t)DF_SHAPE_MAX_BYTES ? DF_SHAPE_MAX_BYTES : (int64_t)count;
}

df_status df_rule_range(df_graph *g, df_node *n)
{
    df_status st = df_shape_need_inputs(g, n, 3, 3);
    if (st != DF_OK)
        return st;
    static const char *const roles[3] = {"start", "limit", "delta"};
    const df_value *v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = df_shape_in(g, n, i);
        if (v[i]->dtype != v[0]->dtype || (v[0]->dtype != DF_DT_F32 && v[0]->dtype != DF_DT_I64))
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "inputs must all be float or all int64 (%s is %s)", roles[i],
                                df_dtype_name(v[i]->dtype));
        if (df_shape_numel(v[i]->rank, v[i]->dims) != 1)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "%s input '%s' is not a scalar",
                                roles[i], df_shape_name(v[i]));
        if (!v[i]->data)
            return df_node_fail(g, n, DF_ERR_UNSUPPORTED,
                                "%s input '%s' is not constant; deepfirst needs static shapes",
                                roles[i], df_shape_name(v[i]));
    }
    int is_float = v[0]->dtype == DF_DT_F32;
    int64_t count;
    if (is_float) {
        float start = *(const float *)v[0]->data, limit = *(const float *)v[1]->data;
        float delta = *(const float *)v[2]->data;
        double c = ceil(((double)limit - start) / delta);
        if (delta == 0.0f || !isfinite(c))
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "range %g to %g by %g is invalid",
                                start, limit, delta);
        count = c <= 0 ? 0 : (c > (double)DF_SHAPE_MAX_BYTES ? DF_SHAPE_MAX_BYTES : (int64_t)c);
    } else {
        int64_t delta = *(const int64_t *)v[2]->data;
        if (delta == 0)
            return df_node_fail(g, n, DF_ERR_INVALID_MODEL, "delta is 0");
        count = int_range_count(*(const int64_t *)v[0]->data, *(const int64_t *)v[1]->data,
                                delta);
    }
    if ((st = df_shape_set_out(g, n, 0, v[0]->dtype, 1, &count)) != DF_OK || !df_fold_ready(g, n))
        return st;
    void *y = df_fold_alloc(g, n, 0, &st);
    if (!y)
        return st;
    if (is_float) {
        float value = *(const float *)v[0]->data, delta = *(const float *)v[2]->data;
        for (int64_t i = 0; i < count; i++, value += delta)
            ((float *)y)[i] = value;
    } else {
        /* Every element lies between start and limit, but i * delta alone may
         * not fit: unsigned arithmetic wraps back to the right value. */
        uint64_t start = *(const uint64_t *)v[0]->data, delta = *(const uint64_t *)v[2]->data;
        for (int64_t i = 0; i < count; i++)
            ((int64_t *)y)[i] = (int64_t)(start + (uint64_t)i * delta);
    }
    n->dead = 1;
    return DF_OK;
}
