/* The planner's training data: one row per measured unit (a layer step or a
 * segment under a band), its features and its median time. Kept in memory
 * while calibrating or tuning and saved as CSV in the machine's cache
 * directory, so tune can add rows and refit. */
#ifndef DF_CLI_SAMPLES_H
#define DF_CLI_SAMPLES_H

#include "plan/features.h"

typedef struct sample {
    unsigned source;   /* synthetic model seed, or a tuned model's hash (low bits) */
    int threads;
    int first, last, band;
    float f[DF_F_COUNT];
    double measured_us;
} sample;

typedef struct sample_set {
    sample *rows;
    int n, cap;
} sample_set;

int samples_add(sample_set *s, const sample *row);
void samples_free(sample_set *s);
/* CSV with a header of the feature names; append adds rows to an existing
 * file without a second header. Return 0, or -1 with err. */
int samples_save(const sample_set *s, const char *path, int append, char *err, size_t errsz);
int samples_load(const char *path, sample_set *s, char *err, size_t errsz);

/* Trains the correction, log(measured / analytic), on the rows slow enough
 * to time well, with XGBoost; writes the trees to path. */
int samples_train(const sample_set *s, const char *path, char *err, size_t errsz);

/* Mean absolute percentage error over the rows keep() accepts (all when
 * NULL) of the trees at trees_path, or of the analytic estimate when NULL. */
double samples_mape(const sample_set *s, const char *trees_path, int (*keep)(const sample *));

#endif
