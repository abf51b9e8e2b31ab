/* Shape inference and constant folding (src/passes/shape.c and friends) on
 * small graphs built directly with the graph.h API. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "passes/passes.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

/* ---- graph building ------------------------------------------------------- */

static df_graph *G;

static void fresh(int64_t opset)
{
    df_graph_free(G);
    G = df_graph_new("test.onnx");
    G->opset = opset;
}

static int value(const char *name) { return df_graph_add_value(G, name); }

static int shaped(const char *name, df_dtype dt, int rank, const int64_t *dims)
{
    int v = value(name);
    df_value_set_shape(&G->values[v], dt, rank, dims);
    return v;
}

/* A float graph input of the given dims (-1 is symbolic). */
static int input(const char *name, int rank, const int64_t *dims)
{
    int v = shaped(name, DF_DT_F32, rank, dims);
    G->inputs = realloc(G->inputs, sizeof(int) * (size_t)(G->n_inputs + 1));
    G->values[v].graph_input = G->n_inputs;
    G->inputs[G->n_inputs++] = v;
    return v;
}
#define IN(name, ...)                                                                      \
    input(name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                 \
          (int64_t[]){__VA_ARGS__})

/* A constant float tensor (filled with 0, 1, 2...) of the given dims. */
static int const_f32(const char *name, int rank, const int64_t *dims)
{
    int v = shaped(name, DF_DT_F32, rank, dims);
    int64_t n = df_value_numel(&G->values[v]);
    float *data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        data[i] = (float)i;
    G->values[v].data = data;
    G->values[v].is_param = 1;
    return v;
}

/* A constant int64 1-D tensor (rank 0 when scalar is set). */
static int const_i64(const char *name, int scalar, int n, const int64_t *vals)
{
    int64_t len = n;
    int v = shaped(name, DF_DT_I64, scalar ? 0 : 1, &len);
    int64_t *data = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    memcpy(data, vals, sizeof(int64_t) * (size_t)n);
    G->values[v].data = data;
    return v;
}
#define I64S(name, ...)                                                                    \
    const_i64(name, 0, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),          \
              (int64_t[]){__VA_ARGS__})

static int node(df_op op, const char *name, int n_in, const int *ins, int n_out, const int *outs)
{
    int k = df_graph_add_node(G, op, NULL, name, n_in, n_out);
    for (int i = 0; i < n_in; i++)
        G->nodes[k].in[i] = ins[i];
    for (int i = 0; i < n_out; i++)
        G->nodes[k].out[i] = outs[i];
    return k;
}
#define NODE(op, name, ins, outs)                                                          \
    node(op, name, (int)(sizeof((int[])ins) / sizeof(int)), (int[])ins,                    \
         (int)(sizeof((int[])outs) / sizeof(int)), (int[])outs)
#define L(...) {__VA_ARGS__}

static char *copy_string(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static df_attr *new_attr(int k, const char *name, df_attr_type type)
{
    df_node *n = &G->nodes[k];
    n->attrs = realloc(n->attrs, sizeof(df_attr) * (size_t)(n->n_attrs + 1));
    df_attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = copy_string(name);
    a->type = type;
    a->tensor = -1;
    return a;
}

static void attr_int(int k, const char *name, int64_t i) { new_attr(k, name, DF_ATTR_INT)->i = i; }

static void attr_str(int k, const char *name, const char *s)
{
    new_attr(k, name, DF_ATTR_STRING)->s = copy_string(s);
}

static void attr_ints(int k, const char *name, int n, const int64_t *vals)
{
    df_attr *a = new_attr(k, name, DF_ATTR_INTS);
    a->n = n;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    memcpy(a->ints, vals, sizeof(int64_t) * (size_t)n);
}
#define ATTR_INTS(k, name, ...)                                                            \
    attr_ints(k, name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),          \
              (int64_t[]){__VA_ARGS__})

/* ---- checking ------------------------------------------------------------- */

static df_status run(void) { return df_infer_shapes(G); }

/* Checks value v's shape against a dims string such as "1x64x112x112". */
static void expect_shape(int line, int v, const char *want)
{
    char got[160];
    const df_value *x = &G->values[v];
    df_dims_str(got, sizeof got, x->rank, x->dims);
    int onnx_same =
        x->rank < 0 || memcmp(x->dims, x->onnx_dims, sizeof(int64_t) * (size_t)x->rank) == 0;
    CHECK(strcmp(got, want) == 0 && onnx_same, "line %d: '%s' is %s, expected %s", line, x->name,
          got, want);
}
#define SHAPE(v, want) expect_shape(__LINE__, v, want)

