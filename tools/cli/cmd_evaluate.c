/* deepfirst evaluate: how well the planner predicts and chooses on one model,
 * measured against exhaustive measurement of its whole plan space. The work
 * behind bench/planner_eval.py, which writes docs/planner.md from it.
 *
 * Every candidate unit of the plan space (planner.h) is measured on the real
 * model, packed into as few plans as do not overlap. From those measurements:
 * the error of the learned and the analytic predictions per unit; Kendall's
 * tau between predicted and measured order of the schedules of each segment
 * (its bands, and its steps layer by layer); the
 * best plan of the space (the dynamic program over measured costs); and the
 * end-to-end latency of the learned, analytic, heuristic, best and
 * layer-by-layer plans, measured side by side, whose ratio to the fastest of
 * them is the regret.
 *
 * The space is measured in --passes passes (2 by default), each running the
 * same packed plans in fresh models, a pass apart in time. This VM has slow
 * phases of a few seconds (a unit 20-40% slower, then back), so a unit's time
 * is the least of its passes: the machine's speed, not its neighbours'. The
 * difference between the first two passes is the run-to-run noise, and
 * Kendall's tau of one pass against the other, over the same schedules, is
 * how well the measurement ranks them itself: the ceiling any prediction's
 * tau is judged against. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "cli.h"
#include "measure.h"
#include "plan/choose.h"
#include "plan/planner.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst evaluate MODEL [options]\n"
          "\n"
          "Measures every unit of the model's plan space and prints, as one JSON object,\n"
          "the prediction errors, rank correlations and regrets of the learned, analytic\n"
          "and heuristic planners (bench/planner_eval.py runs it over the zoo). Needs a\n"
          "calibration. Takes minutes on large models.\n"
          "\n"
          "options:\n"
          "      --runs N             timed runs per measured plan (default 7)\n"
          "      --passes N           measurements of the whole plan space (default 2)\n"
          "      --rounds N           side-by-side rounds of the end-to-end race (default 5)\n"
          "  -t, --threads N          threads (default: all cores)\n"
          "      --cache-dir DIR      where the calibration is\n"
          "      --units FILE         also write every unit's features, predictions and\n"
          "                           measured time as CSV\n"
          "  -h, --help               this help\n",
          out);
}

typedef struct eval_ctx {
    const void *bytes;
    size_t size;
    const char *path;
    df_options opt;
    int runs;
} eval_ctx;

/* Kendall's tau-b of two equally long sequences. */
static double kendall_tau(const double *a, const double *b, int n)
{
    double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double da = a[i] - a[j], db = b[i] - b[j];
            if (da == 0 && db == 0)
                continue;
            if (da == 0)
                ties_a++;
            else if (db == 0)
                ties_b++;
            else if ((da > 0) == (db > 0))
                concordant++;
            else
                discordant++;
        }
    double denom = sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
    return denom > 0 ? (concordant - discordant) / denom : NAN;
}

static char *plan_text(const df_program *p, const df_plan_candidate *c, int n, double margin)
{
    df_plan_spec spec;
    if (df_plan_best(p, c, n, margin, &spec) != DF_OK)
        return NULL;
    int need = df_plan_spec_format(&spec, NULL, 0);
    char *t = malloc((size_t)need + 1);
    if (t)
        df_plan_spec_format(&spec, t, (size_t)need + 1);
    df_plan_spec_free(&spec);
    return t;
}

static void json_errors(const char *name, const df_plan_candidate *c, const double *measured, int n,
                        int segments_only)
{
    double *ape = malloc((size_t)n * sizeof *ape);
    int m = 0;
    double sum = 0;
    for (int k = 0; ape && k < n; k++) {
        if (measured[k] <= 0.0 || (segments_only && c[k].band == 0))
            continue;
        ape[m] = 100.0 * fabs(c[k].predicted_us - measured[k]) / measured[k];
        sum += ape[m++];
    }
    printf("\"%s\": {\"units\": %d, \"mape\": %.2f, \"median_ape\": %.2f}", name, m,
           m ? sum / m : NAN, m ? median_of(ape, m) : NAN);
    free(ape);
}

/* Predicted and measured time of steps [first, last] all layer by layer;
 * 0 when a step has no measurement. */
