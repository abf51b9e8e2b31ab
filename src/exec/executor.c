/* Layer-by-layer execution: each step runs over its whole tensors.
 *
 * Spatial steps split their output rows into bands, and bands of all images
 * into tasks for the thread pool; everything else runs whole, element ranges
 * split across threads where that pays. Nothing here allocates: the arena and
 * the row tables were made when the session was created. */
#define _POSIX_C_SOURCE 200809L
#include "exec/executor.h"

#include <stdint.h>
#include "kernels/dispatch.h"
#include "plan/segment.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void *df_exec_value(const df_exec *e, int v)
{
    const df_graph *g = e->program->graph;
    const df_value *val = &g->values[v];
    if (val->data)
        return val->data;
    if (e->program->offsets[v] == SIZE_MAX)
        for (int k = 0; k < g->n_inputs; k++)
            if (g->inputs[k] == v)
                return (void *)e->inputs[k]; /* read only: values are written once */
    return e->arena + e->program->offsets[v];
}

static int is_nhwc_activation(const df_program *p, int v)
{
    const df_value *val = &p->graph->values[v];
    return val->nhwc && val->rank == 4 && !val->data && p->offsets[v] != SIZE_MAX;
}

float **df_exec_rows(const df_exec *e, int v, int image)
{
    const df_value *val = &e->program->graph->values[v];
    return e->value_rows[v] + (size_t)image * (size_t)val->dims[1];
}

static df_status build_row_tables(df_exec *e)
{
    const df_program *p = e->program;
    const df_graph *g = p->graph;
    size_t total = 0;
    for (int v = 0; v < g->n_values; v++)
        if (is_nhwc_activation(p, v))
            total += (size_t)(g->values[v].dims[0] * g->values[v].dims[1]);
    size_t lane_tables = 0;
    for (int s = 0; s < p->n_segments; s++)
        lane_tables += (size_t)p->segments[s].lanes * (size_t)p->segments[s].n;
    for (int s = 0; s < p->n_segments; s++) {
        const df_segment *seg = &p->segments[s];
        for (int j = 0; j < seg->n; j++)
            total += (size_t)seg->lanes * (size_t)seg->steps[j].out_h;
    }
    e->value_rows_block = malloc((total ? total : 1) * sizeof(float *));
    e->value_rows = calloc((size_t)g->n_values + 1, sizeof *e->value_rows);
    e->lane_rows = calloc(lane_tables + 1, sizeof *e->lane_rows);
    e->seg_base = calloc((size_t)p->n_segments + 1, sizeof *e->seg_base);
    if (!e->value_rows_block || !e->value_rows || !e->lane_rows || !e->seg_base)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory: row tables");
    float **next = e->value_rows_block;
    for (int v = 0; v < g->n_values; v++) {
        if (!is_nhwc_activation(p, v))
            continue;
        const df_value *val = &g->values[v];
        size_t rows = (size_t)(val->dims[0] * val->dims[1]);
        size_t row = (size_t)(val->dims[2] * val->dims[3]);
        float *base = (float *)(e->arena + p->offsets[v]);
        e->value_rows[v] = next;
        for (size_t r = 0; r < rows; r++)
            next[r] = base + r * row;
        next += rows;
    }
    size_t k = 0;
    for (int s = 0; s < p->n_segments; s++) {
        const df_segment *seg = &p->segments[s];
        e->seg_base[s] = (int)k;
        for (int lane = 0; lane < seg->lanes; lane++) {
            char *lane_base = e->arena + seg->scratch_offset + (size_t)lane * seg->lane_bytes;
            int strip = seg->strips > 1 ? lane : 0;
            for (int j = 0; j < seg->n; j++, k++) {
                const df_seg_step *st = &seg->steps[j];
                if (st->full && seg->strips == 1)
                    continue; /* written through value_rows, per image */
                e->lane_rows[k] = next;
                float *ring = (float *)(lane_base + st->lane_offset);
                size_t row = st->row_bytes / sizeof(float);
                for (int r = 0; r < st->out_h; r++) {
                    int slot;
                    if (df_segment_row_slot(seg, strip, j, r, &slot))
                        next[r] = ring + (size_t)slot * row;
                    else
                        next[r] = e->value_rows[st->value][r]; /* one image when striped */
                }
                next += st->out_h;
            }
        }
    }
    return DF_OK;
}