static void expect_ok(int line, df_status st)
{
    CHECK(st == DF_OK, "line %d: status %d: %s", line, (int)st, df_last_error());
}
#define OK(st) expect_ok(__LINE__, st)

/* Expects failure st whose message contains every one of the strings given. */
static void expect_fail(int line, df_status got, df_status want, ...)
{
    const char *msg = df_last_error();
    int ok = got == want;
    va_list ap;
    va_start(ap, want);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, s))
            ok = 0;
    va_end(ap);
    CHECK(ok, "line %d: got status %d (wanted %d), message: %s", line, (int)got, (int)want, msg);
}
#define FAILS(st, want, ...) expect_fail(__LINE__, st, want, __VA_ARGS__, (const char *)NULL)

static void expect_i64(int line, int v, int n, const int64_t *want)
{
    const df_value *x = &G->values[v];
    int ok = x->data && x->dtype == DF_DT_I64 && df_value_numel(x) == n &&
             memcmp(x->data, want, sizeof(int64_t) * (size_t)n) == 0;
    CHECK(ok, "line %d: '%s' does not hold the expected int64 values", line, x->name);
}
#define DATA_I64(v, ...)                                                                   \
    expect_i64(__LINE__, v, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),    \
               (int64_t[]){__VA_ARGS__})

/* ---- convolution and pooling ---------------------------------------------- */

static void test_conv(void)
{
    fresh(13);
    int x = IN("x", 1, 3, 224, 224);
    int w = const_f32("w", 4, (int64_t[]){64, 3, 7, 7});
    int b = const_f32("b", 1, (int64_t[]){64});
    int y = value("y");
    int k = NODE(DF_OP_CONV, "conv1", L(x, w, b), L(y));
    ATTR_INTS(k, "strides", 2, 2);
    ATTR_INTS(k, "pads", 3, 3, 3, 3);
    ATTR_INTS(k, "kernel_shape", 7, 7);
    /* dilation 2, asymmetric pads: extent 5 over 10+1+0 -> 7 */
    int x2 = IN("x2", 2, 8, 10, 10);
    int w2 = const_f32("w2", 4, (int64_t[]){4, 8, 3, 3});
    int y2 = value("y2");
    k = NODE(DF_OP_CONV, "dilated", L(x2, w2), L(y2));
    ATTR_INTS(k, "dilations", 2, 2);
    ATTR_INTS(k, "pads", 1, 0, 0, 0);
    /* SAME_UPPER / SAME_LOWER: ceil(7 / 2) = 4; VALID: (7 - 3) / 2 + 1 = 3 */
    int x3 = IN("x3", 1, 8, 7, 7);
    int w3 = const_f32("w3", 4, (int64_t[]){8, 1, 3, 3}); /* depthwise: group 8 */
    int y3 = value("y3"), y4 = value("y4"), y5 = value("y5");
    k = NODE(DF_OP_CONV, "same_upper", L(x3, w3), L(y3));
    attr_str(k, "auto_pad", "SAME_UPPER");
    attr_int(k, "group", 8);
    ATTR_INTS(k, "strides", 2, 2);
    k = NODE(DF_OP_CONV, "same_lower", L(x3, w3), L(y4));
    attr_str(k, "auto_pad", "SAME_LOWER");
    attr_int(k, "group", 8);
    ATTR_INTS(k, "strides", 2, 2);
    k = NODE(DF_OP_CONV, "valid", L(x3, w3), L(y5));
    attr_str(k, "auto_pad", "VALID");
    attr_int(k, "group", 8);
    ATTR_INTS(k, "strides", 2, 2);
    OK(run());
    SHAPE(y, "1x64x112x112");
    SHAPE(y2, "2x4x7x6");
    SHAPE(y3, "1x8x4x4");
    SHAPE(y4, "1x8x4x4");
    SHAPE(y5, "1x8x3x3");
    CHECK(G->values[y].dtype == DF_DT_F32 && !G->nodes[0].dead, "conv output float, node live");

    /* weight expects 4 channels, input has 3 */
    fresh(13);
    x = IN("x", 1, 3, 8, 8);
    w = const_f32("w", 4, (int64_t[]){16, 4, 3, 3});
    y = value("y");
    NODE(DF_OP_CONV, "bad", L(x, w), L(y));
    FAILS(run(), DF_ERR_INVALID_MODEL, "test.onnx", "'bad'", "Conv", "1x3x8x8", "16x4x3x3",
          "channels");

    /* groups that do not divide the channels */
    fresh(13);
    x = IN("x", 1, 6, 8, 8);
    w = const_f32("w", 4, (int64_t[]){6, 3, 3, 3});
    y = value("y");
    k = NODE(DF_OP_CONV, "g4", L(x, w), L(y));
    attr_int(k, "group", 4);
    FAILS(run(), DF_ERR_INVALID_MODEL, "group 4");

    /* 1-D convolutions are not supported */
    fresh(13);
    x = IN("x", 1, 3, 8);
    w = const_f32("w", 3, (int64_t[]){4, 3, 3});
    y = value("y");
    NODE(DF_OP_CONV, "conv1d", L(x, w), L(y));
    FAILS(run(), DF_ERR_UNSUPPORTED, "conv1d", "2-D");

    /* a kernel larger than the padded input */
    fresh(13);
    x = IN("x", 1, 3, 2, 2);
    w = const_f32("w", 4, (int64_t[]){4, 3, 3, 3});
    y = value("y");
    NODE(DF_OP_CONV, "big", L(x, w), L(y));
    FAILS(run(), DF_ERR_INVALID_MODEL, "larger than the padded input");
}

