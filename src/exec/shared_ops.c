/* Steps that are not row-band kernels, shared out across the threads.
 *
 * Each splits its data into runs of whole rows (pixels, lines, columns of a
 * Gemm) and gives every task one run; pthreadpool hands each thread a
 * contiguous range of tasks first. Splitting pays even for copies: on a
 * machine where one core's cache holds what it just wrote, a thread reading
 * what both threads wrote pulls half of it from the other core, and with two
 * threads each mostly reads its own. Below about 16K elements a step runs on
 * the calling thread: a fork and join would cost more than it saves. */
#include "exec/executor.h"
#include "kernels/dispatch.h"

enum { MIN_SHARED = 16384 };

/* How many tasks split `count` runs holding `work` elements in all. */
static int64_t tasks_for(const df_exec *e, int64_t count, int64_t work)
{
    if (e->threads <= 1 || work < MIN_SHARED || count <= 1)
        return 1;
    return count < 4 * e->threads ? count : 4 * e->threads;
}

/* Task t's runs [*lo, *hi) of count runs split into `tasks` near-equal shares. */
static void share(int64_t count, size_t t, int64_t tasks, int64_t *lo, int64_t *hi)
{
    *lo = count * (int64_t)t / tasks;
    *hi = count * ((int64_t)t + 1) / tasks;
}

typedef struct task {
    const df_step *s;
    const void *x, *b, *c; /* inputs, as each op reads them */
    void *y;
    int64_t count, tasks;  /* runs, tasks */
    int64_t lda, ldb;      /* Gemm */
    size_t elem;           /* Concat/Split */
    int n;                 /* Concat/Split: parts */
    int64_t whole;         /* Concat/Split: the whole's size along the axis */
    const void *const *in;
    void *const *out;
} task;

static void run(df_exec *e, void (*fn)(void *, size_t), task *t)
{
    pthreadpool_parallelize_1d(e->pool, fn, t, (size_t)t->tasks, e->pool_flags);
}

/* ---- unary elementwise: runs of single elements ----------------------------- */

static void unary_task(void *arg, size_t i)
{
    const task *t = arg;
    int64_t lo, hi;
    share(t->count, i, t->tasks, &lo, &hi);
    t->s->unary(t->s->op, (const float *)t->x + lo, (float *)t->y + lo, hi - lo, t->s->alpha,
                t->s->beta);
}

void df_exec_unary(df_exec *e, const df_step *s, const float *x, float *y, int64_t n)
{
    task t = {.s = s, .x = x, .y = y, .count = n};
    t.tasks = tasks_for(e, n, n);
    run(e, unary_task, &t);
}

/* ---- broadcasting binary on F32: lines of the last (merged) dimension ------- */

static void binary_task(void *arg, size_t i)
{
    const task *t = arg;
    const df_step *s = t->s;
    const int r = s->rank - 1; /* dimensions above the line */
    const int64_t n = s->out_dims[r], sa = s->a_strides[r], sb = s->b_strides[r];
    const size_t out_elem = s->op == DF_OP_EQUAL ? 1 : sizeof(float);
    int64_t l0, l1;
    share(t->count, i, t->tasks, &l0, &l1);
    int64_t idx[DF_MAX_RANK], rest = l0, off_a = 0, off_b = 0;
    for (int d = r - 1; d >= 0; d--) {
        idx[d] = rest % s->out_dims[d];
        rest /= s->out_dims[d];
        off_a += idx[d] * s->a_strides[d];
        off_b += idx[d] * s->b_strides[d];
    }
    for (int64_t l = l0; l < l1; l++) {
        s->binary_line(s->op, (const float *)t->x + off_a, sa, (const float *)t->b + off_b, sb,
                       (char *)t->y + (size_t)(l * n) * out_elem, n);
        /* next line: an odometer over the outer dimensions */
        for (int d = r - 1; d >= 0; d--) {
            off_a += s->a_strides[d];
            off_b += s->b_strides[d];
            if (++idx[d] < s->out_dims[d])
                break;
            off_a -= idx[d] * s->a_strides[d];
            off_b -= idx[d] * s->b_strides[d];
            idx[d] = 0;
        }
    }
}

