/* The ONNX loader: protobuf bytes -> graph IR.
 *
 * Three steps, each of which refuses what it cannot vouch for:
 *   1. a scan of the wire format that bounds how deeply messages nest, because
 *      protobuf-c unpacks nested messages recursively and a hostile file could
 *      otherwise exhaust the stack (ONNX types are recursive: a node attribute
 *      can hold a graph, which holds nodes...);
 *   2. protobuf-c's unpack, through an allocator with a budget proportional to
 *      the file size, so a small file cannot make it allocate gigabytes;
 *   3. the translation to df_graph, which checks every count, dimension, data
 *      size and name reference before using it.
 *
 * Values are looked up by name through a hash table local to the load, so a
 * model with many thousands of values loads in linear time. */
#include "loader/loader.h"

#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

/* Limits on what one file may ask for. They are far above any real CNN and
 * keep counts inside int, which is what the IR uses. */
enum {
    MAX_NESTING = 100,          /* protobuf message nesting (C++ protobuf's default) */
    MAX_NODES = 1 << 23,        /* matches graph.c's cap */
    MAX_VALUES = 1 << 24,
    MAX_NODE_IO = 1 << 16,      /* inputs or outputs of one node */
    MAX_ATTRS = 1024,           /* attributes of one node */
    MAX_ATTR_ELEMS = 1 << 28    /* elements of a FLOATS / INTS attribute */
};

/* The unpack budget: fixed slack plus a multiple of the file size. Real models
 * unpack to about their own size (raw_data is copied once); only packed int64
 * varints grow, by at most 8x. */
enum { UNPACK_SLACK = 64 << 20, UNPACK_FACTOR = 16 };

/* ---- step 1: nesting depth --------------------------------------------- */

enum scan_result { SCAN_OK, SCAN_TOO_DEEP, SCAN_MALFORMED };

static int read_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *value)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= end)
            return 0;
        uint8_t byte = p[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

/* Walks the wire format with an explicit stack, descending into every field
 * the schema declares as a message. Anything it cannot parse is malformed:
 * protobuf-c would refuse it too (groups, cut-off fields). */
static enum scan_result scan_nesting(const uint8_t *p, size_t size)
{
    struct {
        size_t end;
        const ProtobufCMessageDescriptor *desc;
    } stack[MAX_NESTING + 1];
    int depth = 0;
    size_t pos = 0;
    stack[0].end = size;
    stack[0].desc = &onnx__model_proto__descriptor;

    for (;;) {
        while (depth > 0 && pos == stack[depth].end)
            depth--;
        size_t end = stack[depth].end;
        if (pos == end)
            return SCAN_OK; /* depth is 0 here: the whole buffer was read */

        uint64_t key, len;
        if (!read_varint(p, end, &pos, &key))
            return SCAN_MALFORMED;
        uint64_t field = key >> 3;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, end, &pos, &len))
                return SCAN_MALFORMED;
            break;
        case 1:
            if (end - pos < 8)
                return SCAN_MALFORMED;
            pos += 8;
            break;
        case 5:
            if (end - pos < 4)
                return SCAN_MALFORMED;
            pos += 4;
            break;
        case 2: {
            if (!read_varint(p, end, &pos, &len) || len > end - pos)
                return SCAN_MALFORMED;
            const ProtobufCFieldDescriptor *fd =
                field <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(stack[depth].desc,
                                                              (unsigned)field)
                    : NULL;
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == MAX_NESTING)
                    return SCAN_TOO_DEEP;
                depth++;
                stack[depth].end = pos + (size_t)len;
                stack[depth].desc = fd->descriptor;
            } else {
                pos += (size_t)len;
            }
            break;
        }
        default:
            return SCAN_MALFORMED;
        }
    }
}

/* ---- step 2: unpacking with a budget ----------------------------------- */

typedef struct unpack_budget {
    size_t used, limit;
    int exceeded;
} unpack_budget;

/* Each block starts with its size, so free() can give the budget back. */
typedef union block_header {
    size_t size;
    max_align_t align;
} block_header;

static void *budget_alloc(void *data, size_t size)
{
    unpack_budget *b = data;
    if (size > b->limit - b->used || size > SIZE_MAX - sizeof(block_header)) {
        b->exceeded = 1;
        return NULL;
    }
    block_header *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    b->used += size;
    return h + 1;
}

