/* The AVX2 activations (df_unary_avx2) against the reference (df_unary_ref) on
 * random lengths and values, including values near 0 (where tanh's cancellation
 * would show), large magnitudes (where exp saturates), and in-place calls. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "kernels/x86/eltwise_avx2.h"

static uint32_t state = 2463534242u;
static uint32_t next_u32(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next_u32() >> 8) / 16777216.0f; }

int main(void)
{
    const char *isa = df_kernel_isa();
    if (strcmp(isa, "avx2+fma") != 0 && strcmp(isa, "avx512") != 0) {
        printf("skipped: this CPU has no AVX2/FMA (or DF_KERNELS=reference)\n0 passed, 0 failed\n");
        return 0;
    }
    static const df_op ops[] = {DF_OP_RELU, DF_OP_CLIP, DF_OP_LEAKYRELU, DF_OP_HARDSIGMOID,
                                DF_OP_HARDSWISH, DF_OP_SIGMOID, DF_OP_TANH, DF_OP_SILU, DF_OP_EXP};
    int passed = 0, failed = 0;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (int trial = 0; trial < 40; trial++) {
            int64_t n = trial < 20 ? trial : (int64_t)(next_u32() % 300);
            float scale = trial % 3 == 0 ? 0.01f : trial % 3 == 1 ? 5.0f : 120.0f;
            float a = o == 1 ? -uniform(0, 2) : o == 2 ? 0.1f : o == 3 ? 0.2f : 0.0f;
            float b = o == 1 ? uniform(0, 6) : o == 3 ? 0.5f : 0.0f;
            float *x = malloc((size_t)(n + 1) * sizeof *x), *want = malloc((size_t)(n + 1) * sizeof *x);
            float *got = malloc((size_t)(n + 1) * sizeof *x);
            for (int64_t i = 0; i < n; i++)
                x[i] = uniform(-scale, scale);
            df_unary_ref(ops[o], x, want, n, a, b);
            df_unary_avx2(ops[o], x, got, n, a, b);
            int ok = 1;
            for (int64_t i = 0; i < n && ok; i++) {
                /* a few ulps of the value (for HardSigmoid, of the terms a*x and b,
                 * which cancel near its knee and may be fused), or 1e-30 near 0
                 * where exp saturates */
                double terms = fabs((double)want[i]);
                if (ops[o] == DF_OP_HARDSIGMOID)
                    terms += fabs((double)a * x[i]) + fabs((double)b);
                double tol = 4e-7 * terms + 1e-30;
                if (got[i] != want[i] && !(fabs((double)got[i] - (double)want[i]) <= tol)) {
                    printf("FAIL %s n=%lld x[%lld]=%.9g: got %.9g want %.9g\n", df_op_name(ops[o]),
                           (long long)n, (long long)i, x[i], got[i], want[i]);
                    ok = 0;
                }
            }
            df_unary_avx2(ops[o], x, x, n, a, b); /* in place */
            if (ok && n && memcmp(x, got, (size_t)n * sizeof *x) != 0) {
                printf("FAIL %s n=%lld: in-place result differs\n", df_op_name(ops[o]), (long long)n);
                ok = 0;
            }
            ok ? passed++ : failed++;
            free(x);
            free(want);
            free(got);
        }
    }
    /* scale, shift and an activation per channel (unfused BatchNormalization) */
    for (int trial = 0; trial < 200; trial++) {
        int64_t outer = 1 + (int64_t)(next_u32() % 20), c = 1 + (int64_t)(next_u32() % 70);
        df_act act = (df_act)(next_u32() % (DF_ACT_SILU + 1));
        float a = act == DF_ACT_CLIP ? -1.0f : act == DF_ACT_HARDSIGMOID ? 0.2f : 0.1f;
        float b = act == DF_ACT_CLIP ? 2.0f : act == DF_ACT_HARDSIGMOID ? 0.5f : 0.0f;
        size_t n = (size_t)(outer * c);
        float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *x), *got = malloc(n * sizeof *x);
        float *scale = malloc((size_t)c * sizeof *x), *shift = malloc((size_t)c * sizeof *x);
        for (size_t i = 0; i < n; i++)
            x[i] = uniform(-4, 4);
        for (int64_t i = 0; i < c; i++) {
            scale[i] = uniform(-2, 2);
            shift[i] = uniform(-1, 1);
        }
        df_scale_shift_act_ref(x, want, scale, shift, outer, c, act, a, b);
        df_scale_shift_act_avx2(x, got, scale, shift, outer, c, act, a, b);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            /* the vector version fuses x * scale + shift into one rounding */
            double tol = 1e-6 * (fabs((double)want[i]) + 8.0) ;
            if (!(fabs((double)got[i] - (double)want[i]) <= tol)) {
                printf("FAIL scale_shift act %d outer %lld c %lld i %zu: got %.9g want %.9g\n",
                       (int)act, (long long)outer, (long long)c, i, got[i], want[i]);
                ok = 0;
            }
        }
        ok ? passed++ : failed++;
        free(x);
        free(want);
        free(got);
        free(scale);
        free(shift);
    }
    /* broadcasting binary ops: random shapes of rank 1-5 with random size-1
     * (broadcast) dimensions; the reference over the shape as given is the
     * truth, against the dimensions merged (df_binary_coalesce) and run line
     * by line with the vector kernel, as the executor runs them */
    static const df_op bin_ops[] = {DF_OP_ADD, DF_OP_SUB, DF_OP_MUL, DF_OP_DIV, DF_OP_POW};
    for (int trial = 0; trial < 400; trial++) {
        const df_op op = bin_ops[next_u32() % 5];
        const int rank = 1 + (int)(next_u32() % 5);
        int64_t y_dims[DF_MAX_RANK], a_dims[DF_MAX_RANK], b_dims[DF_MAX_RANK];
        int64_t n = 1;
        for (int d = 0; d < rank; d++) {
            y_dims[d] = 1 + (int64_t)(next_u32() % (d == rank - 1 ? 40 : 6));
            a_dims[d] = next_u32() % 4 == 0 ? 1 : y_dims[d];
            b_dims[d] = next_u32() % 3 == 0 ? 1 : y_dims[d];
            n *= y_dims[d];
        }
        int64_t na = 1, nb = 1;
        for (int d = 0; d < rank; d++) {
            na *= a_dims[d];
            nb *= b_dims[d];
        }
        float *a = malloc((size_t)na * sizeof *a), *b = malloc((size_t)nb * sizeof *b);
        float *want = malloc((size_t)n * sizeof *a), *got = malloc((size_t)n * sizeof *a);
        for (int64_t i = 0; i < na; i++)
            a[i] = op == DF_OP_POW ? uniform(0.1f, 3.0f) : uniform(-4, 4);
        for (int64_t i = 0; i < nb; i++)
            b[i] = op == DF_OP_DIV ? uniform(0.5f, 4.0f) * (next_u32() % 2 ? 1.0f : -1.0f)
                                   : uniform(-3, 3);
        int64_t sa[DF_MAX_RANK], sb[DF_MAX_RANK], dims[DF_MAX_RANK];
        df_broadcast_strides(rank, a_dims, rank, y_dims, sa);
        df_broadcast_strides(rank, b_dims, rank, y_dims, sb);
        df_binary_ref(op, DF_DT_F32, a, sa, b, sb, want, rank, y_dims);
        memcpy(dims, y_dims, sizeof dims);
        const int r = df_binary_coalesce(rank, dims, sa, sb);
        /* lines in order: an odometer over the merged outer dimensions */
        int64_t idx[DF_MAX_RANK] = {0}, line = dims[r - 1];
        for (int64_t l = 0; l < n / line; l++) {
            int64_t oa = 0, ob = 0, rest = l;
            for (int d = r - 2; d >= 0; d--) {
                idx[d] = rest % dims[d];
                rest /= dims[d];
                oa += idx[d] * sa[d];
                ob += idx[d] * sb[d];
            }
            df_binary_line_avx2(op, a + oa, sa[r - 1], b + ob, sb[r - 1], got + l * line, line);
        }
        int ok = 1;
        for (int64_t i = 0; i < n && ok; i++) {
            /* one IEEE operation per element: identical, but for powf */
            double tol = op == DF_OP_POW ? 4e-7 * fabs((double)want[i]) : 0.0;
            if (!(fabs((double)got[i] - (double)want[i]) <= tol)) {
                printf("FAIL %s rank %d (merged to %d) element %lld: got %.9g want %.9g\n",
                       df_op_name(op), rank, r, (long long)i, got[i], want[i]);
                ok = 0;
            }
        }
        ok ? passed++ : failed++;
        free(a);
        free(b);
        free(want);
        free(got);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
