/*
 * test_conformance: runs ONNX's own node tests through deepfirst.
 *
 *     test_conformance [options] DIR [TEST...]
 *       -t, --threads N          worker threads (default: DF_THREADS, else 1)
 *       --schedule layer|depth|auto   (default: DF_SCHEDULE, else auto)
 *       --all                    run every test directory, not only those of claimed ops
 *       --list-skipped           print each skipped test with its reason
 *       -v, --verbose            print every test, passed ones included
 *       --no-freeze              skip tests with non-float inputs instead of freezing them
 *       --no-fork                run tests in this process (for a debugger)
 *       --timeout S              seconds per test before it counts as failed (default 60)
 *
 * DIR is laid out as ONNX ships its backend tests (Debian: libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node):
 *     DIR/test_<op>_<case>/model.onnx
 *     DIR/test_<op>_<case>/test_data_set_<k>/input_<i>.pb    serialized TensorProto
 *     DIR/test_<op>_<case>/test_data_set_<k>/output_<i>.pb
 *
 * Selection: the op is read from the directory name (test_conv_* is Conv, while
 * test_convtranspose_* is ConvTranspose; test_constant_pad is Pad; see op_table)
 * and a test is run when its op is one deepfirst claims to support. With TEST
 * names, only those directories are considered.
 *
 * Non-float inputs: deepfirst's API takes float32 tensors only, yet many node tests
 * feed an op's parameters as graph inputs (Reshape's shape, Slice's starts and
 * ends, Gather's indices, Pad's pads, Unsqueeze's axes: int64). In a CNN those are
 * constants, so by default such an input is frozen: the test's model is rewritten
 * with the data set's tensor as an initializer of that name, and the op is tested
 * as CNNs use it. Likewise, when deepfirst refuses a test (DF_ERR_UNSUPPORTED), it
 * is tried once more with every input but the first frozen, since deepfirst may
 * need an op's parameters (Conv's weights, BatchNorm's statistics, Clip's bounds)
 * to be constants, as they are in a CNN; the skip reason is the first refusal.
 * --no-freeze turns both off: tests with non-float inputs are then skipped.
 *
 * Outcome of one test:
 *   skipped  a graph output is not a float32 tensor, an input is not a tensor (or
 *            not float32, with --no-freeze), or deepfirst refuses the model with
 *            DF_ERR_UNSUPPORTED; the reason is the type found or deepfirst's message;
 *   passed   every output of every data set satisfies, elementwise,
 *            |out - ref| <= atol + rtol * |ref|, rtol = 1e-3, atol = 1e-5 (as ONNX's
 *            backend tests; NaN must match NaN), with the reference shapes;
 *   failed   anything else: wrong values or shapes, any other error status, a
 *            crash or a timeout (each test runs in a child process).
 *
 * Prints failures (and skips with --list-skipped), a table per claimed op, and
 * "N passed, M failed, K skipped". Exits 1 when a test of a claimed op failed.
 * With --all, tests of unclaimed ops run too and are only counted: their failures
 * do not change the exit status.
 */
#define _POSIX_C_SOURCE 200809L /* fork, strsignal, strdup */

#include "deepfirst.h"
#include "onnx.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RTOL 1e-3
#define ATOL 1e-5
#define MAX_IO 16
#define MSG_LEN 1024

/* Directory-name prefixes (after "test_") and the op they test. The longest
 * prefix followed by '_' or the end of the name wins, so that entries for
 * unclaimed ops shadow the claimed op whose name they start with. */