static void test_pool(void)
{
    fresh(13);
    int x = IN("x", 1, 64, 112, 112);
    int y = value("y"), y2 = value("y2"), y3 = value("y3"), y4 = value("y4"), y5 = value("y5");
    int k = NODE(DF_OP_MAXPOOL, "pool", L(x), L(y));
    ATTR_INTS(k, "kernel_shape", 3, 3);
    ATTR_INTS(k, "strides", 2, 2);
    ATTR_INTS(k, "pads", 1, 1, 1, 1);
    /* ceil_mode: 6 wide, k3 s2 -> floor 2, ceil 3 */
    int x2 = IN("x2", 1, 4, 6, 6);
    k = NODE(DF_OP_MAXPOOL, "ceil", L(x2), L(y2));
    ATTR_INTS(k, "kernel_shape", 3, 3);
    ATTR_INTS(k, "strides", 2, 2);
    attr_int(k, "ceil_mode", 1);
    k = NODE(DF_OP_AVGPOOL, "floor", L(x2), L(y3));
    ATTR_INTS(k, "kernel_shape", 3, 3);
    ATTR_INTS(k, "strides", 2, 2);
    /* ceil_mode where the last window would start in the end padding:
     * 5 wide, k2 s2 p1: ceil gives 4, but window 4 starts at 6 >= 5 + 1 -> 3 */
    int x3 = IN("x3", 1, 4, 5, 5);
    k = NODE(DF_OP_AVGPOOL, "ceil_pad", L(x3), L(y4));
    ATTR_INTS(k, "kernel_shape", 2, 2);
    ATTR_INTS(k, "strides", 2, 2);
    ATTR_INTS(k, "pads", 1, 1, 1, 1);
    attr_int(k, "ceil_mode", 1);
    attr_int(k, "count_include_pad", 1);
    NODE(DF_OP_GLOBALAVGPOOL, "gap", L(x3), L(y5));
    OK(run());
    SHAPE(y, "1x64x56x56");
    SHAPE(y2, "1x4x3x3");
    SHAPE(y3, "1x4x2x2");
    SHAPE(y4, "1x4x3x3");
    SHAPE(y5, "1x4x1x1");

    /* MaxPool's Indices output is not supported */
    fresh(13);
    x = IN("x", 1, 4, 6, 6);
    y = value("y");
    y2 = value("idx");
    k = NODE(DF_OP_MAXPOOL, "mp", L(x), L(y, y2));
    ATTR_INTS(k, "kernel_shape", 2, 2);
    FAILS(run(), DF_ERR_UNSUPPORTED, "Indices");
}

/* ---- dense ---------------------------------------------------------------- */

static void test_dense(void)
{
    fresh(13);
    int a = IN("a", 4, 3);
    int b = const_f32("b", 2, (int64_t[]){5, 4});
    int c = const_f32("c", 1, (int64_t[]){5});
    int y = value("y");
    int k = NODE(DF_OP_GEMM, "gemm", L(a, b, c), L(y));
    attr_int(k, "transA", 1);
    attr_int(k, "transB", 1);
    /* MatMul with batch broadcasting and 1-D operands */
    int m1 = IN("m1", 2, 1, 3, 4);
    int m2 = const_f32("m2", 3, (int64_t[]){5, 4, 6});
    int v4 = const_f32("v4", 1, (int64_t[]){4});
    int y2 = value("y2"), y3 = value("y3"), y4 = value("y4");
    NODE(DF_OP_MATMUL, "mm", L(m1, m2), L(y2));
    NODE(DF_OP_MATMUL, "vec_mat", L(v4, m2), L(y3));
    NODE(DF_OP_MATMUL, "mat_vec", L(m1, v4), L(y4));
    OK(run());
    SHAPE(y, "3x5");
    SHAPE(y2, "2x5x3x6");
    SHAPE(y3, "5x6");
    SHAPE(y4, "2x1x3");

    fresh(13);
    a = IN("a", 4, 3);
    b = const_f32("b", 2, (int64_t[]){3, 5});
    c = const_f32("c", 1, (int64_t[]){4});
    y = value("y");
    NODE(DF_OP_GEMM, "gemm", L(a, b, c), L(y));
    FAILS(run(), DF_ERR_INVALID_MODEL, "'gemm'", "does not broadcast to 4x5");

    fresh(13);
    a = IN("a", 2, 3, 4);
    b = const_f32("b", 3, (int64_t[]){3, 4, 5});
    y = value("y");
    NODE(DF_OP_MATMUL, "mm", L(a, b), L(y));
    FAILS(run(), DF_ERR_INVALID_MODEL, "cannot broadcast", "2", "3");
}

