/* Forming depth-first segments, and the band walk that both sizes and runs them
 * (see segment.h). The heuristic planner lives here too: segments as long as
 * their weights fit in about half of L2, bands as tall as the rings allow
 * within the same budget. */
#define _GNU_SOURCE
#include "plan/segment.h"

#include "plan/planner.h"

#include <cpuinfo.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static df_status oom(void) { return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning"); }

/* ---- the walk ------------------------------------------------------------- */

/* First input row that output rows starting at y need. */
static int input_lo(const df_seg_step *c, df_row_map map, int y)
{
    if (map == DF_ROWS_SAME)
        return y;
    int lo = y * c->stride_h - c->pad_top;
    return lo < 0 ? 0 : lo;
}

/* One past the last input row that output rows before y need (y > 0). */
static int input_hi(const df_seg_step *c, df_row_map map, int y, int in_h)
{
    if (map == DF_ROWS_SAME)
        return y;
    int hi = (y - 1) * c->stride_h - c->pad_top + (c->k_h - 1) * c->dil_h + 1;
    return hi < 0 ? 0 : (hi > in_h ? in_h : hi);
}

/* Strip ranges of the last step, and for every step the rows each strip owns. */
static int own_bound(int h, int s, int strips) { return (int)((int64_t)h * s / strips); }

typedef void (*depth_fn)(df_segment *seg, int strip, int j, int y0, const int *done);

static void walk(df_segment *seg, int strip, df_seg_compute_fn compute, void *ctx,
                 depth_fn record, int *start_out, int *end_out)
{
    int n = seg->n;
    int start[n], done[n], need[n];
    const int last = n - 1;
    const int Y0 = own_bound(seg->steps[last].out_h, strip, seg->strips);
    const int Y1 = own_bound(seg->steps[last].out_h, strip + 1, seg->strips);

    /* where each step starts: the first row its consumers need */
    start[last] = Y0;
    for (int j = last - 1; j >= 0; j--) {
        const df_seg_step *p = &seg->steps[j];
        int st = INT_MAX;
        for (int c = j + 1; c < n; c++)
            for (int k = 0; k < seg->steps[c].n_inputs; k++)
                if (seg->steps[c].inputs[k].producer == j) {
                    int lo = input_lo(&seg->steps[c], seg->steps[c].inputs[k].map, start[c]);
                    st = lo < st ? lo : st;
                }
        int own = own_bound(p->out_h, strip, seg->strips);
        if (p->full || st == INT_MAX)
            st = own < st ? own : st;
        start[j] = st > p->out_h ? p->out_h : st;
    }
    for (int j = 0; j < n; j++)
        done[j] = start[j];

    for (int b0 = Y0; b0 < Y1; b0 += seg->band) {
        int b1 = b0 + seg->band < Y1 ? b0 + seg->band : Y1;
        int final = b1 == Y1;
        need[last] = b1;
        for (int j = last - 1; j >= 0; j--) {
            const df_seg_step *p = &seg->steps[j];
            int nd = done[j];
            for (int c = j + 1; c < n; c++) {
                if (need[c] <= done[c])
                    continue;
                for (int k = 0; k < seg->steps[c].n_inputs; k++)
                    if (seg->steps[c].inputs[k].producer == j) {
                        int hi = input_hi(&seg->steps[c], seg->steps[c].inputs[k].map, need[c], p->out_h);
                        nd = hi > nd ? hi : nd;
                    }
            }
            if (final && p->full) {
                int own = own_bound(p->out_h, strip + 1, seg->strips);
                nd = own > nd ? own : nd;
            }
            need[j] = nd > p->out_h ? p->out_h : nd;
        }
        for (int j = 0; j < n; j++) {
            if (need[j] <= done[j])
                continue;
            if (record)
                record(seg, strip, j, done[j], done);
            if (compute)
                compute(ctx, j, done[j], need[j]);
            done[j] = need[j];
        }
    }
    if (start_out)
        memcpy(start_out, start, sizeof start);
    if (end_out)
        memcpy(end_out, done, sizeof done);
}

void df_segment_walk(const df_segment *s, int strip, df_seg_compute_fn compute, void *ctx)
{
    walk((df_segment *)s, strip, compute, ctx, NULL, NULL, NULL);
}

/* Before local step j computes rows from y0, its ring inputs must still hold
 * every row from the first it reads up to the last its producer has made. */
