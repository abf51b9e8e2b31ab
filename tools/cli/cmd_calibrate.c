/* deepfirst calibrate: fingerprint this machine, measure random synthetic
 * networks under sampled plans, and train the planner's cost model.
 *
 * The synthetic networks (synth.c) are never the zoo's, so the zoo stays an
 * honest test of how the model generalises (bench/planner_eval.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "cli.h"
#include "fingerprint.h"
#include "measure.h"
#include "plan/choose.h"
#include "plan/planner.h"
#include "samples.h"
#include "synth.h"

static void print_help(FILE *out)
{
    fputs("usage: deepfirst calibrate [options]\n"
          "\n"
          "Measures this machine (FMA rate, bandwidth at each cache level, thread pool\n"
          "fork/join), then runs random synthetic networks under random plans and trains\n"
          "the cost model the auto schedule plans with. Saves machine.txt, samples.csv and\n"
          "cost_model.trees in the machine's cache directory and prints where.\n"
          "\n"
          "options:\n"
          "      --budget SECONDS     time to spend, all of it (default 150, at least 20)\n"
          "      --cache-dir DIR      instead of $XDG_CACHE_HOME/deepfirst or ~/.cache/deepfirst\n"
          "      --seed N             first synthetic network (default 1)\n"
          "  -t, --threads N          largest thread count to calibrate for (default: all cores);\n"
          "                           networks alternate between 1 and N threads\n"
          "  -h, --help               this help\n",
          out);
}

typedef struct calib_args {
    long budget_s;
    long seed;
    int threads;
    const char *cache_root;
} calib_args;

static unsigned rng_next(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* A random plan over the candidates: walking the steps, start a random
 * segment at a step with probability 3/4, else leave the step layer by layer. */
static void random_plan(const df_plan_candidate *c, int n, unsigned *rng, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    int k = 0, next_free = 0;
    while (k < n) {
        int first = c[k].first, end = k;
        while (end < n && c[end].first == first)
            end++;
        int segs = 0;
        for (int q = k; q < end; q++)
            segs += c[q].band > 0;
        if (first >= next_free && segs > 0 && rng_next(rng) % 4 != 0) {
            int pick = (int)(rng_next(rng) % (unsigned)segs);
            for (int q = k; q < end; q++)
                if (c[q].band > 0 && pick-- == 0) {
                    int w = snprintf(buf + len, size - len, "%s%d-%d/%d", len ? "," : "", c[q].first,
                                     c[q].last, c[q].band);
                    if (w > 0 && (size_t)w < size - len)
                        len += (size_t)w;
                    next_free = c[q].last + 1;
                    break;
                }
        }
        k = end;
    }
}

/* One synthetic network: its layer plan and three random plans, at one
 * thread count. Returns 0, or -1 with err. */
static int calibrate_model(unsigned seed, int threads, const df_cost_model *cm, sample_set *out,
                           char *err, size_t errsz)
{
    synth_model sm;
    if (synth_random_model(seed, &sm, err, errsz) != 0)
        return -1;
    df_options opt;
    df_options_init(&opt);
    opt.threads = threads;
    opt.cache_dir = "";
    opt.schedule = DF_SCHEDULE_LAYER;
    df_model *layer = NULL;
    df_plan_candidate *c = NULL;
    double *measured = NULL;
    int n = 0, rc = -1;
    if (df_model_open_memory(sm.onnx, sm.size, sm.desc, &opt, &layer) != DF_OK ||
        df_plan_candidates(df_model_program(layer), threads, cm, &c, &n) != DF_OK) {
        snprintf(err, errsz, "synthetic network %u: %s", seed, df_last_error());
        goto done;
    }
    unsigned rng = seed * 2654435761u + (unsigned)threads;
    int runs = 5;
    measured = malloc((size_t)n * sizeof *measured);
    if (!measured) {
        snprintf(err, errsz, "out of memory");
        goto done;
    }
    opt.schedule = DF_SCHEDULE_AUTO;
    for (int plan = 0; plan < 4; plan++) {
        char spec[4096];
        if (plan == 0)
            spec[0] = '\0';
        else
            random_plan(c, n, &rng, spec, sizeof spec);
        double total_us = 0.0;
        memset(measured, 0, (size_t)n * sizeof *measured);
        if (measure_candidates(sm.onnx, sm.size, sm.desc, &opt, spec, runs, c, n, measured,
                               &total_us, err, errsz) != 0)
            goto done;
        if (plan == 0) /* aim at about 20 ms of timed runs per plan */
            runs = total_us > 0 ? (int)fmin(25.0, fmax(5.0, 20000.0 / total_us)) : 5;
        for (int k = 0; k < n; k++)
            if (measured[k] > 0.0) {
                sample r = {seed, threads, c[k].first, c[k].last, c[k].band, {0}, measured[k]};
                memcpy(r.f, c[k].f, sizeof r.f);
                samples_add(out, &r);
            }
    }
    rc = 0;
done:
    free(measured);
    free(c);
    df_model_close(layer);
    synth_free(&sm);
    return rc;
}

