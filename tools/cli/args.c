/* args: see args.h. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int arg_is_flag(const char *arg, const char *short_name, const char *long_name)
{
    return (short_name && strcmp(arg, short_name) == 0) ||
           (long_name && strcmp(arg, long_name) == 0);
}

arg_match arg_take_value(int argc, char **argv, int *index, const char *short_name,
                         const char *long_name, const char **value)
{
    const char *arg = argv[*index];
    if (long_name) {
        size_t len = strlen(long_name);
        if (strncmp(arg, long_name, len) == 0 && arg[len] == '=') {
            *value = arg + len + 1;
            return ARG_MATCHED;
        }
    }
    if (!arg_is_flag(arg, short_name, long_name))
        return ARG_NO_MATCH;
    if (*index + 1 >= argc)
        return ARG_MISSING_VALUE;
    *index += 1;
    *value = argv[*index];
    return ARG_MATCHED;
}

/* strtol and friends skip leading blanks and accept an empty string as 0;
 * neither is wanted here. */
static int starts_like_number(const char *text)
{
    return text[0] != '\0' && !isspace((unsigned char)text[0]);
}

int arg_parse_long(const char *text, long min, long max, long *value)
{
    if (!starts_like_number(text))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE || v < min || v > max)
        return -2;
    *value = v;
    return 0;
}

int arg_parse_u64(const char *text, uint64_t *value)
{
    if (!starts_like_number(text) || text[0] == '-' || text[0] == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2;
    *value = (uint64_t)v;
    return 0;
}

int arg_parse_double(const char *text, double min, double max, double *value)
{
    if (!starts_like_number(text))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || isnan(v))
        return -1;
    if (errno == ERANGE || v < min || v > max)
        return -2;
    *value = v;
    return 0;
}
