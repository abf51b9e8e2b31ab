/* Error reporting: a status code plus a per-thread message.
 * Every failure path in the library goes through df_fail(), which formats the
 * message and returns the code, so a caller can write `return df_fail(...)`. */
#ifndef DF_CORE_STATUS_H
#define DF_CORE_STATUS_H

#include "deepfirst.h"

#if defined(__GNUC__)
#define DF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DF_PRINTF(a, b)
#endif

df_status df_fail(df_status status, const char *fmt, ...) DF_PRINTF(2, 3);
void df_clear_error(void);

/* Checked size arithmetic: returns 1 (and leaves *out alone) on overflow. */
int df_mul_overflows(size_t a, size_t b, size_t *out);

#endif
