/* The machine fingerprint's nominal values, its text file and the per-machine
 * cache directory (see machine.h). */
#define _GNU_SOURCE
#include "plan/machine.h"

#include <cpuinfo.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/dispatch.h"

int df_available_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Keeps [A-Za-z0-9._-], turns runs of anything else into one '-'. */
static void append_clean(char *dst, size_t size, const char *src)
{
    size_t len = strlen(dst);
    int dash = len > 0 && dst[len - 1] == '-';
    for (const char *c = src; *c && len + 1 < size; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '.' || *c == '_';
        if (ok) {
            dst[len++] = *c;
            dash = 0;
        } else if (!dash && len > 0) {
            dst[len++] = '-';
            dash = 1;
        }
    }
    while (len > 0 && dst[len - 1] == '-')
        len--;
    dst[len] = '\0';
}

void df_machine_nominal(df_machine *m)
{
    memset(m, 0, sizeof *m);
    df_cpu_caches(&m->l1, &m->l2, &m->l3);
    /* Some hypervisors report the L3 of every chiplet of a package as one
     * (508 MiB on one 2-core VM): no core can use that much. Take the 32 MiB
     * of one chiplet then. */
    if (m->l3 > (size_t)128 << 20)
        m->l3 = (size_t)32 << 20;
    m->cores = df_available_cores();
    const char *cpu = "unknown-cpu";
    if (cpuinfo_initialize() && cpuinfo_get_package(0) && cpuinfo_get_package(0)->name[0])
        cpu = cpuinfo_get_package(0)->name;
    append_clean(m->signature, sizeof m->signature, cpu);
    char rest[64];
    snprintf(rest, sizeof rest, "-%s-%dc", df_kernel_isa(), m->cores);
    append_clean(m->signature, sizeof m->signature, rest);
    /* Nominal rates of a recent x86 core; a calibration replaces them. */
    m->peak_gflops = strcmp(df_kernel_isa(), "avx512") == 0 ? 150.0 : 80.0;
    m->bw_gbs[DF_BW_L1] = 200.0;
    m->bw_gbs[DF_BW_L2] = 100.0;
    m->bw_gbs[DF_BW_L3] = 50.0;
    m->bw_gbs[DF_BW_DRAM] = 15.0;
    m->fork_join_us = m->cores > 1 ? 3.0 : 0.0;
    m->measured = 0;
}

df_status df_machine_save(const char *path, const df_machine *m)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return df_fail(DF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "signature %s\nl1 %zu\nl2 %zu\nl3 %zu\ncores %d\npeak_gflops %.6g\n"
               "bw_l1_gbs %.6g\nbw_l2_gbs %.6g\nbw_l3_gbs %.6g\nbw_dram_gbs %.6g\n"
               "fork_join_us %.6g\nmeasured %d\n",
            m->signature, m->l1, m->l2, m->l3, m->cores, m->peak_gflops, m->bw_gbs[DF_BW_L1],
            m->bw_gbs[DF_BW_L2], m->bw_gbs[DF_BW_L3], m->bw_gbs[DF_BW_DRAM], m->fork_join_us,
            m->measured);
    if (fclose(f) != 0)
        return df_fail(DF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return DF_OK;
}

df_status df_machine_load(const char *path, df_machine *m)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return df_fail(DF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    df_machine_nominal(m);
    char line[256];
    int lineno = 0, rates = 0;
    df_status st = DF_OK;
    while (st == DF_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char key[64], val[160];
        if (line[0] == '\n' || line[0] == '#')
            continue;
        if (sscanf(line, "%63s %159s", key, val) != 2) {
            st = df_fail(DF_ERR_PARSE, "%s: line %d: expected \"key value\"", path, lineno);
            break;
        }
        char *end = NULL;
        double d = strtod(val, &end);
        int number = end && *end == '\0' && d >= 0.0 && d < 1e15;
        double *rate = NULL;
        if (strcmp(key, "signature") == 0) {
            snprintf(m->signature, sizeof m->signature, "%.127s", val);
            continue;
        }
        if (!number) {
            st = df_fail(DF_ERR_PARSE, "%s: line %d: %s: not a non-negative number: %s", path,
                         lineno, key, val);
            break;
        }
        if (strcmp(key, "l1") == 0) m->l1 = (size_t)d;
        else if (strcmp(key, "l2") == 0) m->l2 = (size_t)d;
        else if (strcmp(key, "l3") == 0) m->l3 = (size_t)d;
        else if (strcmp(key, "cores") == 0) m->cores = (int)d;
        else if (strcmp(key, "peak_gflops") == 0) rate = &m->peak_gflops;
        else if (strcmp(key, "bw_l1_gbs") == 0) rate = &m->bw_gbs[DF_BW_L1];
        else if (strcmp(key, "bw_l2_gbs") == 0) rate = &m->bw_gbs[DF_BW_L2];
        else if (strcmp(key, "bw_l3_gbs") == 0) rate = &m->bw_gbs[DF_BW_L3];
        else if (strcmp(key, "bw_dram_gbs") == 0) rate = &m->bw_gbs[DF_BW_DRAM];
        else if (strcmp(key, "fork_join_us") == 0) m->fork_join_us = d;
        else if (strcmp(key, "measured") == 0) m->measured = d != 0.0;
        if (rate) {
            if (d <= 0.0) {
                st = df_fail(DF_ERR_PARSE, "%s: line %d: %s must be positive", path, lineno, key);
                break;
            }
            *rate = d;
            rates++;
        }
    }
    fclose(f);
    if (st == DF_OK && rates < 5)
        st = df_fail(DF_ERR_PARSE, "%s: incomplete fingerprint (%d of 5 rates)", path, rates);
    return st;
}

int df_machine_cache_dir(const char *cache_root, char *buf, size_t size)
{
    df_machine m;
    df_machine_nominal(&m);
    int n;
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (cache_root && cache_root[0])
        n = snprintf(buf, size, "%s/%s", cache_root, m.signature);
    else if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/deepfirst/%s", xdg, m.signature);
    else if (home && home[0])
        n = snprintf(buf, size, "%s/.cache/deepfirst/%s", home, m.signature);
    else
        return 0;
    return n > 0 && (size_t)n < size;
}

df_status df_make_dirs(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "directory name too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return df_fail(DF_ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return DF_OK;
}
