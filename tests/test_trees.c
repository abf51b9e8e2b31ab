/*
 * Tests of src/plan/trees.c, the library's own evaluator of XGBoost's tree
 * dumps, against XGBoost itself (tools/cli/xgb_train.c), and its parser on
 * hostile input.
 *
 *     test_trees            train on a nonlinear target with missing values,
 *                           compare our predictions with XGBoost's
 *     test_trees --hostile  empty, malformed, inconsistent, truncated and
 *                           random texts must each give an error, not a crash
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/trees.h"
#include "xgb_train.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }

/* ---- against XGBoost ---- */

enum { FEATURES = 20, TRAIN_ROWS = 3000, QUERY_ROWS = 1000 };

/* Rows shaped like the planner's: a roofline time (log of the larger of
 * compute and memory time, from log-uniform flops and bytes) plus smaller
 * effects of other features, noise, and missing values everywhere. */
static void make_rows(float *X, float *y, int rows)
{
    for (int r = 0; r < rows; r++) {
        float *x = X + (size_t)r * FEATURES;
        for (int f = 0; f < FEATURES; f++)
            x[f] = (float)(uniform() * 10.0 - (f % 3 == 0 ? 5.0 : 0.0));
        double log_flops = x[0], log_bytes = x[1];
        double t = log(fmax(exp(log_flops) / 50.0, exp(log_bytes) / 8.0));
        t += 0.3 * sin(x[2]) + 0.05 * x[3] * x[4] + 0.05 * (uniform() - 0.5);
        y[r] = (float)t;
        for (int f = 0; f < FEATURES; f++)
            if (uniform() < (f < 2 ? 0.02 : 0.08))
                x[f] = NAN;
    }
}

static void test_against_xgboost(void)
{
    float *X = malloc(sizeof(float) * TRAIN_ROWS * FEATURES), *y = malloc(sizeof(float) * TRAIN_ROWS);
    float *Xq = malloc(sizeof(float) * QUERY_ROWS * FEATURES), *yq = malloc(sizeof(float) * QUERY_ROWS);
    float *theirs = malloc(sizeof(float) * QUERY_ROWS);
    make_rows(X, y, TRAIN_ROWS);
    make_rows(Xq, yq, QUERY_ROWS);
    /* Some query rows entirely missing, to walk every default branch. */
    for (int f = 0; f < FEATURES; f++)
        Xq[f] = NAN;

    xgb_params params;
    xgb_params_default(&params);
    char path[] = "/tmp/df_test_trees_XXXXXX", err[512];
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    int rc = xgb_train(X, y, TRAIN_ROWS, FEATURES, &params, path, err, sizeof err);
    CHECK(rc == 0, "xgb_train: %s", err);
    rc = xgb_train_predict(X, y, TRAIN_ROWS, FEATURES, &params, Xq, QUERY_ROWS, theirs, err,
                           sizeof err);
    CHECK(rc == 0, "xgb_train_predict: %s", err);

    df_trees *trees = NULL;
    df_status st = df_trees_load(path, &trees);
    CHECK(st == DF_OK, "df_trees_load: %s", df_last_error());
    if (trees && rc == 0) {
        CHECK(df_trees_feature_count(trees) == FEATURES, "feature count %d",
              df_trees_feature_count(trees));
        double max_diff = 0, sq_err = 0, sq_dev = 0, mean = 0;
        int exact = 0;
        for (int r = 0; r < QUERY_ROWS; r++)
            mean += yq[r] / QUERY_ROWS;
        for (int r = 0; r < QUERY_ROWS; r++) {
            double ours = df_trees_predict(trees, Xq + (size_t)r * FEATURES);
            double d = fabs(ours - theirs[r]);
            max_diff = d > max_diff ? d : max_diff;
            exact += ours == theirs[r];
            sq_err += (ours - yq[r]) * (ours - yq[r]);
            sq_dev += (yq[r] - mean) * (yq[r] - mean);
        }
        printf("max |ours - xgboost| = %.3g over %d rows (%d identical); model R^2 %.3f\n",
               max_diff, QUERY_ROWS, exact, 1 - sq_err / sq_dev);
        CHECK(max_diff < 1e-4, "max difference %g", max_diff);
        /* The model must have learned the target, or the comparison proves
         * little. */
        CHECK(sq_err < 0.2 * sq_dev, "R^2 %.3f", 1 - sq_err / sq_dev);
    }
    df_trees_free(trees);
    remove(path);
    free(X), free(y), free(Xq), free(yq), free(theirs);
}

/* ---- hostile input ---- */