df_status df_exec_init(df_exec *e, const df_program *p, int threads)
{
    memset(e, 0, sizeof *e);
    e->program = p;
    e->threads = threads;
    e->arena = aligned_alloc(64, p->arena_bytes ? (p->arena_bytes + 63) / 64 * 64 : 64);
    e->profile = calloc((size_t)(p->n_steps ? p->n_steps : 1), sizeof *e->profile);
    if (!e->arena || !e->profile) {
        df_exec_release(e);
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory: session arena of %zu bytes",
                       p->arena_bytes);
    }
    df_status st = build_row_tables(e);
    if (st != DF_OK) {
        df_exec_release(e);
        return st;
    }
    /* Workers spin for a while after each parallel call, which is what makes
     * the next op start at once. On a machine with more runnable threads than
     * cores that spinning takes the CPU from the thread being waited for, so
     * DF_POOL_YIELD=1 makes workers sleep after every call instead. */
    const char *yield = getenv("DF_POOL_YIELD");
    e->pool_flags = yield && strcmp(yield, "1") == 0 ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0;
    if (threads > 1) {
        e->pool = pthreadpool_create((size_t)threads);
        if (!e->pool) {
            df_exec_release(e);
            return df_fail(DF_ERR_OUT_OF_MEMORY, "could not start %d threads", threads);
        }
    }
    return DF_OK;
}

void df_exec_release(df_exec *e)
{
    free(e->value_rows_block);
    free(e->value_rows);
    free(e->lane_rows);
    free(e->seg_base);
    free(e->profile);
    free(e->arena);
    if (e->pool)
        pthreadpool_destroy(e->pool);
    memset(e, 0, sizeof *e);
}

/* ---- spatial steps: tasks are (image, band of output rows, channel part) -- */

typedef struct band_task {
    const df_step *step;
    float **in, **out, **res; /* image 0's rows; images follow */
    int in_h, out_h;
    int bands, parts;         /* per image: row bands x output-channel parts */
} band_task;

static void run_band(void *arg, size_t t)
{
    const band_task *bt = arg;
    const int part = (int)(t % (size_t)bt->parts);
    t /= (size_t)bt->parts;
    const int image = (int)(t / (size_t)bt->bands), band = (int)(t % (size_t)bt->bands);
    /* bands differ by at most a row, and any run of consecutive bands holds
     * its fair share of rows, so each thread's contiguous range of tasks
     * (pthreadpool's first assignment) is as even as the rows allow */
    const int y0 = (int)((int64_t)bt->out_h * band / bt->bands);
    const int y1 = (int)((int64_t)bt->out_h * (band + 1) / bt->bands);
    const float *const *in = (const float *const *)bt->in + (size_t)image * bt->in_h;
    float *const *out = bt->out + (size_t)image * bt->out_h;
    const df_step *s = bt->step;
    if (s->op == DF_OP_CONV) {
        const float *const *res = bt->res ? (const float *const *)bt->res + (size_t)image * bt->out_h : NULL;
        if (bt->parts > 1)
            s->conv_part(&s->conv, in, out, res, y0, y1, part, bt->parts);
        else
            s->conv_rows(&s->conv, in, out, res, y0, y1);
    } else {
        s->pool_rows(&s->pool, in, out, y0, y1);
    }
}

static void run_rows(df_exec *e, const df_step *s)
{
    band_task bt = {.step = s};
    bt.in = e->value_rows[s->node->in[0]];
    bt.out = e->value_rows[s->node->out[0]];
    bt.res = s->node->residual >= 0 ? e->value_rows[s->node->residual] : NULL;
    if (s->op == DF_OP_CONV) {
        bt.in_h = s->conv.in_h;
        bt.out_h = s->conv.out_h;
    } else {
        bt.in_h = s->pool.in_h;
        bt.out_h = s->pool.out_h;
    }
    df_step_split(s, e->threads, &bt.bands, &bt.parts);
    pthreadpool_parallelize_1d(e->pool, run_band, &bt,
                               (size_t)s->batch * (size_t)bt.bands * (size_t)bt.parts, e->pool_flags);
}

