/* The cost model the planner consults: the machine fingerprint, and, when a
 * calibration has trained one, boosted trees correcting the analytic estimate
 * (features.h). Loaded once per model open from the per-machine cache
 * directory; immutable afterwards. */
#ifndef DF_PLAN_COST_H
#define DF_PLAN_COST_H

#include "plan/features.h"
#include "plan/trees.h"

typedef struct df_cost_model {
    df_machine machine;
    df_trees *trees;   /* NULL: the analytic estimate alone */
} df_cost_model;

/* File names inside the cache directory. */
#define DF_MACHINE_FILE "machine.txt"
#define DF_TREES_FILE "cost_model.trees"

/* Loads machine.txt and, when want_trees, cost_model.trees from dir. */
df_status df_cost_model_load(const char *dir, int want_trees, df_cost_model *cm);
void df_cost_model_free(df_cost_model *cm);

/* Predicted microseconds of a unit with features f. */
double df_cost_predict_us(const df_cost_model *cm, const float *f);

#endif