static void budget_free(void *data, void *ptr)
{
    if (!ptr)
        return;
    unpack_budget *b = data;
    block_header *h = (block_header *)ptr - 1;
    b->used -= h->size;
    free(h);
}

/* ---- names -> value indices -------------------------------------------- */

typedef struct name_map {
    int *slots; /* value index, or -1 when empty */
    size_t cap; /* a power of two */
    size_t count;
} name_map;

static size_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211u;
    return (size_t)h;
}

static int map_find(const name_map *m, const df_graph *g, const char *name)
{
    if (m->cap == 0)
        return -1;
    for (size_t i = hash_name(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int v = m->slots[i];
        if (v < 0 || strcmp(g->values[v].name, name) == 0)
            return v;
    }
}

static void map_put_slot(int *slots, size_t cap, const df_graph *g, int value)
{
    size_t i = hash_name(g->values[value].name) & (cap - 1);
    while (slots[i] >= 0)
        i = (i + 1) & (cap - 1);
    slots[i] = value;
}

/* The caller has checked that the name is not there yet. Returns 0 on OOM. */
static int map_add(name_map *m, const df_graph *g, int value)
{
    if (2 * (m->count + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        int *slots = malloc(cap * sizeof *slots);
        if (!slots)
            return 0;
        for (size_t i = 0; i < cap; i++)
            slots[i] = -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i] >= 0)
                map_put_slot(slots, cap, g, m->slots[i]);
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    map_put_slot(m->slots, m->cap, g, value);
    m->count++;
    return 1;
}

/* ---- step 3: translation ----------------------------------------------- */

typedef struct loader {
    df_graph *g;
    const char *src;
    name_map names;
} loader;

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static df_status out_of_memory(const loader *L)
{
    return df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory while loading", L->src);
}

static const char *onnx_dtype_name(int32_t dt)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
        "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (dt >= 0 && dt < (int32_t)(sizeof names / sizeof names[0]))
        return names[dt];
    return "unknown";
}

/* Checks dims read from the file: count, sign, and that the element count (and
 * its size in bytes, at 8 bytes an element) fits in int64 even when some dims
 * are zero, so that later passes can multiply dims without overflow. Dims equal
 * to -1 mark symbolic dimensions when allow_symbolic is set. Writes the element
 * count of the known dims to *numel. */
static df_status check_dims(const loader *L, const char *what, size_t n_dims,
                            const int64_t *dims, int allow_symbolic, int64_t *numel)
{
    if (n_dims > DF_MAX_RANK)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %s has rank %zu; at most %d is supported",
                       L->src, what, n_dims, DF_MAX_RANK);
    int64_t product = 1, nonzero_product = 1;
    for (size_t d = 0; d < n_dims; d++) {
        int64_t dim = dims[d];
        if (dim == -1 && allow_symbolic)
            continue;
        if (dim < 0)
            return df_fail(DF_ERR_INVALID_MODEL, "%s: %s has negative dimension %lld at axis %zu",
                           L->src, what, (long long)dim, d);
        if (dim == 0) {
            product = 0;
            continue;
        }
        if (nonzero_product > INT64_MAX / 8 / dim)
            return df_fail(DF_ERR_INVALID_MODEL,
                           "%s: %s has too many elements (dimension %lld at axis %zu overflows)",
                           L->src, what, (long long)dim, d);
        nonzero_product *= dim;
        product *= dim;
    }
    *numel = product;
    return DF_OK;
}

static df_dtype df_dtype_from_onnx(int32_t dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return DF_DT_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return DF_DT_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return DF_DT_BOOL;
    default: return DF_DT_UNDEFINED;
    }
}

/* Copies the tensor's elements into a new buffer of dtype `to` (INT32 data is
 * widened to int64, BOOL normalised to 0/1). Counts were checked by the caller
 * against numel; the buffer is never empty, so a constant always has data. */