static void record_depth(df_segment *seg, int strip, int j, int y0, const int *done)
{
    const df_seg_step *c = &seg->steps[j];
    for (int k = 0; k < c->n_inputs; k++) {
        df_seg_step *p = &seg->steps[c->inputs[k].producer];
        if (p->full)
            continue;
        int need = done[c->inputs[k].producer] - input_lo(c, c->inputs[k].map, y0);
        if (need > p->depth)
            p->depth = need;
    }
}

int df_segment_row_slot(const df_segment *s, int strip, int j, int r, int *slot)
{
    const df_seg_step *st = &s->steps[j];
    if (!st->full) {
        *slot = r % st->depth;
        return 1;
    }
    if (s->strips == 1)
        return 0;
    int i = strip * s->n + j;
    /* rows it owns go to the tensor; so do rows it never computes, which no
     * one in this lane reads */
    if ((r >= s->own_lo[i] && r < s->own_hi[i]) || r < s->start[i] || r >= s->end[i])
        return 0;
    *slot = r < s->own_lo[i] ? r - s->start[i] : (s->own_lo[i] - s->start[i]) + (r - s->own_hi[i]);
    return 1;
}

/* Sizes rings and halo scratch for the segment's band and strips. */
static df_status size_segment(df_segment *seg)
{
    int n = seg->n;
    for (int j = 0; j < n; j++)
        seg->steps[j].depth = 1;
    free(seg->start);
    free(seg->end);
    free(seg->own_lo);
    free(seg->own_hi);
    size_t cells = (size_t)seg->strips * (size_t)n;
    seg->start = malloc(cells * sizeof(int));
    seg->end = malloc(cells * sizeof(int));
    seg->own_lo = malloc(cells * sizeof(int));
    seg->own_hi = malloc(cells * sizeof(int));
    if (!seg->start || !seg->end || !seg->own_lo || !seg->own_hi)
        return oom();
    for (int s = 0; s < seg->strips; s++) {
        walk(seg, s, NULL, NULL, record_depth, seg->start + s * n, seg->end + s * n);
        for (int j = 0; j < n; j++) {
            seg->own_lo[s * n + j] = own_bound(seg->steps[j].out_h, s, seg->strips);
            seg->own_hi[s * n + j] = own_bound(seg->steps[j].out_h, s + 1, seg->strips);
        }
    }
    seg->lane_bytes = 0;
    for (int j = 0; j < n; j++) {
        df_seg_step *st = &seg->steps[j];
        if (st->full) {
            st->depth = 0;
            if (seg->strips > 1)
                for (int s = 0; s < seg->strips; s++) {
                    int i = s * n + j;
                    int halo = (seg->own_lo[i] - seg->start[i]) + (seg->end[i] - seg->own_hi[i]);
                    st->depth = halo > st->depth ? halo : st->depth;
                }
        }
        st->lane_offset = seg->lane_bytes;
        seg->lane_bytes += ((size_t)st->depth * st->row_bytes + 63) / 64 * 64;
    }
    return DF_OK;
}

/* ---- forming segments ----------------------------------------------------- */

static int nhwc4(const df_value *v) { return v->nhwc && v->rank == 4 && v->dtype == DF_DT_F32; }

/* Whether every input of n (at most a segment's) is an NHWC image of y's
 * batch, height and width, so output row r reads row r of each. */
static int rows_of_inputs(const df_graph *g, const df_node *n, const df_value *y)
{
    if (n->n_in > DF_SEG_MAX_INPUTS)
        return 0;
    for (int k = 0; k < n->n_in; k++) {
        const df_value *v = &g->values[n->in[k]];
        if (!nhwc4(v) || memcmp(v->dims, y->dims, sizeof v->dims[0] * 3) != 0)
            return 0;
    }
    return 1;
}

/* Whether a step computes output rows from a window of input rows, and so may
 * join a segment. */
