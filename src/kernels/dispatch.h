/* Kernel selection: which implementation of a kernel runs, chosen once at load
 * from the CPU's features (cpuinfo) and the op's shape. The portable reference
 * is always available and is what every fast kernel is tested against. */
#ifndef DF_KERNELS_DISPATCH_H
#define DF_KERNELS_DISPATCH_H

#include "plan/program.h"

/* Picks the conv kernel for p and packs its weights if it needs to (*packed is
 * then owned by the caller and freed with df_conv_release). p->packed is set. */
df_status df_conv_select(df_conv_params *p, df_conv_rows_fn *fn, void **packed);
void df_conv_release(void *packed);

/* The kernel that computes a share of fn's output channels (df_conv_part_ref),
 * or NULL where fn has none (the depthwise kernels split by rows only). */
df_conv_part_fn df_conv_part_of(df_conv_rows_fn fn);
/* How many channel blocks part shares out for p: parts beyond it are empty. */
int df_conv_part_units(df_conv_part_fn part, const df_conv_params *p);

/* Which instruction set the fast kernels use on this CPU: "avx512", "avx2+fma" or
 * "reference". DF_KERNELS=reference in the environment forces the reference
 * kernels, DF_KERNELS=avx2 caps the choice at the AVX2/FMA kernels. */
const char *df_kernel_isa(void);

/* The movement, dense and global-pooling kernels a step calls, one table per
 * level: fast versions where this CPU has them, the references with
 * DF_KERNELS=reference. Chosen once per step at compile (df_step.kern). */
typedef struct df_kernel_table {
    void (*transpose)(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                      const int *perm);
    void (*shuffle)(const float *const *x, int64_t x_stride, float *y, int64_t n, int64_t groups,
                    int64_t per_group);
    void (*slice)(const void *x, void *y, size_t elem, int rank, const int64_t *in_dims,
                  const int64_t *starts, const int64_t *steps, const int64_t *out_dims);
    void (*concat)(int n_in, const void *const *x, const int64_t *sizes, void *y, size_t elem,
                   int64_t outer, int64_t inner);
    void (*split)(const void *x, int n_out, void *const *y, const int64_t *sizes, size_t elem,
                  int64_t outer, int64_t inner);
    void (*gemm)(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                 int trans_a, const float *B, int64_t ldb, int trans_b, float beta,
                 const float *C, int64_t c_stride_m, int64_t c_stride_n, float *Y, int64_t ldy);
    void (*global_pool)(const float *x, float *y, int64_t n, int64_t hw, int64_t c, int is_max);
} df_kernel_table;

/* Never NULL; the table is static. */
const df_kernel_table *df_kernel_table_select(void);

#endif
