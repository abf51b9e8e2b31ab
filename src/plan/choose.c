/* Choosing the planner (choose.h). */
#include "plan/choose.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

uint64_t df_model_hash(const void *data, size_t size)
{
    /* FNV-1a over 8-byte words, then the tail: fast enough for 100 MB models
     * (about 0.05 s), and any changed byte changes it */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)size;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < size; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int df_tuned_plan_path(const char *machine_dir, uint64_t hash, int threads, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/plans/%016llx-t%d.plan", machine_dir, (unsigned long long)hash,
                     threads);
    return n > 0 && (size_t)n < size;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads the one-line plan at path; 0 when there is none or it is unreadable. */
static int read_plan_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok)
        return 0;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 1;
}

df_status df_plan_choice_init(const df_options *opt, uint64_t hash, int threads,
                              df_plan_choice *c)
{
    memset(c, 0, sizeof *c);
    char dir[1024];
    int have_dir = !(opt->cache_dir && !opt->cache_dir[0]) &&
                   df_machine_cache_dir(opt->cache_dir, dir, sizeof dir);
    char path[1200];
    /* a calibration, when there is one, also predicts the cost of given plans */
    if (have_dir) {
        snprintf(path, sizeof path, "%s/%s", dir, DF_TREES_FILE);
        if (exists(path) && df_cost_model_load(dir, 1, &c->cost) == DF_OK)
            c->has_cost = 1;
        df_clear_error();
    }
    int overridden = opt->band_rows || opt->segment_max_ops || opt->plan_seed;
    if (opt->plan) {
        c->planner = DF_PLANNER_GIVEN;
        c->has_spec = 1;
        return df_plan_spec_parse(opt->plan, &c->spec);
    }
    if (opt->schedule != DF_SCHEDULE_AUTO || overridden) {
        c->planner = DF_PLANNER_GIVEN;
        return DF_OK;
    }
    switch (opt->planner) {
    case DF_PLANNER_DEFAULT:
        if (have_dir && df_tuned_plan_path(dir, hash, threads, path, sizeof path)) {
            char line[8192];
            if (read_plan_line(path, line, sizeof line) &&
                df_plan_spec_parse(line, &c->spec) == DF_OK) {
                c->planner = DF_PLANNER_TUNED;
                c->has_spec = 1;
                return DF_OK;
            }
            df_clear_error();
        }
        c->planner = c->has_cost ? DF_PLANNER_LEARNED : DF_PLANNER_HEURISTIC;
        return DF_OK;
    case DF_PLANNER_HEURISTIC:
        c->planner = DF_PLANNER_HEURISTIC;
        return DF_OK;
    case DF_PLANNER_ANALYTIC:
        c->planner = DF_PLANNER_ANALYTIC;
        if (c->has_cost) {
            df_trees_free(c->cost.trees);
            c->cost.trees = NULL;
        } else {
            /* the measured fingerprint if a calibration left one, else nominal rates */
            if (!have_dir || df_cost_model_load(dir, 0, &c->cost) != DF_OK)
                df_machine_nominal(&c->cost.machine);
            df_clear_error();
            c->has_cost = 1;
        }
        return DF_OK;
    case DF_PLANNER_LEARNED:
        if (!c->has_cost)
            return df_fail(DF_ERR_INVALID_ARGUMENT,
                           "planner LEARNED: no cost model in %s: run deepfirst calibrate",
                           have_dir ? dir : "(no cache directory)");
        c->planner = DF_PLANNER_LEARNED;
        return DF_OK;
    default:
        return df_fail(DF_ERR_INVALID_ARGUMENT, "unknown planner %d", (int)opt->planner);
    }
}

void df_plan_choice_free(df_plan_choice *c)
{
    df_plan_spec_free(&c->spec);
    df_cost_model_free(&c->cost);
}