static int row_local(const df_program *p, const df_step *s)
{
    const df_graph *g = p->graph;
    const df_node *n = s->node;
    if (n->n_out != 1 || !nhwc4(&g->values[n->out[0]]))
        return 0;
    const df_value *y = &g->values[n->out[0]];
    if (y->dims[1] <= 1)
        return 0; /* one row: nothing to stream, depth first would only add overhead */
    switch (s->op) {
    case DF_OP_CONV: case DF_OP_MAXPOOL: case DF_OP_AVGPOOL: case DF_OP_BATCHNORM:
    case DF_OP_RELU: case DF_OP_SIGMOID: case DF_OP_TANH: case DF_OP_HARDSWISH:
    case DF_OP_LEAKYRELU: case DF_OP_HARDSIGMOID: case DF_OP_CLIP: case DF_OP_SILU:
    case DF_OP_NEG: case DF_OP_SQRT: case DF_OP_EXP: case DF_OP_ABS:
        return nhwc4(&g->values[n->in[0]]);
    case DF_OP_ADD: case DF_OP_SUB: case DF_OP_MUL: case DF_OP_DIV: case DF_OP_POW:
        for (int k = 0; k < 2; k++) {
            const df_value *v = &g->values[n->in[k]];
            if (v->dtype != DF_DT_F32 || v->rank != 4)
                return 0;
            int same = memcmp(v->dims, y->dims, sizeof v->dims[0] * 4) == 0;
            int flat = v->dims[1] == 1 && (v->dims[0] == 1 || v->dims[0] == y->dims[0]);
            /* rows come through row tables, which only activations have */
            if (same && (v->data || !v->nhwc))
                return 0;
            if (!same && !flat)
                return 0;
        }
        return 1;
    case DF_OP_SLICE: {
        /* a slice of the channels only: each output row from its input row */
        const df_value *x = &g->values[n->in[0]];
        if (!nhwc4(x) || s->rank != 4 || s->steps[3] != 1)
            return 0;
        for (int d = 0; d < 3; d++)
            if (s->starts[d] != 0 || s->steps[d] != 1 || x->dims[d] != y->dims[d])
                return 0;
        return 1;
    }
    case DF_OP_CHANNEL_SHUFFLE:
        return df_attr_int(n, "axis", 1) == 3 &&
               df_attr_int(n, "group", 1) <= DF_SHUFFLE_MAX_GROUPS && rows_of_inputs(g, n, y);
    case DF_OP_TRANSPOSE:
        return df_step_to_nhwc(g, s);
    case DF_OP_CONCAT:
        return df_attr_int(n, "axis", 1) == 3 && rows_of_inputs(g, n, y);
    default:
        return 0;
    }
}

static int producer_in(const df_program *p, int first, int upto, int value)
{
    for (int i = first; i < upto; i++)
        if (p->steps[i].node->out[0] == value)
            return i - first;
    return -1;
}

/* Whether step i can join the segment that starts at first. */
static int can_join(const df_program *p, int first, int i)
{
    const df_graph *g = p->graph;
    const df_step *s = &p->steps[i];
    if (!row_local(p, s))
        return 0;
    const df_value *y = &g->values[s->node->out[0]];
    if (y->dims[0] != g->values[p->steps[first].node->out[0]].dims[0])
        return 0;
    /* a broadcast operand made inside the segment would need all its rows first */
    for (int k = 0; k < s->node->n_in; k++) {
        int v = s->node->in[k];
        if (v < 0)
            continue;
        int local = producer_in(p, first, i, v);
        if (local >= 0 && (g->values[v].rank != 4 || g->values[v].dims[1] != y->dims[1]) &&
            !(s->op == DF_OP_CONV || s->op == DF_OP_MAXPOOL || s->op == DF_OP_AVGPOOL))
            return 0;
    }
    return 1;
}

/* Who reads value v outside steps [first, last]? */
static int read_outside(const df_program *p, int first, int last, int v)
{
    const df_graph *g = p->graph;
    if (g->values[v].graph_output >= 0)
        return 1;
    for (int i = 0; i < p->n_steps; i++) {
        if (i >= first && i <= last)
            continue;
        const df_node *n = p->steps[i].node;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == v)
                return 1;
        if (n->residual == v)
            return 1;
    }
    return 0;
}