static void layer_sum(const df_plan_candidate *c, const double *predicted, const double *measured,
                      int n, int first, int last, double *pred, double *meas)
{
    *pred = *meas = 0;
    for (int k = 0; k < n; k++)
        if (c[k].band == 0 && c[k].first >= first && c[k].first <= last) {
            if (measured[k] <= 0 || predicted[k] <= 0) {
                *meas = 0;
                return;
            }
            *pred += predicted[k];
            *meas += measured[k];
        }
}

/* Mean over the segments [first, last] of Kendall's tau between predicted
 * (pred[k] for candidate k) and measured times of their schedules: each
 * band, and all steps layer by layer. Segments with fewer than three
 * schedules are left out. */
static double mean_tau(const df_plan_candidate *c, const double *predicted, const double *measured,
                       int n, int *groups)
{
    double sum = 0;
    *groups = 0;
    for (int k = 0; k < n;) {
        int end = k;
        while (end < n && c[end].first == c[k].first && c[end].last == c[k].last)
            end++;
        if (c[k].band > 0) {
            double pred[16], meas[16];
            int m = 0;
            for (int q = k; q < end && m < 15; q++)
                if (measured[q] > 0 && predicted[q] > 0) {
                    pred[m] = predicted[q];
                    meas[m++] = measured[q];
                }
            layer_sum(c, predicted, measured, n, c[k].first, c[k].last, &pred[m], &meas[m]);
            m += meas[m] > 0;
            double tau = m >= 3 ? kendall_tau(pred, meas, m) : NAN;
            if (!isnan(tau)) {
                sum += tau;
                (*groups)++;
            }
        }
        k = end;
    }
    return *groups ? sum / *groups : NAN;
}

