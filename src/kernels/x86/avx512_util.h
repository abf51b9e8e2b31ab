/* Helpers shared by the AVX-512 kernels (private to src/kernels/x86/, and only
 * for files compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl): channel
 * tail masks, valid-tap ranges and the vectorised epilogue activations.
 *
 * exp, sigmoid, tanh and SiLU are the formulas of avx2_math.h on 16 lanes:
 * exp(x) = 2^n exp(r), x = n ln2 + r with |r| <= ln2/2 (Cody and Waite split of
 * ln2), exp(r) by its Taylor series to degree 7, 2^n built in the exponent
 * bits; tanh near 0 by its odd series to x^9. Lane selection uses mask
 * registers instead of blends. */
#ifndef DF_KERNELS_X86_AVX512_UTIL_H
#define DF_KERNELS_X86_AVX512_UTIL_H

#include <immintrin.h>

#include "kernels/kernels.h"

#ifndef DF_ALWAYS_INLINE
#define DF_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

/* Mask of the first n lanes (n may be <= 0 or >= 16): for the masked loads and
 * stores of a channel tail, which touch no float past the end of a row. */
static inline __mmask16 df_avx512_tail_mask(int n)
{
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* The taps k in [0, k_n) whose position start + k * dil lies in [0, n), as
 * [*lo, *hi) (empty when equal). */
static inline void df_avx512_valid_taps(int start, int dil, int k_n, int n, int *lo, int *hi)
{
    int first = start < 0 ? (-start + dil - 1) / dil : 0;
    int end = start < n ? (n - 1 - start) / dil + 1 : 0;
    if (end > k_n)
        end = k_n;
    if (end < first)
        end = first;
    *lo = first;
    *hi = end;
}

static inline __m512 df_avx512_exp(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f);
    const __m512 ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline __m512 df_avx512_sigmoid(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = df_avx512_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

/* 1 - 2 / (1 + exp(2x)), or the odd Taylor series where |x| < 0.3. */
static inline __m512 df_avx512_tanh(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    __m512 e = df_avx512_exp(_mm512_mul_ps(two, x));
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(one, e)));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(62.0f / 2835.0f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-17.0f / 315.0f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.0f / 15.0f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.0f / 3.0f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, x2), x, x);
    __mmask16 near0 = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(0.3f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(near0, big, small);
}

static inline __m512 df_avx512_silu(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = df_avx512_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(one, e));
}

/* Activations with a vector form here: all of them today. One added later
 * without a case below is applied per element after the store (see
 * df_avx512_act_scalar), as long as this function says so. */
static inline int df_avx512_act_is_vector(df_act act)
{
    switch (act) {
    case DF_ACT_NONE: case DF_ACT_RELU: case DF_ACT_CLIP: case DF_ACT_LEAKYRELU:
    case DF_ACT_HARDSIGMOID: case DF_ACT_HARDSWISH: case DF_ACT_SIGMOID: case DF_ACT_TANH:
    case DF_ACT_SILU:
        return 1;
    }
    return 0;
}

static DF_ALWAYS_INLINE __m512 df_avx512_act(df_act act, __m512 x, __m512 alpha, __m512 beta)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case DF_ACT_RELU: return _mm512_max_ps(x, zero);
    case DF_ACT_CLIP: return _mm512_min_ps(_mm512_max_ps(x, alpha), beta);
    case DF_ACT_LEAKYRELU: {
        /* x >= 0 ? x : alpha * x: multiply only the negative lanes */
        __mmask16 neg = _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
        return _mm512_mask_mul_ps(x, neg, x, alpha);
    }
    case DF_ACT_HARDSIGMOID: {
        __m512 v = _mm512_add_ps(_mm512_mul_ps(alpha, x), beta);
        return _mm512_min_ps(_mm512_max_ps(v, zero), one);
    }
    case DF_ACT_HARDSWISH: {
        /* x * clamp(x / 6 + 1/2, 0, 1); a division, as the reference does */
        __m512 v = _mm512_add_ps(_mm512_div_ps(x, _mm512_set1_ps(6.0f)), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(x, _mm512_min_ps(_mm512_max_ps(v, zero), one));
    }
    case DF_ACT_SIGMOID: return df_avx512_sigmoid(x);
    case DF_ACT_TANH: return df_avx512_tanh(x);
    case DF_ACT_SILU: return df_avx512_silu(x);
    case DF_ACT_NONE:
        break;
    }
    return x;
}

/* Scalar pass for the activations df_avx512_act leaves alone. */
static inline void df_avx512_act_scalar(df_act act, float *x, int n, float a, float b)
{
    for (int i = 0; i < n; i++)
        x[i] = df_act_apply(act, x[i], a, b);
}

#endif
