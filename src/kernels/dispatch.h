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

/* Which instruction set the fast kernels use on this CPU: "avx512", "avx2+fma" or
 * "reference". DF_KERNELS=reference in the environment forces the reference
 * kernels, DF_KERNELS=avx2 caps the choice at the AVX2/FMA kernels. */
const char *df_kernel_isa(void);

#endif
