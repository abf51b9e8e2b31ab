/*
 * Tests of tools/cli/npy.c: round trips, the element types converted, and
 * hostile files (truncated, bad magic, bad versions, huge shapes, bad types,
 * Fortran order, malformed dicts), each of which must give an error naming
 * the problem and never crash or allocate what the header asks for.
 *
 * Also a helper for the CLI's ctest cases, which need .npy files and cannot
 * count on numpy:
 *     test_npy --write PATH D0 D1 ...       a ramp of that shape (with negatives)
 *     test_npy --expect-relu IN OUT         exit 0 when OUT == max(IN, 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

static int passed, failed;
static char scratch[64];

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* Writes an .npy file byte by byte: magic, version, header length in the
 * version's width, the header text as given, then data_bytes bytes of 0x3f. */
static void write_raw(const char *path, int major, int minor, const char *header,
                      size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t len = strlen(header);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(minor, f);
    int width = major == 1 ? 2 : 4;
    for (int b = 0; b < width; b++)
        fputc((int)((len >> (8 * b)) & 0xff), f);
    fwrite(header, 1, len, f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(0x3f, f);
    fclose(f);
}

/* For string literals with NULs inside: all bytes but the terminating one. */
#define WRITE_LITERAL(path, literal) write_bytes(path, literal, sizeof literal - 1)

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(bytes, 1, size, f);
    fclose(f);
}

/* Expects npy_read to refuse the scratch file with a message containing
 * expected, and to leave the array empty. */
static void expect_refused(const char *what, const char *expected)
{
    npy_array a;
    char error[256] = "";
    int rc = npy_read(scratch, &a, error, sizeof error);
    CHECK(rc == -1, "%s: accepted", what);
    CHECK(a.data == NULL && a.rank == 0, "%s: array not left empty", what);
    CHECK(strstr(error, expected) != NULL, "%s: message '%s' lacks '%s'", what, error,
          expected);
    npy_free(&a);
}

static void expect_header_refused(const char *header, size_t data_bytes, const char *expected)
{
    write_raw(scratch, 1, 0, header, data_bytes);
    expect_refused(header, expected);
}

static void test_round_trip(int rank, const int64_t *dims)
{
    int64_t numel = 1;
    for (int i = 0; i < rank; i++)
        numel *= dims[i];
    float *data = malloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
    for (int64_t i = 0; i < numel; i++)
        data[i] = (float)i * 0.25f - 3.0f;

    char error[256] = "";
    CHECK(npy_write(scratch, data, rank, dims, error, sizeof error) == 0, "write rank %d: %s",
          rank, error);
    npy_array a;
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0, "read rank %d: %s", rank, error);
    CHECK(a.rank == rank, "rank %d read back as %d", rank, a.rank);
    for (int i = 0; i < rank && i < a.rank; i++)
        CHECK(a.dims[i] == dims[i], "dim %d: %lld != %lld", i, (long long)a.dims[i],
              (long long)dims[i]);
    CHECK(a.numel == numel, "numel %lld != %lld", (long long)a.numel, (long long)numel);
    CHECK(strcmp(a.descr, "<f4") == 0, "descr '%s'", a.descr);
    CHECK(a.numel != numel || numel == 0 || memcmp(a.data, data, (size_t)numel * 4) == 0,
          "rank %d: data differs", rank);

    /* numpy aligns the data on 64 bytes; check the header is padded so. */
    FILE *f = fopen(scratch, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    CHECK((size - numel * 4) % 64 == 0, "rank %d: header of %ld bytes not 64-aligned", rank,
          size - (long)numel * 4);
    npy_free(&a);
    free(data);
}

