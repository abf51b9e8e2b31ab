/* The machine fingerprint: what the cost model knows about this computer.
 *
 * `deepfirst calibrate` measures it (peak FMA rate of one thread, bandwidth of
 * one thread at working sets that fit L1, L2, L3 and only DRAM, the cost of a
 * parallel-for over the thread pool) and saves it as text in the per-machine
 * cache directory, next to the learned cost model. Without a calibration the
 * planner uses nominal values from the cache sizes (df_machine_nominal).
 *
 * The cache directory is $XDG_CACHE_HOME/deepfirst/<signature>/, or
 * ~/.cache/deepfirst/<signature>/, where the signature names the CPU model, the
 * kernel instruction set and the number of cores: a calibration is only valid
 * on the machine that made it. */
#ifndef DF_PLAN_MACHINE_H
#define DF_PLAN_MACHINE_H

#include <stddef.h>

#include "core/status.h"

enum { DF_BW_L1, DF_BW_L2, DF_BW_L3, DF_BW_DRAM, DF_BW_LEVELS };

typedef struct df_machine {
    char signature[128];  /* [A-Za-z0-9._-] only: it is a directory name */
    size_t l1, l2, l3;    /* data cache bytes (L1, L2 per core; L3 shared) */
    int cores;            /* available to the process */
    double peak_gflops;   /* one thread, the conv kernel's FMA loop, L1-resident */
    double bw_gbs[DF_BW_LEVELS]; /* one thread, read + write GB/s at each level */
    double fork_join_us;  /* one parallel-for over all cores with no work */
    int measured;         /* 1: from a calibration; 0: nominal */
} df_machine;

/* Cores this process may run on (sched_getaffinity), at least 1. */
int df_available_cores(void);

/* Signature and caches of this machine, nominal rates (not measured). */
void df_machine_nominal(df_machine *m);

/* Text form: one "key value" per line; unknown keys are ignored so older
 * files keep loading. Load fails with a message naming the file and line. */
df_status df_machine_save(const char *path, const df_machine *m);
df_status df_machine_load(const char *path, df_machine *m);

/* This machine's cache directory (see above) into buf; cache_root overrides
 * $XDG_CACHE_HOME/deepfirst when not NULL. Returns 0 when it does not fit or
 * no home is known. The directory need not exist. */
int df_machine_cache_dir(const char *cache_root, char *buf, size_t size);

/* Creates dir and its parents (mode 0755). */
df_status df_make_dirs(const char *dir);

#endif
