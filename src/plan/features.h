/* What the cost model sees of a unit of work, and the analytic estimate.
 *
 * A unit is either one step run layer by layer (whole tensors in, whole
 * tensors out) or a depth-first segment under a band height and thread split.
 * Its features are computed the same way at calibration (synthetic chains),
 * planning and evaluation, from the compiled program and the machine
 * fingerprint alone, so a model trained on one set of networks applies to any
 * other. The list, with the meaning of each, is df_feature_names.
 *
 * The analytic estimate is a roofline per step: each step takes the longer of
 * its arithmetic at the measured FMA rate and its memory traffic at the
 * bandwidth of the cache level each tensor lives in (rings of a segment at
 * the level its band's working set fits; whole tensors at the level their size
 * fits), plus the cost of forking the thread pool. The learned model predicts
 * log(measured / analytic): a correction, so that with little data it stays
 * close to the roofline. */
#ifndef DF_PLAN_FEATURES_H
#define DF_PLAN_FEATURES_H

#include "plan/machine.h"
#include "plan/segment.h"

enum {
    DF_F_DEPTH,          /* 1: depth-first segment, 0: one step layer by layer */
    DF_F_STEPS,          /* steps in the unit */
    DF_F_MFLOP_1X1,      /* arithmetic of 1x1 convolutions, MFLOP */
    DF_F_MFLOP_KXK,      /* of k x k convolutions with more than one input channel per group */
    DF_F_MFLOP_DW,       /* of depthwise convolutions */
    DF_F_MFLOP_OTHER,    /* pooling and elementwise */
    DF_F_MB_IN,          /* whole tensors read from outside the unit, MB */
    DF_F_MB_OUT,         /* whole tensors written */
    DF_F_MB_RING,        /* intermediates kept in rings instead of memory */
    DF_F_MB_WEIGHTS,
    DF_F_WS_L1,          /* working set of a band (layer: of the op) / L1 */
    DF_F_WS_L2,          /* ... / L2 */
    DF_F_WS_L3,          /* ... / the L3 share of one thread */
    DF_F_IN_L3,          /* largest whole input tensor / L3 share */
    DF_F_BAND,           /* output rows of the last step per band */
    DF_F_PASSES,         /* bands per lane: passes over the weights */
    DF_F_OUT_H,          /* rows of the last step's output */
    DF_F_ROW_KB,         /* mean row size of the unit's tensors, KB */
    DF_F_MIN_CHANNELS,   /* narrowest channel count */
    DF_F_BATCH,
    DF_F_THREADS,
    DF_F_LANES,          /* threads that work on it (segments may use fewer) */
    DF_F_STRIPS,
    DF_F_HALO,           /* rows recomputed at strip seams / rows needed */
    DF_F_IMBALANCE,      /* largest lane's work / mean lane's work */
    DF_F_PAD_WASTE,      /* conv arithmetic wasted on channel padding to the vector width */
    DF_F_CALLS,          /* kernel calls per lane */
    DF_F_CIN_GROUP,      /* conv input channels per group (the GEMM depth), by arithmetic */
    DF_F_KERNEL,         /* conv window area k_h * k_w, by arithmetic */
    DF_F_STRIDE,         /* conv stride, by arithmetic */
    DF_F_OUT_W,          /* output width in pixels (the micro-kernels' tile dimension) */
    DF_F_COMPUTE_US,     /* the roofline's arithmetic part */
    DF_F_MEMORY_US,      /* its memory part */
    DF_F_ANALYTIC_US,    /* the analytic estimate */
    DF_F_COUNT
};

extern const char *const df_feature_names[DF_F_COUNT];

/* Features of step i run layer by layer with `threads` threads. */
void df_step_features(const df_program *p, int i, int threads, const df_machine *m, float *f);
/* Features of a described and sized segment (segment.h). */
void df_segment_features(const df_program *p, const df_segment *seg, int threads,
                         const df_machine *m, float *f);

#endif