/* ---- data movement -------------------------------------------------------- */

static void test_reshape_flatten(void)
{
    fresh(13);
    int x = IN("x", 2, 3, 4);
    int s1 = I64S("s1", 0, -1), s2 = I64S("s2", -1), s3 = I64S("s3", 4, 0, -1);
    int y1 = value("y1"), y2 = value("y2"), y3 = value("y3"), y4 = value("y4"), y5 = value("y5");
    NODE(DF_OP_RESHAPE, "r1", L(x, s1), L(y1));
    NODE(DF_OP_RESHAPE, "r2", L(x, s2), L(y2));
    NODE(DF_OP_RESHAPE, "r3", L(x, s3), L(y3));
    int k = NODE(DF_OP_FLATTEN, "f0", L(x), L(y4));
    attr_int(k, "axis", 0);
    k = NODE(DF_OP_FLATTEN, "f_last", L(x), L(y5));
    attr_int(k, "axis", -1);
    OK(run());
    SHAPE(y1, "2x12");
    SHAPE(y2, "24");
    SHAPE(y3, "4x3x2");
    SHAPE(y4, "1x24");
    SHAPE(y5, "6x4");

    fresh(13);
    x = IN("x", 2, 3, 4);
    s1 = I64S("s1", 5, -1);
    y1 = value("y1");
    NODE(DF_OP_RESHAPE, "r", L(x, s1), L(y1));
    FAILS(run(), DF_ERR_INVALID_MODEL, "'r'", "2x3x4", "5x-1");

    /* allowzero = 1: a 0 is a real (empty) dim */
    fresh(14);
    x = IN("x", 2, 3, 4);
    s1 = I64S("s1", 0, 24);
    y1 = value("y1");
    k = NODE(DF_OP_RESHAPE, "r", L(x, s1), L(y1));
    attr_int(k, "allowzero", 1);
    FAILS(run(), DF_ERR_UNSUPPORTED, "'r'");
}

static void test_slice(void)
{
    fresh(13);
    int x = IN("x", 10, 20);
    int y1 = value("y1"), y2 = value("y2"), y3 = value("y3");
    /* negative start, end far past the dim: the last 3 rows */
    NODE(DF_OP_SLICE, "tail", L(x, I64S("st1", -3), I64S("en1", INT64_MAX), I64S("ax1", 0)),
         L(y1));
    /* reversed: start -1, end before the beginning, step -1 */
    NODE(DF_OP_SLICE, "rev",
         L(x, I64S("st2", -1), I64S("en2", INT64_MIN), I64S("ax2", -1), I64S("sp2", -1)), L(y2));
    /* step 3 from 1 to a clamped 100 over 20: 1, 4, ..., 19 = 7; rows 2..8 by 4 = 2 */
    NODE(DF_OP_SLICE, "step",
         L(x, I64S("st3", 2, 1), I64S("en3", 8, 100), I64S("ax3", 0, 1), I64S("sp3", 4, 3)),
         L(y3));
    OK(run());
    SHAPE(y1, "3x20");
    SHAPE(y2, "10x20");
    SHAPE(y3, "2x7");

    /* folded: reversed every other element of a constant */
    fresh(13);
    int c = I64S("c", 0, 1, 2, 3, 4, 5, 6);
    int y = value("y");
    NODE(DF_OP_SLICE, "fold", L(c, I64S("st", 5), I64S("en", -100), I64S("ax", 0), I64S("sp", -2)),
         L(y));
    OK(run());
    SHAPE(y, "3");
    DATA_I64(y, 5, 3, 1);
    CHECK(G->nodes[0].dead, "a constant slice is folded");

    /* an empty result */
    fresh(13);
    x = IN("x", 10, 20);
    y = value("y");
    NODE(DF_OP_SLICE, "empty", L(x, I64S("st", 5), I64S("en", 5)), L(y));
    FAILS(run(), DF_ERR_UNSUPPORTED, "'empty'", "empty tensor");
}