static void *copy_tensor_data(const Onnx__TensorProto *t, size_t numel, df_dtype to)
{
    size_t bytes = numel * df_dtype_size(to);
    uint8_t *out = malloc(bytes ? bytes : 1);
    if (!out || bytes == 0)
        return out;
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        memcpy(out, raw ? (const void *)raw : (const void *)t->float_data, bytes);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        memcpy(out, raw ? (const void *)raw : (const void *)t->int64_data, bytes);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        for (size_t i = 0; i < numel; i++) {
            int32_t x;
            if (raw)
                memcpy(&x, raw + 4 * i, 4);
            else
                x = t->int32_data[i];
            int64_t wide = x;
            memcpy(out + 8 * i, &wide, 8);
        }
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        for (size_t i = 0; i < numel; i++)
            out[i] = raw ? raw[i] != 0 : t->int32_data[i] != 0;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
        for (size_t i = 0; i < numel; i++) {
            double x;
            if (raw)
                memcpy(&x, raw + 8 * i, 8);
            else
                x = t->double_data[i];
            /* out-of-range doubles would be undefined behaviour in the cast */
            float f = x != x ? (float)x : x > 3.4028234663852886e38 ? INFINITY
                                        : x < -3.4028234663852886e38 ? -INFINITY : (float)x;
            memcpy(out + 4 * i, &f, 4);
        }
        break;
    }
    return out;
}

/* Turns a TensorProto into a new constant value. `what` names it in messages
 * ("initializer 'w'", "node 'c' (Constant): attribute 'value'"). */
static df_status load_tensor(loader *L, const Onnx__TensorProto *t, const char *what,
                             const char *value_name, int is_param, int *index)
{
    if (t->n_external_data > 0 ||
        (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %s: external data is not supported", L->src, what);
    if (t->segment)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %s: segmented tensors are not supported", L->src,
                       what);

    /* INT32 is accepted as data but stored as int64, the IR's integer type.
     * DOUBLE constants (PyTorch exports Python floats as such, then casts them)
     * are narrowed to float32, the only float type deepfirst computes in. */
    int32_t onnx_dt = t->has_data_type ? t->data_type : 0;
    df_dtype dt = onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32    ? DF_DT_I64
                  : onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? DF_DT_F32
                                                                     : df_dtype_from_onnx(onnx_dt);
    if (dt == DF_DT_UNDEFINED)
        return df_fail(DF_ERR_UNSUPPORTED,
                       "%s: %s has data type %s (%d); only FLOAT, DOUBLE, INT64, INT32 and BOOL "
                       "tensors are supported",
                       L->src, what, onnx_dtype_name(onnx_dt), (int)onnx_dt);

    int64_t numel;
    df_status st = check_dims(L, what, t->n_dims, t->dims, 0, &numel);
    if (st != DF_OK)
        return st;

    size_t file_elem_size = onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL    ? 1
                            : onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4
                            : onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
                                                                              : 8;
    size_t typed_count = onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->n_float_data
                         : onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                         : onnx_dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                                                                            : t->n_int32_data;
    if (t->has_raw_data) {
        if (typed_count > 0)
            return df_fail(DF_ERR_INVALID_MODEL, "%s: %s has both raw_data and typed data",
                           L->src, what);
        /* check_dims bounded numel * 8, so this product cannot overflow */
        size_t expected = (size_t)numel * file_elem_size;
        if (t->raw_data.len != expected)
            return df_fail(DF_ERR_INVALID_MODEL,
                           "%s: %s has %zu bytes of raw_data; its shape needs %zu (%lld %s "
                           "elements)",
                           L->src, what, t->raw_data.len, expected, (long long)numel,
                           onnx_dtype_name(onnx_dt));
    } else if (typed_count != (size_t)numel) {
        return df_fail(DF_ERR_INVALID_MODEL,
                       "%s: %s has %zu data elements; its shape needs %lld", L->src, what,
                       typed_count, (long long)numel);
    }

    if (L->g->n_values >= MAX_VALUES)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: more than %d values", L->src, MAX_VALUES);
    int v = df_graph_add_value(L->g, value_name);
    if (v < 0)
        return out_of_memory(L);
    df_value *value = &L->g->values[v];
    df_value_set_shape(value, dt, (int)t->n_dims, t->dims);
    value->is_param = is_param;
    value->data = copy_tensor_data(t, (size_t)numel, dt);
    if (!value->data)
        return out_of_memory(L);
    *index = v;
    return DF_OK;
}

static df_status load_initializers(loader *L, const Onnx__GraphProto *gp)
{
    if (gp->n_sparse_initializer > 0)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", L->src);
    if (gp->n_initializer > MAX_VALUES)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %zu initializers; at most %d are supported",
                       L->src, gp->n_initializer, MAX_VALUES);
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        const char *name = str_or_empty(t->name);
        if (!name[0])
            return df_fail(DF_ERR_INVALID_MODEL, "%s: initializer %zu has no name", L->src, i);
        if (map_find(&L->names, L->g, name) >= 0)
            return df_fail(DF_ERR_INVALID_MODEL, "%s: initializer '%s' is defined twice", L->src,
                           name);
        char what[320];
        snprintf(what, sizeof what, "initializer '%.256s'", name);
        int v;
        df_status st = load_tensor(L, t, what, name, 1, &v);
        if (st != DF_OK)
            return st;
        if (!map_add(&L->names, L->g, v))
            return out_of_memory(L);
    }
    return DF_OK;
}

