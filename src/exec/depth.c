/* Depth-first execution of a segment (see plan/segment.h).
 *
 * The walk says which rows of which step to compute; this file computes them
 * with the same kernels the layer schedule uses, through row tables that
 * point into ring buffers, halo scratch or whole tensors. Lanes run in
 * parallel: each has its own rings, and either its own images or its own
 * strip of a single image. A shared segment has one lane, and the threads
 * split each of its steps. */
#include <string.h>

#include "exec/executor.h"
#include "kernels/dispatch.h"
#include "plan/segment.h"

typedef struct lane_ctx {
    df_exec *e;
    int seg, lane, image;
} lane_ctx;

/* Rows of the output of local step j, as this lane sees them. */
static float **step_rows(const df_exec *e, int s, int lane, int image, int j)
{
    const df_segment *seg = &e->program->segments[s];
    float **t = e->lane_rows[e->seg_base[s] + lane * seg->n + j];
    return t ? t : df_exec_rows(e, seg->steps[j].value, image);
}

/* Rows of value v read by a step of the segment: a ring if made inside. */
static float **input_rows(const df_exec *e, int s, int lane, int image, int v)
{
    const df_segment *seg = &e->program->segments[s];
    for (int j = 0; j < seg->n; j++)
        if (seg->steps[j].value == v)
            return step_rows(e, s, lane, image, j);
    return df_exec_rows(e, v, image);
}

void df_exec_segment_rows(df_exec *e, int s, int lane, int image, int j, int y0, int y1,
                          int part, int parts)
{
    const df_program *p = e->program;
    const df_graph *g = p->graph;
    const df_segment *seg = &p->segments[s];
    const df_step *st = &p->steps[seg->steps[j].step];
    const df_node *n = st->node;
    const df_value *y = &g->values[n->out[0]];
    float **out = step_rows(e, s, lane, image, j);
    const int64_t w = y->dims[2], c = y->dims[3];

    if (parts > 1) {
        /* a share of a shared step: a conv's output channels when it has
         * a block for each part, else a share of the rows */
        if (df_step_parts_by_channels(st, parts)) {
            float **in = input_rows(e, s, lane, image, n->in[0]);
            float **res = n->residual >= 0 ? input_rows(e, s, lane, image, n->residual) : NULL;
            st->conv_part(&st->conv, (const float *const *)in, out, (const float *const *)res, y0,
                          y1, part, parts);
            return;
        }
        const int rows = y1 - y0;
        y1 = y0 + (int)((int64_t)rows * (part + 1) / parts);
        y0 = y0 + (int)((int64_t)rows * part / parts);
        if (y0 == y1)
            return;
    }

    switch (st->op) {
    case DF_OP_CONV: {
        float **in = input_rows(e, s, lane, image, n->in[0]);
        float **res = n->residual >= 0 ? input_rows(e, s, lane, image, n->residual) : NULL;
        st->conv_rows(&st->conv, (const float *const *)in, out, (const float *const *)res, y0, y1);
        return;
    }
    case DF_OP_MAXPOOL:
    case DF_OP_AVGPOOL:
        st->pool_rows(&st->pool, (const float *const *)input_rows(e, s, lane, image, n->in[0]),
                         out, y0, y1);
        return;
    case DF_OP_BATCHNORM: {
        float **in = input_rows(e, s, lane, image, n->in[0]);
        for (int r = y0; r < y1; r++)
            st->scale_shift(in[r], out[r], st->scale, st->shift, w, c, st->act, st->alpha, st->beta);
        return;
    }
    case DF_OP_ADD: case DF_OP_SUB: case DF_OP_MUL: case DF_OP_DIV: case DF_OP_POW: {
        /* operands with the output's shape come by rows; the others do not
         * change along H and are read at this image's offset */
        const int64_t row_dims[2] = {w, c};
        const float *base[2];
        float **rows[2];
        int64_t strides[2][2];
        for (int k = 0; k < 2; k++) {
            const df_value *v = &g->values[n->in[k]];
            rows[k] = NULL;
            base[k] = NULL;
            if (memcmp(v->dims, y->dims, sizeof v->dims[0] * 4) == 0) {
                rows[k] = input_rows(e, s, lane, image, n->in[k]);
            } else {
                size_t per_image = v->dims[0] == 1 ? 0 : (size_t)(v->dims[2] * v->dims[3]);
                base[k] = (const float *)df_exec_value(e, n->in[k]) + (size_t)image * per_image;
            }
            df_broadcast_strides(2, &v->dims[2], 2, row_dims, strides[k]);
        }
        /* a row is lines of the vector kernel: one line when the operands
         * walk it as one, else one per pixel (a per-channel operand) */
        int64_t dims[2] = {row_dims[0], row_dims[1]};
        const int rank = df_binary_coalesce(2, dims, strides[0], strides[1]);
        const int64_t lines = rank == 2 ? dims[0] : 1, len = dims[rank - 1];
        for (int r = y0; r < y1; r++) {
            const float *a = rows[0] ? rows[0][r] : base[0], *b = rows[1] ? rows[1][r] : base[1];
            for (int64_t l = 0; l < lines; l++)
                st->binary_line(st->op, a + l * strides[0][0], strides[0][rank - 1],
                                b + l * strides[1][0], strides[1][rank - 1], out[r] + l * len, len);
        }
        return;
    }
    case DF_OP_SLICE: {
        /* channels [start, start + c) of each pixel (row_local in segment.c) */
        float **in = input_rows(e, s, lane, image, n->in[0]);
        const int64_t in_c = st->in_dims[3], start = st->starts[3];
        for (int r = y0; r < y1; r++)
            for (int64_t x = 0; x < w; x++)
                memcpy(out[r] + x * c, in[r] + x * in_c + start, (size_t)c * sizeof(float));
        return;
    }
    case DF_OP_CHANNEL_SHUFFLE: {
        /* the shuffle of each of the row's w pixels (axis 3, inner 1) */
        float **in[DF_SEG_MAX_INPUTS];
        for (int k = 0; k < n->n_in; k++)
            in[k] = input_rows(e, s, lane, image, n->in[k]);
        const float *row[DF_SEG_MAX_INPUTS], *x[DF_SHUFFLE_MAX_GROUPS]; /* row_local in segment.c */
        for (int r = y0; r < y1; r++) {
            for (int k = 0; k < n->n_in; k++)
                row[k] = in[k][r];
            const int64_t stride = df_shuffle_sources(st, row, n->n_in, x);
            st->kern->shuffle(x, stride, out[r], w, st->in_dims[1], st->in_dims[2]);
        }
        return;
    }
    case DF_OP_TRANSPOSE: {
        /* NCHW to NHWC (row_local in segment.c): row r from row r of each
         * channel plane of the whole input */
        const int64_t h = st->in_dims[2];
        const float *in = (const float *)df_exec_value(e, n->in[0]) + (size_t)image * c * h * w;
        for (int r = y0; r < y1; r++)
            df_nchw_row_to_nhwc(in, c, h, w, r, out[r]);
        return;
    }
    case DF_OP_CONCAT: {
        int64_t offset = 0;
        for (int k = 0; k < n->n_in; k++) {
            float **in = input_rows(e, s, lane, image, n->in[k]);
            int64_t ck = g->values[n->in[k]].dims[3];
            for (int r = y0; r < y1; r++)
                for (int64_t x = 0; x < w; x++)
                    memcpy(out[r] + x * c + offset, in[r] + x * ck, (size_t)ck * sizeof(float));
            offset += ck;
        }
        return;
    }
    default: {
        /* unary elementwise */
        float **in = input_rows(e, s, lane, image, n->in[0]);
        for (int r = y0; r < y1; r++)
            st->unary(st->op, in[r], out[r], w * c, st->alpha, st->beta);
        return;
    }
    }
}

