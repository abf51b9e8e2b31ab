/* fingerprint: measures the rates in a df_machine (plan/machine.h) on this
 * computer, for `deepfirst calibrate`.
 *
 * - peak_gflops: deepfirst's own conv kernel (the one df_conv_select picks) on
 *   one thread, a 1x1 conv whose data stays in cache: best of several timed
 *   repetitions, counting 2 * in_c * out_c FLOPs per pixel.
 * - bw_gbs: one thread streaming deepfirst's Relu kernel (y = max(x, 0), AVX2
 *   where the CPU has it) from one float buffer to another, the two together
 *   about L1/2, L2/2, L3/4 and max(4 * L3, 256 MiB) (capped at 600 MiB):
 *   bytes read plus bytes written, best repetition.
 * - fork_join_us: median time of an empty parallel-for over `threads` items on
 *   a pthreadpool of `threads` threads; 0 for one thread.
 */
#ifndef DF_CLI_FINGERPRINT_H
#define DF_CLI_FINGERPRINT_H

#include <stddef.h>

#include "plan/machine.h"

/* Fills peak_gflops, bw_gbs and fork_join_us of m and sets m->measured = 1,
 * taking about budget_s seconds (a few seconds is plenty; under a second the
 * numbers get noisy). Cache sizes come from m (df_machine_nominal fills them);
 * zero ones default to 32 KiB, 512 KiB and 8 MiB. Other fields are left as
 * they are. Returns 0, or -1 with a message in err. */
int fingerprint_measure(df_machine *m, int threads, double budget_s, char *err, size_t errsz);

#endif