static void test_round_trips(void)
{
    int64_t d1[] = {7}, d2[] = {3, 5}, d4[] = {1, 3, 4, 5}, d8[] = {1, 2, 1, 2, 1, 2, 1, 3};
    int64_t big[] = {70001}; /* more than one read chunk */
    int64_t empty[] = {2, 0};
    test_round_trip(0, NULL);
    test_round_trip(1, d1);
    test_round_trip(2, d2);
    test_round_trip(4, d4);
    test_round_trip(8, d8);
    test_round_trip(1, big);
    test_round_trip(2, empty);

    char error[256] = "";
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, negative[] = {-1};
    float x = 0;
    CHECK(npy_write(scratch, &x, 9, nine, error, sizeof error) != 0, "rank 9 written");
    CHECK(npy_write(scratch, &x, 1, negative, error, sizeof error) != 0, "dim -1 written");
    CHECK(npy_write("/nonexistent-dir/x.npy", &x, 0, NULL, error, sizeof error) != 0,
          "write into a missing directory succeeded");
}

/* Files numpy writes that must be accepted, and their values. */
static void test_accepted(void)
{
    npy_array a;
    char error[256] = "";

    /* '<f8' [1.5, -2.0] converted to float. */
    const unsigned char f8[] = {0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0};
    FILE *f;
    write_raw(scratch, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 0);
    f = fopen(scratch, "ab");
    fwrite(f8, 1, sizeof f8, f);
    fclose(f);
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0, "<f8: %s", error);
    CHECK(a.numel == 2 && a.data[0] == 1.5f && a.data[1] == -2.0f, "<f8 values");
    CHECK(strcmp(a.descr, "<f8") == 0, "<f8 descr kept as '%s'", a.descr);
    npy_free(&a);

    /* '<i8' [-3, 5] and '<i4' [7] converted. */
    const unsigned char i8[] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                5,    0,    0,    0,    0,    0,    0,    0};
    write_raw(scratch, 1, 0, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 0);
    f = fopen(scratch, "ab");
    fwrite(i8, 1, sizeof i8, f);
    fclose(f);
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0, "<i8: %s", error);
    CHECK(a.numel == 2 && a.data[0] == -3.0f && a.data[1] == 5.0f, "<i8 values");
    npy_free(&a);

    const unsigned char i4[] = {7, 0, 0, 0};
    write_raw(scratch, 1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", 0);
    f = fopen(scratch, "ab");
    fwrite(i4, 1, sizeof i4, f);
    fclose(f);
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0, "<i4: %s", error);
    CHECK(a.numel == 1 && a.data[0] == 7.0f && a.rank == 2, "<i4 values");
    npy_free(&a);

    /* Versions 2.0 and 3.0 (4-byte header length), other key order, double
     * quotes, Python 2 long dims, no trailing comma, a scalar. */
    const char *headers[] = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 3L)}",
    };
    for (int major = 2; major <= 3; major++)
        for (int h = 0; h < 2; h++) {
            write_raw(scratch, major, 0, headers[h], 24);
            CHECK(npy_read(scratch, &a, error, sizeof error) == 0, "v%d.0 '%s': %s", major,
                  headers[h], error);
            CHECK(a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.numel == 6,
                  "v%d.0 shape", major);
            npy_free(&a);
        }
    write_raw(scratch, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4);
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0 && a.rank == 0 && a.numel == 1,
          "scalar: %s", error);
    npy_free(&a);

    /* An empty array may have any other dimension, as in numpy. */
    write_raw(scratch, 1, 0, "{'descr': '<f4', 'fortran_order': False, "
                             "'shape': (4611686018427387904, 0)}", 0);
    CHECK(npy_read(scratch, &a, error, sizeof error) == 0 && a.numel == 0 && a.data,
          "empty array with a huge dimension: %s", error);
    npy_free(&a);
}