/* Valid: ids with gaps (pruned 3 and 4), a NaN default to each side. */
static const char small_dump[] = "deepfirst-trees 1 features 3 trees 2 base 0.5\n"
                                 "booster[0]:\n"
                                 "0:[f0<1.5] yes=1,no=2,missing=1\n"
                                 "\t1:leaf=0.25\n"
                                 "\t2:[f2<-3] yes=5,no=6,missing=6\n"
                                 "\t\t5:leaf=-1\n"
                                 "\t\t6:leaf=2\n"
                                 "booster[1]:\n"
                                 "0:leaf=0.125\n";

static df_trees *parse(const char *text, size_t len, df_status *st)
{
    df_trees *t = NULL;
    *st = df_trees_parse(text, len, "test", &t);
    return t;
}

static void test_small_dump(void)
{
    df_status st;
    df_trees *t = parse(small_dump, sizeof small_dump - 1, &st);
    CHECK(st == DF_OK && t, "small dump: %s", df_last_error());
    if (!t)
        return;
    CHECK(df_trees_feature_count(t) == 3, "features");
    const float rows[][3] = {{1, 0, 0}, {NAN, 0, 0}, {2, 0, -4}, {2, 0, -3}, {1.5f, NAN, NAN}};
    const double want[] = {0.875, 0.875, -0.375, 2.625, 2.625};
    for (int i = 0; i < 5; i++)
        CHECK(df_trees_predict(t, rows[i]) == want[i], "row %d: %g, want %g", i,
              df_trees_predict(t, rows[i]), want[i]);
    df_trees_free(t);

    /* Every proper prefix is an error: mid-line, at a line end (the header
     * counts the trees), or with no newline on the last line. */
    int prefix_errors = 0;
    for (size_t len = 0; len < sizeof small_dump - 1; len++) {
        t = parse(small_dump, len, &st);
        prefix_errors += st == DF_ERR_PARSE && !t;
        df_trees_free(t);
    }
    CHECK(prefix_errors == (int)sizeof small_dump - 1, "%d of %zu prefixes refused", prefix_errors,
          sizeof small_dump - 1);

    /* A ',' decimal locale must not change how numbers are read. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        t = parse(small_dump, sizeof small_dump - 1, &st);
        CHECK(t && df_trees_predict(t, rows[0]) == want[0], "under a ',' locale: %s",
              df_last_error());
        df_trees_free(t);
        setlocale(LC_NUMERIC, "C");
    }
}

#define H "deepfirst-trees 1 features 3 trees 1 base 0\nbooster[0]:\n"

static const struct {
    const char *text;
    const char *message; /* a part of the error message */
} bad_texts[] = {
    {"", "empty"},
    {"\n", "line 1: not a deepfirst-trees file"},
    {"booster[0]:\n0:leaf=1\n", "line 1: not a deepfirst-trees file"},
    {"deepfirst-trees 2 features 3 trees 1 base 0\n", "version"},
    {"deepfirst-trees 1 features 0 trees 0 base 0\n", "features"},
    {"deepfirst-trees 1 features -3 trees 0 base 0\n", "features"},
    {"deepfirst-trees 1 features 99999999999 trees 0 base 0\n", "features"},
    {"deepfirst-trees 1 features 3 trees 0 base nan\n", "base"},
    {"deepfirst-trees 1 features 3 trees 0 base 0 extra\n", "after the base"},
    {"deepfirst-trees 1 features 3 trees 1 base 0\n", "0 trees, but the header says 1"},
    {"deepfirst-trees 1 features 3 trees 0 base 0\nbooster[0]:\n0:leaf=1\n", "header says 0"},
    {H "0:leaf=1", "no newline"},
    {H, "line 2: booster[0] has no nodes"},
    {H "0:[f3<1] yes=1,no=2,missing=1\n1:leaf=0\n2:leaf=0\n", "line 3: feature f3, but the header says 3"},
    {H "0:[f0<1] yes=1,no=2,missing=1\n1:leaf=0\n", "line 3: node 0 refers to node 2"},
    {H "0:[f0<1] yes=0,no=2,missing=2\n2:leaf=0\n", "line 3: a child's id must be larger"},
    {H "0:[f0<1] yes=1,no=2,missing=1\n1:[f1<1] yes=1,no=3,missing=3\n", "line 4: a child's id"},
    {H "0:[f0<1] yes=1,no=1,missing=1\n1:leaf=0\n", "same node"},
    {H "0:[f0<1] yes=1,no=2,missing=3\n", "missing must be"},
    {H "0:[f0<1] yes=1,no=2,missing=1\n1:leaf=0\n2:leaf=0\n1:leaf=3\n", "line 6: node 1 appears twice"},
    {H "0:[f0<1] yes=1,no=2,missing=1\n1:leaf=0\n2:leaf=0\n7:leaf=0\n", "line 6: node 7 is not reached"},
    {H "1:leaf=0\n", "no node 0"},
    {H "0:[f0<1] yes=1,no=2,missing=1\n1:[f1<1] yes=3,no=4,missing=3\n2:[f1<1] yes=3,no=4,missing=3\n"
       "3:leaf=0\n4:leaf=0\n", "has two parents"},
    {H "99999999999999999999:leaf=1\n", "line 3: expected a node"},
    {H "0:[f0<1] yes=2147483647,no=2147483646,missing=2147483647\n", "refers to node 2147483647"},
    {H "0:[f0<1] yes=2147483648,no=1,missing=1\n", "expected ' yes="},
    {H "0:[f99999999999<1] yes=1,no=2,missing=1\n", "expected 'leaf=V' or '[fK<T]'"},
    {H "0:[f0<nan] yes=1,no=2,missing=1\n1:leaf=0\n2:leaf=0\n", "expected '<T]'"},
    {H "0:[f0< 1] yes=1,no=2,missing=1\n1:leaf=0\n2:leaf=0\n", "expected '<T]'"},
    {H "0:leaf=inf\n", "finite leaf"},
    {H "0:leaf=\n", "finite leaf"},
    {H "0:leaf=1,cover=3\n", "unexpected text"},
    {H "0:leaf=1\r\n", "unexpected text"},
    {H "-1:leaf=1\n", "expected a node"},
    {H "0:leaf=1\nbooster[2]:\n0:leaf=1\n", "line 4: booster[2], expected booster[1]"},
    {H "0:leaf=1\nboost\n", "expected 'booster[K]:'"},
    {"deepfirst-trees 1 features 3 trees 1 base 0\n0:leaf=1\n", "before the first"},
    {H "0:leaf=1\n\n", "line 4"},
    {"hello, world\n", "not a deepfirst-trees file"},
};