static df_status describe_segment(df_program *p, df_segment *seg)
{
    const df_graph *g = p->graph;
    seg->n = seg->last - seg->first + 1;
    seg->steps = calloc((size_t)seg->n, sizeof *seg->steps);
    if (!seg->steps)
        return oom();
    for (int j = 0; j < seg->n; j++) {
        const df_step *s = &p->steps[seg->first + j];
        df_seg_step *st = &seg->steps[j];
        const df_value *y = &g->values[s->node->out[0]];
        st->step = seg->first + j;
        st->value = s->node->out[0];
        st->out_h = (int)y->dims[1];
        st->row_bytes = (size_t)(y->dims[2] * y->dims[3]) * sizeof(float);
        st->full = j == seg->n - 1 || read_outside(p, seg->first, seg->last, st->value);
        st->k_h = 1;
        st->stride_h = 1;
        st->dil_h = 1;
        if (s->op == DF_OP_CONV) {
            st->k_h = s->conv.k_h;
            st->stride_h = s->conv.stride_h;
            st->dil_h = s->conv.dil_h;
            st->pad_top = s->conv.pad_top;
            st->in_h = s->conv.in_h;
            seg->weight_bytes += (size_t)s->conv.out_c * (size_t)(s->conv.k_h * s->conv.k_w) *
                                 (size_t)(s->conv.in_c / s->conv.groups) * sizeof(float);
        } else if (s->op == DF_OP_MAXPOOL || s->op == DF_OP_AVGPOOL) {
            st->k_h = s->pool.k_h;
            st->stride_h = s->pool.stride_h;
            st->dil_h = s->pool.dil_h;
            st->pad_top = s->pool.pad_top;
            st->in_h = s->pool.in_h;
        }
        int windowed = s->op == DF_OP_CONV || s->op == DF_OP_MAXPOOL || s->op == DF_OP_AVGPOOL;
        for (int k = 0; k < s->node->n_in + 1; k++) {
            int v = k < s->node->n_in ? s->node->in[k] : s->node->residual;
            if (v < 0 || g->values[v].data)
                continue;
            int local = producer_in(p, seg->first, seg->first + j, v);
            if (local < 0)
                continue;
            if (st->n_inputs == DF_SEG_MAX_INPUTS)
                return df_fail(DF_ERR_INTERNAL, "segment step with too many inputs");
            st->inputs[st->n_inputs].producer = local;
            st->inputs[st->n_inputs].map = windowed && k == 0 ? DF_ROWS_WINDOW : DF_ROWS_SAME;
            st->n_inputs++;
        }
    }
    return DF_OK;
}

static unsigned next_random(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 8) & 0xffffff;
}

void df_cpu_caches(size_t *l1, size_t *l2, size_t *l3)
{
    size_t sizes[3] = {0, 0, 0};
    if (cpuinfo_initialize()) {
        const struct cpuinfo_cache *c[3] = {cpuinfo_get_l1d_cache(0), cpuinfo_get_l2_cache(0),
                                            cpuinfo_get_l3_cache(0)};
        for (int i = 0; i < 3; i++)
            sizes[i] = c[i] ? c[i]->size : 0;
    }
    /* Under some hypervisors cpuinfo finds no cache descriptions; glibc's
     * sysconf reads them from cpuid itself. */
    static const int names[3] = {_SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL2_CACHE_SIZE,
                                 _SC_LEVEL3_CACHE_SIZE};
    for (int i = 0; i < 3; i++) {
        if (sizes[i])
            continue;
        long v = sysconf(names[i]);
        sizes[i] = v > 0 ? (size_t)v : 0;
    }
    if (l1)
        *l1 = sizes[0];
    if (l2)
        *l2 = sizes[1];
    if (l3)
        *l3 = sizes[2];
}

/* The heuristic's budget for a band's working set, weights included: half of
 * L2 (512 KiB assumed when the CPU does not say). */
static size_t cache_budget(void)
{
    size_t l2;
    df_cpu_caches(NULL, &l2, NULL);
    return (l2 ? l2 : 512 * 1024) / 2;
}

/* Sharing a segment's steps costs a fork and join per step and band (about
 * 1-2 us here): it pays for steps of a few MFLOP, as in MobileNetV2's and
 * ResNet's 14x14 and 7x7 stages, not for ShuffleNet's small 1x1 convs,
 * slices and shuffles, which ran 1.8x slower shared than in one lane. */
#define SHARE_MIN_STEP_FLOPS 10e6 /* per step over the whole image */
#define SHARE_MIN_CALL_FLOPS 2.5e6 /* per step and band */

static double mean_step_flops(const df_program *p, const df_segment *seg)
{
    double sum = 0.0;
    for (int j = 0; j < seg->n; j++)
        sum += (double)p->steps[seg->steps[j].step].flops;
    return sum / seg->n / seg->batch;
}