/* Graph inputs with an initializer of the same name are constants (ONNX lets
 * a caller override them; deepfirst does not), the others become g->inputs. */
static df_status load_inputs(loader *L, const Onnx__GraphProto *gp)
{
    if (gp->n_input > MAX_VALUES)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %zu graph inputs; at most %d are supported",
                       L->src, gp->n_input, MAX_VALUES);
    L->g->inputs = malloc((gp->n_input ? gp->n_input : 1) * sizeof *L->g->inputs);
    if (!L->g->inputs)
        return out_of_memory(L);

    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = str_or_empty(vi->name);
        if (!name[0])
            return df_fail(DF_ERR_INVALID_MODEL, "%s: graph input %zu has no name", L->src, i);
        int existing = map_find(&L->names, L->g, name);
        if (existing >= 0) {
            if (L->g->values[existing].graph_input >= 0)
                return df_fail(DF_ERR_INVALID_MODEL, "%s: graph input '%s' is listed twice",
                               L->src, name);
            continue; /* an initializer */
        }

        const Onnx__TypeProto *type = vi->type;
        if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
            !type->tensor_type)
            return df_fail(DF_ERR_UNSUPPORTED, "%s: graph input '%s' is not a tensor", L->src,
                           name);
        const Onnx__TypeProto__Tensor *tt = type->tensor_type;
        int32_t onnx_dt = tt->has_elem_type ? tt->elem_type : 0;
        df_dtype dt = df_dtype_from_onnx(onnx_dt);
        if (dt == DF_DT_UNDEFINED)
            return df_fail(DF_ERR_UNSUPPORTED,
                           "%s: graph input '%s' has element type %s (%d); only FLOAT, INT64 and "
                           "BOOL inputs are supported",
                           L->src, name, onnx_dtype_name(onnx_dt), (int)onnx_dt);

        int rank = -1; /* no shape at all: unknown rank, for the shape pass to refuse */
        int64_t dims[DF_MAX_RANK] = {0};
        if (tt->shape) {
            char what[320];
            snprintf(what, sizeof what, "graph input '%.256s'", name);
            if (tt->shape->n_dim > DF_MAX_RANK)
                return df_fail(DF_ERR_UNSUPPORTED,
                               "%s: %s has rank %zu; at most %d is supported", L->src, what,
                               tt->shape->n_dim, DF_MAX_RANK);
            for (size_t d = 0; d < tt->shape->n_dim; d++) {
                const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
                /* dim_param or no value: symbolic; -1 stands for it */
                dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                              ? dim->dim_value
                              : -1;
                if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                    dim->dim_value < 0)
                    return df_fail(DF_ERR_INVALID_MODEL,
                                   "%s: %s has negative dimension %lld at axis %zu", L->src, what,
                                   (long long)dim->dim_value, d);
            }
            int64_t numel;
            df_status st = check_dims(L, what, tt->shape->n_dim, dims, 1, &numel);
            if (st != DF_OK)
                return st;
            rank = (int)tt->shape->n_dim;
        }

        int v = df_graph_add_value(L->g, name);
        if (v < 0 || !map_add(&L->names, L->g, v))
            return out_of_memory(L);
        df_value *value = &L->g->values[v];
        value->dtype = dt;
        if (rank >= 0)
            df_value_set_shape(value, dt, rank, dims);
        value->graph_input = L->g->n_inputs;
        L->g->inputs[L->g->n_inputs++] = v;
    }
    return DF_OK;
}

