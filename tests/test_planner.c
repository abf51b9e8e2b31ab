/*
 * test_planner: the plan text form, explicit plans, and the dynamic program.
 *
 *     test_planner MODEL.onnx...
 *
 * For each model: the plan the dynamic program picks over the analytic cost
 * model must cost no more than any of 2000 random plans drawn from the same
 * candidates (and, where the candidates are few enough, than every plan, by
 * enumeration); that plan and random ones, given back through
 * df_options.plan, must compute what layer by layer computes; and plans that
 * cannot run must be refused with a message naming the op.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "plan/planner.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static void test_spec_text(void)
{
    df_plan_spec s;
    CHECK(df_plan_spec_parse("2-9/4,11-15/1", &s) == DF_OK && s.n == 2, "parse two segments");
    char buf[64];
    df_plan_spec_format(&s, buf, sizeof buf);
    CHECK(strcmp(buf, "2-9/4,11-15/1") == 0, "format gives back the text, got %s", buf);
    CHECK(df_plan_spec_format(&s, buf, 4) == 13, "format reports the length it needs");
    df_plan_spec_free(&s);
    CHECK(df_plan_spec_parse("", &s) == DF_OK && s.n == 0, "empty plan");
    df_plan_spec_free(&s);
    static const char *bad[] = {"x", "1", "1-", "1-2", "1-2/", "1-2/3,", ",1-2/3", "1-2/3;4-5/1",
                                "-1-2/3", "1-2/99999999999", "1 -2/3", "1-2/3,,4-5/1"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        df_status st = df_plan_spec_parse(bad[k], &s);
        CHECK(st == DF_ERR_INVALID_ARGUMENT && strstr(df_last_error(), "plan"),
              "\"%s\" must be refused, got %d (%s)", bad[k], (int)st, df_last_error());
        df_plan_spec_free(&s);
    }
}

static double plan_cost(const df_plan_candidate *c, int n, const df_plan_spec *spec, int steps)
{
    double total = 0.0;
    int u = 0;
    for (int i = 0; i < steps;) {
        if (u < spec->n && spec->units[u].first == i) {
            for (int k = 0; k < n; k++)
                if (c[k].first == i && c[k].last == spec->units[u].last &&
                    c[k].band == spec->units[u].band)
                    total += c[k].predicted_us;
            i = spec->units[u++].last + 1;
            continue;
        }
        for (int k = 0; k < n; k++)
            if (c[k].first == i && c[k].band == 0)
                total += c[k].predicted_us;
        i++;
    }
    return total;
}

static unsigned rng_state = 12345;
static unsigned rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* A random plan: at each step, a random candidate segment starting there or none. */
static void random_spec(const df_plan_candidate *c, int n, int steps, df_plan_spec *spec)
{
    spec->n = 0;
    for (int i = 0; i < steps;) {
        int segs = 0;
        for (int k = 0; k < n; k++)
            segs += c[k].first == i && c[k].band > 0;
        if (segs == 0 || rnd() % 3 == 0) {
            i++;
            continue;
        }
        int pick = (int)(rnd() % (unsigned)segs);
        for (int k = 0; k < n; k++)
            if (c[k].first == i && c[k].band > 0 && pick-- == 0) {
                spec->units[spec->n++] = (df_plan_unit){c[k].first, c[k].last, c[k].band};
                i = c[k].last + 1;
                break;
            }
    }
}

/* Least cost over every plan, by recursion from step i; -1 when there are too many. */
static double best_by_enumeration(const df_plan_candidate *c, int n, int steps, int i, long *budget)
{
    if (i >= steps)
        return 0.0;
    if (--*budget < 0)
        return -1.0;
    double layer = 0.0;
    int banded = 0;
    for (int k = 0; k < n; k++)
        if (c[k].first == i && c[k].band == 0) {
            layer = c[k].predicted_us;
            banded = 1;
        }
    double best = best_by_enumeration(c, n, steps, i + 1, budget);
    if (best < 0)
        return -1.0;
    best += layer;
    if (!banded)
        return best;
    for (int k = 0; k < n; k++)
        if (c[k].first == i && c[k].band > 0) {
            double rest = best_by_enumeration(c, n, steps, c[k].last + 1, budget);
            if (rest < 0)
                return -1.0;
            if (c[k].predicted_us + rest < best)
                best = c[k].predicted_us + rest;
        }
    return best;
}

