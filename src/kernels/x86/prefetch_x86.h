/* Software prefetch for the x86 kernels (private to src/kernels/x86/).
 *
 * Inline assembly, not _mm_prefetch: GCC 12 at -O2 deleted whole loops made
 * only of _mm_prefetch calls (conv_avx512.c asked for each tile's output
 * lines that way, and not one prefetch instruction was in the binary), while
 * asm volatile is kept as written. */
#ifndef DF_KERNELS_X86_PREFETCH_X86_H
#define DF_KERNELS_X86_PREFETCH_X86_H

/* The line holding p, into every cache level. */
static inline __attribute__((always_inline)) void df_x86_prefetch(const void *p)
{
    __asm__ volatile("prefetcht0 %0" ::"m"(*(const char *)p));
}

#endif