static void test_squeeze_unsqueeze(void)
{
    /* opset 11: axes are attributes */
    fresh(11);
    int x = IN("x", 1, 3, 1, 5);
    int y1 = value("y1"), y2 = value("y2"), y3 = value("y3");
    int k = NODE(DF_OP_SQUEEZE, "sq", L(x), L(y1));
    ATTR_INTS(k, "axes", 0, -2);
    NODE(DF_OP_SQUEEZE, "sq_all", L(x), L(y2));
    k = NODE(DF_OP_UNSQUEEZE, "unsq", L(y1), L(y3));
    ATTR_INTS(k, "axes", 0, -1);
    OK(run());
    SHAPE(y1, "3x5");
    SHAPE(y2, "3x5");
    SHAPE(y3, "1x3x5x1");

    /* opset 13: axes are inputs */
    fresh(13);
    x = IN("x", 1, 3, 1, 5);
    y1 = value("y1");
    y2 = value("y2");
    NODE(DF_OP_SQUEEZE, "sq", L(x, I64S("ax", 2)), L(y1));
    NODE(DF_OP_UNSQUEEZE, "unsq", L(y1, I64S("ax2", 1, 4)), L(y2));
    OK(run());
    SHAPE(y1, "1x3x5");
    SHAPE(y2, "1x1x3x5x1");

    fresh(13);
    x = IN("x", 1, 3, 1, 5);
    y1 = value("y1");
    NODE(DF_OP_SQUEEZE, "sq", L(x, I64S("ax", 1)), L(y1));
    FAILS(run(), DF_ERR_INVALID_MODEL, "'sq'", "not 1");
}

static void test_concat_split_transpose(void)
{
    fresh(11);
    int a = IN("a", 1, 2, 3), b = IN("b", 1, 5, 3);
    int y1 = value("y1"), y2 = value("y2");
    int k = NODE(DF_OP_CONCAT, "cat", L(a, b), L(y1));
    attr_int(k, "axis", 1);
    k = NODE(DF_OP_CONCAT, "cat_neg", L(b, a, b), L(y2));
    attr_int(k, "axis", -2);
    /* Split, opset 11: sizes as an attribute */
    int s1 = value("s1"), s2 = value("s2");
    k = NODE(DF_OP_SPLIT, "split", L(y1), L(s1, s2));
    attr_int(k, "axis", 1);
    ATTR_INTS(k, "split", 3, 4);
    /* Transpose: default reverses, perm given */
    int t1 = value("t1"), t2 = value("t2");
    NODE(DF_OP_TRANSPOSE, "t_rev", L(y1), L(t1));
    k = NODE(DF_OP_TRANSPOSE, "t_perm", L(y1), L(t2));
    ATTR_INTS(k, "perm", 0, 2, 1);
    OK(run());
    SHAPE(y1, "1x7x3");
    SHAPE(y2, "1x12x3");
    SHAPE(s1, "1x3x3");
    SHAPE(s2, "1x4x3");
    SHAPE(t1, "3x7x1");
    SHAPE(t2, "1x3x7");

    /* Split, opset 13: sizes as an input, or equal parts */
    fresh(13);
    int x = IN("x", 6, 4);
    int p1 = value("p1"), p2 = value("p2"), e1 = value("e1"), e2 = value("e2"), e3 = value("e3");
    NODE(DF_OP_SPLIT, "split", L(x, I64S("sizes", 1, 5)), L(p1, p2));
    NODE(DF_OP_SPLIT, "equal", L(x), L(e1, e2, e3));
    OK(run());
    SHAPE(p1, "1x4");
    SHAPE(p2, "5x4");
    SHAPE(e3, "2x4");

    fresh(13);
    a = IN("a", 1, 2, 3);
    b = IN("b", 1, 2, 4);
    y1 = value("y1");
    k = NODE(DF_OP_CONCAT, "cat", L(a, b), L(y1));
    attr_int(k, "axis", 1);
    FAILS(run(), DF_ERR_INVALID_MODEL, "'cat'", "1x2x4", "1x2x3");

    /* folded transpose of a constant 2x3 */
    fresh(13);
    int c = I64S("c", 0, 1, 2, 3, 4, 5);
    int r = value("r"), t = value("t");
    NODE(DF_OP_RESHAPE, "r", L(c, I64S("s", 2, 3)), L(r));
    NODE(DF_OP_TRANSPOSE, "t", L(r), L(t));
    OK(run());
    SHAPE(t, "3x2");
    DATA_I64(t, 0, 3, 1, 4, 2, 5);
}