static df_status run_step(df_exec *e, int i)
{
    const df_program *p = e->program;
    const df_step *s = &p->steps[i];
    const df_node *n = s->node;
    const df_graph *g = p->graph;
    const df_value *x = n->n_in > 0 && n->in[0] >= 0 ? &g->values[n->in[0]] : NULL;
    const df_value *y = &g->values[n->out[0]];
    void *out = df_exec_value(e, n->out[0]);
    const void *in0 = x ? df_exec_value(e, n->in[0]) : NULL;

    switch (s->op) {
    case DF_OP_CONV:
    case DF_OP_MAXPOOL:
    case DF_OP_AVGPOOL:
        run_rows(e, s);
        return DF_OK;
    case DF_OP_GLOBALAVGPOOL:
    case DF_OP_GLOBALMAXPOOL:
        s->kern->global_pool(in0, out, s->outer, s->axis_n, s->inner, s->op == DF_OP_GLOBALMAXPOOL);
        return DF_OK;
    case DF_OP_BATCHNORM:
        df_exec_scale_shift(e, s, in0, out);
        return DF_OK;
    case DF_OP_RELU: case DF_OP_SIGMOID: case DF_OP_TANH: case DF_OP_HARDSWISH:
    case DF_OP_NEG: case DF_OP_SQRT: case DF_OP_EXP: case DF_OP_ABS: case DF_OP_LEAKYRELU:
    case DF_OP_HARDSIGMOID: case DF_OP_CLIP: case DF_OP_SILU:
        df_exec_unary(e, s, in0, out, df_value_numel(y));
        return DF_OK;
    case DF_OP_ADD: case DF_OP_SUB: case DF_OP_MUL: case DF_OP_DIV: case DF_OP_POW:
    case DF_OP_EQUAL:
        if (x->dtype == DF_DT_F32 && df_value_numel(y) > 0)
            df_exec_binary(e, s, in0, df_exec_value(e, n->in[1]), out);
        else
            df_binary_ref(s->op, x->dtype, in0, s->a_strides, df_exec_value(e, n->in[1]), s->b_strides,
                          out, s->rank, s->out_dims);
        return DF_OK;
    case DF_OP_EXPAND:
        df_broadcast_copy(in0, s->a_strides, out, df_dtype_size(x->dtype), s->rank, s->out_dims);
        return DF_OK;
    case DF_OP_GEMM: {
        const int has_c = n->n_in > 2 && n->in[2] >= 0;
        df_exec_gemm(e, s, in0, x->dims[1], df_exec_value(e, n->in[1]), g->values[n->in[1]].dims[1],
                     has_c ? df_exec_value(e, n->in[2]) : NULL, out);
        return DF_OK;
    }
    case DF_OP_MATMUL: {
        const float *a = in0, *b = df_exec_value(e, n->in[1]);
        float *yv = out;
        for (int64_t k = 0; k < s->batch_count; k++)
            s->kern->gemm(s->m, s->n, s->k, 1.0f, a + s->a_offsets[k], s->k, 0, b + s->b_offsets[k],
                          s->n, 0, 0.0f, NULL, 0, 0, yv + k * s->m * s->n, s->n);
        return DF_OK;
    }
    case DF_OP_SOFTMAX:
        df_softmax_ref(in0, out, s->outer, s->axis_n, s->inner);
        return DF_OK;
    case DF_OP_REDUCEMEAN:
        df_reduce_mean_ref(in0, out, s->rank, s->in_dims, s->reduce);
        return DF_OK;
    case DF_OP_TRANSPOSE:
        if (e->threads > 1 && df_step_to_nhwc(g, s)) {
            /* by rows on every thread; on one, the transpose kernel's tiles
             * are about twice as fast as the row loop */
            df_exec_to_nhwc(e, s, in0, out);
            return DF_OK;
        }
        s->kern->transpose(in0, out, df_dtype_size(x->dtype), s->rank, s->in_dims, s->perm);
        return DF_OK;
    case DF_OP_CONCAT: {
        const void *parts[n->n_in > 0 ? n->n_in : 1];
        for (int k = 0; k < n->n_in; k++)
            parts[k] = df_exec_value(e, n->in[k]);
        void *whole[1] = {out};
        df_exec_join(e, s, n->n_in, parts, whole, df_dtype_size(y->dtype));
        return DF_OK;
    }
    case DF_OP_SPLIT: {
        void *parts[n->n_out > 0 ? n->n_out : 1];
        for (int k = 0; k < n->n_out; k++)
            parts[k] = n->out[k] >= 0 ? df_exec_value(e, n->out[k]) : NULL;
        const void *whole[1] = {in0};
        df_exec_join(e, s, n->n_out, whole, parts, df_dtype_size(x->dtype));
        return DF_OK;
    }
    case DF_OP_CHANNEL_SHUFFLE: {
        const float *parts[n->n_in > 0 ? n->n_in : 1];
        for (int k = 0; k < n->n_in; k++)
            parts[k] = df_exec_value(e, n->in[k]);
        df_exec_shuffle(e, s, parts, n->n_in, out);
        return DF_OK;
    }
    case DF_OP_SLICE:
        s->kern->slice(in0, out, df_dtype_size(x->dtype), s->rank, s->in_dims, s->starts, s->steps,
                       s->out_dims);
        return DF_OK;
    case DF_OP_GATHER: {
        int64_t bad = df_gather_ref(in0, out, df_dtype_size(x->dtype), s->outer, s->axis_n, s->inner,
                                    df_exec_value(e, n->in[1]), s->n);
        if (bad >= 0)
            return df_node_fail(g, n, DF_ERR_INVALID_ARGUMENT,
                                "index %lld of '%s' is out of range for an axis of %lld",
                                (long long)((const int64_t *)df_exec_value(e, n->in[1]))[bad],
                                g->values[n->in[1]].name, (long long)s->axis_n);
        return DF_OK;
    }
    case DF_OP_PAD:
        df_pad_ref(in0, out, s->rank, s->in_dims, s->starts, s->out_dims, s->pad_mode, s->alpha);
        return DF_OK;
    case DF_OP_CAST: {
        int64_t count = df_value_numel(y);
        if (x->dtype == y->dtype) {
            memcpy(out, in0, df_value_bytes(y));
        } else if (x->dtype == DF_DT_I64) {
            for (int64_t k = 0; k < count; k++)
                ((float *)out)[k] = (float)((const int64_t *)in0)[k];
        } else {
            for (int64_t k = 0; k < count; k++) {
                float f = ((const float *)in0)[k];
                /* out-of-range float -> int64 is undefined in C; saturate instead */
                ((int64_t *)out)[k] = f != f ? 0 : f >= 9.2e18f ? INT64_MAX : f <= -9.2e18f ? INT64_MIN : (int64_t)f;
            }
        }
        return DF_OK;
    }
    case DF_OP_FLATTEN: case DF_OP_RESHAPE: case DF_OP_SQUEEZE: case DF_OP_UNSQUEEZE:
    case DF_OP_IDENTITY: case DF_OP_DROPOUT:
        if (out != in0)
            memcpy(out, in0, df_value_bytes(y));
        return DF_OK;
    default:
        return df_node_fail(g, n, DF_ERR_INTERNAL, "no kernel for op %s", df_op_name(s->op));
    }
}

