/*
 * test_zoo: runs real networks end to end and compares with PyTorch.
 *
 *     test_zoo [-t THREADS] [--schedule layer|depth|auto] [--band ROWS] [--plan-seed S]
 *              [--planner P] [--cache-dir D] [--rtol X] DIR [NAME...]
 * (--band and --plan-seed set df_options.band_rows and plan_seed: the property
 * tests draw random segment cuts and band heights with them; --planner and
 * --cache-dir set the auto schedule's planner and where it finds a
 * calibration, none by default)
 *
 * DIR holds NAME.onnx, NAME.input.npy and NAME.output.npy for each model, as
 * written by tools/export_zoo.py. Without NAMEs every NAME.onnx in DIR that has
 * both .npy files is tested; a NAME given on the command line whose files are
 * missing is a failure. Defaults for -t and --schedule come from the environment
 * variables DF_THREADS and DF_SCHEDULE.
 *
 * Tolerance. deepfirst and PyTorch both compute in float32 but sum in different
 * orders (packed GEMM tiles, BatchNorm folded into the convolution weights, fused
 * activations), so results differ by rounding that accumulates with depth. The
 * error is measured against the scale of the output:
 *     max_abs_err = max_i |out_i - ref_i|,   max_rel_err = max_abs_err / max_i |ref_i|
 * and a model passes when max_rel_err <= rtol (default 1e-4; a zero reference uses
 * scale 1). Measured on the nine zoo models (tools/export_zoo.py): PyTorch's
 * float32 output differs from the same net run in float64 by 8e-8 to 1.2e-5 of
 * max|ref| (resnet50 the largest, most 1e-6 to 4e-6), which is the size rounding
 * reaches; a BatchNorm folded with epsilon 0 instead of 1e-5 already moves the
 * output by 2e-4 (resnet18) to 1e3 (mobilenet_v3_large), and a misplaced pad or
 * channel by far more. 1e-4 sits between the two. Any NaN or Inf fails.
 *
 * Each model is run twice in one session, to catch state left in the arena by
 * the first run; both runs must pass.
 *
 * Prints one line per model, then "N passed, M failed"; exits 1 on any failure or
 * when nothing was tested.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup */

#include "deepfirst.h"
#include "npy.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct zoo_config {
    int threads;
    df_schedule schedule;
    double rtol;
    int band;       /* depth first: rows per band, 0 = planner */
    unsigned seed;  /* depth first: random segment cuts and bands, 0 = planner */
    df_planner planner;
    const char *cache_dir; /* "" (the default): no calibration, so runs do not
                              depend on what this machine's cache holds */
} zoo_config;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int parse_schedule(const char *s, df_schedule *out)
{
    if (strcmp(s, "auto") == 0)
        *out = DF_SCHEDULE_AUTO;
    else if (strcmp(s, "layer") == 0)
        *out = DF_SCHEDULE_LAYER;
    else if (strcmp(s, "depth") == 0)
        *out = DF_SCHEDULE_DEPTH;
    else
        return -1;
    return 0;
}

static const char *schedule_name(df_schedule s)
{
    switch (s) {
    case DF_SCHEDULE_LAYER: return "layer";
    case DF_SCHEDULE_DEPTH: return "depth";
    default: return "auto";
    }
}

/* Compares out with ref; fills the error figures; returns 1 when within tolerance. */
static int compare(const float *out, const float *ref, int64_t n, double rtol, double *max_abs,
                   double *max_rel, double *ref_max, int64_t *worst)
{
    double err = 0, scale = 0;
    int finite = 1;
    *worst = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(out[i]))
            finite = 0;
        double d = fabs((double)out[i] - (double)ref[i]);
        if (!(d <= err)) { /* also catches NaN */
            err = isnan(d) ? INFINITY : d;
            *worst = i;
        }
        if (fabs(ref[i]) > scale)
            scale = fabs(ref[i]);
    }
    *max_abs = err;
    *ref_max = scale;
    *max_rel = err / (scale > 0 ? scale : 1.0);
    return finite && *max_rel <= rtol;
}

static int same_shape(const df_tensor_info *info, const npy_array *a)
{
    if (info->rank != a->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (info->dims[i] != a->dims[i])
            return 0;
    return 1;
}

static void format_shape(char *buf, size_t len, int rank, const int64_t *dims)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%lld", i ? "x" : "", (long long)dims[i]);
}

