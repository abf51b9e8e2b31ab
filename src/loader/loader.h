/* The loader: ONNX protobuf bytes -> graph IR.
 *
 * It only reads and checks: every size, count, index and offset in the file is
 * validated before use, shapes of inputs and initializers are recorded, node
 * attributes are copied, and tensor attributes become constant values. It does
 * no shape inference and no rewriting (see passes/). */
#ifndef DF_LOADER_LOADER_H
#define DF_LOADER_LOADER_H

#include <stddef.h>

#include "graph/graph.h"

/* source names the file in messages. On failure *out is NULL. */
df_status df_load_onnx(const void *data, size_t size, const char *source, df_graph **out);

#endif
