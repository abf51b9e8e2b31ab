/* AVX2/FMA GEMM: Y = alpha * op(A) * op(B) + beta * C with df_gemm_ref's
 * contract, for the two shapes CNNs and attention blocks have.
 *
 * trans_b = 1, trans_a = 0 (Gemm of a classifier: B is the [N][K] weight
 * matrix): every Y(m,n) is a dot product of two contiguous rows. Tiles of up
 * to 3 rows of A by 4 rows of B keep 12 accumulators of 8 lanes over k, so
 * each vector of B loaded serves every row of A in the tile; the k tail is a
 * masked load (zeros past the end), and four accumulators are summed across
 * lanes at once. Tiles of B are the outer loop, so B streams from memory
 * once whatever M is; with one row of A this is a GEMV bound by that stream.
 *
 * trans_b = 0 (MatMul): rows of Y are built as sums of rows of B, in tiles of
 * 6 rows by 16 columns (12 accumulators; A's elements are broadcast, so A may
 * be transposed); the column tail is masked.
 *
 * trans_a = trans_b = 1 goes to the reference. Sums run in another order than
 * the reference's, so results differ by rounding. */
#include <immintrin.h>

#include "kernels/x86/avx2_util.h"
#include "kernels/x86/dense_movement_x86.h"

static inline float c_at(const float *C, int64_t csm, int64_t csn, int64_t m, int64_t n)
{
    return C[m * csm + n * csn];
}

/* [sum(a0), sum(a1), sum(a2), sum(a3)] */
static DF_ALWAYS_INLINE __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    const __m256 s01 = _mm256_hadd_ps(a0, a1), s23 = _mm256_hadd_ps(a2, a3);
    const __m256 s = _mm256_hadd_ps(s01, s23);
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* ---- trans_b = 1: dot products ------------------------------------------- */

#define DOT_MR 3
#define DOT_NR 4