/* The weights each thread reads per band: its part when threads share the
 * steps. Past the cache budget, every band reads them again. */
static size_t thread_weight_bytes(const df_segment *seg)
{
    return seg->weight_bytes / (size_t)(seg->shared > 1 ? seg->shared : 1);
}

/* The least band of a shared segment whose steps outweigh the fork and join
 * around each (1 for other segments). */
static int least_band(const df_program *p, const df_segment *seg)
{
    if (seg->shared <= 1)
        return 1;
    const int last_h = seg->steps[seg->n - 1].out_h;
    const int band = (int)ceil(last_h * SHARE_MIN_CALL_FLOPS / mean_step_flops(p, seg));
    return band < 1 ? 1 : (band > last_h ? last_h : band);
}

/* How threads split a described segment: lanes of images when the batch has
 * enough; strips of one image when it is tall enough that each thread has
 * eight rows; else the threads share each step, if its steps are big enough;
 * else strips of four rows or more. At fewer rows than that, the halo rows
 * recomputed at the seams and a 4:3 split of 7 rows cost more than sharing.
 * *use = 0 when it is better run layer by layer (nothing above fits). A
 * segment that must run anyway (the depth schedule, a given plan) shares
 * steps of a few MFLOP too: in one lane the other threads would wait, and
 * MobileNetV3's 7x7 segments ran at 0.51-0.60x their layer-by-layer time on
 * 2 threads so. */
static void choose_split(const df_program *p, df_segment *seg, int threads, int forced, int *use)
{
    const int last_h = seg->steps[seg->n - 1].out_h;
    *use = 1;
    seg->strips = 1;
    seg->lanes = 1;
    seg->shared = 1;
    if (threads <= 1)
        return;
    if (seg->batch >= threads) {
        seg->lanes = threads;
    } else if (seg->batch == 1 && last_h >= 8 * threads) {
        seg->strips = threads;
        seg->lanes = threads;
    } else if (seg->batch == 1 && mean_step_flops(p, seg) >= SHARE_MIN_STEP_FLOPS) {
        seg->shared = threads;
    } else if (seg->batch == 1 && last_h >= 4 * threads) {
        seg->strips = threads;
        seg->lanes = threads;
    } else if (!forced) {
        *use = 0;
    } else if (seg->batch == 1 && mean_step_flops(p, seg) >= SHARE_MIN_CALL_FLOPS) {
        seg->shared = threads;
    } else {
        seg->lanes = seg->batch;
    }
}

/* Picks the band height: the tallest band whose working set (one lane's rings
 * plus the weights) fits the budget; bands of one row when none does (for
 * shared steps, the least band their fork and join allows). */
static df_status choose_band(const df_program *p, df_segment *seg, const df_plan_overrides *over,
                             unsigned *rng)
{
    const int last_h = seg->steps[seg->n - 1].out_h;
    if (over && over->seed) {
        seg->band = 1 + (int)(next_random(rng) % (unsigned)last_h);
        return size_segment(seg);
    }
    if (over && over->band > 0) {
        seg->band = over->band < last_h ? over->band : last_h;
        return size_segment(seg);
    }
    size_t budget = cache_budget();
    /* threads sharing the steps each read their part of the weights; when
     * that part alone passes the budget, the fewest bands do best: the whole
     * image (these are the small ones) */
    const size_t weights = thread_weight_bytes(seg);
    if (seg->shared > 1 && weights > budget) {
        seg->band = last_h;
        return size_segment(seg);
    }
    const int min_band = least_band(p, seg);
    static const int bands[] = {16, 8, 4, 2, 1};
    for (size_t b = 0; b < sizeof bands / sizeof bands[0]; b++) {
        seg->band = bands[b] < last_h ? bands[b] : last_h;
        if (seg->band < min_band)
            seg->band = min_band;
        df_status st = size_segment(seg);
        if (st != DF_OK || seg->lane_bytes + weights <= budget)
            return st;
    }
    return DF_OK;
}

/* Describes steps [first, last] as a segment, split for the threads, sized
 * with bands of one row (the smallest working set it can have). */
