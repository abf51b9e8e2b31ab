/* How a model's plan is chosen: from the options and the per-machine cache
 * directory (deepfirst.h, df_options.planner and cache_dir).
 *
 * Tuned plans are cached as <cache>/<signature>/plans/<hash>-t<threads>.plan,
 * one line in the text form of options.plan, where hash is df_model_hash of
 * the ONNX file: a changed model, or another thread count, misses the cache. */
#ifndef DF_PLAN_CHOOSE_H
#define DF_PLAN_CHOOSE_H

#include <stdint.h>

#include "plan/cost.h"
#include "plan/segment.h"

typedef struct df_plan_choice {
    df_planner planner;   /* what will choose */
    df_plan_spec spec;    /* a given or tuned plan; n = 0 and units NULL otherwise */
    int has_spec;
    df_cost_model cost;   /* for planning (analytic, learned) or for predictions */
    int has_cost;
} df_plan_choice;

/* Decides for a model whose ONNX bytes hash to `hash`. Errors: a bad
 * options.plan; DF_PLANNER_LEARNED with no calibration in the cache. */
df_status df_plan_choice_init(const df_options *opt, uint64_t hash, int threads,
                              df_plan_choice *c);
void df_plan_choice_free(df_plan_choice *c);

/* 64-bit hash of a model file's bytes (not cryptographic). */
uint64_t df_model_hash(const void *data, size_t size);

/* Path of the tuned plan of a model in a machine's cache directory. */
int df_tuned_plan_path(const char *machine_dir, uint64_t hash, int threads, char *buf,
                       size_t size);

#endif
