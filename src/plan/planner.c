/* The cost-model planner (planner.h). */
#include "plan/planner.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static const int candidate_bands[] = {1, 2, 4, 8, 16, 32};

static df_status grow(df_plan_candidate **c, int *n, int *cap)
{
    if (*n < *cap)
        return DF_OK;
    int ncap = *cap ? *cap * 2 : 256;
    df_plan_candidate *nc = realloc(*c, (size_t)ncap * sizeof *nc);
    if (!nc)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning");
    *c = nc;
    *cap = ncap;
    return DF_OK;
}

df_status df_plan_candidates(df_program *p, int threads, const df_cost_model *cm,
                             df_plan_candidate **out, int *count)
{
    df_plan_candidate *c = NULL;
    int n = 0, cap = 0;
    df_status st = DF_OK;
    for (int first = 0; first < p->n_steps && st == DF_OK; first++) {
        if (!df_segment_can_start(p, first))
            continue;
        if ((st = grow(&c, &n, &cap)) != DF_OK)
            break;
        df_plan_candidate *layer = &c[n++];
        layer->first = layer->last = first;
        layer->band = 0;
        df_step_features(p, first, threads, &cm->machine, layer->f);
        layer->predicted_us = df_cost_predict_us(cm, layer->f);

        for (int last = first + 1; last < p->n_steps && last - first < DF_PLAN_MAX_STEPS; last++) {
            if (!df_segment_can_join(p, first, last))
                break;
            int last_h = (int)p->graph->values[p->steps[last].node->out[0]].dims[1];
            for (size_t b = 0; b < sizeof candidate_bands / sizeof candidate_bands[0]; b++) {
                int band = candidate_bands[b];
                if (band >= last_h) {
                    if (last_h > 32 || (b > 0 && candidate_bands[b - 1] >= last_h))
                        break;
                    band = last_h;
                }
                if ((st = grow(&c, &n, &cap)) != DF_OK)
                    break;
                df_segment seg;
                st = df_segment_build(p, first, last, band, threads, &seg);
                if (st == DF_OK && df_segment_band_sensible(p, &seg)) {
                    df_plan_candidate *u = &c[n++];
                    u->first = first;
                    u->last = last;
                    u->band = band;
                    df_segment_features(p, &seg, threads, &cm->machine, u->f);
                    u->predicted_us = df_cost_predict_us(cm, u->f);
                }
                df_segment_release(&seg);
                if (st != DF_OK)
                    break;
            }
        }
    }
    if (st != DF_OK) {
        free(c);
        return st;
    }
    *out = c;
    *count = n;
    return DF_OK;
}

df_status df_plan_best(const df_program *p, const df_plan_candidate *c, int n, double margin,
                       df_plan_spec *spec)
{
    int steps = p->n_steps;
    double *best = malloc(((size_t)steps + 1) * sizeof *best);
    int *from = malloc(((size_t)steps + 1) * sizeof *from); /* candidate ending there, or -1 */
    spec->n = 0;
    spec->units = calloc((size_t)steps + 1, sizeof *spec->units);
    if (!best || !from || !spec->units) {
        free(best);
        free(from);
        df_plan_spec_free(spec);
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning");
    }
    best[0] = 0.0;
    for (int i = 1; i <= steps; i++) {
        best[i] = DBL_MAX;
        from[i] = -1;
    }
    /* candidates come ordered by first step, so every best[first] is final
     * before the candidates starting there are relaxed */
    int k = 0;
    for (int i = 0; i < steps; i++) {
        int relaxed_layer = 0;
        for (; k < n && c[k].first == i; k++) {
            int end = c[k].last + 1;
            double cost = best[i] + c[k].predicted_us * (c[k].band ? 1.0 + margin : 1.0);
            if (cost < best[end]) {
                best[end] = cost;
                from[end] = k;
            }
            relaxed_layer |= c[k].band == 0;
        }
        if (!relaxed_layer && best[i] < best[i + 1]) { /* a step no candidate covers */
            best[i + 1] = best[i];
            from[i + 1] = -1;
        }
    }
    /* walk back, collecting segments */
    for (int i = steps; i > 0;) {
        int k2 = from[i];
        if (k2 < 0 || c[k2].band == 0) {
            i--;
            continue;
        }
        spec->units[spec->n++] = (df_plan_unit){c[k2].first, c[k2].last, c[k2].band};
        i = c[k2].first;
    }
    for (int a = 0, b = spec->n - 1; a < b; a++, b--) {
        df_plan_unit t = spec->units[a];
        spec->units[a] = spec->units[b];
        spec->units[b] = t;
    }
    free(best);
    free(from);
    return DF_OK;
}

void df_plan_predict(df_program *p, int threads, const df_cost_model *cm)
{
    float f[DF_F_COUNT];
    for (int i = 0; i < p->n_steps; i++) {
        p->steps[i].predicted_us = 0.0;
        if (p->steps[i].segment < 0 && df_segment_can_start(p, i)) {
            df_step_features(p, i, threads, &cm->machine, f);
            p->steps[i].predicted_us = df_cost_predict_us(cm, f);
        }
    }
    for (int s = 0; s < p->n_segments; s++) {
        df_segment_features(p, &p->segments[s], threads, &cm->machine, f);
        p->segments[s].predicted_us = df_cost_predict_us(cm, f);
    }
}