static df_status trial_segment(df_program *p, int first, int last, int threads, int forced,
                               df_segment *seg, int *use)
{
    memset(seg, 0, sizeof *seg);
    seg->first = first;
    seg->last = last;
    df_status st = describe_segment(p, seg);
    if (st != DF_OK)
        return st;
    seg->batch = (int)p->graph->values[p->steps[first].node->out[0]].dims[0];
    choose_split(p, seg, threads, forced, use);
    seg->band = 1;
    return size_segment(seg);
}

df_status df_segment_build(df_program *p, int first, int last, int band, int threads,
                           df_segment *seg)
{
    int use;
    df_status st = trial_segment(p, first, last, threads, 1, seg, &use);
    if (st != DF_OK)
        return st;
    const int last_h = seg->steps[seg->n - 1].out_h;
    seg->band = band < 1 ? 1 : (band > last_h ? last_h : band);
    return seg->band == 1 ? DF_OK : size_segment(seg);
}

int df_segment_band_sensible(const df_program *p, const df_segment *seg)
{
    const int last_h = seg->steps[seg->n - 1].out_h;
    if (seg->band >= last_h)
        return 1;
    return thread_weight_bytes(seg) <= cache_budget() && seg->band >= least_band(p, seg);
}

int df_segment_can_start(const df_program *p, int i) { return row_local(p, &p->steps[i]); }
int df_segment_can_join(const df_program *p, int first, int i) { return can_join(p, first, i); }

static void free_segment(df_segment *seg)
{
    free(seg->steps);
    free(seg->start);
    free(seg->end);
    free(seg->own_lo);
    free(seg->own_hi);
    memset(seg, 0, sizeof *seg);
}

/* The auto schedule's test of whether a segment pays: it must keep out of
 * memory at least one tensor that would not stay in L2 anyway. Where every
 * intermediate fits L2, layer by layer already works from cache, and bands
 * only add overhead (measured: ResNet-50 at 224x224 runs about 5% slower
 * depth first on a core with 1 MiB of L2). */
static int saves_traffic(const df_program *p, const df_segment *seg)
{
    size_t l2;
    df_cpu_caches(NULL, &l2, NULL);
    if (!l2)
        l2 = 512 * 1024;
    for (int j = 0; j < seg->n; j++)
        if (!seg->steps[j].full &&
            df_value_bytes(&p->graph->values[seg->steps[j].value]) > l2)
            return 1;
    return 0;
}

static int over_max_steps(const df_plan_overrides *over) { return over ? over->max_steps : 0; }

/* When the budget, not the graph, ends a segment, the tensor at the cut is
 * written whole. Cutting where it is narrowest (after a MobileNet block's
 * projection rather than after its 6x expansion) costs the least traffic and
 * memory, so look back a few steps for the smallest output. */
static int narrowest_cut(const df_program *p, int first, int last)
{
    int best = last;
    size_t best_bytes = df_value_bytes(&p->graph->values[p->steps[last].node->out[0]]);
    for (int k = last - 1; k > first && k >= last - 3; k--) {
        size_t bytes = df_value_bytes(&p->graph->values[p->steps[k].node->out[0]]);
        if (bytes < best_bytes) {
            best = k;
            best_bytes = bytes;
        }
    }
    return best;
}

static df_status plan_explicit(df_program *p, const df_plan_spec *spec, int threads);
static df_status plan_by_cost(df_program *p, const df_cost_model *cm, int threads);