static void test_bad_texts(void)
{
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        df_status st;
        df_trees *t = parse(bad_texts[i].text, strlen(bad_texts[i].text), &st);
        const char *msg = df_last_error();
        CHECK(st == DF_ERR_PARSE && !t && strstr(msg, bad_texts[i].message) &&
                  strncmp(msg, "test: ", 6) == 0,
              "case %zu: status %d, message '%s', wanted '%s'", i, (int)st, msg,
              bad_texts[i].message);
        df_trees_free(t);
    }

    /* A NUL inside a line, and a line longer than any XGBoost writes. */
    static const char with_nul[] = H "0:leaf=1\0garbage\n";
    df_status st;
    df_trees *t = parse(with_nul, sizeof with_nul - 1, &st);
    CHECK(st == DF_ERR_PARSE && !t && strstr(df_last_error(), "NUL"), "NUL: %s", df_last_error());
    char long_line[4096];
    int n = snprintf(long_line, sizeof long_line, H "0:leaf=1");
    memset(long_line + n, '0', sizeof long_line - (size_t)n - 2);
    long_line[sizeof long_line - 2] = '\n';
    t = parse(long_line, sizeof long_line - 1, &st);
    CHECK(st == DF_ERR_PARSE && !t && strstr(df_last_error(), "too long"), "long: %s",
          df_last_error());
    t = parse(NULL, 0, &st);
    CHECK(st == DF_ERR_PARSE && !t, "NULL text of length 0");

    t = NULL;
    st = df_trees_load("/nonexistent/trees.txt", &t);
    CHECK(st == DF_ERR_IO && !t && strstr(df_last_error(), "/nonexistent/trees.txt"), "load: %s",
          df_last_error());
}

/* Random bytes, and the small dump with bytes changed: no crash, no leak,
 * and anything accepted must evaluate. */
static void test_random_texts(void)
{
    char text[sizeof small_dump];
    /* Mutations replace bytes, never insert, so an accepted header still
     * declares a one-digit feature count. */
    const float row[16] = {1, NAN, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        if (round % 2 == 0) {
            len = next_u64() % sizeof text;
            for (size_t i = 0; i < len; i++)
                text[i] = (char)next_u64();
        } else {
            len = sizeof small_dump - 1;
            memcpy(text, small_dump, len);
            static const char alphabet[] = "0123456789:[]<>=,.-+e\t\nfyesnomiglabt ";
            for (int k = 1 + (int)(next_u64() % 3); k > 0; k--)
                text[next_u64() % len] = alphabet[next_u64() % (sizeof alphabet - 1)];
        }
        df_status st;
        df_trees *t = parse(text, len, &st);
        CHECK((st == DF_OK) == (t != NULL), "status and result disagree");
        if (t) {
            accepted++;
            int nf = df_trees_feature_count(t);
            CHECK(nf >= 1 && nf <= 16, "feature count %d", nf);
            if (nf >= 1 && nf <= 16)
                CHECK(!isnan(df_trees_predict(t, row)), "NaN prediction");
            df_trees_free(t);
        }
    }
    printf("random and mutated texts: %d of 20000 accepted\n", accepted);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--hostile") == 0) {
        test_small_dump();
        test_bad_texts();
        test_random_texts();
    } else {
        test_against_xgboost();
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
