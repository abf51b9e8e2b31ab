/* Training the planner's cost model with XGBoost's C API (libxgboost), in the
 * command-line tool only; the library reads the result with src/plan/trees.h
 * and never links XGBoost. */
#ifndef DF_CLI_XGB_TRAIN_H
#define DF_CLI_XGB_TRAIN_H

#include <stddef.h>

typedef struct xgb_params {
    int rounds;              /* boosting rounds = trees */
    int max_depth;
    double eta;              /* learning rate */
    double subsample;        /* fraction of rows each tree sees */
    double min_child_weight; /* for squared error: fewest rows in a leaf */
    double lambda;           /* L2 penalty on leaf values */
    int seed;
} xgb_params;

/* Sensible for a few thousand rows of ~20 features. */
void xgb_params_default(xgb_params *p);

/* Trains on n rows of nf features (row-major, NaN = missing) with targets y
 * (squared error), base score 0, and writes the df_trees file (header line +
 * dump, the format src/plan/trees.h describes) to path. Returns 0, or -1 with
 * a message in err. */
int xgb_train(const float *X, const float *y, int n, int nf, const xgb_params *p,
              const char *path, char *err, size_t errsz);

/* XGBoost's own prediction with a model trained the same way, for tests:
 * trains, then predicts the nq rows Xq into out. */
int xgb_train_predict(const float *X, const float *y, int n, int nf, const xgb_params *p,
                      const float *Xq, int nq, float *out, char *err, size_t errsz);

#endif