static int holdout(const sample *r) { return r->source % 5 == 0; }

static int run(const calib_args *a)
{
    measure_reuse_memory();
    char dir[1024], path[1200], err[512];
    if (!df_machine_cache_dir(a->cache_root, dir, sizeof dir))
        return cli_error("no cache directory: set HOME or XDG_CACHE_HOME, or pass --cache-dir");
    if (df_make_dirs(dir) != DF_OK)
        return cli_library_error();
    double t0 = cli_now_ms();
    const double budget_ms = (double)a->budget_s * 1e3;

    df_cost_model cm = {0};
    df_machine_nominal(&cm.machine);
    fprintf(stderr, "calibrating %s for up to %ld s\n", cm.machine.signature, a->budget_s);
    progress_draw("fingerprint", 0.0, 0.0);
    double fp_budget = fmin(10.0, a->budget_s * 0.08);
    if (fingerprint_measure(&cm.machine, a->threads, fp_budget, err, sizeof err) != 0)
        return cli_error("fingerprint: %s", err);
    snprintf(path, sizeof path, "%s/%s", dir, DF_MACHINE_FILE);
    if (df_machine_save(path, &cm.machine) != DF_OK)
        return cli_library_error();
    progress_end();
    fprintf(stderr, "  peak %.1f GFLOP/s per thread; bandwidth L1 %.0f, L2 %.0f, L3 %.0f, DRAM %.1f "
            "GB/s; fork/join %.1f us\n", cm.machine.peak_gflops, cm.machine.bw_gbs[DF_BW_L1],
            cm.machine.bw_gbs[DF_BW_L2], cm.machine.bw_gbs[DF_BW_L3],
            cm.machine.bw_gbs[DF_BW_DRAM], cm.machine.fork_join_us);

    /* leave time to train twice (the held-out check, then all rows): about
     * 6 s each for the 20000 rows 150 s gathers here, growing with the rows */
    const double measure_until = budget_ms - fmax(12e3, 0.12 * budget_ms);
    sample_set set = {0};
    int models = 0;
    for (unsigned seed = (unsigned)a->seed;; seed++) {
        double now = cli_now_ms() - t0;
        progress_draw("measuring", now / measure_until, now / 1e3);
        if (now >= measure_until)
            break;
        int threads = a->threads > 1 && seed % 2 ? a->threads : 1;
        if (calibrate_model(seed, threads, &cm, &set, err, sizeof err) != 0) {
            progress_end();
            samples_free(&set);
            return cli_error("%s", err);
        }
        models++;
    }
    progress_end();
    fprintf(stderr, "  %d synthetic networks, %d measurements\n", models, set.n);

    snprintf(path, sizeof path, "%s/samples.csv", dir);
    if (samples_save(&set, path, 0, err, sizeof err) != 0) {
        samples_free(&set);
        return cli_error("%s", err);
    }
    /* honest check: train without every fifth network, predict those */
    sample_set train = {0};
    for (int i = 0; i < set.n; i++)
        if (!holdout(&set.rows[i]))
            samples_add(&train, &set.rows[i]);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s/holdout.trees", dir);
    int rc = samples_train(&train, tmp, err, sizeof err);
    samples_free(&train);
    if (rc == 0) {
        fprintf(stderr, "  held-out networks: error of the analytic estimate %.1f%%, learned %.1f%% "
                "(mean absolute percentage)\n", samples_mape(&set, NULL, holdout),
                samples_mape(&set, tmp, holdout));
        remove(tmp);
    }
    snprintf(path, sizeof path, "%s/%s", dir, DF_TREES_FILE);
    if (rc == 0)
        rc = samples_train(&set, path, err, sizeof err);
    samples_free(&set);
    if (rc != 0)
        return cli_error("training: %s", err);
    printf("calibration saved in %s (%.0f s)\n", dir, (cli_now_ms() - t0) / 1e3);
    return CLI_EXIT_OK;
}

int cmd_calibrate(int argc, char **argv)
{
    const char *command = "calibrate";
    calib_args a = {150, 1, 0, NULL};
    df_options machine; /* -t and --cache-dir, parsed as every command parses them */
    df_options_init(&machine);
    for (int i = 1; i < argc; i++) {
        const char *value;
        int rc;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--budget", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--budget", value, 20, 86400, &a.budget_s) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_take_value(command, argc, argv, &i, NULL, "--seed", &value)) != 0) {
            if (rc < 0 || cli_parse_count(command, "--seed", value, 1, 1L << 30, &a.seed) != 0)
                return CLI_EXIT_USAGE;
        } else if ((rc = cli_parse_machine_option(command, argc, argv, &i, &machine)) != 0) {
            if (rc < 0)
                return CLI_EXIT_USAGE;
        } else {
            return cli_usage_error(command, "unknown option '%s'", argv[i]);
        }
    }
    a.threads = machine.threads;
    a.cache_root = machine.cache_dir;
    if (a.threads == 0) {
        df_machine m;
        df_machine_nominal(&m);
        a.threads = m.cores;
    }
    return run(&a);
}