void df_exec_binary(df_exec *e, const df_step *s, const float *a, const float *b, void *y)
{
    task t = {.s = s, .x = a, .b = b, .y = y, .count = 1};
    for (int d = 0; d < s->rank - 1; d++)
        t.count *= s->out_dims[d];
    t.tasks = tasks_for(e, t.count, t.count * s->out_dims[s->rank - 1]);
    run(e, binary_task, &t);
}

/* ---- unfused BatchNormalization: pixels ------------------------------------ */

static void scale_task(void *arg, size_t i)
{
    const task *t = arg;
    const df_step *s = t->s;
    int64_t lo, hi;
    share(t->count, i, t->tasks, &lo, &hi);
    const size_t at = (size_t)(lo * s->inner);
    s->scale_shift((const float *)t->x + at, (float *)t->y + at, s->scale, s->shift, hi - lo,
                   s->inner, s->act, s->alpha, s->beta);
}

void df_exec_scale_shift(df_exec *e, const df_step *s, const float *x, float *y)
{
    task t = {.s = s, .x = x, .y = y, .count = s->outer};
    t.tasks = tasks_for(e, s->outer, s->outer * s->inner);
    run(e, scale_task, &t);
}

/* ---- Gemm: columns of Y ------------------------------------------------------ */

static void gemm_task(void *arg, size_t i)
{
    const task *t = arg;
    const df_step *s = t->s;
    int64_t n0, n1;
    share(s->n, i, t->tasks, &n0, &n1);
    const float *b = (const float *)t->b + (s->trans_b ? n0 * t->ldb : n0);
    const float *c = t->c ? (const float *)t->c + n0 * s->a_strides[1] : NULL;
    /* a_strides hold C's strides for a Gemm (compile.c) */
    s->kern->gemm(s->m, n1 - n0, s->k, s->alpha, t->x, t->lda, s->trans_a, b, t->ldb, s->trans_b,
                  c ? s->beta : 0.0f, c, s->a_strides[0], s->a_strides[1], (float *)t->y + n0, s->n);
}

void df_exec_gemm(df_exec *e, const df_step *s, const float *a, int64_t lda, const float *b,
                  int64_t ldb, const float *c, float *y)
{
    /* A classifier's Gemm streams megabytes of weights for one row of A:
     * each thread streams its share of the columns. */
    task t = {.s = s, .x = a, .b = b, .c = c, .y = y, .lda = lda, .ldb = ldb, .tasks = 1};
    if (e->threads > 1 && s->n >= 64 * e->threads && s->m * s->n * s->k >= (1 << 18))
        t.tasks = e->threads;
    run(e, gemm_task, &t);
}

/* ---- Concat and Split: outer indices ---------------------------------------- */

static void join_task(void *arg, size_t i)
{
    const task *t = arg;
    const df_step *s = t->s;
    int64_t o0, o1;
    share(s->outer, i, t->tasks, &o0, &o1);
    const void *parts_in[t->n > 0 ? t->n : 1];
    void *parts_out[t->n > 0 ? t->n : 1];
    const size_t whole = (size_t)(o0 * t->whole * s->inner) * t->elem;
    for (int k = 0; k < t->n; k++) {
        const size_t off = (size_t)(o0 * s->sizes[k] * s->inner) * t->elem;
        if (s->op == DF_OP_CONCAT)
            parts_in[k] = (const char *)t->in[k] + off;
        else
            parts_out[k] = t->out[k] ? (char *)t->out[k] + off : NULL;
    }
    if (s->op == DF_OP_CONCAT)
        s->kern->concat(t->n, parts_in, s->sizes, (char *)t->out[0] + whole, t->elem, o1 - o0,
                        s->inner);
    else
        s->kern->split((const char *)t->in[0] + whole, t->n, parts_out, s->sizes, t->elem, o1 - o0,
                       s->inner);
}

