/* deepfirst tune: measure the most promising plans of one model on this
 * machine, teach the cost model what it got wrong, and cache the best plan.
 *
 * The learned planner's choice is the starting point. For each of its
 * segments, the alternatives the model rates best (other bands of the same
 * ops, segments a few ops shorter or longer, the ops layer by layer) are run
 * on the real model, packed into as few plans as do not overlap. The
 * measurements join the training data, the model is refitted, and the plan is
 * chosen again with measured costs where there are measurements. The faster
 * of the first and the new plan, measured side by side, is cached for this
 * model and thread count: the default planner uses it from then on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "cli.h"
#include "measure.h"
#include "plan/choose.h"
#include "plan/planner.h"
#include "samples.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst tune MODEL [options]\n"
          "\n"
          "Measures the plans the learned cost model rates best on this model, adds the\n"
          "measurements to the calibration data, refits the model, and caches the fastest\n"
          "plan for this model and thread count (needs `deepfirst calibrate` first).\n"
          "\n"
          "options:\n"
          "      --budget SECONDS     time to spend measuring (default 60)\n"
          "      --runs N             timed runs per measured plan (default 7)\n"
          "  -t, --threads N          threads to tune for (default: all cores)\n"
          "      --cache-dir DIR      instead of $XDG_CACHE_HOME/deepfirst or ~/.cache/deepfirst\n"
          "  -h, --help               this help\n",
          out);
}

enum { ALTERNATIVES = 4 };

typedef struct tune_state {
    const void *bytes;
    size_t size;
    const char *path;
    df_options opt;
    df_plan_candidate *c;
    int n;
    double *measured;   /* per candidate, 0 = not measured */
    sample_set new_rows;
    unsigned source;
    int runs;
} tune_state;

static int cmp_by_prediction(const void *a, const void *b, void *ctx)
{
    const df_plan_candidate *c = ctx;
    double x = c[*(const int *)a].predicted_us, y = c[*(const int *)b].predicted_us;
    return (x > y) - (x < y);
}

/* Marks the alternatives of a unit [first, last] worth measuring: every
 * candidate starting at `first` ending within two steps of `last`, the best
 * ALTERNATIVES of them by prediction, and the layer steps it covers. */
static void mark_alternatives(const tune_state *t, int first, int last, char *want)
{
    int idx[256], m = 0;
    for (int k = 0; k < t->n && m < 256; k++)
        if (t->c[k].first == first && t->c[k].band > 0 && abs(t->c[k].last - last) <= 2)
            idx[m++] = k;
    /* a small insertion sort: qsort_r is not portable */
    for (int a = 1; a < m; a++)
        for (int b = a; b > 0 && cmp_by_prediction(&idx[b - 1], &idx[b], t->c) > 0; b--) {
            int x = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = x;
        }
    for (int a = 0; a < m && a < ALTERNATIVES; a++)
        want[idx[a]] = 1;
    for (int k = 0; k < t->n; k++)
        if (t->c[k].band == 0 && t->c[k].first >= first && t->c[k].first <= last)
            want[k] = 1;
}

/* Runs a plan, records every unit's time and adds the new ones to the data. */
static int measure_units(tune_state *t, const char *spec, char *err, size_t errsz)
{
    double *before = malloc((size_t)t->n * sizeof *before);
    if (!before) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    memcpy(before, t->measured, (size_t)t->n * sizeof *before);
    memset(t->measured, 0, (size_t)t->n * sizeof *t->measured);
    int rc = measure_candidates(t->bytes, t->size, t->path, &t->opt, spec, t->runs, t->c, t->n,
                                t->measured, NULL, err, errsz);
    for (int k = 0; k < t->n; k++) {
        if (rc == 0 && t->measured[k] > 0.0) {
            sample r = {t->source, t->opt.threads, t->c[k].first, t->c[k].last, t->c[k].band, {0},
                        t->measured[k]};
            memcpy(r.f, t->c[k].f, sizeof r.f);
            samples_add(&t->new_rows, &r);
        }
        if (t->measured[k] == 0.0)
            t->measured[k] = before[k];
    }
    free(before);
    return rc;
}