static int attr_type_of(const Onnx__AttributeProto *ap)
{
    if (ap->has_type)
        return ap->type;
    /* Files from before IR version 2 leave the type out: infer it. */
    if (ap->t)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (ap->n_floats)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (ap->n_ints)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (ap->has_s)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (ap->has_f)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (ap->has_i)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

/* Fills *a from ap. Sets *kept to 0 for attribute types the IR does not hold
 * (graphs, sparse tensors, lists of strings or tensors): the ops that need them
 * are unsupported and say so in the shape pass. */
static df_status load_attr(loader *L, int node, const Onnx__AttributeProto *ap, df_attr *a,
                           int *kept)
{
    const df_node *n = &L->g->nodes[node];
    const char *name = str_or_empty(ap->name);
    *kept = 1;
    if (!name[0])
        return df_node_fail(L->g, n, DF_ERR_INVALID_MODEL, "an attribute has no name");
    for (int k = 0; k < n->n_attrs; k++)
        if (strcmp(n->attrs[k].name, name) == 0)
            return df_node_fail(L->g, n, DF_ERR_INVALID_MODEL, "attribute '%s' is given twice",
                                name);

    switch (attr_type_of(ap)) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->type = DF_ATTR_FLOAT;
        a->f = ap->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->type = DF_ATTR_INT;
        a->i = ap->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = DF_ATTR_STRING;
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return out_of_memory(L);
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = '\0';
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        if (ap->n_floats > MAX_ATTR_ELEMS)
            return df_node_fail(L->g, n, DF_ERR_UNSUPPORTED, "attribute '%s' has %zu floats",
                                name, ap->n_floats);
        a->type = DF_ATTR_FLOATS;
        a->floats = malloc((ap->n_floats ? ap->n_floats : 1) * sizeof *a->floats);
        if (!a->floats)
            return out_of_memory(L);
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, ap->n_floats * sizeof *a->floats);
        a->n = (int)ap->n_floats;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        if (ap->n_ints > MAX_ATTR_ELEMS)
            return df_node_fail(L->g, n, DF_ERR_UNSUPPORTED, "attribute '%s' has %zu ints",
                                name, ap->n_ints);
        a->type = DF_ATTR_INTS;
        a->ints = malloc((ap->n_ints ? ap->n_ints : 1) * sizeof *a->ints);
        if (!a->ints)
            return out_of_memory(L);
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, ap->n_ints * sizeof *a->ints);
        a->n = (int)ap->n_ints;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        if (!ap->t)
            return df_node_fail(L->g, n, DF_ERR_INVALID_MODEL,
                                "attribute '%s' is a TENSOR without a tensor", name);
        /* The constant is not entered in the name table: nothing can refer to it
         * by name, only through attr.tensor. */
        char what[640], value_name[600];
        snprintf(what, sizeof what, "node '%.256s' (%.64s): attribute '%.256s'", n->name,
                 n->op_type, name);
        snprintf(value_name, sizeof value_name, "%.256s:%.256s", n->name, name);
        a->type = DF_ATTR_TENSOR;
        df_status st = load_tensor(L, ap->t, what, value_name, 0, &a->tensor);
        if (st != DF_OK)
            return st;
        break;
    }
    default:
        *kept = 0;
        return DF_OK;
    }
    a->name = malloc(strlen(name) + 1);
    if (!a->name)
        return out_of_memory(L);
    strcpy(a->name, name);
    return DF_OK;
}

static df_status load_attrs(loader *L, int node, const Onnx__NodeProto *np)
{
    if (np->n_attribute > MAX_ATTRS)
        return df_node_fail(L->g, &L->g->nodes[node], DF_ERR_UNSUPPORTED,
                            "%zu attributes; at most %d are supported", np->n_attribute,
                            MAX_ATTRS);
    if (np->n_attribute == 0)
        return DF_OK;
    df_attr *attrs = calloc(np->n_attribute, sizeof *attrs);
    if (!attrs)
        return out_of_memory(L);
    L->g->nodes[node].attrs = attrs; /* owned by the graph from here on */

    for (size_t k = 0; k < np->n_attribute; k++) {
        df_node *n = &L->g->nodes[node];
        df_attr *a = &n->attrs[n->n_attrs];
        int kept;
        df_status st = load_attr(L, node, np->attribute[k], a, &kept);
        if (st != DF_OK || !kept) {
            /* free what a partly loaded attribute holds; the slot is reused */
            free(a->name);
            free(a->s);
            free(a->floats);
            free(a->ints);
            memset(a, 0, sizeof *a);
            if (st != DF_OK)
                return st;
            continue;
        }
        n->n_attrs++;
    }
    return DF_OK;
}