static void test_hostile(void)
{
    const char *ok_start = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
    char header[512];

    expect_header_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 40,
                          "needs 48 data bytes but the file has 40 (truncated)");
    snprintf(header, sizeof header, "%s(3, 4), }", ok_start);
    expect_header_refused(header, 52, "the file has 52");
    expect_header_refused(header, 0, "needs 48");
    snprintf(header, sizeof header, "%s(2, 3, 0, 4611686018427387904), }", ok_start);
    expect_header_refused(header, 4, "needs 0 data bytes");

    /* Shapes whose size overflows or dwarfs the file: refused before malloc. */
    snprintf(header, sizeof header, "%s(4611686018427387904, 4611686018427387904), }",
             ok_start);
    expect_header_refused(header, 16, "too large");
    snprintf(header, sizeof header, "%s(9223372036854775807,), }", ok_start);
    expect_header_refused(header, 16, "too large");
    snprintf(header, sizeof header, "%s(1152921504606846976,), }", ok_start);
    expect_header_refused(header, 16, "needs 4611686018427387904 data bytes");
    snprintf(header, sizeof header, "%s(99999999999999999999,), }", ok_start);
    expect_header_refused(header, 16, "shape entry 0");
    snprintf(header, sizeof header, "%s(-1,), }", ok_start);
    expect_header_refused(header, 4, "shape entry 0");
    snprintf(header, sizeof header, "%s(1, 1, 1, 1, 1, 1, 1, 1, 1), }", ok_start);
    expect_header_refused(header, 4, "more than 8");
    snprintf(header, sizeof header, "%s(5), }", ok_start);
    expect_header_refused(header, 20, "not a tuple");
    snprintf(header, sizeof header, "%s[5], }", ok_start);
    expect_header_refused(header, 20, "not a tuple");
    snprintf(header, sizeof header, "%s(5,,), }", ok_start);
    expect_header_refused(header, 20, "shape");

    /* Element types. */
    expect_header_refused("{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}", 4, ">f4");
    expect_header_refused("{'descr': '<f2', 'fortran_order': False, 'shape': (1,)}", 2, "<f2");
    expect_header_refused("{'descr': '|b1', 'fortran_order': False, 'shape': (1,)}", 1, "|b1");
    expect_header_refused("{'descr': '<U1000000', 'fortran_order': False, 'shape': (1,)}", 4,
                          "descr");
    expect_header_refused("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4,
                          "descr");
    expect_header_refused("{'descr': 4, 'fortran_order': False, 'shape': (1,)}", 4, "descr");

    /* Layout and dict structure. */
    expect_header_refused("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", 16,
                          "Fortran");
    expect_header_refused("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4,
                          "fortran_order");
    expect_header_refused("{'descr': '<f4', 'shape': (1,)}", 4, "missing 'fortran_order'");
    expect_header_refused("{'fortran_order': False, 'shape': (1,)}", 4, "missing 'descr'");
    expect_header_refused("{'descr': '<f4', 'fortran_order': False}", 4, "missing 'shape'");
    expect_header_refused("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                          "'shape': (1,)}", 4, "twice");
    expect_header_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
                          "unexpected key");
    expect_header_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", 4,
                          "after the dict");
    expect_header_refused("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4,
                          "header");
    expect_header_refused("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4,
                          "malformed");
    expect_header_refused("['descr', '<f4']", 4, "not a Python dict");
    expect_header_refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
                          "header");

    /* Prefix: magic, version, header length, truncation. */
    WRITE_LITERAL(scratch, "\x93NUM");
    expect_refused("4-byte file", "truncated");
    WRITE_LITERAL(scratch, "");
    expect_refused("empty file", "truncated");
    WRITE_LITERAL(scratch, "\x93NUMPZ\x01\x00\x10\x00{}              ");
    expect_refused("bad magic", "magic");
    WRITE_LITERAL(scratch, "PK\x03\x04 this is a zip file, an .npz");
    expect_refused("npz", "magic");
    write_raw(scratch, 4, 0, "{}", 0);
    expect_refused("version 4.0", "version 4.0");
    write_raw(scratch, 1, 1, "{}", 0);
    expect_refused("version 1.1", "version 1.1");
    write_raw(scratch, 0, 0, "{}", 0);
    expect_refused("version 0.0", "version 0.0");
    WRITE_LITERAL(scratch, "\x93NUMPY\x01\x00\xff\xff{");
    expect_refused("header longer than the limit", "out of range");
    WRITE_LITERAL(scratch, "\x93NUMPY\x02\x00\x00\x00\x00\x80{");
    expect_refused("2 GiB header", "out of range");
    WRITE_LITERAL(scratch, "\x93NUMPY\x01\x00\x00\x00");
    expect_refused("empty header", "out of range");
    WRITE_LITERAL(scratch, "\x93NUMPY\x01\x00\x40\x00{'descr'");
    expect_refused("header cut short", "truncated");
    WRITE_LITERAL(scratch, "\x93NUMPY\x02\x00\x10\x00");
    expect_refused("version 2.0 prefix cut short", "truncated");
    WRITE_LITERAL(scratch, "\x93NUMPY\x01\x00\x03\x00{\0}");
    expect_refused("NUL in the header", "header");

    /* Not a file at all. */
    npy_array a;
    char error[256] = "";
    CHECK(npy_read("/nonexistent-dir/x.npy", &a, error, sizeof error) == -1 &&
              strstr(error, "cannot open"), "missing file: '%s'", error);
    CHECK(npy_read(".", &a, error, sizeof error) == -1 && strstr(error, "regular"),
          "directory: '%s'", error);
}

