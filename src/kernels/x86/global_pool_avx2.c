/* AVX2 global average and max pooling on NHWC: x [n][hw][c] -> y [n][c].
 *
 * Pixel by pixel, like the reference: the output row stays in L1 as the
 * accumulator and each pixel's channels are added (or maxed) into it 8 at a
 * time, with a masked channel tail. Each channel's sum runs over hw in the
 * reference's order and the mean divides by hw as it does, and max keeps the
 * running value unless the new one is greater (so NaNs behave the same): the
 * results equal df_global_pool_ref's bit for bit. */
#include <immintrin.h>

#include "kernels/x86/avx2_util.h"
#include "kernels/x86/dense_movement_x86.h"

static DF_ALWAYS_INLINE __m256 combine(int is_max, __m256 acc, __m256 v)
{
    /* max_ps(v, acc) is v > acc ? v : acc, the reference's test */
    return is_max ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
}

static DF_ALWAYS_INLINE void pool_image(const int is_max, const float *img, float *out,
                                        int64_t hw, int64_t c)
{
    const int64_t c8 = c & ~(int64_t)7;
    const int n_tail = (int)(c - c8);
    const __m256i tail = df_avx2_tail_mask(n_tail);
    for (int64_t ch = 0; ch < c8; ch += 8)
        _mm256_storeu_ps(out + ch, _mm256_loadu_ps(img + ch));
    if (c8 < c)
        df_avx2_store_first(out + c8, _mm256_maskload_ps(img + c8, tail), n_tail);
    for (int64_t i = 1; i < hw; i++) {
        const float *px = img + i * c;
        for (int64_t ch = 0; ch < c8; ch += 8) {
            const __m256 v = _mm256_loadu_ps(px + ch);
            _mm256_storeu_ps(out + ch, combine(is_max, _mm256_loadu_ps(out + ch), v));
        }
        if (c8 < c) {
            const __m256 v = _mm256_maskload_ps(px + c8, tail);
            df_avx2_store_first(out + c8, combine(is_max, _mm256_maskload_ps(out + c8, tail), v),
                                n_tail);
        }
    }
    if (is_max)
        return;
    const __m256 count = _mm256_set1_ps((float)hw);
    for (int64_t ch = 0; ch < c8; ch += 8)
        _mm256_storeu_ps(out + ch, _mm256_div_ps(_mm256_loadu_ps(out + ch), count));
    if (c8 < c)
        df_avx2_store_first(out + c8, _mm256_div_ps(_mm256_maskload_ps(out + c8, tail), count),
                            n_tail);
}

void df_global_pool_avx2(const float *x, float *y, int64_t n, int64_t hw, int64_t c, int is_max)
{
    if (hw == 0) {
        df_global_pool_ref(x, y, n, hw, c, is_max);
        return;
    }
    for (int64_t b = 0; b < n; b++) {
        if (is_max)
            pool_image(1, x + b * hw * c, y + b * c, hw, c);
        else
            pool_image(0, x + b * hw * c, y + b * c, hw, c);
    }
}