/* Only reached on an error: says whether a later node produces the name, for
 * a message that tells a misordered graph from a dangling name. */
static int produced_later(const Onnx__GraphProto *gp, size_t after, const char *name)
{
    for (size_t i = after + 1; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_output; k++)
            if (strcmp(str_or_empty(gp->node[i]->output[k]), name) == 0)
                return 1;
    return 0;
}

static df_status load_node(loader *L, const Onnx__GraphProto *gp, size_t index)
{
    const Onnx__NodeProto *np = gp->node[index];
    const char *op_type = str_or_empty(np->op_type);
    char synthesized[32];
    const char *name = str_or_empty(np->name);
    if (!name[0]) {
        snprintf(synthesized, sizeof synthesized, "node%zu", index);
        name = synthesized;
    }
    if (np->n_input > MAX_NODE_IO || np->n_output > MAX_NODE_IO)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: node '%s' (%s): %zu inputs and %zu outputs; at "
                       "most %d of each are supported",
                       L->src, name, op_type, np->n_input, np->n_output, MAX_NODE_IO);

    int node = df_graph_add_node(L->g, df_op_from_name(op_type), op_type, name,
                                 (int)np->n_input, (int)np->n_output);
    if (node < 0)
        return out_of_memory(L);
    df_graph *g = L->g;

    const char *domain = str_or_empty(np->domain);
    if (domain[0] && strcmp(domain, "ai.onnx") != 0)
        return df_node_fail(g, &g->nodes[node], DF_ERR_UNSUPPORTED,
                            "operators from domain '%s' are not supported", domain);
    if (!op_type[0])
        return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL, "the node has no op_type");
    if (np->n_output == 0)
        return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL, "the node has no outputs");
    /* ONNX lets an op leave any optional output unnamed (RNN's first one, say),
     * but every op deepfirst knows has a required first output, which the
     * passes rely on. */
    size_t named = 0;
    for (size_t k = 0; k < np->n_output; k++)
        named += str_or_empty(np->output[k])[0] != '\0';
    if (named == 0)
        return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL,
                            "none of the node's outputs has a name");
    if (g->nodes[node].op != DF_OP_UNKNOWN && !str_or_empty(np->output[0])[0])
        return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL,
                            "the node's first output has no name");

    for (size_t k = 0; k < np->n_input; k++) {
        const char *in = str_or_empty(np->input[k]);
        if (!in[0])
            continue; /* an absent optional input stays -1 */
        int v = map_find(&L->names, g, in);
        if (v < 0)
            return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL,
                                produced_later(gp, index, in)
                                    ? "input '%s' is used before the node that produces it "
                                      "(nodes must be in topological order)"
                                    : "input '%s' is not produced by any node, input or "
                                      "initializer",
                                in);
        g->nodes[node].in[k] = v;
    }

    df_status st = load_attrs(L, node, np);
    if (st != DF_OK)
        return st;

    for (size_t k = 0; k < np->n_output; k++) {
        const char *out = str_or_empty(np->output[k]);
        if (!out[0])
            continue; /* an optional output nobody asked for */
        int v = map_find(&L->names, g, out);
        if (v >= 0) {
            const df_value *prev = &g->values[v];
            const char *by = prev->producer >= 0 ? "another node"
                             : prev->graph_input >= 0 ? "a graph input"
                                                      : "an initializer";
            return df_node_fail(g, &g->nodes[node], DF_ERR_INVALID_MODEL,
                                "output '%s' is already produced by %s", out, by);
        }
        if (g->n_values >= MAX_VALUES)
            return df_fail(DF_ERR_UNSUPPORTED, "%s: more than %d values", L->src, MAX_VALUES);
        v = df_graph_add_value(g, out);
        if (v < 0 || !map_add(&L->names, g, v))
            return out_of_memory(L);
        g->values[v].producer = node;
        g->nodes[node].out[k] = v;
    }
    return DF_OK;
}

