/* Load-time passes over the graph IR, run in this order by df_model_open()
 * (which records the inputs' and outputs' ONNX shapes between the first two):
 *   shape.c   static shape inference and constant folding (shape subgraphs)
 *   simplify.c Identity/Dropout removal, BatchNormalization folded into Conv,
 *             SiLU/HardSwish patterns, activations and residual adds fused
 *   layout.c  NHWC for spatial values, transposes only where ONNX order is needed
 *   simplify.c again: a Concat folded into the ChannelShuffle that reads it
 */
#ifndef DF_PASSES_PASSES_H
#define DF_PASSES_PASSES_H

#include "graph/graph.h"

/* Infers dtype and shape of every value, in topological order, and folds every
 * node whose inputs are all constant into a constant value (its node is marked
 * dead). Fails with a message naming the node on any inconsistency, unknown
 * op (with its opset) or symbolic dimension of a graph input. */
df_status df_infer_shapes(df_graph *g);

df_status df_simplify(df_graph *g);
df_status df_assign_layout(df_graph *g);
/* After df_assign_layout, on NHWC ChannelShuffles: one of a Concat of one
 * part per group reads the parts itself (its inputs become the Concat's;
 * kernels.h, df_shuffle_ref), and Slices of whole groups of a shuffle's
 * output become shuffles that take their share of each part (attribute
 * "offset": the first channel of each part they read). */
df_status df_fold_into_shuffles(df_graph *g);

#endif
