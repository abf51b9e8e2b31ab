/* npy: see npy.h for the format and what is accepted. */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
/* Magic, two version bytes and the (2-byte, version 1.0) header length. */
#define NPY_PREFIX_V1 10
#define NPY_ALIGN 64
#define CHUNK_ELEMENTS 16384

static int fail(char *error, size_t error_size, const char *fmt, ...)
{
    if (error && error_size) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(error, error_size, fmt, args);
        va_end(args);
    }
    return -1;
}

/* ---- element types ------------------------------------------------------ */

typedef enum elem_kind { ELEM_F32, ELEM_F64, ELEM_I32, ELEM_I64 } elem_kind;

typedef struct elem_type {
    const char *descr;
    elem_kind kind;
    size_t size;
} elem_type;

static const elem_type ELEM_TYPES[] = {
    {"<f4", ELEM_F32, 4}, {"<f8", ELEM_F64, 8}, {"<i4", ELEM_I32, 4}, {"<i8", ELEM_I64, 8},
};

static const elem_type *find_elem_type(const char *descr)
{
    for (size_t i = 0; i < sizeof ELEM_TYPES / sizeof ELEM_TYPES[0]; i++)
        if (strcmp(ELEM_TYPES[i].descr, descr) == 0)
            return &ELEM_TYPES[i];
    return NULL;
}

/* Bytes are assembled explicitly so the code does not depend on the host's
 * byte order. */
static uint64_t load_le(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static float decode_element(const unsigned char *p, const elem_type *type)
{
    uint64_t bits = load_le(p, type->size);
    switch (type->kind) {
    case ELEM_F32: {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof f);
        return f;
    }
    case ELEM_F64: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return (float)d;
    }
    case ELEM_I32:
        return (float)(int32_t)(uint32_t)bits;
    case ELEM_I64:
        return (float)(int64_t)bits;
    }
    return 0.0f;
}

/* ---- header dict parsing ------------------------------------------------ */

typedef struct cursor {
    const char *p;
    const char *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal without escapes, quoted with ' or ". */
static int parse_string(cursor *c, char *out, size_t out_size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch > 0x7e || ch == '\\' || n + 1 >= out_size)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++; /* closing quote */
    out[n] = '\0';
    return 0;
}

static int parse_word(cursor *c, const char *word)
{
    size_t len = strlen(word);
    skip_space(c);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, word, len) != 0)
        return 0;
    c->p += len;
    return 1;
}

static int parse_bool(cursor *c, int *value)
{
    if (parse_word(c, "True"))
        *value = 1;
    else if (parse_word(c, "False"))
        *value = 0;
    else
        return -1;
    return 0;
}

