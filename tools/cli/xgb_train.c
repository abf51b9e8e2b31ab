/* Training with XGBoost's C API (see xgb_train.h). Every call's return code
 * is checked; XGBoost's own message goes into err. */
#define _POSIX_C_SOURCE 200809L
#include "xgb_train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xgboost/c_api.h>

void xgb_params_default(xgb_params *p)
{
    p->rounds = 400;
    p->max_depth = 6;
    p->eta = 0.05;
    p->subsample = 0.8;
    p->min_child_weight = 2;
    p->lambda = 1;
    p->seed = 1;
}

static int xgb_error(char *err, size_t errsz, const char *what)
{
    snprintf(err, errsz, "xgboost: %s: %s", what, XGBGetLastError());
    /* XGBoost appends a C++ stack trace after the first line; keep the
     * sentence, drop the trace. */
    char *newline = strchr(err, '\n');
    if (newline)
        *newline = '\0';
    return -1;
}

static int set_param(BoosterHandle b, const char *name, double value, char *err, size_t errsz)
{
    char text[64];
    snprintf(text, sizeof text, "%.17g", value);
    if (XGBoosterSetParam(b, name, text) != 0)
        return xgb_error(err, errsz, name);
    return 0;
}

/* The parameters, all set before the first round. */
static int configure(BoosterHandle b, const xgb_params *p, char *err, size_t errsz)
{
    static const char *fixed[][2] = {
        {"objective", "reg:squarederror"},
        /* The trees file's base is 0, so the leaves carry everything and
         * the dump alone is the model. */
        {"base_score", "0"},
        /* Exact greedy splits: a few thousand rows train in seconds, and
         * thresholds fall midway between seen values rather than on bins. */
        {"tree_method", "exact"},
        {"verbosity", "0"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (XGBoosterSetParam(b, fixed[i][0], fixed[i][1]) != 0)
            return xgb_error(err, errsz, fixed[i][0]);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (set_param(b, "nthread", cores > 0 ? (double)cores : 1, err, errsz) ||
        set_param(b, "max_depth", p->max_depth, err, errsz) ||
        set_param(b, "eta", p->eta, err, errsz) ||
        set_param(b, "subsample", p->subsample, err, errsz) ||
        set_param(b, "min_child_weight", p->min_child_weight, err, errsz) ||
        set_param(b, "lambda", p->lambda, err, errsz) ||
        set_param(b, "seed", p->seed, err, errsz))
        return -1;
    return 0;
}

/* Trains a booster; on success the caller frees *booster, then *data. */
static int train(const float *X, const float *y, int n, int nf, const xgb_params *p,
                 BoosterHandle *booster, DMatrixHandle *data, char *err, size_t errsz)
{
    *booster = NULL;
    *data = NULL;
    if (!X || !y || !p || n < 1 || nf < 1 || p->rounds < 1) {
        snprintf(err, errsz, "xgb_train: need rows, features and at least one round");
        return -1;
    }
    if (XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)nf, NAN, data) != 0)
        return xgb_error(err, errsz, "XGDMatrixCreateFromMat");
    int rc = 0;
    if (XGDMatrixSetFloatInfo(*data, "label", y, (bst_ulong)n) != 0)
        rc = xgb_error(err, errsz, "XGDMatrixSetFloatInfo");
    else if (XGBoosterCreate(data, 1, booster) != 0)
        rc = xgb_error(err, errsz, "XGBoosterCreate");
    else
        rc = configure(*booster, p, err, errsz);
    for (int round = 0; rc == 0 && round < p->rounds; round++)
        if (XGBoosterUpdateOneIter(*booster, round, *data) != 0)
            rc = xgb_error(err, errsz, "XGBoosterUpdateOneIter");
    if (rc != 0) {
        if (*booster)
            XGBoosterFree(*booster);
        XGDMatrixFree(*data);
        *booster = NULL;
        *data = NULL;
    }
    return rc;
}

static int write_dump(BoosterHandle booster, int nf, const char *path, char *err, size_t errsz)
{
    bst_ulong n_trees;
    const char **trees;
    if (XGBoosterDumpModelEx(booster, "", 0, "text", &n_trees, &trees) != 0)
        return xgb_error(err, errsz, "XGBoosterDumpModelEx");
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errsz, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    int bad = fprintf(f, "deepfirst-trees 1 features %d trees %lu base 0\n", nf,
                      (unsigned long)n_trees) < 0;
    /* Each tree's text already ends with a newline. */
    for (bst_ulong k = 0; k < n_trees && !bad; k++)
        bad = fprintf(f, "booster[%lu]:\n%s", (unsigned long)k, trees[k]) < 0;
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        snprintf(err, errsz, "%s: cannot write: %s", path, strerror(errno));
        remove(path);
        return -1;
    }
    return 0;
}

int xgb_train(const float *X, const float *y, int n, int nf, const xgb_params *p,
              const char *path, char *err, size_t errsz)
{
    BoosterHandle booster;
    DMatrixHandle data;
    if (train(X, y, n, nf, p, &booster, &data, err, errsz) != 0)
        return -1;
    int rc = write_dump(booster, nf, path, err, errsz);
    XGBoosterFree(booster);
    XGDMatrixFree(data);
    return rc;
}

int xgb_train_predict(const float *X, const float *y, int n, int nf, const xgb_params *p,
                      const float *Xq, int nq, float *out, char *err, size_t errsz)
{
    if (!Xq || !out || nq < 1) {
        snprintf(err, errsz, "xgb_train_predict: no rows to predict");
        return -1;
    }
    BoosterHandle booster;
    DMatrixHandle data, query = NULL;
    if (train(X, y, n, nf, p, &booster, &data, err, errsz) != 0)
        return -1;
    int rc = -1;
    bst_ulong len;
    const float *pred;
    if (XGDMatrixCreateFromMat(Xq, (bst_ulong)nq, (bst_ulong)nf, NAN, &query) != 0)
        xgb_error(err, errsz, "XGDMatrixCreateFromMat");
    else if (XGBoosterPredict(booster, query, 0, 0, 0, &len, &pred) != 0)
        xgb_error(err, errsz, "XGBoosterPredict");
    else if (len != (bst_ulong)nq)
        snprintf(err, errsz, "xgboost: %lu predictions for %d rows", (unsigned long)len, nq);
    else {
        /* pred belongs to the booster: copy before freeing it. */
        memcpy(out, pred, (size_t)nq * sizeof *out);
        rc = 0;
    }
    if (query)
        XGDMatrixFree(query);
    XGBoosterFree(booster);
    XGDMatrixFree(data);
    return rc;
}
