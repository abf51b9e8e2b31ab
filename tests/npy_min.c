/*
 * npy_min: a minimal .npy reader for tests (float32, little-endian, C order).
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor
 * version byte, the header length (2 bytes little-endian in version 1, 4 bytes in
 * versions 2 and 3), then an ASCII Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (1, 1000), }
 * padded with spaces and a newline, then the raw data.
 */
#include "npy_min.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Returns a pointer just past "'key':" in header, skipping spaces, or NULL. */
static const char *find_value(const char *header, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "'%s':", key);
    const char *p = strstr(header, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    return p;
}

/* Parses "(d0, d1, ...)" into a; returns 0 or -1. */
static int parse_shape(const char *p, npy_min_array *a)
{
    if (*p != '(')
        return -1;
    p++;
    a->rank = 0;
    a->numel = 1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            return 0;
        if (!isdigit((unsigned char)*p) || a->rank == NPY_MIN_MAX_RANK)
            return -1;
        errno = 0;
        char *end;
        long long d = strtoll(p, &end, 10);
        if (errno || d < 0 || end == p)
            return -1;
        /* Keep numel * 4 well inside size_t and int64_t. */
        if (d > 0 && a->numel > ((int64_t)1 << 40) / d)
            return -1;
        a->dims[a->rank++] = d;
        a->numel *= d;
        p = end;
        while (*p == ' ')
            p++;
        if (*p != ',' && *p != ')')
            return -1;
    }
}

int npy_min_load(const char *path, npy_min_array *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *header = NULL;
    float *data = NULL;
    unsigned char pre[12];

    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        set_err(err, errlen, "%s: not a .npy file (bad magic)", path);
        goto fail;
    }
    int major = pre[6];
    size_t header_len;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2)
            goto truncated;
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 8, 1, 4, f) != 4)
            goto truncated;
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                     (size_t)pre[11] << 24;
        if (header_len > (1u << 20)) {
            set_err(err, errlen, "%s: header of %zu bytes is implausibly large", path,
                    header_len);
            goto fail;
        }
    } else {
        set_err(err, errlen, "%s: unsupported .npy format version %d", path, major);
        goto fail;
    }

    header = malloc(header_len + 1);
    if (!header) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fread(header, 1, header_len, f) != header_len)
        goto truncated;
    header[header_len] = '\0';

    const char *descr = find_value(header, "descr");
    if (!descr || strncmp(descr, "'<f4'", 5) != 0) {
        set_err(err, errlen, "%s: dtype is not little-endian float32 ('<f4'): %s", path,
                header);
        goto fail;
    }
    const char *fortran = find_value(header, "fortran_order");
    if (!fortran || strncmp(fortran, "False", 5) != 0) {
        set_err(err, errlen, "%s: not C order (fortran_order must be False)", path);
        goto fail;
    }
    const char *shape = find_value(header, "shape");
    if (!shape || parse_shape(shape, out) != 0) {
        set_err(err, errlen, "%s: bad or unsupported shape in header: %s", path, header);
        goto fail;
    }

    size_t bytes = (size_t)out->numel * sizeof(float);
    data = malloc(bytes ? bytes : 1);
    if (!data) {
        set_err(err, errlen, "%s: out of memory for %lld floats", path, (long long)out->numel);
        goto fail;
    }
    if (fread(data, 1, bytes, f) != bytes)
        goto truncated;
    if (fgetc(f) != EOF) {
        set_err(err, errlen, "%s: trailing bytes after %lld floats", path,
                (long long)out->numel);
        goto fail;
    }
    fclose(f);
    free(header);
    out->data = data;
    return 0;

truncated:
    set_err(err, errlen, "%s: file is truncated", path);
fail:
    fclose(f);
    free(header);
    free(data);
    memset(out, 0, sizeof *out);
    return -1;
}

void npy_min_free(npy_min_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