static int run_model(const char *path, const char *plan, int threads, float **out, int64_t *numel)
{
    df_options opt;
    df_options_init(&opt);
    opt.threads = threads;
    opt.cache_dir = "";
    if (plan)
        opt.plan = plan;
    else
        opt.schedule = DF_SCHEDULE_LAYER;
    df_model *m = NULL;
    df_session *s = NULL;
    if (df_model_open(path, &opt, &m) != DF_OK || df_session_create(m, &s) != DF_OK) {
        printf("  %s plan \"%s\": %s\n", path, plan ? plan : "(layer)", df_last_error());
        df_model_close(m);
        return -1;
    }
    df_tensor_info in, o;
    df_model_input(m, 0, &in);
    df_model_output(m, 0, &o);
    float *x = malloc((size_t)in.numel * sizeof *x);
    *out = malloc((size_t)o.numel * sizeof **out);
    for (int64_t i = 0; i < in.numel; i++)
        x[i] = (float)((i * 7919 % 2001) - 1000) / 1000.0f;
    const float *ins[1] = {x};
    int rc = df_session_run(s, ins, out) == DF_OK ? 0 : -1;
    *numel = o.numel;
    free(x);
    df_session_destroy(s);
    df_model_close(m);
    return rc;
}

static void test_model(const char *path)
{
    df_options opt;
    df_options_init(&opt);
    opt.threads = 1;
    opt.cache_dir = "";
    opt.schedule = DF_SCHEDULE_LAYER;
    df_model *m = NULL;
    if (df_model_open(path, &opt, &m) != DF_OK) {
        CHECK(0, "%s: %s", path, df_last_error());
        return;
    }
    df_program *p = df_model_program(m);
    df_cost_model cm = {0};
    df_machine_nominal(&cm.machine);
    df_plan_candidate *c = NULL;
    int n = 0;
    CHECK(df_plan_candidates(p, 1, &cm, &c, &n) == DF_OK, "candidates: %s", df_last_error());
    df_plan_spec best;
    CHECK(df_plan_best(p, c, n, 0.0, &best) == DF_OK, "best plan: %s", df_last_error());
    double best_cost = plan_cost(c, n, &best, p->n_steps);

    /* with the risk margin: the plan of least cost once every segment's cost
     * is scaled by (1 + margin), so the same as the plain plan of scaled costs */
    {
        df_plan_candidate *scaled = malloc((size_t)(n ? n : 1) * sizeof *scaled);
        df_plan_spec with_margin, of_scaled;
        for (int k = 0; k < n && scaled; k++) {
            scaled[k] = c[k];
            if (c[k].band)
                scaled[k].predicted_us *= 1.0 + DF_PLAN_MARGIN;
        }
        CHECK(scaled && df_plan_best(p, c, n, DF_PLAN_MARGIN, &with_margin) == DF_OK &&
                  df_plan_best(p, scaled, n, 0.0, &of_scaled) == DF_OK,
              "plans with a margin: %s", df_last_error());
        if (scaled) {
            int same = with_margin.n == of_scaled.n &&
                       memcmp(with_margin.units, of_scaled.units,
                              (size_t)with_margin.n * sizeof *with_margin.units) == 0;
            CHECK(same, "%s: the plan with margin %.2f differs from the plan of scaled costs", path,
                  DF_PLAN_MARGIN);
            CHECK(plan_cost(scaled, n, &with_margin, p->n_steps) <=
                      plan_cost(scaled, n, &best, p->n_steps) * (1 + 1e-9),
                  "%s: the margin's plan costs more, margin included, than the plain best", path);
            df_plan_spec_free(&with_margin);
            df_plan_spec_free(&of_scaled);
        }
        free(scaled);
    }

    df_plan_spec spec = {0, calloc((size_t)p->n_steps + 1, sizeof(df_plan_unit))};
    int worse = 0;
    for (int r = 0; r < 2000; r++) {
        random_spec(c, n, p->n_steps, &spec);
        double cost = plan_cost(c, n, &spec, p->n_steps);
        if (cost < best_cost * (1 - 1e-9)) {
            worse++;
            if (worse == 1)
                CHECK(0, "%s: a random plan costs %.3f, less than the chosen %.3f", path, cost,
                      best_cost);
        }
    }
    long budget = 2000000;
    double exhaustive = best_by_enumeration(c, n, p->n_steps, 0, &budget);
    if (exhaustive >= 0)
        CHECK(fabs(exhaustive - best_cost) <= 1e-6 * best_cost,
              "%s: enumeration finds %.3f, the dynamic program %.3f", path, exhaustive, best_cost);
    printf("%s: %d candidates, chosen plan %d segments, predicted %.1f us%s\n", path, n, best.n,
           best_cost, exhaustive >= 0 ? " (optimal by enumeration)" : "");

    /* the chosen plan and a few random ones compute what layer by layer does */
    float *ref = NULL;
    int64_t numel = 0;
    CHECK(run_model(path, NULL, 1, &ref, &numel) == 0, "%s: layer run", path);
    for (int r = 0; r < 4 && ref; r++) {
        if (r == 0)
            spec.n = best.n, memcpy(spec.units, best.units, (size_t)best.n * sizeof *best.units);
        else
            random_spec(c, n, p->n_steps, &spec);
        char text[8192];
        df_plan_spec_format(&spec, text, sizeof text);
        for (int threads = 1; threads <= 2; threads++) {
            float *got = NULL;
            int64_t gn = 0;
            if (run_model(path, text, threads, &got, &gn) != 0) {
                CHECK(0, "%s: plan \"%s\" failed to run", path, text);
                free(got);
                continue;
            }
            double max_ref = 0, max_err = 0;
            for (int64_t i = 0; i < numel; i++) {
                max_ref = fmax(max_ref, fabs(ref[i]));
                max_err = fmax(max_err, fabs(ref[i] - got[i]));
            }
            CHECK(max_err <= 1e-4 * fmax(max_ref, 1e-6), "%s: plan \"%s\", %d threads: max error "
                  "%.3g of %.3g", path, text, threads, max_err, max_ref);
            free(got);
        }
    }
    free(ref);

    /* plans that cannot run */
    int first_banded = -1, unbanded = -1;
    for (int i = 0; i < p->n_steps; i++) {
        if (first_banded < 0 && df_segment_can_start(p, i))
            first_banded = i;
        if (unbanded < 0 && !df_segment_can_start(p, i))
            unbanded = i;
    }
    char bad[4][64];
    snprintf(bad[0], sizeof bad[0], "%d-%d/1", unbanded, unbanded + 1);
    snprintf(bad[1], sizeof bad[1], "%d-%d/1", p->n_steps - 1, p->n_steps + 5);
    snprintf(bad[2], sizeof bad[2], "%d-%d/2,%d-%d/2", first_banded, first_banded + 1,
             first_banded + 1, first_banded + 2);
    snprintf(bad[3], sizeof bad[3], "%d-%d/0", first_banded, first_banded + 1);
    for (int k = 0; k < 4; k++) {
        if (k == 0 && unbanded < 0)
            continue;
        df_options o2 = opt;
        o2.plan = bad[k];
        df_model *m2 = NULL;
        df_status st = df_model_open(path, &o2, &m2);
        CHECK(st == DF_ERR_INVALID_ARGUMENT && strstr(df_last_error(), "plan"),
              "%s: plan \"%s\" must be refused, got %d (%s)", path, bad[k], (int)st, df_last_error());
        df_model_close(m2);
    }
    free(spec.units);
    df_plan_spec_free(&best);
    free(c);
    df_model_close(m);
}

int main(int argc, char **argv)
{
    test_spec_text();
    for (int i = 1; i < argc; i++)
        test_model(argv[i]);
    printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
