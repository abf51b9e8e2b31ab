/* synth: random synthetic CNN models; see synth.h.
 *
 * The model is built as protobuf-c structs (onnx.pb-c.h) and packed. Every
 * allocation goes through the builder's list, so one pass frees the tree
 * however far it got, and an allocation failure jumps straight back to
 * synth_random_model (longjmp), which keeps the block code free of checks.
 *
 * Blocks are drawn, then kept only if the whole model still fits the limits
 * (FLOPs, activation and weight bytes); a rejected block is rolled back. Ops
 * check the limits before they make their weights, and once a block has gone
 * over, its remaining ops only compute shapes, so a rejected draw is cheap. */
#include "synth.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define MIN_FLOPS 1e6
#define MAX_FLOPS 600e6
#define MAX_MODEL_BYTES ((size_t)64 << 20)  /* input plus the largest activation */
#define MAX_INPUT_BYTES ((size_t)24 << 20)
#define MAX_WEIGHT_FLOATS ((size_t)6 << 20)  /* 24 MiB, ResNet-50's size */
#define MAX_CHANNELS 2048                    /* of any tensor (ResNet's last stage) */
enum {
    MAX_BLOCKS = 6,       /* drawn: 1..MAX_BLOCKS */
    MAX_EXTRA_BLOCKS = 4, /* added while the model is under MIN_FLOPS */
    BLOCK_TRIES = 12,     /* draws per block before giving up on it */
    MAX_ATTRS = 6         /* per node: Conv has 5 */
};

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* ---- random numbers: splitmix64, small and good enough ------------------ */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; } /* [0, 1) */
static int rng_int(rng *r, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}
static int rng_chance(rng *r, double p) { return rng_unit(r) < p; }
static float rng_uniform(rng *r, float lo, float hi) { return lo + (hi - lo) * (float)rng_unit(r); }
#define RNG_PICK(r, array) (array)[rng_int((r), 0, (int)(sizeof(array) / sizeof((array)[0])) - 1)]

/* ---- the builder ---------------------------------------------------------- */

/* A value of the chain: name (NULL in a block being rejected) and NCHW dims
 * less the batch, which is the model's. */
typedef struct tensor {
    const char *name;
    int c, h, w;
} tensor;

typedef struct builder {
    rng rng;
    jmp_buf out_of_memory;
    void **allocs;
    size_t n_allocs, cap_allocs;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    int next_id;       /* for unique names */
    int batch;
    /* limits and totals */
    size_t act_limit;  /* bytes one activation may take */
    double flops;
    size_t weight_floats;
    int rejected;      /* the block being drawn broke a limit or made an empty shape */
    char desc[256];
    size_t desc_len;
} builder;

/* What a rejected block rolls back. */
typedef struct checkpoint {
    size_t n_nodes, n_inits, weight_floats, desc_len;
    double flops;
} checkpoint;

static checkpoint save(const builder *b)
{
    return (checkpoint){b->n_nodes, b->n_inits, b->weight_floats, b->desc_len, b->flops};
}

static void restore(builder *b, const checkpoint *cp)
{
    b->n_nodes = cp->n_nodes;
    b->n_inits = cp->n_inits;
    b->weight_floats = cp->weight_floats;
    b->desc_len = cp->desc_len;
    b->desc[b->desc_len] = '\0';
    b->flops = cp->flops;
    b->rejected = 0;
}

static void out_of_memory(builder *b) { longjmp(b->out_of_memory, 1); }

/* Zeroed memory that lives until builder_free. */
static void *b_alloc(builder *b, size_t size)
{
    if (b->n_allocs == b->cap_allocs) {
        size_t cap = b->cap_allocs ? 2 * b->cap_allocs : 256;
        void **a = realloc(b->allocs, cap * sizeof *a);
        if (!a)
            out_of_memory(b);
        b->allocs = a;
        b->cap_allocs = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p)
        out_of_memory(b);
    b->allocs[b->n_allocs++] = p;
    return p;
}

/* Doubles a growable array of pointers (nodes, initializers). */
static void *grow(builder *b, void *array, size_t *cap, size_t elem)
{
    size_t n = *cap ? 2 * *cap : 64;
    void *a = realloc(array, n * elem);
    if (!a)
        out_of_memory(b);
    *cap = n;
    return a;
}