static void compute_rows(void *ctx, int j, int y0, int y1)
{
    lane_ctx *l = ctx;
    df_exec_segment_rows(l->e, l->seg, l->lane, l->image, j, y0, y1, 0, 1);
}

/* A shared segment: the walk runs here and each of its row ranges is one
 * parallel call, a part per thread. */
typedef struct shared_rows {
    const lane_ctx *l;
    int j, y0, y1, parts;
} shared_rows;

static void run_part(void *arg, size_t part)
{
    const shared_rows *r = arg;
    df_exec_segment_rows(r->l->e, r->l->seg, 0, r->l->image, r->j, r->y0, r->y1, (int)part,
                         r->parts);
}

static void compute_shared(void *ctx, int j, int y0, int y1)
{
    const lane_ctx *l = ctx;
    shared_rows r = {l, j, y0, y1, l->e->program->segments[l->seg].shared};
    pthreadpool_parallelize_1d(l->e->pool, run_part, &r, (size_t)r.parts, l->e->pool_flags);
}

typedef struct segment_task {
    df_exec *e;
    int seg;
} segment_task;

static void run_lane(void *arg, size_t lane)
{
    const segment_task *t = arg;
    const df_segment *seg = &t->e->program->segments[t->seg];
    lane_ctx l = {t->e, t->seg, (int)lane, 0};
    if (seg->strips > 1) {
        df_segment_walk(seg, (int)lane, compute_rows, &l);
        return;
    }
    for (int image = (int)lane; image < seg->batch; image += seg->lanes) {
        l.image = image;
        df_segment_walk(seg, 0, compute_rows, &l);
    }
}

void df_exec_segment(df_exec *e, int s)
{
    const df_segment *seg = &e->program->segments[s];
    if (seg->shared > 1 && e->pool) {
        lane_ctx l = {e, s, 0, 0};
        for (l.image = 0; l.image < seg->batch; l.image++)
            df_segment_walk(seg, 0, compute_shared, &l);
        return;
    }
    segment_task t = {e, s};
    pthreadpool_parallelize_1d(e->pool, run_lane, &t, (size_t)seg->lanes, e->pool_flags);
}
