/* Loading the cost model and predicting with it (cost.h). */
#include "plan/cost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

df_status df_cost_model_load(const char *dir, int want_trees, df_cost_model *cm)
{
    memset(cm, 0, sizeof *cm);
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, DF_MACHINE_FILE);
    df_status st = df_machine_load(path, &cm->machine);
    if (st != DF_OK || !want_trees)
        return st;
    snprintf(path, sizeof path, "%s/%s", dir, DF_TREES_FILE);
    st = df_trees_load(path, &cm->trees);
    if (st == DF_OK && df_trees_feature_count(cm->trees) != DF_F_COUNT) {
        st = df_fail(DF_ERR_PARSE, "%s: the model has %d features, this deepfirst computes %d: "
                     "run deepfirst calibrate again", path, df_trees_feature_count(cm->trees),
                     (int)DF_F_COUNT);
        df_cost_model_free(cm);
    }
    return st;
}

void df_cost_model_free(df_cost_model *cm)
{
    df_trees_free(cm->trees);
    cm->trees = NULL;
}

double df_cost_predict_us(const df_cost_model *cm, const float *f)
{
    double analytic = f[DF_F_ANALYTIC_US];
    if (!cm->trees)
        return analytic;
    double correction = df_trees_predict(cm->trees, f);
    /* the trees learned log(measured / analytic) on a bounded range; clamp
     * so a wild extrapolation cannot flip a plan */
    if (correction > 4.0)
        correction = 4.0;
    if (correction < -4.0)
        correction = -4.0;
    return analytic * exp(correction);
}