/* ---- helper modes for tests/cli.cmake --------------------------------- */

static int write_ramp(int argc, char **argv)
{
    int rank = argc - 3;
    int64_t dims[NPY_MAX_RANK], numel = 1;
    if (rank < 0 || rank > NPY_MAX_RANK)
        return fprintf(stderr, "usage: test_npy --write PATH D0 D1 ...\n"), 2;
    for (int i = 0; i < rank; i++) {
        dims[i] = atoll(argv[3 + i]);
        if (dims[i] < 0 || dims[i] > 1 << 20)
            return fprintf(stderr, "bad dim '%s'\n", argv[3 + i]), 2;
        numel *= dims[i];
    }
    float *data = malloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
    for (int64_t i = 0; i < numel; i++)
        data[i] = (float)(i % 17) * 0.25f - 2.0f;
    char error[256];
    int rc = npy_write(argv[2], data, rank, dims, error, sizeof error);
    free(data);
    if (rc != 0)
        return fprintf(stderr, "%s: %s\n", argv[2], error), 1;
    return 0;
}

static int expect_relu(const char *in_path, const char *out_path)
{
    npy_array in, out;
    char error[256];
    if (npy_read(in_path, &in, error, sizeof error) != 0)
        return fprintf(stderr, "%s: %s\n", in_path, error), 1;
    if (npy_read(out_path, &out, error, sizeof error) != 0)
        return npy_free(&in), fprintf(stderr, "%s: %s\n", out_path, error), 1;
    int ok = in.rank == out.rank && in.numel == out.numel;
    for (int i = 0; ok && i < in.rank; i++)
        ok = in.dims[i] == out.dims[i];
    int64_t wrong = 0;
    for (int64_t i = 0; ok && i < in.numel; i++)
        wrong += out.data[i] != (in.data[i] > 0 ? in.data[i] : 0.0f);
    if (!ok)
        fprintf(stderr, "shapes differ\n");
    else if (wrong)
        fprintf(stderr, "%lld of %lld values are not relu(input)\n", (long long)wrong,
                (long long)in.numel);
    else
        printf("relu output matches (%lld values)\n", (long long)in.numel);
    npy_free(&in);
    npy_free(&out);
    return ok && !wrong ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--write") == 0)
        return write_ramp(argc, argv);
    if (argc == 4 && strcmp(argv[1], "--expect-relu") == 0)
        return expect_relu(argv[2], argv[3]);

    snprintf(scratch, sizeof scratch, "test_npy_%ld.npy", (long)getpid());
    test_round_trips();
    test_accepted();
    test_hostile();
    remove(scratch);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