df_status df_plan_segments(df_program *p, df_schedule schedule, int threads,
                           const df_plan_overrides *over)
{
    for (int i = 0; i < p->n_steps; i++)
        p->steps[i].segment = -1;
    if (schedule == DF_SCHEDULE_LAYER && !(over && over->plan))
        return DF_OK;
    int forced = schedule == DF_SCHEDULE_DEPTH;
    size_t budget = cache_budget();
    unsigned rng = over && over->seed ? over->seed : 1;
    p->segments = calloc((size_t)(p->n_steps ? p->n_steps : 1), sizeof *p->segments);
    if (!p->segments)
        return oom();
    if (over && over->plan)
        return plan_explicit(p, over->plan, threads);
    if (over && over->cost && schedule == DF_SCHEDULE_AUTO && !over->seed && !over->band &&
        !over->max_steps)
        return plan_by_cost(p, over->cost, threads);
    int i = 0;
    while (i < p->n_steps) {
        if (!row_local(p, &p->steps[i])) {
            i++;
            continue;
        }
        int first = i, last = i;
        int limit = over && over->max_steps > 0 ? over->max_steps : INT_MAX;
        if (over && over->seed)
            limit = 1 + (int)(next_random(&rng) % 12u);
        /* grow while the working set of one-row bands fits (random plans: any size) */
        df_segment seg;
        int use = 1;
        df_status st = DF_OK;
        while (last + 1 < p->n_steps && last + 1 - first < limit && can_join(p, first, last + 1)) {
            if (!(over && over->seed) && last > first) {
                st = trial_segment(p, first, last + 1, threads, forced, &seg, &use);
                size_t bytes = seg.lane_bytes + seg.weight_bytes;
                free_segment(&seg);
                if (st != DF_OK)
                    return st;
                if (bytes > budget)
                    break;
            }
            last++;
        }
        int stopped_early = last + 1 < p->n_steps && can_join(p, first, last + 1);
        if (stopped_early && !(over && over->seed) && over_max_steps(over) == 0)
            last = narrowest_cut(p, first, last);
        if (last == first) {
            i = last + 1;
            continue;
        }
        st = trial_segment(p, first, last, threads, forced, &seg, &use);
        if (st == DF_OK && use && !forced && !saves_traffic(p, &seg))
            use = 0;
        if (st == DF_OK && use)
            st = choose_band(p, &seg, over, &rng);
        if (st != DF_OK || !use) {
            free_segment(&seg);
            if (st != DF_OK)
                return st;
            i = last + 1;
            continue;
        }
        for (int k = first; k <= last; k++)
            p->steps[k].segment = p->n_segments;
        p->segments[p->n_segments++] = seg;
        i = last + 1;
    }
    return DF_OK;
}

void df_segment_release(df_segment *seg) { free_segment(seg); }

/* Segments exactly as a plan lists them, each checked: the library is handed
 * plans from files and options, so a wrong one is an error, not a crash. */
static df_status plan_explicit(df_program *p, const df_plan_spec *spec, int threads)
{
    int prev_last = -1;
    for (int u = 0; u < spec->n; u++) {
        const df_plan_unit *pu = &spec->units[u];
        if (pu->first <= prev_last || pu->last <= pu->first || pu->last >= p->n_steps ||
            pu->band < 1)
            return df_fail(DF_ERR_INVALID_ARGUMENT,
                           "plan: segment %d-%d/%d: segments must be in order, not overlap, "
                           "hold at least two of the %d ops and have a band of at least 1 row",
                           pu->first, pu->last, pu->band, p->n_steps);
        if (!row_local(p, &p->steps[pu->first]))
            return df_fail(DF_ERR_INVALID_ARGUMENT,
                           "plan: segment %d-%d: op %d (%s, %s) cannot run in bands", pu->first,
                           pu->last, pu->first, p->steps[pu->first].node->name,
                           p->steps[pu->first].node->op_type);
        for (int i = pu->first + 1; i <= pu->last; i++)
            if (!can_join(p, pu->first, i))
                return df_fail(DF_ERR_INVALID_ARGUMENT,
                               "plan: segment %d-%d: op %d (%s, %s) cannot join it", pu->first,
                               pu->last, i, p->steps[i].node->name, p->steps[i].node->op_type);
        df_segment seg;
        df_status st = df_segment_build(p, pu->first, pu->last, pu->band, threads, &seg);
        if (st != DF_OK) {
            free_segment(&seg);
            return st;
        }
        for (int k = pu->first; k <= pu->last; k++)
            p->steps[k].segment = p->n_segments;
        p->segments[p->n_segments++] = seg;
        prev_last = pu->last;
    }
    return DF_OK;
}

static df_status plan_by_cost(df_program *p, const df_cost_model *cm, int threads)
{
    df_plan_candidate *c = NULL;
    int n = 0;
    df_status st = df_plan_candidates(p, threads, cm, &c, &n);
    if (st != DF_OK)
        return st;
    df_plan_spec spec;
    st = df_plan_best(p, c, n, DF_PLAN_MARGIN, &spec);
    free(c);
    if (st == DF_OK)
        st = plan_explicit(p, &spec, threads);
    df_plan_spec_free(&spec);
    return st;
}

void df_segments_free(df_program *p)
{
    for (int s = 0; s < p->n_segments; s++)
        free_segment(&p->segments[s]);
    free(p->segments);
    p->segments = NULL;
    p->n_segments = 0;
}