void df_exec_join(df_exec *e, const df_step *s, int n, const void *const *in, void *const *out,
                  size_t elem)
{
    task t = {.s = s, .in = in, .out = out, .elem = elem, .n = n};
    for (int k = 0; k < n; k++)
        t.whole += s->sizes[k];
    t.tasks = tasks_for(e, s->outer, s->outer * t.whole * s->inner);
    run(e, join_task, &t);
}

/* ---- ChannelShuffle: outer indices (pixels, NHWC) ---------------------------- */

static void shuffle_task(void *arg, size_t i)
{
    const task *t = arg;
    const int64_t *d = t->s->in_dims;
    int64_t o0, o1;
    share(d[0], i, t->tasks, &o0, &o1);
    const size_t per = (size_t)(d[1] * d[2] * d[3]);
    float *y = (float *)t->y + (size_t)o0 * per;
    if (d[3] == 1 && d[1] <= DF_SHUFFLE_MAX_GROUPS) { /* channels innermost: NHWC */
        const float *x[DF_SHUFFLE_MAX_GROUPS];
        const int64_t stride = df_shuffle_sources(t->s, (const float *const *)t->in, t->n, x);
        for (int64_t j = 0; j < d[1]; j++)
            x[j] += o0 * stride;
        t->s->kern->shuffle(x, stride, y, o1 - o0, d[1], d[2]);
        return;
    }
    /* one input, all of it (a Concat or a Slice is folded in only under
     * DF_SHUFFLE_MAX_GROUPS) */
    const int64_t dims[4] = {o1 - o0, d[1], d[2], d[3]};
    t->s->kern->transpose((const float *)t->in[0] + (size_t)o0 * per, y, sizeof(float), 4, dims,
                          t->s->perm);
}

/* ---- NCHW to NHWC of a float image: runs of output rows (image, row) ------- */

static void to_nhwc_task(void *arg, size_t i)
{
    const task *t = arg;
    const int64_t *d = t->s->in_dims; /* N, C, H, W */
    int64_t lo, hi;
    share(t->count, i, t->tasks, &lo, &hi);
    for (int64_t row = lo; row < hi; row++) {
        const int64_t image = row / d[2], r = row % d[2];
        df_nchw_row_to_nhwc((const float *)t->x + (size_t)image * d[1] * d[2] * d[3], d[1], d[2],
                            d[3], r, (float *)t->y + (size_t)row * d[3] * d[1]);
    }
}

void df_exec_to_nhwc(df_exec *e, const df_step *s, const float *x, float *y)
{
    const int64_t *d = s->in_dims;
    task t = {.s = s, .x = x, .y = y, .count = d[0] * d[2]};
    t.tasks = tasks_for(e, t.count, d[0] * d[1] * d[2] * d[3]);
    run(e, to_nhwc_task, &t);
}

int64_t df_shuffle_sources(const df_step *s, const float *const *in, int n_in, const float **x)
{
    /* one input holds every group's part side by side; else each is an input */
    const int64_t part = s->part_c;
    for (int64_t j = 0; j < s->in_dims[1]; j++)
        x[j] = (n_in == 1 ? in[0] + j * part : in[j]) + s->part_offset;
    return n_in == 1 ? s->in_dims[1] * part : part;
}

void df_exec_shuffle(df_exec *e, const df_step *s, const float *const *in, int n_in, float *y)
{
    const int64_t *d = s->in_dims;
    task t = {.s = s, .y = y, .n = n_in, .in = (const void *const *)in};
    t.tasks = tasks_for(e, d[0], d[0] * d[1] * d[2] * d[3]);
    run(e, shuffle_task, &t);
}
