/* Shared by the shape-inference pass (shape.c), its rules for compute ops
 * (shape_nn.c) and its rules for the ops that can be constant-folded (fold.c,
 * fold_move.c).
 * Not used outside src/passes/.
 *
 * A rule checks one node's inputs and attributes, then sets the dtype and shape
 * of its outputs; the rules in fold.c also compute the outputs' data when every
 * input is constant, and then mark the node dead. */
#ifndef DF_PASSES_SHAPE_INTERNAL_H
#define DF_PASSES_SHAPE_INTERNAL_H

#include "graph/graph.h"

/* No tensor may need more bytes than this (2^40), whatever the memory limit. */
#define DF_SHAPE_MAX_BYTES ((int64_t)1 << 40)
/* Constant folding stops at outputs larger than this. */
#define DF_FOLD_MAX_BYTES ((int64_t)16 << 20)

/* ---- helpers (shape.c) ---------------------------------------------------- */

/* Input or output i of n, or NULL when absent (past the end or index -1). */
df_value *df_shape_in(df_graph *g, const df_node *n, int i);
df_value *df_shape_out(df_graph *g, const df_node *n, int i);
const char *df_shape_name(const df_value *v);

/* Fails unless inputs [0, min) are present and n has at most max inputs. */
df_status df_shape_need_inputs(df_graph *g, const df_node *n, int min, int max);
/* Fails when input i is present and its dtype is not dt. */
df_status df_shape_need_dtype(df_graph *g, const df_node *n, int i, df_dtype dt);

/* Sets the dtype and shape of output i (nothing when it is absent), after
 * checking that every dim is > 0 and that the size fits the limits. */
df_status df_shape_set_out(df_graph *g, const df_node *n, int i, df_dtype dt, int rank,
                           const int64_t *dims);

/* Reads input i, an I64 scalar or 1-D tensor, as constant values. Fails with
 * DF_ERR_UNSUPPORTED when it is not constant; role says what it is ("shape",
 * "axes") for the message. */
df_status df_shape_const_ints(df_graph *g, const df_node *n, int i, const char *role,
                              const int64_t **vals, int64_t *count);

/* Numpy broadcasting of a and b into out (rank *out_rank). */
df_status df_shape_broadcast(df_graph *g, const df_node *n, int a_rank, const int64_t *a_dims,
                             int b_rank, const int64_t *b_dims, int *out_rank, int64_t *out_dims);

/* Normalises axis (negative counts from the end) into [0, rank); fails naming
 * what ("axis", "axes") when out of range. */
df_status df_shape_axis(df_graph *g, const df_node *n, const char *what, int64_t axis, int rank,
                        int *out);

int64_t df_shape_numel(int rank, const int64_t *dims);

/* ---- constant folding helpers (fold.c) ------------------------------------ */

/* True when every present input of n holds data and every output would fit in
 * DF_FOLD_MAX_BYTES. */
int df_fold_ready(df_graph *g, const df_node *n);
/* Allocates output i's data (its shape is set); NULL and *st set on failure. */
void *df_fold_alloc(df_graph *g, const df_node *n, int i, df_status *st);

/* ---- rules ---------------------------------------------------------------- */

typedef df_status (*df_shape_rule)(df_graph *g, df_node *n);

/* shape_nn.c: compute ops (never folded) */
df_status df_rule_conv(df_graph *g, df_node *n);
df_status df_rule_pool(df_graph *g, df_node *n);
df_status df_rule_global_pool(df_graph *g, df_node *n);
df_status df_rule_batchnorm(df_graph *g, df_node *n);
df_status df_rule_unary(df_graph *g, df_node *n);
df_status df_rule_clip(df_graph *g, df_node *n);
df_status df_rule_dropout(df_graph *g, df_node *n);
df_status df_rule_gemm(df_graph *g, df_node *n);
df_status df_rule_matmul(df_graph *g, df_node *n);
df_status df_rule_softmax(df_graph *g, df_node *n);
df_status df_rule_reduce_mean(df_graph *g, df_node *n);
df_status df_rule_pad(df_graph *g, df_node *n);

/* fold.c: element-wise ops with broadcasting and ops that make constants */
df_status df_rule_binary(df_graph *g, df_node *n);
df_status df_rule_where(df_graph *g, df_node *n);
df_status df_rule_cast(df_graph *g, df_node *n);
df_status df_rule_shape(df_graph *g, df_node *n);
df_status df_rule_constant(df_graph *g, df_node *n);
df_status df_rule_constant_of_shape(df_graph *g, df_node *n);
df_status df_rule_range(df_graph *g, df_node *n);

/* fold_move.c: data movement, foldable */
df_status df_rule_identity(df_graph *g, df_node *n);
df_status df_rule_reshape(df_graph *g, df_node *n);
df_status df_rule_flatten(df_graph *g, df_node *n);
df_status df_rule_squeeze(df_graph *g, df_node *n);
df_status df_rule_unsqueeze(df_graph *g, df_node *n);
df_status df_rule_transpose(df_graph *g, df_node *n);
df_status df_rule_concat(df_graph *g, df_node *n);
df_status df_rule_split(df_graph *g, df_node *n);
df_status df_rule_slice(df_graph *g, df_node *n);
df_status df_rule_gather(df_graph *g, df_node *n);
df_status df_rule_expand(df_graph *g, df_node *n);

#endif
