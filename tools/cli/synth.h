/* synth: random synthetic CNN models, for calibrating the planner's cost model.
 *
 * Each model is a short chain (1 to 6 blocks, a few more when that is needed
 * to reach 1 MFLOP) of the blocks real CNNs are made of: inverted residuals
 * (MobileNet/EfficientNet, some with squeeze-excitation), ResNet bottleneck
 * and basic blocks, plain convs (strided, dilated, grouped), pools, channel
 * concats of branches (GoogLeNet, DenseNet) and per-channel affine ops, on one
 * float NCHW input named "input"
 * with fixed dims. Models are serialized ONNX (IR 8, opset 13), with random
 * weights scaled so activations stay near unit size, and cost between about
 * 1 and 600 MFLOP; input plus the largest activation stay under 64 MiB.
 *
 * A model is a pure function of its seed: the same seed gives the same bytes.
 */
#ifndef DF_CLI_SYNTH_H
#define DF_CLI_SYNTH_H

#include <stddef.h>

typedef struct synth_model {
    void *onnx;      /* serialized ONNX ModelProto (malloc'd) */
    size_t size;
    char desc[256];  /* one line, e.g. "1x32x56x56 41.2MF: ir e6 dw3 s2 relu6 bn>24x28x28; ..." */
} synth_model;

/* Builds the model of this seed into *out. Returns 0, or -1 with a message in
 * err (then *out holds nothing to free). */
int synth_random_model(unsigned seed, synth_model *out, char *err, size_t errsz);

/* Frees out->onnx; harmless on a zeroed or already freed model. */
void synth_free(synth_model *m);

#endif
