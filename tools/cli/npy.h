/*
 * npy: read and write NumPy .npy files holding one array, as float32.
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a version byte pair
 * (1.0, 2.0 or 3.0), a little-endian header length (2 bytes in 1.0, 4 in
 * 2.0/3.0), then an ASCII Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n', then the raw data in C order.
 *
 * Files are untrusted: every field is checked, and the size the shape implies
 * is compared with the bytes actually in the file before anything is
 * allocated, so a hostile header cannot ask for a huge buffer.
 *
 * Element types read: '<f4' as is; '<f8', '<i4' and '<i8' converted to float
 * (values too large for float lose precision, as numpy's astype does). Any
 * other type, big-endian data and Fortran order are refused with a message.
 * Files are always written as '<f4', version 1.0 when the header fits.
 *
 * Independent of the deepfirst library so that tests can build it alone.
 */
#ifndef DF_CLI_NPY_H
#define DF_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_RANK 8
/* numpy itself refuses headers over 10000 bytes by default; be as strict. */
#define NPY_MAX_HEADER_BYTES 10000

typedef struct npy_array {
    int rank;
    int64_t dims[NPY_MAX_RANK];
    int64_t numel;
    char descr[8];  /* element type as found in the file, e.g. "<f8" */
    float *data;    /* numel floats (malloc'd; at least one element) */
} npy_array;

/* Reads path into *array. Returns 0 on success; on failure returns -1, leaves
 * *array empty and writes a message (without the path) into error. */
int npy_read(const char *path, npy_array *array, char *error, size_t error_size);

/* Writes data (numel = product of dims, C order) as a '<f4' array.
 * Returns 0 on success, -1 with a message in error. */
int npy_write(const char *path, const float *data, int rank, const int64_t *dims,
              char *error, size_t error_size);

void npy_free(npy_array *array);

#endif