static df_status load_outputs(loader *L, const Onnx__GraphProto *gp)
{
    if (gp->n_output == 0)
        return df_fail(DF_ERR_INVALID_MODEL, "%s: the graph has no outputs", L->src);
    if (gp->n_output > MAX_VALUES)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %zu graph outputs; at most %d are supported",
                       L->src, gp->n_output, MAX_VALUES);
    L->g->outputs = malloc(gp->n_output * sizeof *L->g->outputs);
    if (!L->g->outputs)
        return out_of_memory(L);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = str_or_empty(gp->output[i]->name);
        int v = map_find(&L->names, L->g, name);
        if (v < 0)
            return df_fail(DF_ERR_INVALID_MODEL,
                           "%s: graph output '%s' is not produced by any node, input or "
                           "initializer",
                           L->src, name);
        if (L->g->values[v].graph_output >= 0)
            return df_fail(DF_ERR_INVALID_MODEL, "%s: graph output '%s' is listed twice",
                           L->src, name);
        L->g->values[v].graph_output = L->g->n_outputs;
        L->g->outputs[L->g->n_outputs++] = v;
    }
    return DF_OK;
}

static df_status load_opset(loader *L, const Onnx__ModelProto *mp)
{
    int found = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = mp->opset_import[i];
        const char *domain = str_or_empty(op->domain);
        if (domain[0] && strcmp(domain, "ai.onnx") != 0)
            continue; /* other domains only matter if a node uses them */
        if (found)
            return df_fail(DF_ERR_INVALID_MODEL,
                           "%s: the default operator set is imported twice", L->src);
        found = 1;
        L->g->opset = op->has_version ? op->version : 0;
    }
    if (!found)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: the model imports no default (ai.onnx) opset",
                       L->src);
    if (L->g->opset < 11 || L->g->opset > 17)
        return df_fail(DF_ERR_UNSUPPORTED,
                       "%s: opset %lld is not supported; deepfirst supports opsets 11 to 17",
                       L->src, (long long)L->g->opset);
    return DF_OK;
}

static df_status load_model(loader *L, const Onnx__ModelProto *mp)
{
    df_status st = load_opset(L, mp);
    if (st != DF_OK)
        return st;
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp)
        return df_fail(DF_ERR_INVALID_MODEL, "%s: the model has no graph", L->src);
    if (gp->n_node > MAX_NODES)
        return df_fail(DF_ERR_UNSUPPORTED, "%s: %zu nodes; at most %d are supported", L->src,
                       gp->n_node, MAX_NODES);
    if ((st = load_initializers(L, gp)) != DF_OK || (st = load_inputs(L, gp)) != DF_OK)
        return st;
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = load_node(L, gp, i)) != DF_OK)
            return st;
    return load_outputs(L, gp);
}

df_status df_load_onnx(const void *data, size_t size, const char *source, df_graph **out)
{
    if (!out)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_load_onnx: out is NULL");
    *out = NULL;
    const char *src = source ? source : "<memory>";
    if (!data && size > 0)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "%s: data is NULL", src);

    switch (scan_nesting(data, size)) {
    case SCAN_OK:
        break;
    case SCAN_TOO_DEEP:
        return df_fail(DF_ERR_PARSE, "%s: protobuf messages nest more than %d deep", src,
                       MAX_NESTING);
    case SCAN_MALFORMED:
        return df_fail(DF_ERR_PARSE, "%s: not a valid ONNX protobuf file", src);
    }

    unpack_budget budget = {0, UNPACK_SLACK, 0};
    budget.limit = size > (SIZE_MAX - UNPACK_SLACK) / UNPACK_FACTOR
                       ? SIZE_MAX
                       : UNPACK_SLACK + UNPACK_FACTOR * size;
    ProtobufCAllocator allocator = {budget_alloc, budget_free, &budget};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&allocator, size, data);
    if (!mp) {
        if (budget.exceeded)
            return df_fail(DF_ERR_PARSE,
                           "%s: unpacking needs more than %zu bytes of memory for a %zu-byte "
                           "file; the file is not a plausible model",
                           src, budget.limit, size);
        return df_fail(DF_ERR_PARSE, "%s: not a valid ONNX protobuf file", src);
    }

    loader L = {0};
    L.g = df_graph_new(src);
    df_status st;
    if (!L.g) {
        st = df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory while loading", src);
    } else {
        L.src = L.g->source;
        st = load_model(&L, mp);
    }
    free(L.names.slots);
    onnx__model_proto__free_unpacked(mp, &allocator);
    if (st != DF_OK) {
        df_graph_free(L.g);
        return st;
    }
    *out = L.g;
    return DF_OK;
}
