/* Reference dense kernels: Gemm (also MatMul and the 1x1 conv as a GEMM),
 * Softmax and ReduceMean. */
#include <math.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref_util.h"

/* Y must not overlap A, B or C: a row of Y serves as the accumulator before C
 * is read. When B is stored row-major (trans_b = 0) the row of Y is built as a
 * sum of rows of B, so the inner loop is contiguous; transposed B makes each
 * Y(m,n) a contiguous dot product over k instead. C, when given, is always
 * added as beta * C, even when beta is 0 (as ONNX's reference does). */
void df_gemm_ref(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                 int trans_a, const float *B, int64_t ldb, int trans_b, float beta,
                 const float *C, int64_t c_stride_m, int64_t c_stride_n, float *Y, int64_t ldy)
{
    const int64_t a_step_m = trans_a ? 1 : lda; /* A(m,k) = A[m*a_step_m + k*a_step_k] */
    const int64_t a_step_k = trans_a ? lda : 1;

    for (int64_t m = 0; m < M; m++) {
        const float *a_row = A + m * a_step_m;
        float *y = Y + m * ldy;

        if (!trans_b) {
            for (int64_t n = 0; n < N; n++)
                y[n] = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const float a = a_row[k * a_step_k];
                const float *b_row = B + k * ldb;
                for (int64_t n = 0; n < N; n++)
                    y[n] += a * b_row[n];
            }
        } else {
            for (int64_t n = 0; n < N; n++) {
                const float *b_col = B + n * ldb;
                float acc = 0.0f;
                for (int64_t k = 0; k < K; k++)
                    acc += a_row[k * a_step_k] * b_col[k];
                y[n] = acc;
            }
        }

        for (int64_t n = 0; n < N; n++) {
            float v = alpha * y[n];
            if (C)
                v += beta * C[m * c_stride_m + n * c_stride_n];
            y[n] = v;
        }
    }
}

/* Subtracting the maximum keeps expf from overflowing; the result is the same.
 * y may equal x: each element is read before it is overwritten. */
void df_softmax_ref(const float *x, float *y, int64_t outer, int64_t n, int64_t inner)
{
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const float *xs = x + o * n * inner + i;
            float *ys = y + o * n * inner + i;
            if (n == 0)
                continue;
            float max = xs[0];
            for (int64_t j = 1; j < n; j++)
                if (xs[j * inner] > max)
                    max = xs[j * inner];
            float sum = 0.0f;
            for (int64_t j = 0; j < n; j++) {
                const float e = expf(xs[j * inner] - max);
                ys[j * inner] = e;
                sum += e;
            }
            for (int64_t j = 0; j < n; j++)
                ys[j * inner] /= sum;
        }
    }
}

/* Sums every element of x into its output element (reduced dimensions have
 * output stride 0), then divides by the number of elements reduced. An empty
 * reduction (a reduced dimension of size 0) yields 0. */
void df_reduce_mean_ref(const float *x, float *y, int rank, const int64_t *dims,
                        const int *reduce)
{
    int64_t out_strides[DF_MAX_RANK];
    int64_t out_n = 1, count = 1;
    for (int d = rank - 1; d >= 0; d--) {
        if (reduce[d]) {
            out_strides[d] = 0;
            count *= dims[d];
        } else {
            out_strides[d] = out_n;
            out_n *= dims[d];
        }
    }
    for (int64_t i = 0; i < out_n; i++)
        y[i] = 0.0f;
    if (out_n == 0 || count == 0)
        return;

    const int outer_rank = rank > 0 ? rank - 1 : 0;
    const int64_t n = rank > 0 ? dims[rank - 1] : 1;
    const int64_t s_last = rank > 0 ? out_strides[rank - 1] : 0;
    int64_t idx[DF_MAX_RANK] = {0};
    const float *in = x;
    do {
        float *out = y + df_ref_offset(outer_rank, idx, out_strides);
        for (int64_t i = 0; i < n; i++)
            out[i * s_last] += in[i];
        in += n;
    } while (df_ref_next_index(outer_rank, dims, idx));

    for (int64_t i = 0; i < out_n; i++)
        y[i] /= (float)count;
}