static void builder_free(builder *b)
{
    for (size_t i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    free(b->allocs);
    free(b->nodes);
    free(b->inits);
    free(b);
}

static char *b_strdup(builder *b, const char *s)
{
    char *p = b_alloc(b, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

/* prefix followed by a number used once per model. */
static char *b_name(builder *b, const char *prefix)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s%d", prefix, ++b->next_id);
    return b_strdup(b, buf);
}

static void describe(builder *b, const char *fmt, ...)
{
    if (b->desc_len + 1 >= sizeof b->desc)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->desc + b->desc_len, sizeof b->desc - b->desc_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->desc_len = imin((int)(b->desc_len + (size_t)n), (int)sizeof b->desc - 1);
}

/* ---- protobuf pieces ------------------------------------------------------ */

static Onnx__AttributeProto *new_attr(builder *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = b_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = b_strdup(b, name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void attr_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void attr_float(builder *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

/* An ints attribute of `count` copies of v: every one this module writes
 * (kernel_shape, strides, pads, dilations) is the same along H and W. */
static void attr_ints(builder *b, Onnx__NodeProto *n, const char *name, int64_t v, int count)
{
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = b_alloc(b, (size_t)count * sizeof *a->ints);
    for (int i = 0; i < count; i++)
        a->ints[i] = v;
}

/* Appends a node of op reading inputs; its one output is a new value. */
static Onnx__NodeProto *add_node(builder *b, const char *op, int n_in, const char *const *inputs)
{
    Onnx__NodeProto *n = b_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    char prefix[40];
    snprintf(prefix, sizeof prefix, "%s_", op);
    n->name = b_name(b, prefix);
    n->op_type = b_strdup(b, op);
    n->n_input = (size_t)n_in;
    n->input = b_alloc(b, (size_t)n_in * sizeof *n->input);
    for (int i = 0; i < n_in; i++)
        n->input[i] = (char *)inputs[i]; /* names are the builder's: shared, freed once */
    n->n_output = 1;
    n->output = b_alloc(b, sizeof *n->output);
    n->output[0] = b_name(b, "t");
    n->attribute = b_alloc(b, MAX_ATTRS * sizeof *n->attribute);
    if (b->n_nodes == b->cap_nodes)
        b->nodes = grow(b, b->nodes, &b->cap_nodes, sizeof *b->nodes);
    b->nodes[b->n_nodes++] = n;
    return n;
}

/* A float initializer of the given dims, uniform in [lo, hi]; returns its name. */
static const char *add_init(builder *b, int rank, const int64_t *dims, float lo, float hi)
{
    Onnx__TensorProto *t = b_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = b_name(b, "w");
    t->n_dims = (size_t)rank;
    t->dims = b_alloc(b, (size_t)rank * sizeof *t->dims);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        numel *= (size_t)dims[i];
    }
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_float_data = numel;
    t->float_data = b_alloc(b, numel * sizeof *t->float_data);
    for (size_t i = 0; i < numel; i++)
        t->float_data[i] = rng_uniform(&b->rng, lo, hi);
    if (b->n_inits == b->cap_inits)
        b->inits = grow(b, b->inits, &b->cap_inits, sizeof *b->inits);
    b->inits[b->n_inits++] = t;
    return t->name;
}

/* A [1, C, 1, 1] constant: per-channel parameters that broadcast over NCHW. */
static const char *add_channel_const(builder *b, int c, float lo, float hi)
{
    const int64_t dims[4] = {1, c, 1, 1};
    return add_init(b, 4, dims, lo, hi);
}

static Onnx__ValueInfoProto *value_info(builder *b, const char *name, int batch, tensor x)
{
    Onnx__TensorShapeProto *shape = b_alloc(b, sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    const int64_t dims[4] = {batch, x.c, x.h, x.w};
    shape->n_dim = 4;
    shape->dim = b_alloc(b, 4 * sizeof *shape->dim);
    for (int i = 0; i < 4; i++) {
        Onnx__TensorShapeProto__Dimension *d = b_alloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
        shape->dim[i] = d;
    }
    Onnx__TypeProto__Tensor *tt = b_alloc(b, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = shape;
    Onnx__TypeProto *type = b_alloc(b, sizeof *type);
    onnx__type_proto__init(type);
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    Onnx__ValueInfoProto *vi = b_alloc(b, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = b_strdup(b, name);
    vi->type = type;
    return vi;
}

/* ---- ops: each checks the limits, then emits its node ------------------- */

/* Whether an op making y (with this many FLOPs and weights) fits the model;
 * if not, the block is rejected and its later ops only compute shapes. */
static int admit(builder *b, tensor y, double flops, size_t weight_floats)
{
    if (b->rejected)
        return 0;
    if (y.c < 1 || y.h < 1 || y.w < 1 || y.c > MAX_CHANNELS ||
        (double)b->batch * y.c * y.h * y.w * sizeof(float) > (double)b->act_limit ||
        b->flops + flops > MAX_FLOPS || b->weight_floats + weight_floats > MAX_WEIGHT_FLOATS) {
        b->rejected = 1;
        return 0;
    }
    b->flops += flops;
    b->weight_floats += weight_floats;
    return 1;
}

static double numel(const builder *b, tensor x) { return (double)b->batch * x.c * x.h * x.w; }

/* Output size of a window op; 0 when the window does not fit. */
static int out_size(int in, int k, int stride, int dil, int pad)
{
    int span = dil * (k - 1) + 1;
    return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

/* Conv with "same" padding for odd k (dil * (k - 1) / 2 on every side);
 * groups must divide x.c and out_c. */
static tensor conv(builder *b, tensor x, int out_c, int k, int stride, int dil, int groups,
                   int bias)
{
    const int pad = dil * (k - 1) / 2, cin_g = x.c / groups;
    tensor y = {NULL, out_c, out_size(x.h, k, stride, dil, pad), out_size(x.w, k, stride, dil, pad)};
    const size_t weights = (size_t)out_c * cin_g * k * k + (bias ? (size_t)out_c : 0);
    if (!admit(b, y, 2.0 * numel(b, y) * cin_g * k * k, weights))
        return y;
    /* uniform(-a, a) has variance a^2 / 3, so a = sqrt(3 / fan_in) keeps the
     * variance of a sum over fan_in inputs: activations neither vanish into
     * (slow) denormals nor blow up along the chain. */
    const float a = sqrtf(3.0f / (float)(cin_g * k * k));
    const int64_t wdims[4] = {out_c, cin_g, k, k}, bdims[1] = {out_c};
    const char *in[3] = {x.name, add_init(b, 4, wdims, -a, a), NULL};
    if (bias)
        in[2] = add_init(b, 1, bdims, -0.1f, 0.1f);
    Onnx__NodeProto *n = add_node(b, "Conv", bias ? 3 : 2, in);
    attr_ints(b, n, "kernel_shape", k, 2);
    attr_ints(b, n, "strides", stride, 2);
    attr_ints(b, n, "pads", pad, 4);
    attr_ints(b, n, "dilations", dil, 2);
    attr_int(b, n, "group", groups);
    y.name = n->output[0];
    return y;
}

/* BatchNormalization with statistics near the identity. */
static tensor batchnorm(builder *b, tensor x)
{
    tensor y = x;
    if (!admit(b, y, 2.0 * numel(b, y), 4 * (size_t)x.c))
        return y;
    /* One statement each: the order of the random draws must not be left to
     * the compiler (initializer lists are unsequenced), or a seed would give
     * different models from different builds. */
    const int64_t dims[1] = {x.c};
    const char *in[5] = {x.name};
    in[1] = add_init(b, 1, dims, 0.5f, 1.5f);   /* scale */
    in[2] = add_init(b, 1, dims, -0.1f, 0.1f);  /* bias */
    in[3] = add_init(b, 1, dims, -0.1f, 0.1f);  /* mean */
    in[4] = add_init(b, 1, dims, 0.5f, 1.5f);   /* variance */
    Onnx__NodeProto *n = add_node(b, "BatchNormalization", 5, in);
    attr_float(b, n, "epsilon", 1e-5f);
    y.name = n->output[0];
    return y;
}

/* Conv, then BatchNormalization (no conv bias) or a conv bias instead. */
static tensor conv_norm(builder *b, tensor x, int out_c, int k, int stride, int dil, int groups,
                        int use_bn)
{
    tensor y = conv(b, x, out_c, k, stride, dil, groups, !use_bn);
    return use_bn ? batchnorm(b, y) : y;
}

/* An op of x alone, or of x and one more input, with x's shape. */
static tensor elementwise(builder *b, const char *op, tensor x, const char *other)
{
    tensor y = x;
    if (!admit(b, y, numel(b, y), 0))
        return y;
    const char *in[2] = {x.name, other};
    y.name = add_node(b, op, other ? 2 : 1, in)->output[0];
    return y;
}

static tensor add(builder *b, tensor x, tensor y)
{
    if (x.c != y.c || x.h != y.h || x.w != y.w)
        b->rejected = 1;
    return elementwise(b, "Add", x, y.name);
}

typedef enum act_kind { ACT_RELU, ACT_RELU6, ACT_HARDSWISH, ACT_SILU, ACT_KINDS } act_kind;
static const char *const ACT_NAMES[ACT_KINDS] = {"relu", "relu6", "hswish", "silu"};

/* As exporters write them at opset 13: ReLU6 is Clip(0, 6) with its bounds
 * as inputs, HardSwish (an op only from opset 14) is x * HardSigmoid(x) and
 * SiLU x * Sigmoid(x); deepfirst fuses both products back. */
static tensor activation(builder *b, tensor x, act_kind act)
{
    switch (act) {
    case ACT_RELU: return elementwise(b, "Relu", x, NULL);
    case ACT_RELU6: {
        tensor y = x;
        if (!admit(b, y, numel(b, y), 2))
            return y;
        const char *in[3] = {x.name};
        in[1] = add_init(b, 0, NULL, 0.0f, 0.0f);
        in[2] = add_init(b, 0, NULL, 6.0f, 6.0f);
        y.name = add_node(b, "Clip", 3, in)->output[0];
        return y;
    }
    case ACT_HARDSWISH: {
        tensor gate = x;
        if (!admit(b, gate, numel(b, gate), 0))
            return gate;
        Onnx__NodeProto *n = add_node(b, "HardSigmoid", 1, &x.name);
        attr_float(b, n, "alpha", 1.0f / 6.0f);
        attr_float(b, n, "beta", 0.5f);
        return elementwise(b, "Mul", x, n->output[0]);
    }
    case ACT_SILU: return elementwise(b, "Mul", x, elementwise(b, "Sigmoid", x, NULL).name);
    case ACT_KINDS: break;
    }
    return x;
}

static tensor relu(builder *b, tensor x) { return activation(b, x, ACT_RELU); }

static tensor pool(builder *b, tensor x, int is_max, int k, int stride, int pad, int count_pad)
{
    tensor y = {NULL, x.c, out_size(x.h, k, stride, 1, pad), out_size(x.w, k, stride, 1, pad)};
    if (!admit(b, y, numel(b, y) * k * k, 0))
        return y;
    Onnx__NodeProto *n = add_node(b, is_max ? "MaxPool" : "AveragePool", 1, &x.name);
    attr_ints(b, n, "kernel_shape", k, 2);
    attr_ints(b, n, "strides", stride, 2);
    attr_ints(b, n, "pads", pad, 4);
    if (!is_max)
        attr_int(b, n, "count_include_pad", count_pad);
    y.name = n->output[0];
    return y;
}

static tensor concat(builder *b, int n_parts, const tensor *parts)
{
    tensor y = parts[0];
    y.c = 0;
    const char *in[4];
    for (int i = 0; i < n_parts; i++) {
        if (parts[i].h != y.h || parts[i].w != y.w)
            b->rejected = 1;
        y.c += parts[i].c;
        in[i] = parts[i].name;
    }
    if (!admit(b, y, numel(b, y), 0))
        return y;
    Onnx__NodeProto *n = add_node(b, "Concat", n_parts, in);
    attr_int(b, n, "axis", 1);
    y.name = n->output[0];
    return y;
}

/* ---- blocks ----------------------------------------------------------------- */

/* Channel counts real nets use, non-multiples of 8 among them. */
static const int COMMON_CHANNELS[] = {3,   8,   13,  16,  24,  32,  37,  40,  48,  64,
                                      72,  80,  96,  112, 120, 144, 160, 192, 240, 256,
                                      320, 384, 480, 512, 576, 768, 960, 1024};

/* Half the time a common count in [lo, hi], else log-uniform in it. */
static int draw_channels(builder *b, int lo, int hi)
{
    hi = imax(lo, imin(hi, MAX_CHANNELS));
    if (rng_chance(&b->rng, 0.5)) {
        int in_range[sizeof COMMON_CHANNELS / sizeof *COMMON_CHANNELS], n = 0;
        for (size_t i = 0; i < sizeof COMMON_CHANNELS / sizeof *COMMON_CHANNELS; i++)
            if (COMMON_CHANNELS[i] >= lo && COMMON_CHANNELS[i] <= hi)
                in_range[n++] = COMMON_CHANNELS[i];
        if (n > 0)
            return in_range[rng_int(&b->rng, 0, n - 1)];
    }
    double c = exp(log(lo) + rng_unit(&b->rng) * (log(hi + 1.0) - log(lo)));
    return imin(hi, (int)c);
}

/* Output channels of a block: sometimes the input's (so a residual applies
 * when the stride is 1), else a new count from half to `grow` times it. */
static int block_channels(builder *b, tensor x, int stride, int grow)
{
    if (stride == 1 && rng_chance(&b->rng, 0.5))
        return x.c;
    return draw_channels(b, imax(8, x.c / 2), imax(16, grow * x.c));
}

/* Identity when the shapes agree, else a strided 1x1 projection. */
static tensor shortcut(builder *b, tensor x, int out_c, int stride, int use_bn)
{
    if (stride == 1 && out_c == x.c)
        return x;
    return conv_norm(b, x, out_c, 1, stride, 1, 1, use_bn);
}

/* MobileNetV3/EfficientNet squeeze-excitation: global average pool, 1x1
 * reduce, ReLU, 1x1 expand, a (hard) sigmoid gate, and the input scaled by
 * the gate per channel: a pool in the middle of a block, which ends
 * depth-first segments, and a broadcast Mul after it. */
static tensor squeeze_excite(builder *b, tensor x, int hard)
{
    tensor s = {NULL, x.c, 1, 1};
    if (!admit(b, s, numel(b, x), 0))
        return x;
    s.name = add_node(b, "GlobalAveragePool", 1, &x.name)->output[0];
    s = relu(b, conv(b, s, imax(8, x.c / 4), 1, 1, 1, 1, 1));
    s = conv(b, s, x.c, 1, 1, 1, 1, 1);
    if (!admit(b, s, numel(b, s), 0))
        return x;
    Onnx__NodeProto *gate = add_node(b, hard ? "HardSigmoid" : "Sigmoid", 1, &s.name);
    if (hard) {
        attr_float(b, gate, "alpha", 1.0f / 6.0f);
        attr_float(b, gate, "beta", 0.5f);
    }
    return elementwise(b, "Mul", x, gate->output[0]);
}

/* MobileNetV2/EfficientNet: 1x1 expand, depthwise kxk, (squeeze-excitation),
 * 1x1 project, residual. */
static tensor block_inverted_residual(builder *b, tensor x)
{
    rng *r = &b->rng;
    const int expand = rng_int(r, 1, 6), k = rng_chance(r, 0.7) ? 3 : 5, stride = rng_int(r, 1, 2);
    const act_kind act = (act_kind)rng_int(r, 0, ACT_KINDS - 1);
    const int bn = rng_chance(r, 0.7), out_c = block_channels(b, x, stride, 2);
    const int se = rng_chance(r, 0.4);
    tensor y = x;
    if (expand > 1)
        y = activation(b, conv_norm(b, y, x.c * expand, 1, 1, 1, 1, bn), act);
    y = activation(b, conv_norm(b, y, y.c, k, stride, 1, y.c, bn), act);
    if (se)
        y = squeeze_excite(b, y, act == ACT_HARDSWISH);
    y = conv_norm(b, y, out_c, 1, 1, 1, 1, bn);
    const int residual = stride == 1 && out_c == x.c;
    if (residual)
        y = add(b, y, x);
    describe(b, "ir e%d dw%d s%d %s%s%s%s", expand, k, stride, ACT_NAMES[act], bn ? " bn" : "",
             se ? " se" : "", residual ? " res" : "");
    return y;
}

/* ResNet-50: 1x1 reduce, 3x3 (strided), 1x1 expand, Add, Relu. */
static tensor block_bottleneck(builder *b, tensor x)
{
    const int stride = rng_chance(&b->rng, 0.3) ? 2 : 1, bn = rng_chance(&b->rng, 0.8);
    const int out_c = block_channels(b, x, stride, 4), mid = imax(4, out_c / 4);
    tensor y = relu(b, conv_norm(b, x, mid, 1, 1, 1, 1, bn));
    y = relu(b, conv_norm(b, y, mid, 3, stride, 1, 1, bn));
    y = conv_norm(b, y, out_c, 1, 1, 1, 1, bn);
    y = relu(b, add(b, y, shortcut(b, x, out_c, stride, bn)));
    describe(b, "bottleneck %d s%d%s", mid, stride, bn ? " bn" : "");
    return y;
}

/* ResNet-18: 3x3 (strided), 3x3, Add, Relu. */
static tensor block_basic(builder *b, tensor x)
{
    const int stride = rng_chance(&b->rng, 0.3) ? 2 : 1, bn = rng_chance(&b->rng, 0.8);
    const int out_c = block_channels(b, x, stride, 2);
    tensor y = relu(b, conv_norm(b, x, out_c, 3, stride, 1, 1, bn));
    y = conv_norm(b, y, out_c, 3, 1, 1, 1, bn);
    y = relu(b, add(b, y, shortcut(b, x, out_c, stride, bn)));
    describe(b, "basic s%d%s", stride, bn ? " bn" : "");
    return y;
}

/* One kxk conv and Relu: sometimes dilated, sometimes grouped. */
static tensor block_conv(builder *b, tensor x)
{
    rng *r = &b->rng;
    static const int KERNELS[] = {1, 3, 3, 5, 7};
    const int k = RNG_PICK(r, KERNELS), stride = rng_chance(r, 0.35) ? 2 : 1;
    const int dil = (k == 3 || k == 5) && rng_chance(r, 0.2) ? 2 : 1;
    int groups = 1;
    if (k > 1 && rng_chance(r, 0.2)) {
        int divisors[7], n = 0;
        for (int g = 2; g <= 8; g++)
            if (x.c % g == 0)
                divisors[n++] = g;
        if (n > 0)
            groups = divisors[rng_int(r, 0, n - 1)];
    }
    int out_c = draw_channels(b, imax(8, x.c / 2), imax(16, 4 * x.c));
    out_c = (out_c + groups - 1) / groups * groups;
    const int bn = rng_chance(r, 0.5);
    tensor y = relu(b, conv_norm(b, x, out_c, k, stride, dil, groups, bn));
    describe(b, "conv k%d s%d d%d g%d%s", k, stride, dil, groups, bn ? " bn" : "");
    return y;
}

static tensor block_pool(builder *b, tensor x)
{
    rng *r = &b->rng;
    const int is_max = rng_chance(r, 0.6), count_pad = !is_max && rng_chance(r, 0.3);
    int k = 3, stride = rng_int(r, 1, 2), pad = 1;
    if (rng_chance(r, 0.3))
        k = 2, stride = 2, pad = 0;
    describe(b, "%s %d s%d p%d%s", is_max ? "maxpool" : "avgpool", k, stride, pad,
             count_pad ? " incl" : "");
    return pool(b, x, is_max, k, stride, pad, count_pad);
}

/* GoogLeNet: a 1x1 branch, a (1x1 reduce and) 3x3 or 5x5 branch, sometimes a
 * 3x3 max pool and 1x1 branch, concatenated. */
static tensor block_inception(builder *b, tensor x)
{
    rng *r = &b->rng;
    const int hi = imax(16, imin(x.c, 256)), bn = rng_chance(r, 0.5);
    const int k = rng_chance(r, 0.7) ? 3 : 5, reduce = rng_chance(r, 0.7);
    const int n_branches = rng_int(r, 2, 3);
    tensor parts[3];
    parts[0] = relu(b, conv_norm(b, x, draw_channels(b, 8, hi), 1, 1, 1, 1, bn));
    tensor t = reduce ? relu(b, conv_norm(b, x, draw_channels(b, 8, hi), 1, 1, 1, 1, bn)) : x;
    parts[1] = relu(b, conv_norm(b, t, draw_channels(b, 8, hi), k, 1, 1, 1, bn));
    if (n_branches == 3) {
        const tensor pooled = pool(b, x, 1, 3, 1, 1, 0);
        parts[2] = relu(b, conv_norm(b, pooled, draw_channels(b, 8, hi), 1, 1, 1, 1, bn));
    }
    describe(b, "inception %d %s%d%s", n_branches, reduce ? "r" : "", k, bn ? " bn" : "");
    return concat(b, n_branches, parts);
}

/* DenseNet: layers of BN, Relu, 1x1 conv (4 x growth), BN, Relu, 3x3 conv
 * (growth), each concatenated to its input. The first BN has no conv before
 * it, so it stays a standalone op. */
static tensor block_dense(builder *b, tensor x)
{
    static const int GROWTH[] = {12, 16, 24, 32};
    const int growth = RNG_PICK(&b->rng, GROWTH), layers = rng_int(&b->rng, 1, 3);
    for (int i = 0; i < layers; i++) {
        tensor y = relu(b, batchnorm(b, x));
        y = relu(b, conv_norm(b, y, 4 * growth, 1, 1, 1, 1, 1));
        y = conv(b, y, growth, 3, 1, 1, 1, 0);
        const tensor parts[2] = {x, y};
        x = concat(b, 2, parts);
    }
    describe(b, "dense %dx%d", layers, growth);
    return x;
}

/* x * scale[c] + shift[c], sometimes then Relu. */
static tensor block_affine(builder *b, tensor x)
{
    const int then_relu = rng_chance(&b->rng, 0.5);
    tensor y = x;
    if (admit(b, x, 0, 2 * (size_t)x.c)) {
        y = elementwise(b, "Mul", x, add_channel_const(b, x.c, 0.5f, 1.5f));
        y = elementwise(b, "Add", y, add_channel_const(b, x.c, -0.5f, 0.5f));
    }
    if (then_relu)
        y = relu(b, y);
    describe(b, "affine%s", then_relu ? " relu" : "");
    return y;
}

static tensor random_block(builder *b, tensor x)
{
    const double u = rng_unit(&b->rng);
    if (u < 0.27)
        return block_inverted_residual(b, x);
    if (u < 0.39)
        return block_bottleneck(b, x);
    if (u < 0.51)
        return block_basic(b, x);
    if (u < 0.71)
        return block_conv(b, x);
    if (u < 0.78)
        return block_pool(b, x);
    if (u < 0.87)
        return block_inception(b, x);
    if (u < 0.95)
        return block_dense(b, x);
    return block_affine(b, x);
}

/* ---- the model -------------------------------------------------------------- */

/* The input: spatial size first, then channels in the range real nets have
 * at that size (few at full resolution, many at 7x7). */
static tensor random_input(builder *b)
{
    rng *r = &b->rng;
    static const int SIZES[] = {7, 14, 28, 56, 112, 224}, LARGE[] = {320, 512};
    const int hw = rng_chance(r, 0.1) ? RNG_PICK(r, LARGE) : RNG_PICK(r, SIZES);
    b->batch = rng_chance(r, 0.85) ? 1 : (rng_chance(r, 0.5) ? 2 : 8);
    int lo = 64, hi = 512;
    if (hw >= 224)
        lo = 3, hi = 48;
    else if (hw == 112)
        lo = 8, hi = 96;
    else if (hw == 56)
        lo = 16, hi = 192;
    else if (hw == 28)
        lo = 24, hi = 320;
    else if (hw == 14)
        lo = 48;
    tensor x = {"input", draw_channels(b, lo, hi), hw, hw};
    while ((size_t)b->batch * x.c * hw * hw * sizeof(float) > MAX_INPUT_BYTES) {
        if (x.c > 3)
            x.c = imax(3, x.c / 2);
        else
            b->batch /= 2;
    }
    return x;
}

/* Builds the graph into b; returns the output tensor. */
static tensor build_chain(builder *b, tensor x)
{
    const size_t in_bytes = (size_t)b->batch * x.c * x.h * x.w * sizeof(float);
    b->act_limit = MAX_MODEL_BYTES - in_bytes;
    const int n_blocks = rng_int(&b->rng, 1, MAX_BLOCKS);
    for (int i = 0; i < n_blocks + MAX_EXTRA_BLOCKS; i++) {
        if (i >= n_blocks && b->flops >= MIN_FLOPS)
            break;
        int placed = 0;
        for (int t = 0; t < BLOCK_TRIES && !placed; t++) {
            const checkpoint cp = save(b);
            const tensor y = random_block(b, x);
            if (b->rejected) {
                restore(b, &cp);
            } else {
                describe(b, ">%dx%dx%d; ", y.c, y.h, y.w);
                x = y;
                placed = 1;
            }
        }
        if (!placed && i == 0) {
            /* Nothing fits: a 2x2 max pool always does. */
            x = pool(b, x, 1, 2, 2, 0, 0);
            describe(b, "maxpool 2 s2 p0>%dx%dx%d; ", x.c, x.h, x.w);
        } else if (!placed) {
            break;
        }
    }
    return x;
}

int synth_random_model(unsigned seed, synth_model *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    builder *b = calloc(1, sizeof *b);
    if (!b)
        return fail(err, errsz, "synthetic model %u: out of memory", seed);
    if (setjmp(b->out_of_memory)) {
        builder_free(b);
        return fail(err, errsz, "synthetic model %u: out of memory", seed);
    }
    b->rng.state = seed;
    const tensor in = random_input(b);
    const tensor y = build_chain(b, in);
    if (b->rejected || b->n_nodes == 0 || b->nodes[b->n_nodes - 1]->output[0] != y.name) {
        builder_free(b);
        return fail(err, errsz, "synthetic model %u: internal error, no chain was built", seed);
    }
    b->nodes[b->n_nodes - 1]->output[0] = b_strdup(b, "output");

    Onnx__GraphProto *g = b_alloc(b, sizeof *g);
    onnx__graph_proto__init(g);
    char name[32];
    snprintf(name, sizeof name, "synth_%u", seed);
    g->name = b_strdup(b, name);
    g->n_node = b->n_nodes;
    g->node = b->nodes;
    g->n_initializer = b->n_inits;
    g->initializer = b->inits;
    g->n_input = g->n_output = 1;
    g->input = b_alloc(b, sizeof *g->input);
    g->output = b_alloc(b, sizeof *g->output);
    g->input[0] = value_info(b, "input", b->batch, in);
    g->output[0] = value_info(b, "output", b->batch, y);

    Onnx__OperatorSetIdProto *opset = b_alloc(b, sizeof *opset);
    onnx__operator_set_id_proto__init(opset);
    opset->domain = b_strdup(b, "");
    opset->has_version = 1;
    opset->version = 13;
    Onnx__ModelProto *m = b_alloc(b, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->n_opset_import = 1;
    m->opset_import = b_alloc(b, sizeof *m->opset_import);
    m->opset_import[0] = opset;
    m->producer_name = b_strdup(b, "deepfirst synth");
    m->graph = g;

    const size_t size = onnx__model_proto__get_packed_size(m);
    void *bytes = malloc(size);
    if (!bytes)
        out_of_memory(b);
    onnx__model_proto__pack(m, bytes);
    out->onnx = bytes;
    out->size = size;
    if (b->desc_len >= 2 && b->desc[b->desc_len - 2] == ';')
        b->desc[b->desc_len - 2] = '\0';
    /* The block list is cut where it does not fit. */
    int n = snprintf(out->desc, sizeof out->desc, "%dx%dx%dx%d %.1fMF: ", b->batch, in.c, in.h,
                     in.w, b->flops / 1e6);
    if (n > 0 && (size_t)n < sizeof out->desc) {
        size_t len = strlen(b->desc), room = sizeof out->desc - (size_t)n - 1;
        memcpy(out->desc + n, b->desc, len < room ? len : room);
        out->desc[n + (len < room ? len : room)] = '\0';
    }
    builder_free(b);
    return 0;
}

void synth_free(synth_model *m)
{
    if (!m)
        return;
    free(m->onnx);
    m->onnx = NULL;
    m->size = 0;
}
