/* Vector transcendental functions for AVX2/FMA kernels (private to
 * src/kernels/x86/, for files compiled with -mavx2 -mfma).
 *
 * exp: x = n ln2 + r with |r| <= ln2/2, ln2 split in a high part exact in
 * float and a low correction (Cody and Waite), exp(r) by its Taylor series to
 * degree 7 in Horner form (truncation error below 2e-8 relative), and 2^n
 * built in the exponent bits. Inputs are clamped so 2^n stays a normal float;
 * exp of a very negative x gives about 1e-38 instead of a denormal, which no
 * activation here can tell apart from 0. */
#ifndef DF_KERNELS_X86_AVX2_MATH_H
#define DF_KERNELS_X86_AVX2_MATH_H

#include <immintrin.h>

static inline __m256 df_avx2_exp(__m256 x)
{
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 df_avx2_sigmoid(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = df_avx2_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

/* tanh(x) = 1 - 2 / (1 + exp(2x)) loses relative precision near 0 to
 * cancellation, so |x| < 0.3 takes the odd Taylor series to x^9 instead
 * (truncation below 6e-8 relative there). */
static inline __m256 df_avx2_tanh(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    __m256 e = df_avx2_exp(_mm256_mul_ps(two, x));
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(one, e)));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(62.0f / 2835.0f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-17.0f / 315.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.0f / 15.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.0f / 3.0f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), x, x);
    __m256 abs_x = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(abs_x, _mm256_set1_ps(0.3f), _CMP_LT_OQ));
}

static inline __m256 df_avx2_silu(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = df_avx2_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(one, e));
}

#endif