/* Tests one model; prints its line; returns 1 on pass. */
static int test_model(const char *dir, const char *name, const zoo_config *cfg)
{
    char path_onnx[4096], path_in[4096], path_out[4096], err[512];
    snprintf(path_onnx, sizeof path_onnx, "%s/%s.onnx", dir, name);
    snprintf(path_in, sizeof path_in, "%s/%s.input.npy", dir, name);
    snprintf(path_out, sizeof path_out, "%s/%s.output.npy", dir, name);

    npy_array in = {0}, ref = {0};
    df_model *model = NULL;
    df_session *session = NULL;
    float *out = NULL;
    int pass = 0;

    const char *bad = npy_read(path_in, &in, err, sizeof err) != 0     ? path_in
                      : npy_read(path_out, &ref, err, sizeof err) != 0 ? path_out
                                                                       : NULL;
    if (bad) {
        printf("FAIL %-22s %s: %s\n", name, bad, err);
        goto done;
    }

    df_options opt;
    df_options_init(&opt);
    opt.threads = cfg->threads;
    opt.schedule = cfg->schedule;
    opt.band_rows = cfg->band;
    opt.plan_seed = cfg->seed;
    opt.planner = cfg->planner;
    opt.cache_dir = cfg->cache_dir;

    double t0 = now_ms();
    df_status st = df_model_open(path_onnx, &opt, &model);
    double t_load = now_ms() - t0;
    if (st != DF_OK) {
        printf("FAIL %-22s open: %s: %s\n", name, df_status_string(st), df_last_error());
        goto done;
    }
    if (df_model_input_count(model) != 1 || df_model_output_count(model) != 1) {
        printf("FAIL %-22s expected 1 input and 1 output, model has %d and %d\n", name,
               df_model_input_count(model), df_model_output_count(model));
        goto done;
    }
    df_tensor_info ii, oi;
    char s1[128], s2[128];
    if ((st = df_model_input(model, 0, &ii)) != DF_OK ||
        (st = df_model_output(model, 0, &oi)) != DF_OK) {
        printf("FAIL %-22s tensor info: %s: %s\n", name, df_status_string(st), df_last_error());
        goto done;
    }
    if (!same_shape(&ii, &in) || ii.numel != in.numel) {
        format_shape(s1, sizeof s1, ii.rank, ii.dims);
        format_shape(s2, sizeof s2, in.rank, in.dims);
        printf("FAIL %-22s input shape: model %s, %s.input.npy %s\n", name, s1, name, s2);
        goto done;
    }
    if (!same_shape(&oi, &ref) || oi.numel != ref.numel) {
        format_shape(s1, sizeof s1, oi.rank, oi.dims);
        format_shape(s2, sizeof s2, ref.rank, ref.dims);
        printf("FAIL %-22s output shape: model %s, %s.output.npy %s\n", name, s1, name, s2);
        goto done;
    }

    if ((st = df_session_create(model, &session)) != DF_OK) {
        printf("FAIL %-22s session: %s: %s\n", name, df_status_string(st), df_last_error());
        goto done;
    }
    out = malloc((size_t)ref.numel * sizeof(float));
    if (!out) {
        printf("FAIL %-22s out of memory\n", name);
        goto done;
    }

    const float *inputs[1] = {in.data};
    float *outputs[1] = {out};
    double max_abs[2], max_rel[2], ref_max, t_run[2];
    int64_t worst[2];
    float got[2];
    int ok[2];
    for (int r = 0; r < 2; r++) {
        /* A poisoned buffer: an output the run forgot to write cannot pass. */
        for (int64_t i = 0; i < ref.numel; i++)
            out[i] = NAN;
        t0 = now_ms();
        st = df_session_run(session, inputs, outputs);
        t_run[r] = now_ms() - t0;
        if (st != DF_OK) {
            printf("FAIL %-22s run %d: %s: %s\n", name, r + 1, df_status_string(st),
                   df_last_error());
            goto done;
        }
        ok[r] = compare(out, ref.data, ref.numel, cfg->rtol, &max_abs[r], &max_rel[r], &ref_max,
                        &worst[r]);
        got[r] = out[worst[r]];
    }

    df_model_stats stats;
    memset(&stats, 0, sizeof stats);
    df_model_get_stats(model, &stats);

    int r = max_rel[1] >= max_rel[0] ? 1 : 0; /* report the worse run */
    pass = ok[0] && ok[1];
    printf("%s %-22s max_abs_err %.3g  max_rel_err %.3g  (max|ref| %.4g, tol %.3g)  "
           "load %.0f ms  run %.1f/%.1f ms  %s, %d threads",
           pass ? "PASS" : "FAIL", name, max_abs[r], max_rel[r], ref_max,
           cfg->rtol * (ref_max > 0 ? ref_max : 1.0), t_load, t_run[0], t_run[1],
           schedule_name(stats.schedule), stats.threads);
    printf(", %s planner", df_planner_name(stats.planner));
    if (!pass)
        printf("  [run %d, worst at %lld: got %.7g, want %.7g]", r + 1, (long long)worst[r],
               (double)got[r], (double)ref.data[worst[r]]);
    printf("\n");

done:
    fflush(stdout);
    free(out);
    df_session_destroy(session);
    df_model_close(model);
    npy_free(&in);
    npy_free(&ref);
    return pass;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the NAMEs in dir that have NAME.onnx and both .npy files, sorted. */
static char **list_models(const char *dir, int *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".onnx") != 0)
            continue;
        char name[1024], p1[4096], p2[4096];
        if (len - 5 >= sizeof name)
            continue;
        memcpy(name, e->d_name, len - 5);
        name[len - 5] = '\0';
        snprintf(p1, sizeof p1, "%s/%s.input.npy", dir, name);
        snprintf(p2, sizeof p2, "%s/%s.output.npy", dir, name);
        if (!file_exists(p1) || !file_exists(p2))
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[(*count)++] = strdup(name);
    }
    closedir(d);
    if (names)
        qsort(names, (size_t)*count, sizeof *names, cmp_str);
    return names;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: test_zoo [-t THREADS] [--schedule layer|depth|auto] [--band ROWS] "
               "[--plan-seed S] [--planner P] [--cache-dir D] [--rtol X] DIR "
               "[NAME...]\n"
               "  env: DF_THREADS, DF_SCHEDULE give the defaults for -t and --schedule\n");
}