static const struct op_entry {
    const char *prefix;
    const char *op;
    int claimed;
} op_table[] = {
    {"conv", "Conv", 1},
    {"convtranspose", "ConvTranspose", 0},
    {"convinteger", "ConvInteger", 0},
    {"batchnorm", "BatchNormalization", 1},
    {"relu", "Relu", 1},
    {"clip", "Clip", 1},
    {"leakyrelu", "LeakyRelu", 1},
    {"sigmoid", "Sigmoid", 1},
    {"hardsigmoid", "HardSigmoid", 1},
    {"hardswish", "HardSwish", 1},
    {"tanh", "Tanh", 1},
    {"add", "Add", 1},
    {"sub", "Sub", 1},
    {"mul", "Mul", 1},
    {"div", "Div", 1},
    {"maxpool", "MaxPool", 1},
    {"averagepool", "AveragePool", 1},
    {"globalaveragepool", "GlobalAveragePool", 1},
    {"reduce_mean", "ReduceMean", 1},
    {"gemm", "Gemm", 1},
    {"matmul", "MatMul", 1},
    {"matmulinteger", "MatMulInteger", 0},
    {"flatten", "Flatten", 1},
    {"reshape", "Reshape", 1},
    {"transpose", "Transpose", 1},
    {"concat", "Concat", 1},
    {"split", "Split", 1},
    {"slice", "Slice", 1},
    {"softmax", "Softmax", 1},
    {"softmax_cross_entropy", "SoftmaxCrossEntropyLoss", 0},
    {"pad", "Pad", 1},
    {"constant_pad", "Pad", 1},
    {"edge_pad", "Pad", 1},
    {"reflect_pad", "Pad", 1},
    {"squeeze", "Squeeze", 1},
    {"unsqueeze", "Unsqueeze", 1},
    {"shape", "Shape", 1},
    {"gather", "Gather", 1},
    {"gather_elements", "GatherElements", 0},
    {"gathernd", "GatherND", 0},
    {"constant", "Constant", 1},
    {"constantofshape", "ConstantOfShape", 0},
    {"identity", "Identity", 1},
    {"dropout", "Dropout", 1},
};
#define N_OPS (int)(sizeof op_table / sizeof op_table[0])

/* Returns the op_table entry for a directory name, or NULL. */
static const struct op_entry *op_of_test(const char *dirname)
{
    if (strncmp(dirname, "test_", 5) != 0)
        return NULL;
    const char *rest = dirname + 5;
    const struct op_entry *best = NULL;
    for (int i = 0; i < N_OPS; i++) {
        size_t n = strlen(op_table[i].prefix);
        if (strncmp(rest, op_table[i].prefix, n) == 0 && (rest[n] == '_' || rest[n] == '\0') &&
            (!best || n > strlen(best->prefix)))
            best = &op_table[i];
    }
    return best;
}

typedef struct conf_config {
    int threads;
    df_schedule schedule;
    int timeout_s;
    int freeze; /* turn non-float tensor inputs into initializers */
} conf_config;

enum outcome { PASSED = 'P', FAILED = 'F', SKIPPED = 'S' };

typedef struct result {
    enum outcome kind;
    char msg[MSG_LEN];
} result;

static enum outcome set_result(result *r, enum outcome kind, const char *fmt, ...)
{
    r->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return kind;
}

/* snprintf for paths; returns 0 when the result fits. */
static int fmt_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* Reads a whole file; returns a malloc'ed buffer or NULL. */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

static const char *elem_type_name(int32_t t)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&onnx__tensor_proto__data_type__descriptor, t);
    return v ? v->name : "unknown";
}

/* Checks that a graph input or output is a float32 tensor; otherwise writes why. */
static int is_float_tensor(const Onnx__ValueInfoProto *v, char *why, size_t len)
{
    const Onnx__TypeProto *t = v->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type) {
        snprintf(why, len, "'%s' is not a tensor (type case %d)", v->name ? v->name : "?",
                 t ? (int)t->value_case : -1);
        return 0;
    }
    if (t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        snprintf(why, len, "'%s' is %s, not float", v->name ? v->name : "?",
                 elem_type_name(t->tensor_type->elem_type));
        return 0;
    }
    return 1;
}

/* A decoded float tensor from a .pb file. */
typedef struct tensor {
    char name[256];
    int rank;
    int64_t dims[DF_MAX_RANK];
    int64_t numel;
    float *data;
} tensor;

/* Decodes path into t. Returns PASSED on success, SKIPPED for a non-float
 * tensor, FAILED for an unreadable one, with the reason in r. */
