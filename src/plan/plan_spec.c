/* The text form of a plan (segment.h): "first-last/band" joined by commas. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/segment.h"

static int parse_int(const char **s, int *out)
{
    const char *c = *s;
    long v = 0;
    if (*c < '0' || *c > '9')
        return 0;
    while (*c >= '0' && *c <= '9') {
        v = v * 10 + (*c - '0');
        if (v > INT_MAX / 2)
            return 0;
        c++;
    }
    *s = c;
    *out = (int)v;
    return 1;
}

df_status df_plan_spec_parse(const char *text, df_plan_spec *spec)
{
    spec->n = 0;
    spec->units = NULL;
    int cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    spec->units = calloc((size_t)cap, sizeof *spec->units);
    if (!spec->units)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory reading a plan");
    const char *c = text;
    while (*c == ' ')
        c++;
    if (*c == '\0')
        return DF_OK;
    for (;;) {
        df_plan_unit u;
        const char *at = c;
        if (!parse_int(&c, &u.first) || *c++ != '-' || !parse_int(&c, &u.last) || *c++ != '/' ||
            !parse_int(&c, &u.band)) {
            df_plan_spec_free(spec);
            return df_fail(DF_ERR_INVALID_ARGUMENT,
                           "plan \"%s\": expected FIRST-LAST/BAND at character %d", text,
                           (int)(at - text) + 1);
        }
        spec->units[spec->n++] = u;
        if (*c == '\0')
            return DF_OK;
        if (*c != ',' || spec->n == cap) {
            df_plan_spec_free(spec);
            return df_fail(DF_ERR_INVALID_ARGUMENT, "plan \"%s\": expected ',' at character %d",
                           text, (int)(c - text) + 1);
        }
        c++;
    }
}

int df_plan_spec_format(const df_plan_spec *spec, char *buf, size_t size)
{
    int len = 0;
    if (size)
        buf[0] = '\0';
    for (int u = 0; u < spec->n; u++) {
        char part[48];
        int n = snprintf(part, sizeof part, "%s%d-%d/%d", u ? "," : "", spec->units[u].first,
                         spec->units[u].last, spec->units[u].band);
        if ((size_t)(len + n) < size)
            memcpy(buf + len, part, (size_t)n + 1);
        len += n;
    }
    return len;
}

void df_plan_spec_free(df_plan_spec *spec)
{
    free(spec->units);
    spec->units = NULL;
    spec->n = 0;
}