static int parse_dim(cursor *c, int64_t *dim)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -1;
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int digit = *c->p++ - '0';
        if (v > (INT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    if (c->p < c->end && *c->p == 'L') /* written by Python 2 */
        c->p++;
    *dim = v;
    return 0;
}

/* A tuple of non-negative ints: (), (5,), (3, 4) or (3, 4,). "(5)" is an int
 * in Python, not a tuple, so it is refused as numpy refuses it. */
static int parse_shape(cursor *c, npy_array *a, char *error, size_t error_size)
{
    if (!accept(c, '('))
        return fail(error, error_size, "header: 'shape' is not a tuple");
    a->rank = 0;
    int trailing_comma = 0;
    while (!accept(c, ')')) {
        if (a->rank == NPY_MAX_RANK)
            return fail(error, error_size, "header: shape has more than %d dimensions",
                        NPY_MAX_RANK);
        if (parse_dim(c, &a->dims[a->rank]) != 0)
            return fail(error, error_size,
                        "header: shape entry %d is not a non-negative integer", a->rank);
        a->rank++;
        trailing_comma = accept(c, ',');
        if (!trailing_comma) {
            if (!accept(c, ')'))
                return fail(error, error_size, "header: malformed shape tuple");
            break;
        }
    }
    if (a->rank == 1 && !trailing_comma)
        return fail(error, error_size, "header: shape (n) is not a tuple; expected (n,)");
    return 0;
}

/* Parses the header dict; all three keys must appear exactly once and no
 * other key may appear (numpy refuses those too). */
static int parse_header(const char *text, size_t len, npy_array *a, const elem_type **type,
                        char *error, size_t error_size)
{
    cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;

    if (!accept(&c, '{'))
        return fail(error, error_size, "header: not a Python dict");
    while (!accept(&c, '}')) {
        char key[32];
        if (parse_string(&c, key, sizeof key) != 0 || !accept(&c, ':'))
            return fail(error, error_size, "header: malformed dict entry");
        if (strcmp(key, "descr") == 0) {
            if (have_descr++)
                return fail(error, error_size, "header: 'descr' appears twice");
            if (parse_string(&c, a->descr, sizeof a->descr) != 0)
                return fail(error, error_size, "header: 'descr' is not a short type string");
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_order++)
                return fail(error, error_size, "header: 'fortran_order' appears twice");
            if (parse_bool(&c, &fortran) != 0)
                return fail(error, error_size, "header: 'fortran_order' is not True or False");
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape++)
                return fail(error, error_size, "header: 'shape' appears twice");
            if (parse_shape(&c, a, error, error_size) != 0)
                return -1;
        } else {
            return fail(error, error_size, "header: unexpected key '%s'", key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return fail(error, error_size, "header: malformed dict");
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return fail(error, error_size, "header: unexpected text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return fail(error, error_size, "header: missing '%s'",
                    !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (fortran)
        return fail(error, error_size, "Fortran-order arrays are not supported; "
                                       "save with numpy.ascontiguousarray first");
    *type = find_elem_type(a->descr);
    if (!*type)
        return fail(error, error_size,
                    "element type '%s' is not supported (use float32 '<f4'; "
                    "'<f8', '<i4' and '<i8' are converted)", a->descr);
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

/* Reads the prefix and header; leaves f positioned at the data and sets
 * *data_bytes to the number of bytes that follow. */
static int read_header(FILE *f, npy_array *a, const elem_type **type, uint64_t *data_bytes,
                       char *error, size_t error_size)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return fail(error, error_size, "not a regular file");
    uint64_t file_size = (uint64_t)st.st_size;

    unsigned char prefix[12];
    if (fread(prefix, 1, NPY_PREFIX_V1, f) != NPY_PREFIX_V1)
        return fail(error, error_size, "truncated: too short for an .npy header");
    if (memcmp(prefix, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return fail(error, error_size, "not an .npy file (bad magic)");
    int major = prefix[6], minor = prefix[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(error, error_size, "unsupported .npy version %d.%d", major, minor);

    uint64_t header_len, prefix_len;
    if (major == 1) {
        header_len = load_le(prefix + 8, 2);
        prefix_len = NPY_PREFIX_V1;
    } else {
        if (fread(prefix + NPY_PREFIX_V1, 1, 2, f) != 2)
            return fail(error, error_size, "truncated: too short for an .npy header");
        header_len = load_le(prefix + 8, 4);
        prefix_len = NPY_PREFIX_V1 + 2;
    }
    if (header_len == 0 || header_len > NPY_MAX_HEADER_BYTES)
        return fail(error, error_size, "header length %llu is out of range (1..%d)",
                    (unsigned long long)header_len, NPY_MAX_HEADER_BYTES);
    if (prefix_len + header_len > file_size)
        return fail(error, error_size, "truncated: header says %llu bytes, file has %llu",
                    (unsigned long long)(prefix_len + header_len),
                    (unsigned long long)file_size);

    char header[NPY_MAX_HEADER_BYTES];
    if (fread(header, 1, (size_t)header_len, f) != header_len)
        return fail(error, error_size, "could not read the header: %s", strerror(errno));
    if (parse_header(header, (size_t)header_len, a, type, error, error_size) != 0)
        return -1;
    *data_bytes = file_size - prefix_len - header_len;
    return 0;
}

/* Checks that the shape's size is exactly the data in the file, before any
 * allocation, so a huge shape in a small file is refused cheaply. */
static int check_size(npy_array *a, const elem_type *type, uint64_t data_bytes, char *error,
                      size_t error_size)
{
    /* Bound the product so that numel * type->size cannot overflow either. */
    const uint64_t max_numel = (uint64_t)INT64_MAX / type->size;
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < a->rank; i++) {
        uint64_t d = (uint64_t)a->dims[i];
        if (d == 0)
            numel = 0, overflow = 0;
        else if (numel != 0 && (overflow || numel > max_numel / d))
            overflow = 1;
        else
            numel *= d;
    }
    if (overflow)
        return fail(error, error_size, "the shape is too large (more than 2^63 bytes)");
    if (numel * type->size != data_bytes)
        return fail(error, error_size, "the shape needs %llu data bytes but the file has %llu%s",
                    (unsigned long long)(numel * type->size), (unsigned long long)data_bytes,
                    numel * type->size > data_bytes ? " (truncated)" : "");
    a->numel = (int64_t)numel;
    return 0;
}

static int read_data(FILE *f, npy_array *a, const elem_type *type, char *error,
                     size_t error_size)
{
    unsigned char chunk[CHUNK_ELEMENTS * 8];
    int64_t done = 0;
    while (done < a->numel) {
        int64_t left = a->numel - done;
        size_t n = left < CHUNK_ELEMENTS ? (size_t)left : CHUNK_ELEMENTS;
        if (fread(chunk, type->size, n, f) != n)
            return fail(error, error_size, "truncated: could not read the data");
        for (size_t i = 0; i < n; i++)
            a->data[done + (int64_t)i] = decode_element(chunk + i * type->size, type);
        done += (int64_t)n;
    }
    return 0;
}

int npy_read(const char *path, npy_array *array, char *error, size_t error_size)
{
    memset(array, 0, sizeof *array);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(error, error_size, "cannot open: %s", strerror(errno));

    npy_array a;
    memset(&a, 0, sizeof a);
    const elem_type *type = NULL;
    uint64_t data_bytes = 0;
    int rc = read_header(f, &a, &type, &data_bytes, error, error_size);
    if (rc == 0)
        rc = check_size(&a, type, data_bytes, error, error_size);
    if (rc == 0) {
        /* At least one element so that an empty array still has a pointer. */
        a.data = malloc((size_t)(a.numel > 0 ? a.numel : 1) * sizeof(float));
        if (!a.data)
            rc = fail(error, error_size, "out of memory for %lld elements", (long long)a.numel);
    }
    if (rc == 0)
        rc = read_data(f, &a, type, error, error_size);
    fclose(f);
    if (rc != 0) {
        free(a.data);
        return -1;
    }
    *array = a;
    return 0;
}

void npy_free(npy_array *array)
{
    if (!array)
        return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* ---- writing ------------------------------------------------------------ */

static int format_header(char *out, size_t out_size, int rank, const int64_t *dims)
{
    char shape[NPY_MAX_RANK * 24 + 8];
    size_t n = 0;
    shape[n++] = '(';
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, i ? ", %lld" : "%lld",
                              (long long)dims[i]);
    if (rank == 1)
        shape[n++] = ',';
    shape[n++] = ')';
    shape[n] = '\0';

    int len = snprintf(out, out_size, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                       shape);
    if (len < 0 || (size_t)len + NPY_ALIGN + 1 >= out_size)
        return -1;
    /* Pad with spaces so that the data starts on a 64-byte boundary, and end
     * the header with a newline, as numpy does. */
    size_t total = NPY_PREFIX_V1 + (size_t)len + 1;
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    memset(out + len, ' ', pad);
    out[(size_t)len + pad] = '\n';
    out[(size_t)len + pad + 1] = '\0';
    return (int)((size_t)len + pad + 1);
}

static int write_all(FILE *f, const float *data, int64_t numel)
{
    unsigned char chunk[CHUNK_ELEMENTS * 4];
    int64_t done = 0;
    while (done < numel) {
        int64_t left = numel - done;
        size_t n = left < CHUNK_ELEMENTS ? (size_t)left : CHUNK_ELEMENTS;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &data[done + (int64_t)i], sizeof bits);
            for (int b = 0; b < 4; b++)
                chunk[i * 4 + (size_t)b] = (unsigned char)(bits >> (8 * b));
        }
        if (fwrite(chunk, 4, n, f) != n)
            return -1;
        done += (int64_t)n;
    }
    return 0;
}

int npy_write(const char *path, const float *data, int rank, const int64_t *dims, char *error,
              size_t error_size)
{
    if (rank < 0 || rank > NPY_MAX_RANK)
        return fail(error, error_size, "rank %d is out of range (0..%d)", rank, NPY_MAX_RANK);
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] != 0 && numel > INT64_MAX / 4 / dims[i]))
            return fail(error, error_size, "bad dimension %lld", (long long)dims[i]);
        numel *= dims[i];
    }
    if (numel > 0 && !data)
        return fail(error, error_size, "no data to write");

    char header[512];
    int header_len = format_header(header, sizeof header, rank, dims);
    if (header_len < 0 || header_len > 65535)
        return fail(error, error_size, "header too long");

    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(error, error_size, "cannot create: %s", strerror(errno));
    unsigned char prefix[NPY_PREFIX_V1];
    memcpy(prefix, NPY_MAGIC, sizeof NPY_MAGIC);
    prefix[6] = 1;
    prefix[7] = 0;
    prefix[8] = (unsigned char)(header_len & 0xff);
    prefix[9] = (unsigned char)(header_len >> 8);

    int ok = fwrite(prefix, 1, sizeof prefix, f) == sizeof prefix &&
             fwrite(header, 1, (size_t)header_len, f) == (size_t)header_len &&
             write_all(f, data, numel) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        int saved = errno;
        remove(path);
        return fail(error, error_size, "write failed: %s", strerror(saved));
    }
    return 0;
}
