/* Kernel selection at load: the AVX2/FMA kernels when the CPU has both
 * instruction sets (asked of cpuinfo), the portable reference otherwise or
 * when DF_KERNELS=reference is set. Fast kernels get their weights packed here,
 * once, into a buffer the step owns. */
#include "kernels/dispatch.h"

#include <cpuinfo.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "kernels/x86/kernels_x86.h"

/* 1 when the AVX2/FMA kernels may run: the CPU has them and the user did not
 * ask for the reference. cpuinfo_initialize is thread-safe and runs once. */
static int use_avx2(void)
{
    const char *force = getenv("DF_KERNELS");
    if (force && strcmp(force, "reference") == 0)
        return 0;
#if defined(__x86_64__) || defined(__i386__)
    if (!cpuinfo_initialize())
        return 0;
    return cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3();
#else
    return 0;
#endif
}

const char *df_kernel_isa(void) { return use_avx2() ? "avx2+fma" : "reference"; }

static int is_depthwise(const df_conv_params *p)
{
    return p->groups > 1 && p->groups == p->in_c && p->out_c == p->in_c;
}

df_status df_conv_select(df_conv_params *p, df_conv_rows_fn *fn, void **packed)
{
    *packed = NULL;
    p->packed = NULL;
    *fn = df_conv_rows_ref;
    if (!use_avx2())
        return DF_OK;

    const int depthwise = is_depthwise(p);
    const size_t floats =
        depthwise ? df_dwconv_avx2_packed_floats(p) : df_conv_avx2_packed_floats(p);
    if (floats == 0 || floats > SIZE_MAX / sizeof(float) - 64)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "conv: packed weights too large");
    /* 64-byte alignment keeps every 16-float weight block on one cache line;
     * aligned_alloc wants a size that is a multiple of the alignment. */
    const size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *buf = aligned_alloc(64, bytes);
    if (!buf)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "conv: could not allocate %zu bytes of packed weights",
                       bytes);
    if (depthwise) {
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
