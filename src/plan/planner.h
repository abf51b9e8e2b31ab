/* The cost-model planner: segment cuts and band heights chosen by dynamic
 * programming over predicted costs.
 *
 * The plan space: every step runs layer by layer, or belongs to a segment of
 * 2 to DF_PLAN_MAX_STEPS consecutive steps that can run in bands, with bands
 * of 1, 2, 4, 8, 16 or 32 rows or the whole height when it is at most 32.
 * Thread splits follow from the batch and the height (segment.h). A plan's
 * predicted cost is the sum of its units' predictions, so the best plan of a
 * chain is found by dynamic programming over its steps: best[i] = the least
 * cost of steps before i, extended by one step layer by layer or by one
 * segment starting at i. Steps that cannot run in bands cost the same in
 * every plan and are left out. */
#ifndef DF_PLAN_PLANNER_H
#define DF_PLAN_PLANNER_H

#include "plan/cost.h"

enum { DF_PLAN_MAX_STEPS = 10 };

/* A segment must be predicted this much faster than what it replaces before
 * the planner takes it: each segment's cost counts (1 + margin) times. The
 * dynamic program otherwise favours exactly the segments whose time the
 * model underestimates (the optimizer's curse), while layer by layer, the
 * alternative, is what the kernels are tuned for. 5% is a choice below the
 * model's typical error, not a tuned value; docs/planner.md races the plans
 * with and without it. */
#define DF_PLAN_MARGIN 0.05

typedef struct df_plan_candidate {
    int first, last;   /* steps; first == last: that step layer by layer */
    int band;          /* rows per band; 0 for a layer step */
    float f[DF_F_COUNT];
    double predicted_us;
} df_plan_candidate;

/* Every unit of the plan space (layer steps that can run in bands, and
 * segments), with features and predictions. *out is malloc'd. */
df_status df_plan_candidates(df_program *p, int threads, const df_cost_model *cm,
                             df_plan_candidate **out, int *n);

/* The plan of least total cost over the candidates, segments counted
 * (1 + margin) times (DF_PLAN_MARGIN; 0 for measured costs). spec is owned
 * by the caller: df_plan_spec_free. */
df_status df_plan_best(const df_program *p, const df_plan_candidate *c, int n, double margin,
                       df_plan_spec *spec);

/* Fills predicted_us of the program's segments and steps for its plan. */
void df_plan_predict(df_program *p, int threads, const df_cost_model *cm);

#endif
