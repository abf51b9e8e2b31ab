/* Reference convolution: direct, NHWC row bands, OHWI weights, any kernel size,
 * stride, dilation, padding and group count.
 *
 * For each output pixel and output channel it sums over the taps that land
 * inside the input and, per tap, over the input channels of the group, which
 * are contiguous in both the input row and the weight. Taps in the padding are
 * skipped instead of being read as zeros, so the row table needs no entries for
 * padding rows. Bias, then the residual, then the activation are applied to the
 * sum, as in the fused Conv+Add+Act node. */
#include "kernels/kernels.h"
#include "kernels/ref/ref_util.h"

/* Dot product over one tap: the group's input channels of one input pixel.
 * Eight independent partial sums (lane j takes every eighth channel) break the
 * single dependency chain, which lets the compiler use SIMD registers without
 * -ffast-math; this runs several times faster than one accumulator. */
enum { DOT_LANES = 8 };

static float dot(const float *x, const float *w, int n)
{
    float lanes[DOT_LANES] = {0};
    int i = 0;
    for (; i + DOT_LANES <= n; i += DOT_LANES)
        for (int j = 0; j < DOT_LANES; j++)
            lanes[j] += x[i + j] * w[i + j];
    float acc = 0.0f;
    for (; i < n; i++)
        acc += x[i] * w[i];
    for (int j = 0; j < DOT_LANES; j++)
        acc += lanes[j];
    return acc;
}

void df_conv_part_ref(const df_conv_params *p, const float *const *in_rows,
                      float *const *out_rows, const float *const *res_rows, int y0, int y1,
                      int part, int parts)
{
    const int oc_lo = (int)((int64_t)p->out_c * part / parts);
    const int oc_hi = (int)((int64_t)p->out_c * (part + 1) / parts);
    const int in_per_group = p->in_c / p->groups;
    const int out_per_group = p->out_c / p->groups;
    const size_t weights_per_oc = (size_t)p->k_h * p->k_w * in_per_group;

    for (int y = y0; y < y1; y++) {
        float *out = out_rows[y];
        const float *res = res_rows ? res_rows[y] : NULL;
        const int iy0 = y * p->stride_h - p->pad_top;
        int ky_lo, ky_hi;
        df_ref_valid_taps(iy0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);

        for (int x = 0; x < p->out_w; x++) {
            const int ix0 = x * p->stride_w - p->pad_left;
            int kx_lo, kx_hi;
            df_ref_valid_taps(ix0, p->dil_w, p->k_w, p->in_w, &kx_lo, &kx_hi);
            float *out_px = out + (size_t)x * p->out_c;
            const float *res_px = res ? res + (size_t)x * p->out_c : NULL;

            for (int oc = oc_lo; oc < oc_hi; oc++) {
                const int group_c0 = (oc / out_per_group) * in_per_group;
                const float *w_oc = p->weight + (size_t)oc * weights_per_oc;
                float acc = p->bias ? p->bias[oc] : 0.0f;

                for (int ky = ky_lo; ky < ky_hi; ky++) {
                    const float *in_row = in_rows[iy0 + ky * p->dil_h];
                    const float *w_row = w_oc + (size_t)ky * p->k_w * in_per_group;
                    for (int kx = kx_lo; kx < kx_hi; kx++) {
                        const float *in_px =
                            in_row + (size_t)(ix0 + kx * p->dil_w) * p->in_c + group_c0;
                        acc += dot(in_px, w_row + (size_t)kx * in_per_group, in_per_group);
                    }
                }
                if (res_px)
                    acc += res_px[oc];
                out_px[oc] = df_act_apply(p->act, acc, p->act_alpha, p->act_beta);
            }
        }
    }
}

void df_conv_rows_ref(const df_conv_params *p, const float *const *in_rows,
                      float *const *out_rows, const float *const *res_rows, int y0, int y1)
{
    df_conv_part_ref(p, in_rows, out_rows, res_rows, y0, y1, 0, 1);
}
