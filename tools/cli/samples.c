/* Training data of the cost model (samples.h). */
#include "samples.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/trees.h"
#include "xgb_train.h"

/* Units faster than this are dominated by timer and call noise. */
static const double min_us = 2.0;

int samples_add(sample_set *s, const sample *row)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 1024;
        sample *r = realloc(s->rows, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        s->rows = r;
        s->cap = cap;
    }
    s->rows[s->n++] = *row;
    return 0;
}

void samples_free(sample_set *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

int samples_save(const sample_set *s, const char *path, int append, char *err, size_t errsz)
{
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        snprintf(err, errsz, "%s: cannot write", path);
        return -1;
    }
    /* in append mode the position is only defined once at the end */
    if (!append || (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0)) {
        fputs("source,threads,first,last,band", f);
        for (int k = 0; k < DF_F_COUNT; k++)
            fprintf(f, ",%s", df_feature_names[k]);
        fputs(",measured_us\n", f);
    }
    for (int i = 0; i < s->n; i++) {
        const sample *r = &s->rows[i];
        fprintf(f, "%u,%d,%d,%d,%d", r->source, r->threads, r->first, r->last, r->band);
        for (int k = 0; k < DF_F_COUNT; k++)
            fprintf(f, ",%.7g", r->f[k]);
        fprintf(f, ",%.6g\n", r->measured_us);
    }
    if (fclose(f) != 0) {
        snprintf(err, errsz, "%s: write error", path);
        return -1;
    }
    return 0;
}

int samples_load(const char *path, sample_set *s, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "%s: cannot open", path);
        return -1;
    }
    char line[8192];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (strncmp(line, "source,", 7) == 0)
            continue;
        sample r;
        char *c = line, *end;
        r.source = (unsigned)strtoul(c, &end, 10);
        int ok = *end == ',';
        double v[4];
        for (int k = 0; k < 4 && ok; k++) {
            v[k] = strtod(end + 1, &end);
            ok = *end == ',';
        }
        for (int k = 0; k < DF_F_COUNT && ok; k++) {
            r.f[k] = strtof(end + 1, &end);
            ok = *end == ',';
        }
        if (ok)
            r.measured_us = strtod(end + 1, &end);
        if (!ok || (*end != '\n' && *end != '\0')) {
            fclose(f);
            snprintf(err, errsz, "%s: line %d: expected %d comma-separated numbers (written by "
                     "another deepfirst version? calibrate again)", path, lineno, DF_F_COUNT + 6);
            return -1;
        }
        r.threads = (int)v[0];
        r.first = (int)v[1];
        r.last = (int)v[2];
        r.band = (int)v[3];
        if (samples_add(s, &r) != 0) {
            fclose(f);
            snprintf(err, errsz, "out of memory");
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static int usable(const sample *r)
{
    return r->measured_us >= min_us && r->f[DF_F_ANALYTIC_US] > 0.0f;
}

int samples_train(const sample_set *s, const char *path, char *err, size_t errsz)
{
    float *X = malloc((size_t)s->n * DF_F_COUNT * sizeof *X);
    float *y = malloc((size_t)s->n * sizeof *y);
    if (!X || !y) {
        free(X);
        free(y);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const sample *r = &s->rows[i];
        if (!usable(r))
            continue;
        memcpy(X + (size_t)n * DF_F_COUNT, r->f, sizeof r->f);
        y[n++] = (float)log(r->measured_us / r->f[DF_F_ANALYTIC_US]);
    }
    int rc = -1;
    if (n < 50) {
        snprintf(err, errsz, "only %d usable measurements: give calibrate more time", n);
    } else {
        xgb_params p;
        xgb_params_default(&p);
        rc = xgb_train(X, y, n, DF_F_COUNT, &p, path, err, errsz);
    }
    free(X);
    free(y);
    return rc;
}

double samples_mape(const sample_set *s, const char *trees_path, int (*keep)(const sample *))
{
    df_trees *t = NULL;
    if (trees_path && df_trees_load(trees_path, &t) != DF_OK)
        return NAN;
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const sample *r = &s->rows[i];
        if (!usable(r) || (keep && !keep(r)))
            continue;
        double pred = r->f[DF_F_ANALYTIC_US];
        if (t)
            pred *= exp(df_trees_predict(t, r->f));
        sum += fabs(pred - r->measured_us) / r->measured_us;
        n++;
    }
    df_trees_free(t);
    return n ? 100.0 * sum / n : NAN;
}