static void test_softmax(void)
{
    fresh(11);
    int x = IN("x", 2, 3, 4);
    int y = value("y");
    NODE(DF_OP_SOFTMAX, "sm", L(x), L(y));
    OK(run());
    SHAPE(y, "2x3x4");

    fresh(13);
    x = IN("x", 2, 3, 4);
    y = value("y");
    int k = NODE(DF_OP_SOFTMAX, "sm", L(x), L(y));
    attr_int(k, "axis", 3);
    FAILS(run(), DF_ERR_INVALID_MODEL, "'sm'", "axis 3");
}

/* ---- constant folding ----------------------------------------------------- */

/* ShuffleNet's channel shuffle as PyTorch exports it: the Reshape target is
 * computed from the input's shape at run time. */
static void test_shufflenet_chain(void)
{
    fresh(13);
    int x = IN("x", 1, 116, 28, 28);
    int shape = value("shape"), c = value("c"), half = value("half"), half1 = value("half1");
    int target = value("target"), y = value("y"), left = value("left");
    int gather_idx = const_i64("one", 1, 1, (int64_t[]){1});
    NODE(DF_OP_SHAPE, "shape", L(x), L(shape));
    NODE(DF_OP_GATHER, "gather", L(shape, gather_idx), L(c));
    NODE(DF_OP_DIV, "div", L(c, const_i64("two", 1, 1, (int64_t[]){2})), L(half));
    NODE(DF_OP_UNSQUEEZE, "unsq", L(half, I64S("ax0", 0)), L(half1));
    int k = NODE(DF_OP_CONCAT, "concat", L(I64S("n", 1), I64S("groups", 2), half1,
                                           I64S("h", 28), I64S("w", 28)),
                 L(target));
    attr_int(k, "axis", 0);
    NODE(DF_OP_RESHAPE, "reshape", L(x, target), L(y));
    /* the channel split: Slice(x, 0, half) along axis 1 */
    NODE(DF_OP_SLICE, "split", L(x, I64S("zero", 0), half1, I64S("ax1", 1)), L(left));
    OK(run());
    SHAPE(c, "scalar");
    DATA_I64(shape, 1, 116, 28, 28);
    DATA_I64(c, 116);
    DATA_I64(half, 58);
    DATA_I64(target, 1, 2, 58, 28, 28);
    SHAPE(y, "1x2x58x28x28");
    SHAPE(left, "1x58x28x28");
    int live = 0;
    for (int i = 0; i < G->n_nodes; i++)
        live += !G->nodes[i].dead;
    CHECK(live == 2, "only Reshape and Slice stay live (%d live)", live);
    CHECK(G->values[target].producer == -1 && G->values[y].producer >= 0,
          "producers are recounted after folding");
}

/* x -> Reshape [1,2,58,h,w] -> Transpose perm -> Reshape back -> y (a graph
 * output); `extra` gives the transposed value a second reader. Returns the
 * number of live nodes after shape inference and simplification. */
static int shuffle_graph(const int64_t *perm, int extra, int *x_out, int *y_out)
{
    fresh(13);
    int x = IN("x", 1, 116, 7, 5);
    int mid = value("mid"), t = value("t"), y = value("y");
    NODE(DF_OP_RESHAPE, "r1", L(x, I64S("s5", 1, 2, 58, 7, 5)), L(mid));
    int k = NODE(DF_OP_TRANSPOSE, "tr", L(mid), L(t));
    attr_ints(k, "perm", 5, perm);
    NODE(DF_OP_RESHAPE, "r2", L(t, I64S("s4", 1, 116, 7, 5)), L(y));
    if (extra)
        NODE(DF_OP_RELU, "other", L(t), L(value("t2")));
    G->outputs = realloc(G->outputs, sizeof(int));
    G->outputs[0] = y;
    G->n_outputs = 1;
    G->values[y].graph_output = 0;
    OK(run());
    df_graph_count_uses(G);
    OK(df_simplify(G));
    int live = 0;
    for (int i = 0; i < G->n_nodes; i++)
        live += !G->nodes[i].dead;
    *x_out = x;
    *y_out = y;
    return live;
}

