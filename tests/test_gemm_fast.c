/* The fast Gemm and global pooling kernels against the references (skipped
 * on a CPU without AVX2/FMA, or with DF_KERNELS=reference).
 *
 * Gemm: every trans_a/trans_b combination, M in 1..20 and the classifier's
 * M = 1 by N = 1000 by K = 1024, N and K odd up to 300, leading dimensions
 * wider than the rows, C absent, scalar, a row, a column or full, several
 * alpha and beta. Sums run in another order than the reference's, so each
 * element may differ by a few ulps of the sum of |terms|; padding between
 * rows of Y must stay untouched. Global pooling must match bit for bit.
 * Prints "N passed, M failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/x86/dense_movement_x86.h"

static int n_passed, n_failed;

static uint64_t rng = 0xD1B54A32D192ED03ull;
static uint32_t rnd_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_u32() % (uint32_t)(hi - lo + 1)); }
static float rnd_float(void) { return (float)(rnd_u32() & 0xFFFFFF) / (float)0x800000 - 1.0f; }

static float *rnd_floats(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = rnd_float();
    return p;
}

typedef void (*gemm_fn)(int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                        int64_t lda, int trans_a, const float *B, int64_t ldb, int trans_b,
                        float beta, const float *C, int64_t csm, int64_t csn, float *Y,
                        int64_t ldy);

static void check_gemm(const char *name, gemm_fn fn, int64_t M, int64_t N, int64_t K,
                       int trans_a, int trans_b, int c_mode, float alpha, float beta)
{
    const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
    const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
    const int64_t lda = a_cols + rnd_int(0, 1) * rnd_int(1, 5);
    const int64_t ldb = b_cols + rnd_int(0, 1) * rnd_int(1, 5);
    const int64_t ldy = N + rnd_int(0, 1) * rnd_int(1, 5);
    float *A = rnd_floats(a_rows * lda), *B = rnd_floats(b_rows * ldb);
    /* c_mode: 0 none, 1 scalar, 2 row [N], 3 column [M][1], 4 full [M][N] */
    static const int64_t c_csm[] = {0, 0, 0, 1, -1}, c_csn[] = {0, 0, 1, 0, 1};
    const int64_t csm = c_csm[c_mode] < 0 ? N : c_csm[c_mode], csn = c_csn[c_mode];
    const int64_t c_counts[] = {0, 1, N, M, M * N}, c_count = c_counts[c_mode];
    float *C = rnd_floats(c_count);
    float *want = rnd_floats(M * ldy), *got = malloc((size_t)(M * ldy) * sizeof *got);
    memcpy(got, want, (size_t)(M * ldy) * sizeof *got);

    df_gemm_ref(M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, beta, c_mode ? C : NULL, csm,
                csn, want, ldy);
    fn(M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, beta, c_mode ? C : NULL, csm, csn, got,
       ldy);

    int bad = 0;
    for (int64_t m = 0; m < M && !bad; m++) {
        for (int64_t n = 0; n < ldy && !bad; n++) {
            const float g = got[m * ldy + n], w = want[m * ldy + n];
            if (n >= N) { /* padding: untouched */
                if (memcmp(&g, &w, sizeof g) != 0)
                    bad = 1;
                continue;
            }
            double mag = 0.0;
            for (int64_t k = 0; k < K; k++) {
                const float a = trans_a ? A[k * lda + m] : A[m * lda + k];
                const float b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
                mag += fabs((double)a * b);
            }
            mag *= fabs(alpha);
            if (c_mode)
                mag += fabs((double)beta * C[m * csm + n * csn]);
            const double tol = 2e-6 * mag + 1e-6;
            if (!(fabs((double)g - (double)w) <= tol)) {
                bad = 1;
                if (n_failed < 20)
                    printf("FAIL %s M %lld N %lld K %lld trans %d%d C %d: Y[%lld][%lld] = %.9g, "
                           "want %.9g\n", name, (long long)M, (long long)N, (long long)K, trans_a,
                           trans_b, c_mode, (long long)m, (long long)n, g, w);
            }
        }
    }
    bad ? n_failed++ : n_passed++;
    free(A);
    free(B);
    free(C);
    free(want);
    free(got);
}

static void test_gemm(const char *name, gemm_fn fn)
{
    static const float alphas[] = {1.0f, 0.5f, -2.0f}, betas[] = {1.0f, 0.0f, 0.25f};
    for (int t = 0; t < 1200; t++) {
        const int64_t M = rnd_int(1, 20);
        const int64_t N = rnd_int(0, 3) == 0 ? rnd_int(1, 20) : rnd_int(1, 300);
        const int64_t K = rnd_int(0, 3) == 0 ? rnd_int(1, 20) : rnd_int(1, 300);
        check_gemm(name, fn, M, N, K, t & 1, (t >> 1) & 1, rnd_int(0, 4), alphas[rnd_int(0, 2)],
                   betas[rnd_int(0, 2)]);
    }
    /* K = 0: Y = beta * C; and the classifier shape */
    for (int tr = 0; tr < 4; tr++)
        check_gemm(name, fn, 3, 5, 0, tr & 1, tr >> 1, 4, 1.0f, 0.5f);
    check_gemm(name, fn, 1, 1000, 1024, 0, 1, 2, 1.0f, 1.0f);
    check_gemm(name, fn, 4, 1000, 512, 0, 1, 2, 1.0f, 1.0f);
    check_gemm(name, fn, 197, 64, 197, 0, 0, 0, 1.0f, 0.0f);
}

/* ---- global pooling ------------------------------------------------------- */

static void test_global_pool(void)
{
    for (int t = 0; t < 400; t++) {
        const int64_t n = rnd_int(1, 3), hw = rnd_int(0, 20) == 0 ? 0 : rnd_int(1, 60);
        const int64_t c = rnd_int(0, 3) == 0 ? rnd_int(1, 40) : rnd_int(1, 1100);
        const int is_max = t & 1;
        float *x = rnd_floats(n * hw * c);
        if (is_max && n * hw * c > 0 && rnd_int(0, 4) == 0)
            x[rnd_int(0, (int)(n * hw * c) - 1)] = NAN;
        float *want = rnd_floats(n * c), *got = malloc((size_t)(n * c) * sizeof *got);
        df_global_pool_ref(x, want, n, hw, c, is_max);
        df_global_pool_avx2(x, got, n, hw, c, is_max);
        const int ok = memcmp(got, want, (size_t)(n * c) * sizeof *got) == 0;
        if (!ok && n_failed < 20)
            printf("FAIL global_pool_avx2 n %lld hw %lld c %lld max %d\n", (long long)n,
                   (long long)hw, (long long)c, is_max);
        ok ? n_passed++ : n_failed++;
        free(x);
        free(want);
        free(got);
    }
}

int main(void)
{
    const char *isa = df_kernel_isa();
    if (strcmp(isa, "avx2+fma") != 0 && strcmp(isa, "avx512") != 0) {
        printf("skipped: this CPU has no AVX2/FMA (or DF_KERNELS=reference)\n0 passed, 0 failed\n");
        return 0;
    }
    test_gemm("gemm_avx2", df_gemm_avx2);
    test_global_pool();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