static enum outcome load_tensor(const char *path, tensor *t, result *r)
{
    memset(t, 0, sizeof *t);
    size_t size;
    unsigned char *buf = read_file(path, &size);
    if (!buf)
        return set_result(r, FAILED, "cannot read %s: %s", path, strerror(errno));
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, size, buf);
    free(buf);
    if (!p)
        return set_result(r, FAILED, "%s is not a TensorProto", path);

    enum outcome k = PASSED;
    if (p->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        k = set_result(r, SKIPPED, "%s is %s, not float", path, elem_type_name(p->data_type));
        goto done;
    }
    if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        k = set_result(r, SKIPPED, "%s uses external data", path);
        goto done;
    }
    if (p->n_dims > DF_MAX_RANK) {
        k = set_result(r, SKIPPED, "%s has rank %zu > %d", path, p->n_dims, DF_MAX_RANK);
        goto done;
    }
    snprintf(t->name, sizeof t->name, "%s", p->name ? p->name : "");
    t->rank = (int)p->n_dims;
    t->numel = 1;
    for (size_t i = 0; i < p->n_dims; i++) {
        if (p->dims[i] < 0 || (p->dims[i] > 0 && t->numel > ((int64_t)1 << 30) / p->dims[i])) {
            k = set_result(r, FAILED, "%s: bad or huge dims", path);
            goto done;
        }
        t->dims[i] = p->dims[i];
        t->numel *= p->dims[i];
    }
    t->data = malloc((size_t)t->numel * sizeof(float) + 1);
    if (!t->data) {
        k = set_result(r, FAILED, "out of memory");
        goto done;
    }
    if (p->has_raw_data) {
        if (p->raw_data.len != (size_t)t->numel * sizeof(float)) {
            k = set_result(r, FAILED, "%s: raw_data holds %zu bytes for %lld floats", path,
                           p->raw_data.len, (long long)t->numel);
            goto done;
        }
        memcpy(t->data, p->raw_data.data, p->raw_data.len); /* little-endian host */
    } else {
        if (p->n_float_data != (size_t)t->numel) {
            k = set_result(r, FAILED, "%s: float_data holds %zu values for %lld", path,
                           p->n_float_data, (long long)t->numel);
            goto done;
        }
        memcpy(t->data, p->float_data, p->n_float_data * sizeof(float));
    }
done:
    onnx__tensor_proto__free_unpacked(p, NULL);
    if (k != PASSED) {
        free(t->data);
        t->data = NULL;
    }
    return k;
}

