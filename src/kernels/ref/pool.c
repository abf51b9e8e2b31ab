/* Reference pooling: MaxPool and AveragePool on NHWC row bands, and the global
 * (whole image) versions.
 *
 * Windows are clipped to the input once per output row and column, and each
 * output pixel accumulates its channels directly in the output row, so the
 * innermost loop runs over contiguous channels.
 *
 * Choices where ONNX leaves room (they match ONNX Runtime):
 * - Max ignores padding. A window with no element inside the input (only
 *   possible when a pad is at least the kernel extent) yields -FLT_MAX. NaN
 *   inputs are skipped by the comparison, so a window of only NaN yields
 *   -FLT_MAX too.
 * - Average divides by the count of elements inside the input, or, with
 *   count_include_pad, by the count of window positions inside the padded input
 *   [-pad_top, in_h + pad_bottom) x [-pad_left, in_w + pad_right); positions a
 *   ceil_mode window reaches past the padded end do not count. A window with
 *   nothing to count yields 0. */
#include <float.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref_util.h"

void df_pool_rows_ref(const df_pool_params *p, const float *const *in_rows,
                      float *const *out_rows, int y0, int y1)
{
    const int c = p->c;
    const int padded_h = p->in_h + p->pad_top + p->pad_bottom;
    const int padded_w = p->in_w + p->pad_left + p->pad_right;

    for (int y = y0; y < y1; y++) {
        float *out = out_rows[y];
        const int iy0 = y * p->stride_h - p->pad_top;
        int ky_lo, ky_hi, pad_lo, pad_hi;
        df_ref_valid_taps(iy0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);
        df_ref_valid_taps(iy0 + p->pad_top, p->dil_h, p->k_h, padded_h, &pad_lo, &pad_hi);
        const int padded_rows = pad_hi - pad_lo;

        for (int x = 0; x < p->out_w; x++) {
            const int ix0 = x * p->stride_w - p->pad_left;
            int kx_lo, kx_hi;
            df_ref_valid_taps(ix0, p->dil_w, p->k_w, p->in_w, &kx_lo, &kx_hi);
            df_ref_valid_taps(ix0 + p->pad_left, p->dil_w, p->k_w, padded_w, &pad_lo, &pad_hi);
            const int padded_cols = pad_hi - pad_lo;
            float *o = out + (size_t)x * c;

            for (int ch = 0; ch < c; ch++)
                o[ch] = p->is_max ? -FLT_MAX : 0.0f;

            for (int ky = ky_lo; ky < ky_hi; ky++) {
                const float *in_row = in_rows[iy0 + ky * p->dil_h];
                for (int kx = kx_lo; kx < kx_hi; kx++) {
                    const float *px = in_row + (size_t)(ix0 + kx * p->dil_w) * c;
                    if (p->is_max) {
                        for (int ch = 0; ch < c; ch++)
                            if (px[ch] > o[ch])
                                o[ch] = px[ch];
                    } else {
                        for (int ch = 0; ch < c; ch++)
                            o[ch] += px[ch];
                    }
                }
            }

            if (!p->is_max) {
                const int count = p->count_include_pad ? padded_rows * padded_cols
                                                       : (ky_hi - ky_lo) * (kx_hi - kx_lo);
                for (int ch = 0; ch < c; ch++)
                    o[ch] = count > 0 ? o[ch] / (float)count : 0.0f;
            }
        }
    }
}

/* An empty image (hw == 0) yields 0 for both mean and max. */
void df_global_pool_ref(const float *x, float *y, int64_t n, int64_t hw, int64_t c, int is_max)
{
    for (int64_t b = 0; b < n; b++) {
        const float *img = x + b * hw * c;
        float *out = y + b * c;
        if (hw == 0) {
            for (int64_t ch = 0; ch < c; ch++)
                out[ch] = 0.0f;
            continue;
        }
        for (int64_t ch = 0; ch < c; ch++)
            out[ch] = img[ch];
        for (int64_t i = 1; i < hw; i++) {
            const float *px = img + i * c;
            if (is_max) {
                for (int64_t ch = 0; ch < c; ch++)
                    if (px[ch] > out[ch])
                        out[ch] = px[ch];
            } else {
                for (int64_t ch = 0; ch < c; ch++)
                    out[ch] += px[ch];
            }
        }
        if (!is_max)
            for (int64_t ch = 0; ch < c; ch++)
                out[ch] /= (float)hw;
    }
}
