/* Kernel selection at load: the AVX-512 kernels when the CPU has AVX-512
 * F/DQ/BW/VL, else the AVX2/FMA kernels when it has both of those instruction
 * sets (asked of cpuinfo), else the portable reference. DF_KERNELS=reference
 * or DF_KERNELS=avx2 in the environment caps the choice at that level, so
 * every level stays testable on one machine. Fast kernels get their weights
 * packed here, once, into a buffer the step owns. */
#include "kernels/dispatch.h"

#include <cpuinfo.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "kernels/movement_fast.h"
#include "kernels/x86/kernels_x86.h"
#include "kernels/x86/dense_movement_x86.h"

typedef enum kernel_isa { ISA_REFERENCE, ISA_AVX2, ISA_AVX512 } kernel_isa;

/* The best level the CPU has, capped by DF_KERNELS. cpuinfo_initialize is
 * thread-safe and runs once. */
static kernel_isa select_isa(void)
{
    const char *force = getenv("DF_KERNELS");
    kernel_isa cap = ISA_AVX512;
    if (force && strcmp(force, "reference") == 0)
        cap = ISA_REFERENCE;
    else if (force && strcmp(force, "avx2") == 0)
        cap = ISA_AVX2;
#if defined(__x86_64__) || defined(__i386__)
    if (cap == ISA_REFERENCE || !cpuinfo_initialize())
        return ISA_REFERENCE;
    if (cap == ISA_AVX512 && cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512dq() &&
        cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl())
        return ISA_AVX512;
    if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3())
        return ISA_AVX2;
    return ISA_REFERENCE;
#else
    (void)cap;
    return ISA_REFERENCE;
#endif
}

const char *df_kernel_isa(void)
{
    switch (select_isa()) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2+fma";
    case ISA_REFERENCE: break;
    }
    return "reference";
}

static int is_depthwise(const df_conv_params *p)
{
    return p->groups > 1 && p->groups == p->in_c && p->out_c == p->in_c;
}

df_status df_conv_select(df_conv_params *p, df_conv_rows_fn *fn, void **packed)
{
    *packed = NULL;
    p->packed = NULL;
    *fn = df_conv_rows_ref;
    const kernel_isa isa = select_isa();
    if (isa == ISA_REFERENCE)
        return DF_OK;

    const int depthwise = is_depthwise(p);
    size_t floats;
    if (isa == ISA_AVX512)
        floats = depthwise ? df_dwconv_avx512_packed_floats(p) : df_conv_avx512_packed_floats(p);
    else
        floats = depthwise ? df_dwconv_avx2_packed_floats(p) : df_conv_avx2_packed_floats(p);
    if (floats == 0 || floats > SIZE_MAX / sizeof(float) - 64)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "conv: packed weights too large");
    /* 64-byte alignment keeps every 16-float weight row on one cache line;
     * aligned_alloc wants a size that is a multiple of the alignment. */
    const size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *buf = aligned_alloc(64, bytes);
    if (!buf)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "conv: could not allocate %zu bytes of packed weights",
                       bytes);
    if (isa == ISA_AVX512 && depthwise) {
        df_dwconv_avx512_pack(p, buf);
        *fn = df_dwconv_rows_avx512;
    } else if (isa == ISA_AVX512) {
        df_conv_avx512_pack(p, buf);
        *fn = df_conv_rows_avx512;
    } else if (depthwise) {
        df_dwconv_avx2_pack(p, buf);
        *fn = df_dwconv_rows_avx2;
    } else {
        df_conv_avx2_pack(p, buf);
        *fn = df_conv_rows_avx2;
    }
    *packed = buf;
    p->packed = buf;
    return DF_OK;
}

void df_conv_release(void *packed) { free(packed); }

df_conv_part_fn df_conv_part_of(df_conv_rows_fn fn)
{
    if (fn == df_conv_rows_ref)
        return df_conv_part_ref;
    if (fn == df_conv_rows_avx2)
        return df_conv_part_avx2;
    if (fn == df_conv_rows_avx512)
        return df_conv_part_avx512;
    if (fn == df_dwconv_rows_avx2)
        return df_dwconv_part_avx2;
    if (fn == df_dwconv_rows_avx512)
        return df_dwconv_part_avx512;
    return NULL;
}

int df_conv_part_units(df_conv_part_fn part, const df_conv_params *p)
{
    if (part == df_conv_part_avx2)
        return df_conv_avx2_blocks(p);
    if (part == df_conv_part_avx512)
        return df_conv_avx512_blocks(p);
    if (part == df_dwconv_part_avx2)
        return df_dwconv_avx2_blocks(p);
    if (part == df_dwconv_part_avx512)
        return df_dwconv_avx512_blocks(p);
    return p->out_c;
}

static const df_kernel_table reference_table = {
    .transpose = df_transpose_ref, .shuffle = df_shuffle_ref, .slice = df_slice_ref, .concat = df_concat_ref,
    .split = df_split_ref, .gemm = df_gemm_ref, .global_pool = df_global_pool_ref,
};
/* The fast movement kernels are portable C: a CPU without AVX2 gets them too. */
static const df_kernel_table portable_table = {
    .transpose = df_transpose_fast, .shuffle = df_shuffle_ref, .slice = df_slice_fast, .concat = df_concat_fast,
    .split = df_split_fast, .gemm = df_gemm_ref, .global_pool = df_global_pool_ref,
};
/* The AVX2 transpose adds 8x8 register tiles of 4-byte elements, the AVX2
 * shuffle an interleave of two channel groups in registers. AVX-512
 * CPUs use this table too: Gemm here is a GEMV bound by reading its weights,
 * and the others by memory, where wider vectors do not pay. */
static const df_kernel_table avx2_table = {
    .transpose = df_transpose_avx2, .shuffle = df_shuffle_avx2, .slice = df_slice_fast, .concat = df_concat_fast,
    .split = df_split_fast, .gemm = df_gemm_avx2, .global_pool = df_global_pool_avx2,
};

const df_kernel_table *df_kernel_table_select(void)
{
    const char *force = getenv("DF_KERNELS");
    if (force && strcmp(force, "reference") == 0)
        return &reference_table;
    return select_isa() == ISA_REFERENCE ? &portable_table : &avx2_table;
}