static char *format_spec(const df_plan_spec *spec)
{
    int need = df_plan_spec_format(spec, NULL, 0);
    char *s = malloc((size_t)need + 1);
    if (s)
        df_plan_spec_format(spec, s, (size_t)need + 1);
    return s;
}

/* Median of alternating runs of two plans. */
static int race(tune_state *t, const char *a, const char *b, double *ta, double *tb, char *err,
                size_t errsz)
{
    double xa[3], xb[3];
    for (int r = 0; r < 3; r++) {
        measured_plan mp;
        if (measure_plan(t->bytes, t->size, t->path, &t->opt, a, t->runs, &mp, err, errsz) != 0)
            return -1;
        xa[r] = mp.total_us;
        measured_plan_free(&mp);
        if (measure_plan(t->bytes, t->size, t->path, &t->opt, b, t->runs, &mp, err, errsz) != 0)
            return -1;
        xb[r] = mp.total_us;
        measured_plan_free(&mp);
    }
    *ta = fmin(fmax(xa[0], xa[1]), fmax(fmin(xa[0], xa[1]), xa[2]));
    *tb = fmin(fmax(xb[0], xb[1]), fmax(fmin(xb[0], xb[1]), xb[2]));
    return 0;
}

static int tune(const char *path, df_options opt, long budget_s, int runs)
{
    measure_reuse_memory();
    char err[1024], dir[1024], file[1200];
    double t0 = cli_now_ms();
    if (!df_machine_cache_dir(opt.cache_dir, dir, sizeof dir))
        return cli_error("no cache directory: set HOME or XDG_CACHE_HOME, or pass --cache-dir");
    df_cost_model cm;
    if (df_cost_model_load(dir, 1, &cm) != DF_OK)
        return cli_error("%s; run deepfirst calibrate first", df_last_error());
    tune_state t = {0};
    t.path = path;
    t.runs = runs;
    t.opt = opt;
    void *bytes = read_whole_file(path, &t.size, err, sizeof err);
    if (!bytes) {
        df_cost_model_free(&cm);
        return cli_error("%s", err);
    }
    t.bytes = bytes;
    df_options lopt = opt;
    lopt.schedule = DF_SCHEDULE_LAYER;
    df_model *layer = NULL;
    df_plan_spec first_plan = {0}, tuned = {0};
    char *first_text = NULL, *tuned_text = NULL, *want = NULL;
    int rc = CLI_EXIT_ERROR;
    if (df_model_open_memory(bytes, t.size, path, &lopt, &layer) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    df_model_stats stats;
    df_model_get_stats(layer, &stats);
    t.opt.threads = stats.threads;
    t.source = (unsigned)stats.hash;
    if (df_plan_candidates(df_model_program(layer), stats.threads, &cm, &t.c, &t.n) != DF_OK ||
        df_plan_best(df_model_program(layer), t.c, t.n, DF_PLAN_MARGIN, &first_plan) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    t.measured = calloc((size_t)t.n, sizeof *t.measured);
    want = calloc((size_t)t.n, 1);
    first_text = format_spec(&first_plan);
    if (!t.measured || !want || !first_text) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (int u = 0; u < first_plan.n; u++)
        mark_alternatives(&t, first_plan.units[u].first, first_plan.units[u].last, want);
    int wanted = 0;
    for (int k = 0; k < t.n; k++)
        wanted += want[k];
    fprintf(stderr, "tuning %s, %d threads: %d candidate units to measure\n", path,
            stats.threads, wanted);

    /* pack unmeasured wanted units into plans until all are measured or time is up */
    const double budget_ms = (double)budget_s * 1e3;
    int plans = 0;
    for (;;) {
        double now = cli_now_ms() - t0;
        int left = 0;
        for (int k = 0; k < t.n; k++)
            left += want[k] && t.measured[k] == 0.0;
        progress_draw("measuring", 1.0 - (double)left / (wanted ? wanted : 1), now / 1e3);
        if (left == 0 || now > budget_ms * 0.8)
            break;
        int segments = 0;
        char *text = pack_unmeasured(t.c, t.n, want, t.measured, &segments);
        int ok = text && measure_units(&t, text, err, sizeof err) == 0;
        free(text);
        if (!ok) {
            progress_end();
            rc = cli_error("%s", err);
            goto done;
        }
        plans++;
        if (segments == 0) /* only layer steps were left, and that plan measured them */
            for (int k = 0; k < t.n; k++)
                if (want[k] && t.c[k].band == 0 && t.measured[k] == 0.0)
                    t.measured[k] = -1.0; /* not banded in this context; skip */
    }
    progress_end();

    /* learn from the measurements, then choose again trusting them */
    snprintf(file, sizeof file, "%s/tune_samples.csv", dir);
    if (samples_save(&t.new_rows, file, 1, err, sizeof err) != 0) {
        rc = cli_error("%s", err);
        goto done;
    }
    sample_set all = {0};
    snprintf(file, sizeof file, "%s/samples.csv", dir);
    int ok = samples_load(file, &all, err, sizeof err) == 0;
    snprintf(file, sizeof file, "%s/tune_samples.csv", dir);
    ok = ok && samples_load(file, &all, err, sizeof err) == 0;
    snprintf(file, sizeof file, "%s/%s", dir, DF_TREES_FILE);
    ok = ok && samples_train(&all, file, err, sizeof err) == 0;
    samples_free(&all);
    if (!ok) {
        rc = cli_error("refitting: %s", err);
        goto done;
    }
    df_cost_model_free(&cm);
    if (df_cost_model_load(dir, 1, &cm) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    for (int k = 0; k < t.n; k++) {
        float *f = t.c[k].f;
        t.c[k].predicted_us = t.measured[k] > 0.0 ? t.measured[k] : df_cost_predict_us(&cm, f);
    }
    if (df_plan_best(df_model_program(layer), t.c, t.n, DF_PLAN_MARGIN, &tuned) != DF_OK ||
        !(tuned_text = format_spec(&tuned))) {
        rc = cli_library_error();
        goto done;
    }
    double t_first = 0, t_tuned = 0;
    if (strcmp(first_text, tuned_text) == 0) {
        if (race(&t, first_text, first_text, &t_first, &t_tuned, err, sizeof err) != 0) {
            rc = cli_error("%s", err);
            goto done;
        }
    } else if (race(&t, first_text, tuned_text, &t_first, &t_tuned, err, sizeof err) != 0) {
        rc = cli_error("%s", err);
        goto done;
    }
    const char *best = t_tuned <= t_first ? tuned_text : first_text;
    snprintf(file, sizeof file, "%s/plans", dir);
    if (df_make_dirs(file) != DF_OK || !df_tuned_plan_path(dir, stats.hash, stats.threads, file,
                                                          sizeof file)) {
        rc = cli_library_error();
        goto done;
    }
    FILE *f = fopen(file, "w");
    if (!f || fprintf(f, "%s\n", best) < 0 || fclose(f) != 0) {
        rc = cli_error("%s: cannot write", file);
        goto done;
    }
    printf("measured %d plans in %.0f s\n", plans, (cli_now_ms() - t0) / 1e3);
    printf("learned plan  %9.1f us  \"%s\"\n", t_first, first_text);
    printf("tuned plan    %9.1f us  \"%s\"\n", t_tuned, tuned_text);
    printf("cached        %s\n", file);
    rc = CLI_EXIT_OK;
done:
    df_plan_spec_free(&first_plan);
    df_plan_spec_free(&tuned);
    free(first_text);
    free(tuned_text);
    free(want);
    free(t.measured);
    free(t.c);
    samples_free(&t.new_rows);
    df_model_close(layer);
    df_cost_model_free(&cm);
    free(bytes);
    return rc;
}

int cmd_tune(int argc, char **argv)
{
    const char *command = argv[0];
    const char *path = NULL;
    long budget = 60, runs = 7;
    df_options opt;
    df_options_init(&opt);
    for (int i = 1; i < argc; i++) {
        const char *value;
        int rc;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--budget", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--budget", value, 1, 86400, &budget) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--runs", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--runs", value, 1, 1000, &runs) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_parse_machine_option(command, argc, argv, &i, &opt)) != 0) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(command, "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_usage_error(command, "one model at a time: '%s' after '%s'", argv[i], path);
        }
    }
    if (!path)
        return cli_usage_error(command, "no model given");
    return tune(path, opt, budget, (int)runs);
}