static void format_dims(char *buf, size_t len, int rank, const int64_t *dims)
{
    size_t used = snprintf(buf, len, "[");
    for (int i = 0; i < rank && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

static int same_dims(int rank_a, const int64_t *a, int rank_b, const int64_t *b)
{
    if (rank_a != rank_b)
        return 0;
    for (int i = 0; i < rank_a; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Counts files named prefix<i>.pb for i = 0, 1, ... in dir. */
static int count_pb(const char *dir, const char *prefix)
{
    int n = 0;
    for (;; n++) {
        char p[4096];
        struct stat st;
        if (fmt_path(p, sizeof p, "%s/%s%d.pb", dir, prefix, n) != 0 || stat(p, &st) != 0)
            return n;
    }
}

/* Index of the tensor named name among ts, else fallback when that is in range and
 * the file has no name, else -1. */
static int match_tensor(const tensor *ts, int n, const char *name, int fallback)
{
    for (int i = 0; i < n; i++)
        if (ts[i].name[0] && strcmp(ts[i].name, name) == 0)
            return i;
    if (fallback < n && ts[fallback].name[0] == '\0')
        return fallback;
    return -1;
}

/* Runs one data set through an open model. live[0..n_live) are the numbers of the
 * input_<i>.pb files that feed the model's inputs, in graph order (the others were
 * frozen into the model). */
static enum outcome run_data_set(df_model *model, const char *set_dir, const int *live,
                                 int n_live, result *r)
{
    tensor in[MAX_IO], ref[MAX_IO];
    float *out[MAX_IO] = {0};
    int n_in = n_live, n_out = count_pb(set_dir, "output_");
    int loaded_in = 0, loaded_out = 0;
    df_session *session = NULL;
    enum outcome k = PASSED;
    char d1[128], d2[128];

    int model_in = df_model_input_count(model), model_out = df_model_output_count(model);
    if (n_in > MAX_IO || n_out > MAX_IO)
        return set_result(r, FAILED, "%s: more than %d inputs or outputs", set_dir, MAX_IO);
    if (model_in != n_in || model_out != n_out)
        return set_result(r, FAILED, "%s: model has %d inputs and %d outputs, data set %d and %d",
                          set_dir, model_in, model_out, n_in, n_out);

    for (; loaded_in < n_in; loaded_in++) {
        char p[4096];
        fmt_path(p, sizeof p, "%s/input_%d.pb", set_dir, live[loaded_in]);
        if ((k = load_tensor(p, &in[loaded_in], r)) != PASSED)
            goto done;
    }
    for (; loaded_out < n_out; loaded_out++) {
        char p[4096];
        fmt_path(p, sizeof p, "%s/output_%d.pb", set_dir, loaded_out);
        if ((k = load_tensor(p, &ref[loaded_out], r)) != PASSED)
            goto done;
    }

    /* Bind the files to deepfirst's inputs and outputs by name, else by position. */
    const float *inputs[MAX_IO + 1] = {0};
    float *outputs[MAX_IO + 1] = {0};
    int ref_of[MAX_IO];
    df_status st;
    for (int i = 0; i < model_in; i++) {
        df_tensor_info info;
        if ((st = df_model_input(model, i, &info)) != DF_OK) {
            k = set_result(r, FAILED, "df_model_input(%d): %s: %s", i, df_status_string(st),
                           df_last_error());
            goto done;
        }
        int j = match_tensor(in, n_in, info.name, i);
        if (j < 0) {
            k = set_result(r, FAILED, "no input file for model input '%s'", info.name);
            goto done;
        }
        if (!same_dims(info.rank, info.dims, in[j].rank, in[j].dims)) {
            format_dims(d1, sizeof d1, info.rank, info.dims);
            format_dims(d2, sizeof d2, in[j].rank, in[j].dims);
            k = set_result(r, FAILED, "input '%s': model shape %s, data %s", info.name, d1, d2);
            goto done;
        }
        inputs[i] = in[j].data;
    }
    for (int i = 0; i < model_out; i++) {
        df_tensor_info info;
        if ((st = df_model_output(model, i, &info)) != DF_OK) {
            k = set_result(r, FAILED, "df_model_output(%d): %s: %s", i, df_status_string(st),
                           df_last_error());
            goto done;
        }
        int j = match_tensor(ref, n_out, info.name, i);
        if (j < 0) {
            k = set_result(r, FAILED, "no output file for model output '%s'", info.name);
            goto done;
        }
        if (!same_dims(info.rank, info.dims, ref[j].rank, ref[j].dims) ||
            info.numel != ref[j].numel) {
            format_dims(d1, sizeof d1, info.rank, info.dims);
            format_dims(d2, sizeof d2, ref[j].rank, ref[j].dims);
            k = set_result(r, FAILED, "output '%s': model shape %s (numel %lld), reference %s",
                           info.name, d1, (long long)info.numel, d2);
            goto done;
        }
        ref_of[i] = j;
        out[i] = malloc((size_t)ref[j].numel * sizeof(float) + 1);
        if (!out[i]) {
            k = set_result(r, FAILED, "out of memory");
            goto done;
        }
        for (int64_t e = 0; e < ref[j].numel; e++)
            out[i][e] = NAN; /* an element the run forgets to write cannot pass */
        outputs[i] = out[i];
    }

    if ((st = df_session_create(model, &session)) != DF_OK) {
        k = set_result(r, FAILED, "df_session_create: %s: %s", df_status_string(st),
                       df_last_error());
        goto done;
    }
    if ((st = df_session_run(session, inputs, outputs)) != DF_OK) {
        /* Refusals belong at load time: UNSUPPORTED here is a failure too. */
        k = set_result(r, FAILED, "df_session_run: %s: %s", df_status_string(st),
                       df_last_error());
        goto done;
    }

    for (int i = 0; i < model_out; i++) {
        const tensor *t = &ref[ref_of[i]];
        int64_t bad = 0, first = -1;
        double worst = 0;
        for (int64_t e = 0; e < t->numel; e++) {
            double o = out[i][e], w = t->data[e];
            int ok;
            if (isnan(w) || isnan(o))
                ok = isnan(w) && isnan(o);
            else if (isinf(w) || isinf(o))
                ok = o == w;
            else
                ok = fabs(o - w) <= ATOL + RTOL * fabs(w);
            if (!ok) {
                bad++;
                if (first < 0)
                    first = e;
                double d = fabs(o - w);
                if (!(d <= worst))
                    worst = isnan(d) ? INFINITY : d;
            }
        }
        if (bad) {
            k = set_result(r, FAILED,
                           "output '%s': %lld of %lld values off (max abs err %.3g); first at "
                           "%lld: got %.7g, want %.7g",
                           t->name, (long long)bad, (long long)t->numel, worst, (long long)first,
                           (double)out[i][first], (double)t->data[first]);
            goto done;
        }
    }
    k = set_result(r, PASSED, "");

done:
    df_session_destroy(session);
    for (int i = 0; i < loaded_in; i++)
        free(in[i].data);
    for (int i = 0; i < loaded_out; i++)
        free(ref[i].data);
    for (int i = 0; i < MAX_IO; i++)
        free(out[i]);
    return k;
}

/* Serialises mp with the graph inputs marked in frozen[] (numbered among the
 * inputs that are not initializers) turned into initializers holding the data of
 * set_dir/input_<k>.pb. Returns a malloc'ed buffer, or NULL with the reason in r. */
static unsigned char *freeze_inputs(Onnx__ModelProto *mp, const int *frozen, const char *set_dir,
                                    size_t *size, result *r)
{
    Onnx__GraphProto *g = mp->graph;
    size_t n_input = g->n_input, n_init = g->n_initializer;
    Onnx__ValueInfoProto **input = g->input;
    Onnx__TensorProto **init = g->initializer;
    Onnx__ValueInfoProto **kept = calloc(n_input + 1, sizeof *kept);
    Onnx__TensorProto **inits = calloc(n_init + n_input + 1, sizeof *inits);
    Onnx__TensorProto *added[MAX_IO] = {0};
    char *added_name[MAX_IO] = {0};
    int n_added = 0;
    unsigned char *buf = NULL;
    if (!kept || !inits) {
        set_result(r, FAILED, "out of memory");
        goto done;
    }
    if (n_init)
        memcpy(inits, init, n_init * sizeof *inits);
    size_t n_kept = 0, n_inits = n_init;
    int k = 0; /* number among the inputs that are not initializers */
    for (size_t i = 0; i < n_input; i++) {
        int is_init = 0;
        for (size_t j = 0; j < n_init; j++)
            if (input[i]->name && init[j]->name && strcmp(input[i]->name, init[j]->name) == 0)
                is_init = 1;
        if (is_init || !frozen[k]) {
            kept[n_kept++] = input[i];
            k += !is_init;
            continue;
        }
        char p[4096];
        size_t len;
        unsigned char *data;
        if (n_added == MAX_IO || fmt_path(p, sizeof p, "%s/input_%d.pb", set_dir, k) != 0 ||
            !(data = read_file(p, &len))) {
            set_result(r, FAILED, "cannot read input_%d.pb in %s", k, set_dir);
            goto done;
        }
        Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, data);
        free(data);
        if (!t) {
            set_result(r, FAILED, "%s is not a TensorProto", p);
            goto done;
        }
        /* The initializer takes the graph input's name, whatever the file says. */
        added_name[n_added] = t->name;
        t->name = input[i]->name;
        added[n_added++] = t;
        inits[n_inits++] = t;
        k++;
    }

    g->input = kept;
    g->n_input = n_kept;
    g->initializer = inits;
    g->n_initializer = n_inits;
    *size = onnx__model_proto__get_packed_size(mp);
    buf = malloc(*size + 1);
    if (buf)
        onnx__model_proto__pack(mp, buf);
    else
        set_result(r, FAILED, "out of memory");
    g->input = input;
    g->n_input = n_input;
    g->initializer = init;
    g->n_initializer = n_init;

done:
    for (int i = 0; i < n_added; i++) {
        added[i]->name = added_name[i];
        onnx__tensor_proto__free_unpacked(added[i], NULL);
    }
    free(kept);
    free(inits);
    return buf;
}

/* Runs every data set of a test through deepfirst, with the inputs marked in
 * frozen[0..n_data) (numbered among the graph inputs that are not initializers)
 * turned into initializers. */
static enum outcome run_sets(const char *test_dir, const char *test_name, Onnx__ModelProto *mp,
                             const unsigned char *bytes, size_t size, const int *frozen,
                             int n_data, const conf_config *cfg, result *r)
{
    int live[MAX_IO], n_live = 0, n_frozen = 0;
    for (int i = 0; i < n_data; i++) {
        if (frozen[i])
            n_frozen++;
        else
            live[n_live++] = i;
    }
    df_options opt;
    df_options_init(&opt);
    opt.threads = cfg->threads;
    opt.schedule = cfg->schedule;
    enum outcome k = PASSED;
    int sets = 0;
    for (;; sets++) {
        char set_dir[4096];
        struct stat sb;
        if (fmt_path(set_dir, sizeof set_dir, "%s/test_data_set_%d", test_dir, sets) != 0 ||
            stat(set_dir, &sb) != 0)
            break;
        /* Frozen inputs come from the data set, so each set gets its own model. */
        size_t model_size = size;
        unsigned char *model_bytes = (unsigned char *)bytes;
        if (n_frozen) {
            model_bytes = freeze_inputs(mp, frozen, set_dir, &model_size, r);
            if (!model_bytes) {
                k = FAILED;
                break;
            }
        }
        df_model *model = NULL;
        df_status st = df_model_open_memory(model_bytes, model_size, test_name, &opt, &model);
        if (model_bytes != bytes)
            free(model_bytes);
        if (st == DF_ERR_UNSUPPORTED)
            k = set_result(r, SKIPPED, "%s", df_last_error());
        else if (st != DF_OK)
            k = set_result(r, FAILED, "df_model_open_memory: %s: %s", df_status_string(st),
                           df_last_error());
        else
            k = run_data_set(model, set_dir, live, n_live, r);
        df_model_close(model);
        if (k != PASSED)
            break;
    }
    if (sets == 0 && k == PASSED)
        return set_result(r, FAILED, "%s has no test_data_set_0", test_dir);
    if (k == PASSED && n_frozen)
        set_result(r, PASSED, "%d input(s) frozen as initializers", n_frozen);
    return k;
}

/* Runs one test directory (in whatever process calls it). */
static enum outcome run_test(const char *test_dir, const char *test_name, const conf_config *cfg,
                             result *r)
{
    char path[4096];
    if (fmt_path(path, sizeof path, "%s/model.onnx", test_dir) != 0)
        return set_result(r, FAILED, "path too long");
    size_t size;
    unsigned char *bytes = read_file(path, &size);
    if (!bytes)
        return set_result(r, FAILED, "cannot read %s: %s", path, strerror(errno));

    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, bytes);
    if (!mp || !mp->graph) {
        if (mp)
            onnx__model_proto__free_unpacked(mp, NULL);
        free(bytes);
        return set_result(r, FAILED, "%s: protobuf-c cannot parse it as a ModelProto", path);
    }

    /* deepfirst's API takes and returns float32 tensors only. A test whose outputs
     * are not all float tensors is outside what it can express: skipped. Inputs of
     * other tensor types are frozen (see the top of the file). */
    char why[512];
    enum outcome k = PASSED;
    const Onnx__GraphProto *g = mp->graph;
    int frozen[MAX_IO] = {0}, n_data = 0;
    for (size_t i = 0; i < g->n_output && k == PASSED; i++)
        if (!is_float_tensor(g->output[i], why, sizeof why))
            k = set_result(r, SKIPPED, "output %s", why);
    for (size_t i = 0; i < g->n_input && k == PASSED; i++) {
        int is_init = 0;
        for (size_t j = 0; j < g->n_initializer; j++)
            if (g->input[i]->name && g->initializer[j]->name &&
                strcmp(g->input[i]->name, g->initializer[j]->name) == 0)
                is_init = 1;
        if (is_init)
            continue;
        if (n_data == MAX_IO)
            k = set_result(r, SKIPPED, "more than %d inputs", MAX_IO);
        else if (is_float_tensor(g->input[i], why, sizeof why))
            n_data++;
        else if (!cfg->freeze || g->input[i]->type == NULL ||
                 g->input[i]->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            k = set_result(r, SKIPPED, "input %s", why);
        else
            frozen[n_data++] = 1;
    }

    if (k == PASSED) {
        k = run_sets(test_dir, test_name, mp, bytes, size, frozen, n_data, cfg, r);
        /* Refused: deepfirst may want constant parameters (Conv's weights, Clip's
         * bounds, BatchNorm's statistics), which node tests feed as inputs. Retry
         * with every input but the first frozen. */
        int more = 0;
        for (int i = 1; i < n_data; i++)
            more |= !frozen[i];
        if (k == SKIPPED && cfg->freeze && more) {
            char first[MSG_LEN];
            snprintf(first, sizeof first, "%s", r->msg);
            for (int i = 1; i < n_data; i++)
                frozen[i] = 1;
            k = run_sets(test_dir, test_name, mp, bytes, size, frozen, n_data, cfg, r);
            if (k == SKIPPED) /* report the first refusal: it names the real limit */
                set_result(r, SKIPPED, "%s", first);
        }
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    free(bytes);
    return k;
}

/* Runs a test in a child process, so that a crash or a hang is a failure of that
 * test only. The child sends its result back through a pipe. */
static enum outcome run_test_isolated(const char *test_dir, const char *test_name,
                                      const conf_config *cfg, result *r)
{
    int fd[2];
    if (pipe(fd) != 0)
        return set_result(r, FAILED, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return set_result(r, FAILED, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fd[0]);
        alarm((unsigned)cfg->timeout_s);
        result cr;
        run_test(test_dir, test_name, cfg, &cr);
        size_t len = sizeof cr.kind + strlen(cr.msg) + 1;
        ssize_t w = write(fd[1], &cr, len);
        _exit(w == (ssize_t)len ? 0 : 3);
    }
    close(fd[1]);
    result cr;
    memset(&cr, 0, sizeof cr);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd[0], (char *)&cr + got, sizeof cr - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            return set_result(r, FAILED, "timed out after %d s", cfg->timeout_s);
        return set_result(r, FAILED, "crashed: signal %d (%s)", sig, strsignal(sig));
    }
    if (got <= sizeof cr.kind || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return set_result(r, FAILED, "child exited with status %d without a result",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    cr.msg[sizeof cr.msg - 1] = '\0';
    *r = cr;
    return r->kind;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: test_conformance [-t N] [--schedule layer|depth|auto] [--all] "
               "[--list-skipped] [-v] [--no-freeze] [--no-fork] [--timeout S] DIR [TEST...]\n");
}

int main(int argc, char **argv)
{
    conf_config cfg = {.threads = 1, .schedule = DF_SCHEDULE_AUTO, .timeout_s = 60, .freeze = 1};
    int all = 0, list_skipped = 0, verbose = 0, fork_tests = 1;
    const char *env;
    if ((env = getenv("DF_THREADS")) && *env)
        cfg.threads = atoi(env);
    if ((env = getenv("DF_SCHEDULE")) && *env) {
        if (strcmp(env, "layer") == 0)
            cfg.schedule = DF_SCHEDULE_LAYER;
        else if (strcmp(env, "depth") == 0)
            cfg.schedule = DF_SCHEDULE_DEPTH;
        else if (strcmp(env, "auto") != 0) {
            fprintf(stderr, "test_conformance: DF_SCHEDULE must be layer, depth or auto\n");
            return 2;
        }
    }

    const char *dir = NULL;
    char **only = calloc((size_t)argc, sizeof *only);
    int n_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) && i + 1 < argc) {
            cfg.threads = atoi(argv[++i]);
        } else if (strcmp(a, "--schedule") == 0 && i + 1 < argc) {
            const char *s = argv[++i];
            if (strcmp(s, "layer") == 0)
                cfg.schedule = DF_SCHEDULE_LAYER;
            else if (strcmp(s, "depth") == 0)
                cfg.schedule = DF_SCHEDULE_DEPTH;
            else if (strcmp(s, "auto") == 0)
                cfg.schedule = DF_SCHEDULE_AUTO;
            else {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            cfg.timeout_s = atoi(argv[++i]);
        } else if (strcmp(a, "--all") == 0) {
            all = 1;
        } else if (strcmp(a, "--list-skipped") == 0) {
            list_skipped = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--no-freeze") == 0) {
            cfg.freeze = 0;
        } else if (strcmp(a, "--no-fork") == 0) {
            fork_tests = 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "test_conformance: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            only[n_only++] = argv[i];
        }
    }
    if (!dir || cfg.threads < 0 || cfg.timeout_s <= 0) {
        usage(stderr);
        return 2;
    }

    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "test_conformance: cannot open %s: %s\n", dir, strerror(errno));
        return 2;
    }
    char **names = NULL;
    int n_names = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "test_", 5) != 0)
            continue;
        if (n_names == cap) {
            cap = cap ? 2 * cap : 256;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[n_names++] = strdup(e->d_name);
    }
    closedir(d);
    if (n_names)
        qsort(names, (size_t)n_names, sizeof *names, cmp_str);

    /* Per claimed op: passed, failed, skipped. */
    int op_count[N_OPS][3];
    memset(op_count, 0, sizeof op_count);
    int passed = 0, failed = 0, skipped = 0, claimed_failed = 0;
    int other[3] = {0, 0, 0}; /* unclaimed ops, with --all */

    for (int i = 0; i < n_names; i++) {
        const char *name = names[i];
        if (n_only) {
            int want = 0;
            for (int j = 0; j < n_only; j++)
                if (strcmp(only[j], name) == 0)
                    want = 1;
            if (!want)
                continue;
        }
        const struct op_entry *op = op_of_test(name);
        int claimed = op && op->claimed;
        if (!claimed && !all)
            continue;

        char test_dir[4096];
        struct stat sb;
        if (fmt_path(test_dir, sizeof test_dir, "%s/%s", dir, name) != 0 ||
            stat(test_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;

        result r;
        enum outcome k = fork_tests ? run_test_isolated(test_dir, name, &cfg, &r)
                                    : run_test(test_dir, name, &cfg, &r);
        int slot = k == PASSED ? 0 : k == FAILED ? 1 : 2;
        if (claimed)
            op_count[op - op_table][slot]++;
        else
            other[slot]++;
        if (k == PASSED) {
            passed++;
            if (verbose)
                printf("pass %s%s%s\n", name, r.msg[0] ? ": " : "", r.msg);
        } else if (k == FAILED) {
            failed++;
            if (claimed)
                claimed_failed++;
            printf("FAIL %s%s: %s\n", name, claimed ? "" : " (unclaimed op)", r.msg);
        } else {
            skipped++;
            if (list_skipped || verbose)
                printf("skip %s: %s\n", name, r.msg);
        }
        fflush(stdout);
    }

    printf("\n%-20s %6s %6s %7s\n", "op", "passed", "failed", "skipped");
    for (int i = 0; i < N_OPS; i++) {
        int *c = op_count[i];
        /* Ops listed under several prefixes (Pad) are printed once, at their first entry. */
        int first = 1;
        for (int j = 0; j < i; j++)
            if (strcmp(op_table[j].op, op_table[i].op) == 0)
                first = 0;
        if (!op_table[i].claimed || !first)
            continue;
        int sum[3] = {c[0], c[1], c[2]};
        for (int j = i + 1; j < N_OPS; j++)
            if (strcmp(op_table[j].op, op_table[i].op) == 0)
                for (int s = 0; s < 3; s++)
                    sum[s] += op_count[j][s];
        printf("%-20s %6d %6d %7d\n", op_table[i].op, sum[0], sum[1], sum[2]);
    }
    if (all)
        printf("%-20s %6d %6d %7d\n", "(unclaimed ops)", other[0], other[1], other[2]);

    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(only);
    if (passed + failed + skipped == 0) {
        fprintf(stderr, "test_conformance: no tests selected in %s\n", dir);
        return 1;
    }
    return claimed_failed ? 1 : 0;
}