static void test_channel_shuffle(void)
{
    int x, y;
    int live = shuffle_graph((const int64_t[]){0, 2, 1, 3, 4}, 0, &x, &y);
    const df_node *n = &G->nodes[G->values[y].producer];
    CHECK(live == 1 && n->op == DF_OP_CHANNEL_SHUFFLE && n->n_in == 1 && n->in[0] == x &&
              df_attr_int(n, "group", 0) == 2 && df_attr_int(n, "axis", 0) == 1,
          "Reshape-Transpose-Reshape becomes ChannelShuffle (group 2) of x (%d live)", live);
    live = shuffle_graph((const int64_t[]){0, 1, 2, 4, 3}, 0, &x, &y);
    CHECK(live == 3, "another permutation is no shuffle (%d live)", live);
    live = shuffle_graph((const int64_t[]){0, 2, 1, 3, 4}, 1, &x, &y);
    CHECK(live == 4, "a transposed value read elsewhere keeps the three ops (%d live)", live);

    /* a Pad by zero vanishes, a real one stays */
    for (int real = 0; real < 2; real++) {
        fresh(13);
        int in = IN("in", 1, 3, 4, 4), out = value("out"), after = value("after");
        NODE(DF_OP_PAD, "pad", L(in, real ? I64S("p", 0, 0, 1, 0, 0, 0, 0, 1)
                                          : I64S("p", 0, 0, 0, 0, 0, 0, 0, 0)),
             L(out));
        NODE(DF_OP_RELU, "relu", L(out), L(after));
        OK(run());
        df_graph_count_uses(G);
        OK(df_simplify(G));
        const df_node *relu = &G->nodes[G->values[after].producer];
        CHECK(real ? relu->in[0] == out : relu->in[0] == in,
              real ? "a Pad by 1 stays" : "a Pad by zero vanishes: ReLU reads its input");
    }
}

static void test_folding_ops(void)
{
    fresh(13);
    int r = value("r"), cs = value("cs"), e = value("e"), eq = value("eq"), wh = value("wh");
    int cf = value("cf"), k_const = value("kc"), sum = value("sum");
    NODE(DF_OP_RANGE, "range",
         L(const_i64("s", 1, 1, (int64_t[]){10}), const_i64("l", 1, 1, (int64_t[]){0}),
           const_i64("d", 1, 1, (int64_t[]){-3})),
         L(r));
    NODE(DF_OP_CONSTANTOFSHAPE, "cos", L(I64S("shp", 2, 2)), L(cs));
    NODE(DF_OP_EXPAND, "expand", L(r, I64S("eshape", 2, 1)), L(e));
    NODE(DF_OP_EQUAL, "equal", L(r, I64S("four", 4)), L(eq));
    NODE(DF_OP_WHERE, "where", L(eq, r, I64S("minus", -1)), L(wh));
    int k = NODE(DF_OP_CAST, "cast", L(r), L(cf));
    attr_int(k, "to", DF_DT_F32);
    k = NODE(DF_OP_CONSTANT, "const", L(), L(k_const));
    ATTR_INTS(k, "value_ints", 7, 8, 9, 10);
    NODE(DF_OP_ADD, "add", L(k_const, r), L(sum));
    OK(run());
    SHAPE(r, "4");
    DATA_I64(r, 10, 7, 4, 1);
    SHAPE(cs, "2x2");
    CHECK(G->values[cs].data && G->values[cs].dtype == DF_DT_F32 &&
              ((float *)G->values[cs].data)[3] == 0.0f,
          "ConstantOfShape defaults to float 0");
    SHAPE(e, "2x4");
    DATA_I64(e, 10, 7, 4, 1, 10, 7, 4, 1);
    CHECK(G->values[eq].dtype == DF_DT_BOOL && G->values[eq].data &&
              memcmp(G->values[eq].data, (unsigned char[]){0, 0, 1, 0}, 4) == 0,
          "Equal folds to bools");
    DATA_I64(wh, -1, -1, 4, -1);
    CHECK(G->values[cf].dtype == DF_DT_F32 && G->values[cf].data &&
              ((float *)G->values[cf].data)[1] == 7.0f,
          "Cast folds to float");
    DATA_I64(sum, 17, 15, 13, 11);
    int live = 0;
    for (int i = 0; i < G->n_nodes; i++)
        live += !G->nodes[i].dead;
    CHECK(live == 0, "every node folded (%d live)", live);

    /* integer division by zero is refused, not folded into garbage */
    fresh(13);
    int q = value("q");
    NODE(DF_OP_DIV, "div0", L(I64S("a", 5), I64S("b", 0)), L(q));
    FAILS(run(), DF_ERR_INVALID_MODEL, "'div0'", "divides by zero");
}

/* ---- order and errors ----------------------------------------------------- */

