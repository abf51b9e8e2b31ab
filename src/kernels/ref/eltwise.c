/* Reference elementwise kernels: unary ops, broadcasting binary ops (numpy
 * rules, through per-dimension strides with 0 for a broadcast dimension),
 * broadcast copies and the per-channel scale and shift of an unfused
 * BatchNormalization.
 *
 * Broadcast walks go over all output dimensions but the last with an index
 * counter and run a tight loop over the last one, whose operand strides are
 * then fixed. */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref_util.h"

/* ---- unary ---------------------------------------------------------------- */

static int op_activation(df_op op, df_act *act)
{
    switch (op) {
    case DF_OP_RELU: *act = DF_ACT_RELU; return 1;
    case DF_OP_CLIP: *act = DF_ACT_CLIP; return 1;
    case DF_OP_LEAKYRELU: *act = DF_ACT_LEAKYRELU; return 1;
    case DF_OP_SIGMOID: *act = DF_ACT_SIGMOID; return 1;
    case DF_OP_HARDSIGMOID: *act = DF_ACT_HARDSIGMOID; return 1;
    case DF_OP_HARDSWISH: *act = DF_ACT_HARDSWISH; return 1;
    case DF_OP_TANH: *act = DF_ACT_TANH; return 1;
    case DF_OP_SILU: *act = DF_ACT_SILU; return 1;
    default: return 0;
    }
}

/* a, b are the activation's parameters (Clip min/max, LeakyRelu alpha,
 * HardSigmoid alpha/beta). Any op not listed in kernels.h (Identity, Dropout at
 * inference) copies x. x may equal y. */
void df_unary_ref(df_op op, const float *x, float *y, int64_t n, float a, float b)
{
    df_act act;
    if (op_activation(op, &act)) {
        for (int64_t i = 0; i < n; i++)
            y[i] = df_act_apply(act, x[i], a, b);
        return;
    }
    switch (op) {
    case DF_OP_NEG:
        for (int64_t i = 0; i < n; i++)
            y[i] = -x[i];
        break;
    case DF_OP_SQRT:
        for (int64_t i = 0; i < n; i++)
            y[i] = sqrtf(x[i]);
        break;
    case DF_OP_EXP:
        for (int64_t i = 0; i < n; i++)
            y[i] = expf(x[i]);
        break;
    case DF_OP_ABS:
        for (int64_t i = 0; i < n; i++)
            y[i] = fabsf(x[i]);
        break;
    default:
        if (x != y)
            memmove(y, x, (size_t)n * sizeof *y);
        break;
    }
}

/* ---- binary --------------------------------------------------------------- */

void df_binary_line_ref(df_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                        void *out, int64_t n)
{
    float *y = out;
    switch (op) {
    case DF_OP_ADD:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] + b[i * sb];
        break;
    case DF_OP_SUB:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] - b[i * sb];
        break;
    case DF_OP_MUL:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] * b[i * sb];
        break;
    case DF_OP_DIV:
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * sa] / b[i * sb];
        break;
    case DF_OP_POW:
        for (int64_t i = 0; i < n; i++)
            y[i] = powf(a[i * sa], b[i * sb]);
        break;
    case DF_OP_EQUAL: {
        uint8_t *eq = out;
        for (int64_t i = 0; i < n; i++)
            eq[i] = a[i * sa] == b[i * sb];
        break;
    }
    default:
        memset(out, 0, (size_t)n * sizeof(float));
        break;
    }
}

/* Integer division as C does it (truncating toward zero), made total: x / 0
 * gives 0 and INT64_MIN / -1 gives INT64_MIN (the wrapped quotient), where C
 * would have undefined behaviour. */
static int64_t div_i64(int64_t x, int64_t d)
{
    if (d == 0)
        return 0;
    if (d == -1)
        return x == INT64_MIN ? INT64_MIN : -x;
    return x / d;
}

/* Add, subtract and multiply wrap around on overflow (two's complement), as
 * numpy does: the arithmetic is done on uint64_t, where wrapping is defined. */
static void binary_line_i64(df_op op, const int64_t *a, int64_t sa, const int64_t *b,
                            int64_t sb, void *out, int64_t n)
{
    int64_t *y = out;
    switch (op) {
    case DF_OP_ADD:
        for (int64_t i = 0; i < n; i++)
            y[i] = (int64_t)((uint64_t)a[i * sa] + (uint64_t)b[i * sb]);
        break;
    case DF_OP_SUB:
        for (int64_t i = 0; i < n; i++)
            y[i] = (int64_t)((uint64_t)a[i * sa] - (uint64_t)b[i * sb]);
        break;
    case DF_OP_MUL:
        for (int64_t i = 0; i < n; i++)
            y[i] = (int64_t)((uint64_t)a[i * sa] * (uint64_t)b[i * sb]);
        break;
    case DF_OP_DIV:
        for (int64_t i = 0; i < n; i++)
            y[i] = div_i64(a[i * sa], b[i * sb]);
        break;
    case DF_OP_EQUAL: {
        uint8_t *eq = out;
        for (int64_t i = 0; i < n; i++)
            eq[i] = a[i * sa] == b[i * sb];
        break;
    }
    default:
        memset(out, 0, (size_t)n * sizeof(int64_t));
        break;
    }
}