static DF_ALWAYS_INLINE void dot_tile(const int MR, const int NR, int64_t K, const float *A,
                                      int64_t lda, const float *B, int64_t ldb, float alpha,
                                      float beta, const float *C, int64_t csm, int64_t csn,
                                      float *Y, int64_t ldy, int64_t m0, int64_t n0)
{
    __m256 acc[DOT_MR][DOT_NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            acc[i][j] = _mm256_setzero_ps();
    const float *a_row[DOT_MR], *b_row[DOT_NR];
    for (int i = 0; i < MR; i++)
        a_row[i] = A + (m0 + i) * lda;
    for (int j = 0; j < NR; j++)
        b_row[j] = B + (n0 + j) * ldb;

    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 a[DOT_MR];
        for (int i = 0; i < MR; i++)
            a[i] = _mm256_loadu_ps(a_row[i] + k);
        for (int j = 0; j < NR; j++) {
            const __m256 b = _mm256_loadu_ps(b_row[j] + k);
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm256_fmadd_ps(a[i], b, acc[i][j]);
        }
    }
    if (k < K) {
        const __m256i mask = df_avx2_tail_mask((int)(K - k));
        __m256 a[DOT_MR];
        for (int i = 0; i < MR; i++)
            a[i] = _mm256_maskload_ps(a_row[i] + k, mask);
        for (int j = 0; j < NR; j++) {
            const __m256 b = _mm256_maskload_ps(b_row[j] + k, mask);
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm256_fmadd_ps(a[i], b, acc[i][j]);
        }
    }

    for (int i = 0; i < MR; i++) {
        for (int j = NR; j < DOT_NR; j++)
            acc[i][j] = _mm256_setzero_ps();
        float s[4];
        _mm_storeu_ps(s, hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
        float *y = Y + (m0 + i) * ldy + n0;
        for (int j = 0; j < NR; j++) {
            float v = alpha * s[j];
            if (C)
                v += beta * c_at(C, csm, csn, m0 + i, n0 + j);
            y[j] = v;
        }
    }
}

#define DOT_CALL(MR, NR)                                                                     \
    dot_tile(MR, NR, K, A, lda, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0, n0)

static void gemm_dot(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, const float *C, int64_t csm,
                     int64_t csn, float *Y, int64_t ldy)
{
    /* rows of B outside: each tile of B is read from memory once and reused
     * from L1 by every band of A */
    for (int64_t n0 = 0; n0 < N; n0 += DOT_NR) {
        const int64_t nr = N - n0 < DOT_NR ? N - n0 : DOT_NR;
        for (int64_t m0 = 0; m0 < M; m0 += DOT_MR) {
            const int64_t mr = M - m0 < DOT_MR ? M - m0 : DOT_MR;
            switch (mr * 8 + nr) {
            case 3 * 8 + 4: DOT_CALL(3, 4); break;
            case 3 * 8 + 3: DOT_CALL(3, 3); break;
            case 3 * 8 + 2: DOT_CALL(3, 2); break;
            case 3 * 8 + 1: DOT_CALL(3, 1); break;
            case 2 * 8 + 4: DOT_CALL(2, 4); break;
            case 2 * 8 + 3: DOT_CALL(2, 3); break;
            case 2 * 8 + 2: DOT_CALL(2, 2); break;
            case 2 * 8 + 1: DOT_CALL(2, 1); break;
            case 1 * 8 + 4: DOT_CALL(1, 4); break;
            case 1 * 8 + 3: DOT_CALL(1, 3); break;
            case 1 * 8 + 2: DOT_CALL(1, 2); break;
            default: DOT_CALL(1, 1); break;
            }
        }
    }
}

/* ---- trans_b = 0: rows of Y from rows of B ------------------------------- */

#define NN_MR 6

/* C(m, n0 .. n0+8) as a vector: contiguous, broadcast, or gathered. */
static DF_ALWAYS_INLINE __m256 c_vec(const float *c_row, int64_t csn, int64_t n0, int masked,
                                     __m256i mask, int count)
{
    if (csn == 1)
        return masked ? _mm256_maskload_ps(c_row + n0, mask) : _mm256_loadu_ps(c_row + n0);
    if (csn == 0)
        return _mm256_set1_ps(c_row[0]);
    float t[8] = {0};
    for (int j = 0; j < count; j++)
        t[j] = c_row[(n0 + j) * csn];
    return _mm256_loadu_ps(t);
}

/* Rows m0 .. m0+MR of Y, columns n0 .. n0 + 8*(NV-1) + (masked ? tail : 8). */
static DF_ALWAYS_INLINE void nn_tile(const int MR, const int NV, const int masked, int tail,
                                     int64_t K, const float *A, int64_t a_m, int64_t a_k,
                                     const float *B, int64_t ldb, float alpha, float beta,
                                     const float *C, int64_t csm, int64_t csn, float *Y,
                                     int64_t ldy, int64_t m0, int64_t n0)
{
    const __m256i mask = df_avx2_tail_mask(masked ? tail : 8);
    __m256 acc[NN_MR][2];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm256_setzero_ps();
    const float *a = A + m0 * a_m;
    const float *b = B + n0;
    for (int64_t k = 0; k < K; k++) {
        __m256 bv[2];
        for (int j = 0; j < NV; j++)
            bv[j] = masked && j == NV - 1 ? _mm256_maskload_ps(b + 8 * j, mask)
                                          : _mm256_loadu_ps(b + 8 * j);
        for (int i = 0; i < MR; i++) {
            const __m256 av = _mm256_broadcast_ss(a + i * a_m);
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
        a += a_k;
        b += ldb;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < MR; i++) {
        float *y = Y + (m0 + i) * ldy + n0;
        const float *c_row = C ? C + (m0 + i) * csm : NULL;
        for (int j = 0; j < NV; j++) {
            const int last = masked && j == NV - 1;
            __m256 v = _mm256_mul_ps(va, acc[i][j]);
            if (C)
                v = _mm256_add_ps(v, _mm256_mul_ps(vb, c_vec(c_row, csn, n0 + 8 * j, last, mask,
                                                             last ? tail : 8)));
            if (last)
                df_avx2_store_first(y + 8 * j, v, tail);
            else
                _mm256_storeu_ps(y + 8 * j, v);
        }
    }
}

/* One band of MR rows over all columns: 16 at a time, then the tail. */
static DF_ALWAYS_INLINE void nn_band(const int MR, int64_t N, int64_t K, const float *A,
                                     int64_t a_m, int64_t a_k, const float *B, int64_t ldb,
                                     float alpha, float beta, const float *C, int64_t csm,
                                     int64_t csn, float *Y, int64_t ldy, int64_t m0)
{
    int64_t n0 = 0;
    for (; n0 + 16 <= N; n0 += 16)
        nn_tile(MR, 2, 0, 8, K, A, a_m, a_k, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0, n0);
    const int r = (int)(N - n0);
    if (r > 8)
        nn_tile(MR, 2, 1, r - 8, K, A, a_m, a_k, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0,
                n0);
    else if (r == 8)
        nn_tile(MR, 1, 0, 8, K, A, a_m, a_k, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0, n0);
    else if (r > 0)
        nn_tile(MR, 1, 1, r, K, A, a_m, a_k, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0, n0);
}

#define NN_BAND(MR) nn_band(MR, N, K, A, a_m, a_k, B, ldb, alpha, beta, C, csm, csn, Y, ldy, m0)

static void gemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t a_m,
                    int64_t a_k, const float *B, int64_t ldb, float beta, const float *C,
                    int64_t csm, int64_t csn, float *Y, int64_t ldy)
{
    for (int64_t m0 = 0; m0 < M; m0 += NN_MR) {
        switch (M - m0 < NN_MR ? M - m0 : NN_MR) {
        case 6: NN_BAND(6); break;
        case 5: NN_BAND(5); break;
        case 4: NN_BAND(4); break;
        case 3: NN_BAND(3); break;
        case 2: NN_BAND(2); break;
        default: NN_BAND(1); break;
        }
    }
}

void df_gemm_avx2(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  int trans_a, const float *B, int64_t ldb, int trans_b, float beta,
                  const float *C, int64_t c_stride_m, int64_t c_stride_n, float *Y, int64_t ldy)
{
    if (M <= 0 || N <= 0)
        return;
    if (trans_b && !trans_a)
        gemm_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, c_stride_m, c_stride_n, Y, ldy);
    else if (!trans_b)
        gemm_nn(M, N, K, alpha, A, trans_a ? 1 : lda, trans_a ? lda : 1, B, ldb, beta, C,
                c_stride_m, c_stride_n, Y, ldy);
    else
        df_gemm_ref(M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, beta, C, c_stride_m,
                    c_stride_n, Y, ldy);
}