static void test_order(void)
{
    /* nodes stored consumer first: sorted, then inferred */
    fresh(13);
    int x = IN("x", 1, 4, 8, 8);
    int a = value("a"), b = value("b");
    NODE(DF_OP_GLOBALAVGPOOL, "second", L(a), L(b));
    NODE(DF_OP_RELU, "first", L(x), L(a));
    OK(run());
    SHAPE(b, "1x4x1x1");
    CHECK(strcmp(G->nodes[0].name, "first") == 0, "producer moved first");
    CHECK(G->values[b].producer == 1, "producer indices follow the new order");

    fresh(13);
    x = IN("x", 1, 4);
    a = value("a");
    b = value("b");
    NODE(DF_OP_ADD, "p", L(x, b), L(a));
    NODE(DF_OP_RELU, "q", L(a), L(b));
    FAILS(run(), DF_ERR_INVALID_MODEL, "cycle");
}

static void test_errors(void)
{
    fresh(13);
    int x = IN("images", -1, 3, 224, 224);
    int y = value("y");
    NODE(DF_OP_RELU, "relu", L(x), L(y));
    FAILS(run(), DF_ERR_UNSUPPORTED, "test.onnx", "'images'", "symbolic", "static shapes");

    fresh(13);
    x = IN("x", 1, 3);
    y = value("y");
    df_graph_add_node(G, DF_OP_UNKNOWN, "Foo", "foo1", 1, 1);
    G->nodes[0].in[0] = x;
    G->nodes[0].out[0] = y;
    FAILS(run(), DF_ERR_UNSUPPORTED, "'foo1'", "op Foo (opset 13) is not supported");

    /* a Reshape target computed from data, not from shapes */
    fresh(13);
    x = IN("x", 2, 3);
    int s = value("s");
    y = value("y");
    int k = NODE(DF_OP_CAST, "cast", L(IN("t", 2)), L(s));
    attr_int(k, "to", DF_DT_I64);
    NODE(DF_OP_RESHAPE, "reshape", L(x, s), L(y));
    FAILS(run(), DF_ERR_UNSUPPORTED, "'reshape'", "shape input 's'", "not constant");

    fresh(13);
    x = IN("x", 2, 3);
    y = value("y");
    int mask = value("mask"), z = value("z");
    NODE(DF_OP_DROPOUT, "drop", L(x), L(y, mask));
    NODE(DF_OP_RELU, "use_mask", L(mask), L(z));
    FAILS(run(), DF_ERR_UNSUPPORTED, "'drop'", "mask");

    fresh(13);
    x = IN("x", 2, 3);
    y = value("y");
    NODE(DF_OP_ADD, "add", L(x, const_f32("b", 1, (int64_t[]){4})), L(y));
    FAILS(run(), DF_ERR_INVALID_MODEL, "'add'", "cannot broadcast 2x3 with 4");

    /* a tensor over 2^40 bytes */
    fresh(13);
    x = IN("x", 1 << 18, 1 << 18);
    int big = value("big");
    NODE(DF_OP_EXPAND, "expand", L(x, I64S("s", 8, 1, 1)), L(big));
    FAILS(run(), DF_ERR_UNSUPPORTED, "'expand'", "8x262144x262144", "2^40 bytes");
}

static void test_pad_clip_misc(void)
{
    fresh(11);
    int x = IN("x", 1, 3, 8, 8);
    int y = value("y"), z = value("z"), m = value("m"), bn = value("bn");
    NODE(DF_OP_PAD, "pad", L(x, I64S("pads", 0, 0, 1, 2, 0, 0, 3, -1)), L(y));
    NODE(DF_OP_CLIP, "clip", L(y, const_f32("lo", 0, NULL), const_f32("hi", 0, NULL)), L(z));
    int k = NODE(DF_OP_REDUCEMEAN, "mean", L(z), L(m));
    ATTR_INTS(k, "axes", 2, 3);
    attr_int(k, "keepdims", 0);
    int64_t c3[1] = {3};
    NODE(DF_OP_BATCHNORM, "bn",
         L(x, const_f32("s", 1, c3), const_f32("b", 1, c3), const_f32("mu", 1, c3),
           const_f32("var", 1, c3)),
         L(bn));
    OK(run());
    SHAPE(y, "1x3x12x9");
    SHAPE(z, "1x3x12x9");
    SHAPE(m, "1x3");
    SHAPE(bn, "1x3x8x8");
}

int main(void)
{
    test_conv();
    test_pool();
    test_dense();
    test_reshape_flatten();
    test_slice();
    test_squeeze_unsqueeze();
    test_concat_split_transpose();
    test_softmax();
    test_shufflenet_chain();
    test_channel_shuffle();
    test_folding_ops();
    test_order();
    test_errors();
    test_pad_clip_misc();
    df_graph_free(G);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
