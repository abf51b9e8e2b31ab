/* A boosted-tree ensemble, evaluated without XGBoost.
 *
 * The cost model is trained with XGBoost (tools/cli/xgb_train.c, which links
 * libxgboost) and saved as XGBoost's own text dump, read here by a small
 * evaluator: the library needs no C++ runtime, OpenMP or 5 MB of XGBoost to
 * plan, and an embedded user who never calibrates carries none of it.
 *
 * File format: a first line "deepfirst-trees 1 features N trees T base B",
 * then the output of XGBoosterDumpModelEx(fmap "", with_stats 0, format
 * "text") tree by tree, each introduced by a line "booster[K]:" as XGBoost
 * writes it (K = 0, 1, ... T-1). Feature names are f0..f{N-1}. Node lines,
 * indented by one tab per level:
 *     ID:[fF<THRESHOLD] yes=A,no=B,missing=C     (C is A or B)
 *     ID:leaf=VALUE
 * Every line ends with '\n'. The tree count T makes a file cut short between
 * trees an error rather than a smaller model. Ids need not be contiguous
 * (XGBoost's pruning leaves gaps) but a child's id is always larger than its
 * parent's, which the parser requires.
 *
 * Prediction: in each tree, from node 0, a NaN feature goes to `missing`,
 * else feature < threshold (compared in float, as XGBoost does) to `yes`,
 * else to `no`. The result is base + the leaves reached, summed in float in
 * tree order: XGBoost's own prediction bit for bit. */
#ifndef DF_PLAN_TREES_H
#define DF_PLAN_TREES_H

#include <stddef.h>

#include "core/status.h"

typedef struct df_trees df_trees;

/* Any departure from the format is DF_ERR_PARSE, "SOURCE: line L: what". */
df_status df_trees_load(const char *path, df_trees **out);
df_status df_trees_parse(const char *text, size_t len, const char *source, df_trees **out);
int df_trees_feature_count(const df_trees *t);
/* features holds df_trees_feature_count(t) values; NaN means missing. */
double df_trees_predict(const df_trees *t, const float *features);
void df_trees_free(df_trees *t);

#endif