static void fill_profile(df_exec *e, int i, double start_us, double duration_us)
{
    const df_program *p = e->program;
    const df_step *s = &p->steps[i];
    const df_value *y = &p->graph->values[s->node->out[0]];
    df_op_profile *op = &e->profile[i];
    op->name = s->node->name;
    op->op_type = s->node->fused_types ? s->node->fused_types : s->node->op_type;
    op->rank = y->rank;
    memcpy(op->dims, y->onnx_dims, sizeof op->dims);
    op->flops = s->flops;
    op->start_us = start_us;
    op->duration_us = duration_us;
    op->segment = s->segment;
}

static void do_nothing(void *arg, size_t i)
{
    (void)arg;
    (void)i;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

df_status df_exec_run(df_exec *e, const float *const *inputs, float *const *outputs)
{
    const df_program *p = e->program;
    const df_graph *g = p->graph;
    e->inputs = (const void *const *)inputs;
    for (int k = 0; k < g->n_inputs; k++) {
        int v = g->inputs[k];
        if (!df_input_read_in_place(g, k))
            memcpy(df_exec_value(e, v), inputs[k], df_value_bytes(&g->values[v]));
    }
    double t0 = e->profiling ? now_us() : 0.0;
    for (int i = 0; i < p->n_steps; i++) {
        double start = e->profiling ? now_us() : 0.0;
        df_status st = DF_OK;
        int seg = p->steps[i].segment;
        if (seg >= 0) {
            df_exec_segment(e, seg);
            /* a segment's time is reported on its first step; the others get 0 */
            if (e->profiling) {
                for (int k = i; k <= p->segments[seg].last; k++) {
                    fill_profile(e, k, start - t0, 0.0);
                }
                e->profile[i].duration_us = now_us() - start;
            }
            i = p->segments[seg].last;
            continue;
        }
        st = run_step(e, i);
        if (st != DF_OK) {
            e->inputs = NULL;
            return st;
        }
        if (e->profiling) {
            fill_profile(e, i, start - t0, now_us() - start);
        }
    }
    if (e->pool) {
        /* an empty call that sends the workers to sleep: they must not spin
         * while the engine is idle between runs */
        pthreadpool_parallelize_1d(e->pool, do_nothing, NULL, (size_t)e->threads,
                                   PTHREADPOOL_FLAG_YIELD_WORKERS);
    }
    for (int k = 0; k < g->n_outputs; k++) {
        int v = g->outputs[k];
        /* memmove: an output that is an input read in place may be the same buffer */
        memmove(outputs[k], df_exec_value(e, v), df_value_bytes(&g->values[v]));
    }
    e->inputs = NULL;
    return DF_OK;
}
