/* AVX2/FMA elementwise activations: 8 floats per step, with the scalar
 * reference for the tail, so results match df_unary_ref within a few ulps
 * (exactly for the piecewise-linear ones). Ops without a vector form go to
 * the reference. */
#include <immintrin.h>

#include "kernels/x86/avx2_math.h"
#include "kernels/x86/avx2_util.h"
#include "kernels/x86/eltwise_avx2.h"

static inline __m256 apply(df_op op, __m256 x, __m256 a, __m256 b)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (op) {
    case DF_OP_RELU: return _mm256_max_ps(x, zero);
    case DF_OP_CLIP: return _mm256_min_ps(_mm256_max_ps(x, a), b);
    case DF_OP_LEAKYRELU:
        return _mm256_blendv_ps(x, _mm256_mul_ps(x, a), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    case DF_OP_HARDSIGMOID:
        return _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(_mm256_mul_ps(a, x), b), zero), one);
    case DF_OP_HARDSWISH: {
        __m256 v = _mm256_add_ps(_mm256_div_ps(x, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(x, _mm256_min_ps(_mm256_max_ps(v, zero), one));
    }
    case DF_OP_SIGMOID: return df_avx2_sigmoid(x);
    case DF_OP_TANH: return df_avx2_tanh(x);
    case DF_OP_SILU: return df_avx2_silu(x);
    default: return x;
    }
}

int df_unary_has_avx2(df_op op)
{
    switch (op) {
    case DF_OP_RELU: case DF_OP_CLIP: case DF_OP_LEAKYRELU: case DF_OP_HARDSIGMOID:
    case DF_OP_HARDSWISH: case DF_OP_SIGMOID: case DF_OP_TANH: case DF_OP_SILU:
        return 1;
    default:
        return 0;
    }
}

/* One switch per call, not per vector: the compiler hoists it when inlined
 * into per-op loops below. */
#define UNARY_LOOP(OP)                                                                  \
    for (; i + 8 <= n; i += 8)                                                          \
        _mm256_storeu_ps(y + i, apply(OP, _mm256_loadu_ps(x + i), va, vb));

void df_unary_avx2(df_op op, const float *x, float *y, int64_t n, float a, float b)
{
    if (!df_unary_has_avx2(op)) {
        df_unary_ref(op, x, y, n, a, b);
        return;
    }
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    int64_t i = 0;
    switch (op) {
    case DF_OP_RELU: UNARY_LOOP(DF_OP_RELU) break;
    case DF_OP_CLIP: UNARY_LOOP(DF_OP_CLIP) break;
    case DF_OP_LEAKYRELU: UNARY_LOOP(DF_OP_LEAKYRELU) break;
    case DF_OP_HARDSIGMOID: UNARY_LOOP(DF_OP_HARDSIGMOID) break;
    case DF_OP_HARDSWISH: UNARY_LOOP(DF_OP_HARDSWISH) break;
    case DF_OP_SIGMOID: UNARY_LOOP(DF_OP_SIGMOID) break;
    case DF_OP_TANH: UNARY_LOOP(DF_OP_TANH) break;
    case DF_OP_SILU: UNARY_LOOP(DF_OP_SILU) break;
    default: break;
    }
    if (i < n)
        df_unary_ref(op, x + i, y + i, n - i, a, b);
}

void df_scale_shift_act_avx2(const float *x, float *y, const float *scale, const float *shift,
                             int64_t outer, int64_t c, df_act act, float a, float b)
{
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    const int vector_act = df_avx2_act_is_vector(act);
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * c;
        float *yo = y + o * c;
        int64_t ch = 0;
        for (; ch + 8 <= c; ch += 8) {
            __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(xo + ch), _mm256_loadu_ps(scale + ch),
                                       _mm256_loadu_ps(shift + ch));
            if (vector_act)
                v = df_avx2_act(act, v, va, vb);
            _mm256_storeu_ps(yo + ch, v);
            if (!vector_act)
                df_avx2_act_scalar(act, yo + ch, 8, a, b);
        }
        for (; ch < c; ch++)
            yo[ch] = df_act_apply(act, xo[ch] * scale[ch] + shift[ch], a, b);
    }
}

/* ---- binary --------------------------------------------------------------- */

static inline __m256 binary(df_op op, __m256 a, __m256 b)
{
    switch (op) {
    case DF_OP_ADD: return _mm256_add_ps(a, b);
    case DF_OP_SUB: return _mm256_sub_ps(a, b);
    case DF_OP_MUL: return _mm256_mul_ps(a, b);
    default: return _mm256_div_ps(a, b);
    }
}

/* An operand with stride 0 is one value, broadcast once before the loop. */
static inline __m256 operand(const float *p, int64_t stride, int64_t i)
{
    return stride ? _mm256_loadu_ps(p + i) : _mm256_broadcast_ss(p);
}

void df_binary_line_avx2(df_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                         void *out, int64_t n)
{
    const int vector_op = op == DF_OP_ADD || op == DF_OP_SUB || op == DF_OP_MUL || op == DF_OP_DIV;
    if (!vector_op || (sa != 0 && sa != 1) || (sb != 0 && sb != 1)) {
        df_binary_line_ref(op, a, sa, b, sb, out, n);
        return;
    }
    float *y = out;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, binary(op, operand(a, sa, i), operand(b, sb, i)));
    if (i < n)
        df_binary_line_ref(op, a + i * sa, sa, b + i * sb, sb, y + i, n - i);
}
