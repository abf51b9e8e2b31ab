/*
 * npy_min: a minimal reader for NumPy .npy files, for tests.
 *
 * Reads float32, little-endian, C-order arrays only (descr '<f4', fortran_order False),
 * format versions 1.0, 2.0 and 3.0. Anything else is refused with a message.
 */
#ifndef NPY_MIN_H
#define NPY_MIN_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MIN_MAX_RANK 8

typedef struct npy_min_array {
    int rank;
    int64_t dims[NPY_MIN_MAX_RANK];
    int64_t numel;
    float *data; /* numel floats, malloc'ed; released by npy_min_free */
} npy_min_array;

/* Loads path into *out. Returns 0 on success; on failure returns -1, writes a
 * message naming the file and the problem into err (errlen bytes) and leaves
 * *out empty (data NULL). */
int npy_min_load(const char *path, npy_min_array *out, char *err, size_t errlen);

/* Frees out->data and empties *out. NULL or an empty array is harmless. */
void npy_min_free(npy_min_array *out);

#endif
