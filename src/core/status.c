#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

df_status df_fail(df_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void df_clear_error(void) { last_error[0] = '\0'; }

const char *df_last_error(void) { return last_error; }

const char *df_version(void) { return DF_VERSION; }

const char *df_status_string(df_status status)
{
    switch (status) {
    case DF_OK: return "ok";
    case DF_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DF_ERR_IO: return "i/o error";
    case DF_ERR_PARSE: return "parse error";
    case DF_ERR_UNSUPPORTED: return "unsupported";
    case DF_ERR_INVALID_MODEL: return "invalid model";
    case DF_ERR_MEMORY_LIMIT: return "memory limit exceeded";
    case DF_ERR_OUT_OF_MEMORY: return "out of memory";
    case DF_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

int df_mul_overflows(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return 1;
    *out = a * b;
    return 0;
}