static int evaluate(const char *path, df_options opt, int runs, int rounds, int passes,
                    const char *units)
{
    measure_reuse_memory();
    char err[1024], dir[1024];
    if (!df_machine_cache_dir(opt.cache_dir, dir, sizeof dir))
        return cli_error("no cache directory");
    df_cost_model learned, analytic;
    if (df_cost_model_load(dir, 1, &learned) != DF_OK)
        return cli_error("%s; run deepfirst calibrate first", df_last_error());
    analytic = learned;
    analytic.trees = NULL;
    eval_ctx e = {0};
    e.path = path;
    e.runs = runs;
    void *bytes = read_whole_file(path, &e.size, err, sizeof err);
    if (!bytes) {
        df_cost_model_free(&learned);
        return cli_error("%s", err);
    }
    e.bytes = bytes;
    df_options lopt = opt;
    lopt.schedule = DF_SCHEDULE_LAYER;
    df_model *layer = NULL, *heur = NULL;
    df_plan_candidate *cl = NULL, *ca = NULL;
    double *measured = NULL, *pass_us = NULL;
    char **packed = NULL;
    int n_packed = 0;
    enum { N_PLANS = 6 };
    char *plans[N_PLANS] = {NULL, NULL, NULL, NULL, NULL, NULL};
    int nl = 0, na = 0, rc = CLI_EXIT_ERROR;
    if (df_model_open_memory(bytes, e.size, path, &lopt, &layer) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    df_model_stats stats;
    df_model_get_stats(layer, &stats);
    e.opt = opt;
    e.opt.threads = stats.threads;
    df_program *p = df_model_program(layer);

    /* planning time: what opening a model adds for the learned planner */
    double t_plan = cli_now_ms();
    if (df_plan_candidates(p, stats.threads, &learned, &cl, &nl) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    plans[0] = plan_text(p, cl, nl, DF_PLAN_MARGIN);
    t_plan = cli_now_ms() - t_plan;
    if (df_plan_candidates(p, stats.threads, &analytic, &ca, &na) != DF_OK || na != nl) {
        rc = cli_error("candidates differ between cost models");
        goto done;
    }
    plans[1] = plan_text(p, ca, na, DF_PLAN_MARGIN);
    plans[5] = plan_text(p, cl, nl, 0.0);
    df_options hopt = e.opt;
    hopt.planner = DF_PLANNER_HEURISTIC;
    if (df_model_open_memory(bytes, e.size, path, &hopt, &heur) != DF_OK) {
        rc = cli_library_error();
        goto done;
    }
    int need = df_model_plan(heur, NULL, 0);
    plans[2] = malloc((size_t)need + 1);
    plans[4] = calloc(1, 1); /* layer by layer */
    measured = calloc((size_t)nl, sizeof *measured);
    pass_us = calloc((size_t)nl * (size_t)passes, sizeof *pass_us);
    if (!plans[0] || !plans[1] || !plans[2] || !plans[4] || !plans[5] || !measured || !pass_us) {
        rc = cli_error("out of memory");
        goto done;
    }
    df_model_plan(heur, plans[2], (size_t)need + 1);

    /* exhaustive: measure every candidate; the first pass packs the plans,
     * the others run the same ones again */
    const double t_start = cli_now_ms();
    int left = nl;
    while (left > 0) {
        int segments = 0;
        char *text = pack_unmeasured(cl, nl, NULL, pass_us, &segments);
        char **grown = text ? realloc(packed, ((size_t)n_packed + 1) * sizeof *packed) : NULL;
        if (!grown) {
            free(text);
            progress_end();
            rc = cli_error("out of memory");
            goto done;
        }
        packed = grown;
        packed[n_packed++] = text;
        if (measure_candidates(bytes, e.size, path, &e.opt, text, runs, cl, nl, pass_us, NULL, err,
                               sizeof err) != 0) {
            progress_end();
            rc = cli_error("%s", err);
            goto done;
        }
        int now_left = 0;
        for (int k = 0; k < nl; k++)
            now_left += pass_us[k] == 0.0;
        if (now_left == left || segments == 0) /* what is left cannot be measured */
            break;
        left = now_left;
        progress_draw("measuring the plan space", (1.0 - (double)left / nl) / passes,
                      (cli_now_ms() - t_start) / 1e3);
    }
    const double t_exh = cli_now_ms() - t_start; /* one pass: exhaustive tuning's time */
    for (int q = 1; q < passes; q++)
        for (int k = 0; k < n_packed; k++) {
            if (measure_candidates(bytes, e.size, path, &e.opt, packed[k], runs, cl, nl,
                                   pass_us + (size_t)q * (size_t)nl, NULL, err, sizeof err) != 0) {
                progress_end();
                rc = cli_error("%s", err);
                goto done;
            }
            progress_draw("measuring the plan space", (q + (double)(k + 1) / n_packed) / passes,
                          (cli_now_ms() - t_start) / 1e3);
        }
    progress_end();
    /* a unit's time: the least of its passes; the noise: how far the first
     * two passes are apart */
    for (int k = 0; k < nl; k++) {
        measured[k] = 0.0;
        for (int q = 0; q < passes; q++) {
            const double t = pass_us[(size_t)q * (size_t)nl + (size_t)k];
            if (t > 0 && (measured[k] == 0.0 || t < measured[k]))
                measured[k] = t;
        }
    }
    double noise = NAN, tau_self = NAN;
    if (passes > 1) {
        const double *a = pass_us, *b = pass_us + nl;
        double sum = 0;
        int m = 0;
        for (int k = 0; k < nl; k++)
            if (a[k] > 0 && b[k] > 0) {
                sum += 200.0 * fabs(a[k] - b[k]) / (a[k] + b[k]);
                m++;
            }
        noise = m ? sum / m : NAN;
        int groups;
        tau_self = mean_tau(cl, a, b, nl, &groups);
    }

    if (units) {
        FILE *f = fopen(units, "w");
        if (!f) {
            rc = cli_error("%s: cannot write", units);
            goto done;
        }
        fprintf(f, "first,last,band,learned_us,analytic_us,measured_us");
        for (int q = 0; q < passes; q++)
            fprintf(f, ",pass%d_us", q + 1);
        for (int q = 0; q < DF_F_COUNT; q++)
            fprintf(f, ",%s", df_feature_names[q]);
        fprintf(f, "\n");
        for (int k = 0; k < nl; k++) {
            fprintf(f, "%d,%d,%d,%.3f,%.3f,%.3f", cl[k].first, cl[k].last, cl[k].band,
                    cl[k].predicted_us, ca[k].predicted_us, measured[k]);
            for (int q = 0; q < passes; q++)
                fprintf(f, ",%.3f", pass_us[(size_t)q * (size_t)nl + (size_t)k]);
            for (int q = 0; q < DF_F_COUNT; q++)
                fprintf(f, ",%.6g", cl[k].f[q]);
            fprintf(f, "\n");
        }
        fclose(f);
    }

    /* the best plan of the space, by the measurements */
    df_plan_candidate *cm = malloc((size_t)nl * sizeof *cm);
    if (!cm) {
        rc = cli_error("out of memory");
        goto done;
    }
    memcpy(cm, cl, (size_t)nl * sizeof *cm);
    for (int k = 0; k < nl; k++)
        cm[k].predicted_us = measured[k] > 0 ? measured[k] : 1e30;
    plans[3] = plan_text(p, cm, nl, 0.0);
    free(cm);

    /* end to end, side by side */
    /* learned_plain: the learned model's plan without the risk margin */
    static const char *names[N_PLANS] = {"learned", "analytic", "heuristic", "best", "layer",
                                         "learned_plain"};
    double lat[N_PLANS][64];
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < N_PLANS; k++) {
            measured_plan mp;
            if (!plans[k] || measure_plan(bytes, e.size, path, &e.opt, plans[k], runs, &mp, err,
                                          sizeof err) != 0) {
                rc = cli_error("plan %s: %s", names[k], err);
                goto done;
            }
            lat[k][r] = mp.total_us;
            measured_plan_free(&mp);
        }
    /* the reference is the fastest plan found: the best of the space by its
     * units' times usually, but a unit's time depends a little on its
     * neighbours, so any plan measured end to end may beat it */
    double med[N_PLANS], fastest = INFINITY;
    for (int k = 0; k < N_PLANS; k++) {
        med[k] = median_of(lat[k], rounds);
        fastest = fmin(fastest, med[k]);
    }

    int groups_l, groups_a;
    double *pred_l = malloc((size_t)nl * sizeof *pred_l), *pred_a = malloc((size_t)nl * sizeof *pred_a);
    if (!pred_l || !pred_a) {
        free(pred_l);
        free(pred_a);
        rc = cli_error("out of memory");
        goto done;
    }
    for (int k = 0; k < nl; k++) {
        pred_l[k] = cl[k].predicted_us;
        pred_a[k] = ca[k].predicted_us;
    }
    double tau_l = mean_tau(cl, pred_l, measured, nl, &groups_l);
    double tau_a = mean_tau(ca, pred_a, measured, na, &groups_a);
    free(pred_l);
    free(pred_a);
    printf("{\"model\": ");
    cli_json_string(stdout, path);
    printf(", \"threads\": %d, \"candidates\": %d, \"measured_plans\": %d, "
           "\"exhaustive_s\": %.2f, \"planning_ms\": %.2f, \"passes\": %d, "
           "\"noise_pct\": %.2f, ",
           stats.threads, nl, n_packed, t_exh / 1e3, t_plan, passes, noise);
    printf("\"errors\": {");
    json_errors("learned", cl, measured, nl, 0);
    printf(", ");
    json_errors("analytic", ca, measured, na, 0);
    printf(", ");
    json_errors("learned_segments", cl, measured, nl, 1);
    printf(", ");
    json_errors("analytic_segments", ca, measured, na, 1);
    printf("}, \"tau\": {\"learned\": %.3f, \"analytic\": %.3f, \"measurement\": %.3f, "
           "\"groups\": %d}, \"plans\": {",
           tau_l, tau_a, tau_self, groups_l);
    for (int k = 0; k < N_PLANS; k++) {
        printf("%s\"%s\": {\"median_us\": %.1f, \"regret_pct\": %.2f, \"plan\": ", k ? ", " : "",
               names[k], med[k], 100.0 * (med[k] / fastest - 1.0));
        cli_json_string(stdout, plans[k]);
        printf("}");
    }
    printf("}}\n");
    rc = CLI_EXIT_OK;
done:
    for (int k = 0; k < N_PLANS; k++)
        free(plans[k]);
    for (int k = 0; k < n_packed; k++)
        free(packed[k]);
    free(packed);
    free(measured);
    free(pass_us);
    free(cl);
    free(ca);
    df_model_close(layer);
    df_model_close(heur);
    df_cost_model_free(&learned);
    free(bytes);
    return rc;
}

int cmd_evaluate(int argc, char **argv)
{
    const char *command = argv[0];
    const char *path = NULL, *units = NULL;
    long runs = 7, rounds = 5, passes = 2;
    df_options opt;
    df_options_init(&opt);
    for (int i = 1; i < argc; i++) {
        const char *value;
        int rc;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--runs", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--runs", value, 1, 1000, &runs) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--rounds", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--rounds", value, 1, 64, &rounds) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--passes", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--passes", value, 1, 16, &passes) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--units", &value)) != 0) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
            units = value;
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
    return evaluate(path, opt, (int)runs, (int)rounds, (int)passes, units);
}
