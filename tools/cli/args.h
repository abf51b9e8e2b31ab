/*
 * args: the small pieces of command-line parsing the commands share.
 * Options follow llama.cpp / onnxruntime_perf_test conventions: a short and a
 * long name ("-t" / "--threads"), the value either as the next argument or
 * after '=' on the long name ("--threads=4").
 */
#ifndef DF_CLI_ARGS_H
#define DF_CLI_ARGS_H

#include <stdint.h>

typedef enum arg_match {
    ARG_NO_MATCH = 0,
    ARG_MATCHED = 1,
    ARG_MISSING_VALUE = -1
} arg_match;

/* Whether arg is the flag; either name may be NULL. */
int arg_is_flag(const char *arg, const char *short_name, const char *long_name);

/* If argv[*index] is the option, stores its value in *value and, when the value
 * was the next argument, advances *index past it. */
arg_match arg_take_value(int argc, char **argv, int *index, const char *short_name,
                         const char *long_name, const char **value);

/* Strict number parsing: the whole text must be the number. Return 0 on
 * success, -1 when text is not a number, -2 when it is out of [min, max]. */
int arg_parse_long(const char *text, long min, long max, long *value);
int arg_parse_u64(const char *text, uint64_t *value);
int arg_parse_double(const char *text, double min, double max, double *value);

#endif