int main(int argc, char **argv)
{
    zoo_config cfg = {.threads = 0, .schedule = DF_SCHEDULE_AUTO, .rtol = 1e-4, .cache_dir = ""};
    const char *env;
    if ((env = getenv("DF_THREADS")) && *env)
        cfg.threads = atoi(env);
    if ((env = getenv("DF_SCHEDULE")) && *env && parse_schedule(env, &cfg.schedule) != 0) {
        fprintf(stderr, "test_zoo: DF_SCHEDULE must be layer, depth or auto, not '%s'\n", env);
        return 2;
    }

    const char *dir = NULL;
    char **wanted = calloc((size_t)argc, sizeof *wanted);
    int nwanted = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) && i + 1 < argc) {
            cfg.threads = atoi(argv[++i]);
        } else if (strcmp(a, "--schedule") == 0 && i + 1 < argc) {
            if (parse_schedule(argv[++i], &cfg.schedule) != 0) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--band") == 0 && i + 1 < argc) {
            cfg.band = atoi(argv[++i]);
        } else if (strcmp(a, "--planner") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            static const df_planner planners[] = {DF_PLANNER_DEFAULT, DF_PLANNER_HEURISTIC,
                                                  DF_PLANNER_ANALYTIC, DF_PLANNER_LEARNED};
            int found = 0;
            for (size_t k = 0; k < sizeof planners / sizeof planners[0]; k++)
                if (strcmp(v, df_planner_name(planners[k])) == 0) {
                    cfg.planner = planners[k];
                    found = 1;
                }
            if (!found) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--cache-dir") == 0 && i + 1 < argc) {
            cfg.cache_dir = argv[++i];
        } else if (strcmp(a, "--plan-seed") == 0 && i + 1 < argc) {
            cfg.seed = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--rtol") == 0 && i + 1 < argc) {
            cfg.rtol = atof(argv[++i]);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "test_zoo: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            wanted[nwanted++] = argv[i];
        }
    }
    if (!dir || cfg.threads < 0 || cfg.band < 0 || !(cfg.rtol > 0)) {
        usage(stderr);
        return 2;
    }

    fprintf(stderr, "test_zoo: deepfirst %s, %s, threads %d (0 = all cores), schedule %s, "
                    "rtol %g\n",
            df_version(), dir, cfg.threads, schedule_name(cfg.schedule), cfg.rtol);

    int passed = 0, failed = 0;
    if (nwanted > 0) {
        for (int i = 0; i < nwanted; i++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s.onnx", dir, wanted[i]);
            if (!file_exists(p)) {
                printf("FAIL %-22s %s not found\n", wanted[i], p);
                failed++;
                continue;
            }
            if (test_model(dir, wanted[i], &cfg))
                passed++;
            else
                failed++;
        }
    } else {
        int n = 0;
        char **names = list_models(dir, &n);
        for (int i = 0; i < n; i++) {
            if (test_model(dir, names[i], &cfg))
                passed++;
            else
                failed++;
            free(names[i]);
        }
        free(names);
        if (n == 0)
            fprintf(stderr, "test_zoo: no NAME.onnx with NAME.input.npy and NAME.output.npy "
                            "in %s (run tools/export_zoo.py --out %s)\n", dir, dir);
    }
    free(wanted);

    printf("%d passed, %d failed\n", passed, failed);
    return (failed > 0 || passed == 0) ? 1 : 0;
}
