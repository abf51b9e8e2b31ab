/* Helpers shared by the AVX2/FMA kernels (private to src/kernels/x86/, and
 * only for files compiled with -mavx2 -mfma): channel-tail masks and the
 * vectorised epilogue activations. */
#ifndef DF_KERNELS_X86_AVX2_UTIL_H
#define DF_KERNELS_X86_AVX2_UTIL_H

#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/x86/avx2_math.h"

#define DF_ALWAYS_INLINE inline __attribute__((always_inline))

/* Mask whose first n lanes (0 <= n <= 8) are set: for maskload/maskstore of a
 * channel tail, so that no float past the end of a row is read or written. */
static inline __m256i df_avx2_tail_mask(int n)
{
    static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(lanes + 8 - n));
}

/* The first n (0 <= n <= 8) lanes of v to p, nothing past them. Not
 * VMASKMOVPS: AMD cores run its stores as microcode (a 3-channel NCHW -> NHWC
 * transpose, all tail stores, ran 3x slower than an element-by-element copy),
 * so tails go out as 4-, 2- and 1-lane stores. */
static DF_ALWAYS_INLINE void df_avx2_store_first(float *p, __m256 v, int n)
{
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(p, part);
        part = _mm256_extractf128_ps(v, 1);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)(void *)p, part);
        part = _mm_movehl_ps(part, part);
        p += 2;
        n -= 2;
    }
    if (n)
        _mm_store_ss(p, part);
}

/* The taps k in [0, k_n) whose position start + k * dil lies in [0, n), as
 * [*lo, *hi) (empty when equal): computed once per row or pixel, so the
 * inner loops need no bounds checks. */
static inline void df_avx2_valid_taps(int start, int dil, int k_n, int n, int *lo, int *hi)
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

/* Activations with a vector form here: all of them today. One added later
 * without a case below is applied per element after the store, with
 * df_act_apply, as long as this function says so. */
static inline int df_avx2_act_is_vector(df_act act)
{
    switch (act) {
    case DF_ACT_NONE: case DF_ACT_RELU: case DF_ACT_CLIP: case DF_ACT_LEAKYRELU:
    case DF_ACT_HARDSIGMOID: case DF_ACT_HARDSWISH: case DF_ACT_SIGMOID: case DF_ACT_TANH:
    case DF_ACT_SILU:
        return 1;
    }
    return 0;
}

static DF_ALWAYS_INLINE __m256 df_avx2_act(df_act act, __m256 x, __m256 alpha, __m256 beta)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (act) {
    case DF_ACT_RELU: return _mm256_max_ps(x, zero);
    case DF_ACT_CLIP: return _mm256_min_ps(_mm256_max_ps(x, alpha), beta);
    case DF_ACT_LEAKYRELU: {
        /* x >= 0 ? x : alpha * x, as a blend on the sign test */
        __m256 neg = _mm256_cmp_ps(x, zero, _CMP_LT_OQ);
        return _mm256_blendv_ps(x, _mm256_mul_ps(x, alpha), neg);
    }
    case DF_ACT_HARDSIGMOID: {
        __m256 v = _mm256_add_ps(_mm256_mul_ps(alpha, x), beta);
        return _mm256_min_ps(_mm256_max_ps(v, zero), one);
    }
    case DF_ACT_HARDSWISH: {
        /* x * clamp(x / 6 + 1/2, 0, 1); a division, as the reference does */
        __m256 v = _mm256_add_ps(_mm256_div_ps(x, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(x, _mm256_min_ps(_mm256_max_ps(v, zero), one));
    }
    case DF_ACT_SIGMOID: return df_avx2_sigmoid(x);
    case DF_ACT_TANH: return df_avx2_tanh(x);
    case DF_ACT_SILU: return df_avx2_silu(x);
    case DF_ACT_NONE:
        break;
    }
    return x;
}

/* Scalar pass for the activations df_avx2_act leaves alone. */
static inline void df_avx2_act_scalar(df_act act, float *x, int n, float a, float b)
{
    for (int i = 0; i < n; i++)
        x[i] = df_act_apply(act, x[i], a, b);
}

#endif