/* The compiler only asks for the pairs of op and dtype that kernels.h lists.
 * Should another op come with F32 or I64, y gets zeros rather than stale data;
 * any other dtype leaves y untouched, since its element size is not known here. */
void df_binary_ref(df_op op, df_dtype dt, const void *a, const int64_t *a_strides,
                   const void *b, const int64_t *b_strides, void *y, int rank,
                   const int64_t *y_dims)
{
    if ((dt != DF_DT_F32 && dt != DF_DT_I64) || df_ref_numel(rank, y_dims) == 0)
        return;
    const size_t in_elem = dt == DF_DT_I64 ? sizeof(int64_t) : sizeof(float);
    const size_t out_elem = op == DF_OP_EQUAL ? 1 : in_elem;
    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int64_t n = rank > 0 ? y_dims[rank - 1] : 1;
    const int64_t sa = rank > 0 ? a_strides[rank - 1] : 0;
    const int64_t sb = rank > 0 ? b_strides[rank - 1] : 0;
    int64_t idx[DF_MAX_RANK] = {0};
    char *out = y;

    do {
        const int64_t off_a = df_ref_offset(outer_rank, idx, a_strides);
        const int64_t off_b = df_ref_offset(outer_rank, idx, b_strides);
        if (dt == DF_DT_I64)
            binary_line_i64(op, (const int64_t *)a + off_a, sa, (const int64_t *)b + off_b,
                            sb, out, n);
        else
            df_binary_line_ref(op, (const float *)a + off_a, sa, (const float *)b + off_b, sb,
                               out, n);
        out += (size_t)n * out_elem;
    } while (df_ref_next_index(outer_rank, y_dims, idx));
}

int df_binary_coalesce(int rank, int64_t *y_dims, int64_t *a_strides, int64_t *b_strides)
{
    int r = 0;
    for (int d = 0; d < rank; d++) {
        if (y_dims[d] == 1)
            continue;
        if (r > 0 && a_strides[r - 1] == a_strides[d] * y_dims[d] &&
            b_strides[r - 1] == b_strides[d] * y_dims[d]) {
            /* dimension r - 1 steps over exactly one run of d: one dimension */
            y_dims[r - 1] *= y_dims[d];
            a_strides[r - 1] = a_strides[d];
            b_strides[r - 1] = b_strides[d];
            continue;
        }
        y_dims[r] = y_dims[d];
        a_strides[r] = a_strides[d];
        b_strides[r] = b_strides[d];
        r++;
    }
    if (r == 0) {
        y_dims[0] = 1;
        a_strides[0] = b_strides[0] = 0;
        r = 1;
    }
    return r;
}

void df_broadcast_strides(int in_rank, const int64_t *in_dims, int out_rank,
                          const int64_t *out_dims, int64_t *strides)
{
    const int lead = out_rank - in_rank; /* output dims the operand lacks */
    int64_t s = 1;
    for (int d = out_rank - 1; d >= 0; d--) {
        const int in_d = d - lead;
        if (in_d < 0) {
            strides[d] = 0;
            continue;
        }
        /* a size-1 dimension repeats its one element along the output */
        strides[d] = in_dims[in_d] == 1 && out_dims[d] != 1 ? 0 : s;
        s *= in_dims[in_d];
    }
}

void df_broadcast_copy(const void *x, const int64_t *x_strides, void *y, size_t elem, int rank,
                       const int64_t *y_dims)
{
    if (df_ref_numel(rank, y_dims) == 0)
        return;
    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int64_t n = rank > 0 ? y_dims[rank - 1] : 1;
    const int64_t sx = rank > 0 ? x_strides[rank - 1] : 0;
    int64_t idx[DF_MAX_RANK] = {0};
    char *out = y;

    do {
        const char *src = (const char *)x + df_ref_offset(outer_rank, idx, x_strides) * elem;
        for (int64_t i = 0; i < n; i++)
            df_ref_copy_elem(out + (size_t)i * elem, src + (size_t)(i * sx) * elem, elem);
        out += (size_t)n * elem;
    } while (df_ref_next_index(outer_rank, y_dims, idx));
}

void df_scale_shift_ref(const float *x, float *y, const float *scale, const float *shift,
                        int64_t outer, int64_t c)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < c; ch++)
            y[o * c + ch] = x[o * c + ch] * scale[ch] + shift[ch];
}

void df_scale_shift_act_ref(const float *x, float *y, const float *scale, const float *shift,
                            int64_t outer, int64_t c, df_act act, float a, float b)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < c; ch++)
            y[o * c + ch] = df_act_apply(act, x[o * c + ch] * scale[ch] + shift[ch], a, b);
}
