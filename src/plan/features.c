/* Features of units of work and the roofline estimate (see features.h). */
#include "plan/features.h"

#include <math.h>
#include <string.h>

#include "kernels/dispatch.h"

const char *const df_feature_names[DF_F_COUNT] = {
    "depth", "steps", "mflop_1x1", "mflop_kxk", "mflop_dw", "mflop_other", "mb_in", "mb_out",
    "mb_ring", "mb_weights", "ws_l1", "ws_l2", "ws_l3", "in_l3", "band", "passes", "out_h",
    "row_kb", "min_channels", "batch", "threads", "lanes", "strips", "halo", "imbalance",
    "pad_waste", "calls", "cin_group", "kernel", "stride", "out_w", "compute_us", "memory_us", "analytic_us",
};

/* Share of the FMA peak each kind of arithmetic can reach when its data is in
 * L1: dense convolutions are register-blocked GEMMs; a depthwise conv does one
 * multiply-add per weight load; pooling and elementwise ops do no FMAs at all.
 * The learned correction absorbs what these round numbers miss. */
static const double kind_efficiency[4] = {0.85, 0.80, 0.30, 0.15};
enum { KIND_1X1, KIND_KXK, KIND_DW, KIND_OTHER };

/* Kernel call overhead (row tables, dispatch, loop setup), microseconds. */
static const double call_us = 0.05;

static int is_activation(const df_value *v) { return v->producer >= 0 || v->graph_input >= 0; }

static int step_kind(const df_step *s)
{
    if (s->op != DF_OP_CONV)
        return KIND_OTHER;
    const df_conv_params *c = &s->conv;
    if (c->groups > 1 && c->groups == c->in_c && c->in_c == c->out_c)
        return KIND_DW;
    return c->k_h == 1 && c->k_w == 1 ? KIND_1X1 : KIND_KXK;
}

static size_t step_weight_bytes(const df_step *s)
{
    if (s->op != DF_OP_CONV)
        return 0;
    const df_conv_params *c = &s->conv;
    return ((size_t)c->out_c * (size_t)(c->k_h * c->k_w) * (size_t)(c->in_c / c->groups) +
            (size_t)c->out_c) * sizeof(float);
}

static int vector_floats(void)
{
    const char *isa = df_kernel_isa();
    return strcmp(isa, "avx512") == 0 ? 16 : strcmp(isa, "avx2+fma") == 0 ? 8 : 1;
}

/* Channels padded to the vector width, as a fraction of the real ones. */
static double pad_waste(const df_step *s)
{
    if (s->op != DF_OP_CONV)
        return 0.0;
    int v = vector_floats();
    int c = s->conv.out_c;
    return (double)((c + v - 1) / v * v) / c - 1.0;
}

/* Arithmetic-weighted means of the conv shape features over steps. */
typedef struct conv_shape {
    double flops, cin, kernel, stride;
} conv_shape;

static void add_conv_shape(conv_shape *cs, const df_step *s)
{
    if (s->op != DF_OP_CONV)
        return;
    const df_conv_params *c = &s->conv;
    double f = (double)s->flops;
    cs->flops += f;
    cs->cin += f * (c->in_c / c->groups);
    cs->kernel += f * c->k_h * c->k_w;
    cs->stride += f * c->stride_h;
}

static void put_conv_shape(const conv_shape *cs, float *f)
{
    double w = cs->flops > 0 ? cs->flops : 1.0;
    f[DF_F_CIN_GROUP] = (float)(cs->cin / w);
    f[DF_F_KERNEL] = (float)(cs->kernel / w);
    f[DF_F_STRIDE] = (float)(cs->stride / w);
}

static int level_of(const df_machine *m, double bytes, double l3_share)
{
    if (m->l1 && bytes <= (double)m->l1)
        return DF_BW_L1;
    if (bytes <= (double)(m->l2 ? m->l2 : 512 * 1024))
        return DF_BW_L2;
    if (bytes <= l3_share)
        return DF_BW_L3;
    return DF_BW_DRAM;
}

/* Microseconds to move `bytes` at a level for one of `sharers` threads
 * streaming at once: private caches scale, the L3 and DRAM are shared. */
static double move_us(const df_machine *m, double bytes, int level, int sharers)
{
    double bw = m->bw_gbs[level];
    if (sharers > 1 && level == DF_BW_DRAM)
        bw = bw * (1.0 + 0.5 * (sharers - 1)) / sharers;
    return bytes / (bw * 1e3);
}

static double l3_share(const df_machine *m, int threads)
{
    double l3 = m->l3 ? (double)m->l3 : 8.0 * 1024 * 1024;
    return l3 / (threads > 0 ? threads : 1);
}

static const df_value *out_value(const df_program *p, const df_step *s)
{
    return &p->graph->values[s->node->out[0]];
}

static double out_rows(const df_program *p, const df_step *s)
{
    const df_value *y = out_value(p, s);
    return y->rank == 4 ? (double)(y->dims[0] * y->dims[1]) : 1.0;
}

void df_step_features(const df_program *p, int i, int threads, const df_machine *m, float *f)
{
    const df_graph *g = p->graph;
    const df_step *s = &p->steps[i];
    const df_value *y = out_value(p, s);
    memset(f, 0, sizeof(float) * DF_F_COUNT);
    double share = l3_share(m, threads);
    double rows = out_rows(p, s);
    /* a layer step splits its rows over the threads */
    int lanes = threads < rows ? threads : (int)rows;
    if (lanes < 1)
        lanes = 1;
    double per_lane = ceil(rows / lanes) / rows;
    /* a conv on a small image shares its output channels instead: every
     * thread reads the whole input and its share of the weights */
    double in_lane = per_lane, w_lane = 1.0;
    int bands = 1, parts = 1;
    if (s->op == DF_OP_CONV || s->op == DF_OP_MAXPOOL || s->op == DF_OP_AVGPOOL)
        df_step_split(s, threads, &bands, &parts);
    if (parts > 1) {
        const int units = s->conv_units;
        lanes = threads < units ? threads : units;
        per_lane = ceil((double)units / lanes) / units;
        in_lane = 1.0;
        w_lane = per_lane;
    }

    double in_bytes = 0.0, largest_in = 0.0, row_bytes = 0.0;
    int min_c = y->rank == 4 ? (int)y->dims[3] : (int)y->dims[y->rank > 0 ? y->rank - 1 : 0];
    for (int k = 0; k < s->node->n_in + 1; k++) {
        int v = k < s->node->n_in ? s->node->in[k] : s->node->residual;
        if (v < 0 || !is_activation(&g->values[v]))
            continue;
        double b = (double)df_value_bytes(&g->values[v]);
        in_bytes += b;
        largest_in = b > largest_in ? b : largest_in;
        if (g->values[v].rank == 4 && g->values[v].dims[3] < min_c)
            min_c = (int)g->values[v].dims[3];
    }
    double out_bytes = (double)df_value_bytes(y);
    double w_bytes = (double)step_weight_bytes(s);
    row_bytes = y->rank == 4 ? (double)(y->dims[2] * y->dims[3]) * sizeof(float) : out_bytes;

    int kind = step_kind(s);
    double flops = (double)s->flops;
    f[DF_F_DEPTH] = 0;
    f[DF_F_STEPS] = 1;
    f[DF_F_MFLOP_1X1 + kind] = (float)(flops / 1e6);
    f[DF_F_MB_IN] = (float)(in_bytes / 1e6);
    f[DF_F_MB_OUT] = (float)(out_bytes / 1e6);
    f[DF_F_MB_WEIGHTS] = (float)(w_bytes / 1e6);
    double ws = in_bytes * in_lane + out_bytes * per_lane + w_bytes * w_lane;
    f[DF_F_WS_L1] = (float)(ws / (double)(m->l1 ? m->l1 : 32768));
    f[DF_F_WS_L2] = (float)(ws / (double)(m->l2 ? m->l2 : 524288));
    f[DF_F_WS_L3] = (float)(ws / share);
    f[DF_F_IN_L3] = (float)(largest_in / share);
    f[DF_F_OUT_H] = (float)(y->rank == 4 ? y->dims[1] : 1);
    f[DF_F_BAND] = f[DF_F_OUT_H];
    f[DF_F_PASSES] = 1;
    f[DF_F_ROW_KB] = (float)(row_bytes / 1024.0);
    f[DF_F_MIN_CHANNELS] = (float)min_c;
    f[DF_F_BATCH] = (float)(y->rank > 0 ? y->dims[0] : 1);
    f[DF_F_THREADS] = (float)threads;
    f[DF_F_LANES] = (float)lanes;
    f[DF_F_STRIPS] = 1;
    f[DF_F_HALO] = 0;
    f[DF_F_IMBALANCE] = (float)(per_lane * lanes);
    f[DF_F_PAD_WASTE] = (float)pad_waste(s);
    f[DF_F_CALLS] = 1;
    conv_shape cs = {0};
    add_conv_shape(&cs, s);
    put_conv_shape(&cs, f);
    f[DF_F_OUT_W] = (float)(y->rank == 4 ? y->dims[2] : 1);

    double compute = flops * per_lane / (m->peak_gflops * 1e3 * kind_efficiency[kind]);
    double memory = move_us(m, in_bytes * in_lane, level_of(m, in_bytes, share * threads), lanes) +
                    move_us(m, out_bytes * per_lane, level_of(m, out_bytes, share * threads), lanes) +
                    move_us(m, w_bytes * w_lane, level_of(m, w_bytes, share), 1);
    double fork = threads > 1 ? m->fork_join_us : 0.0;
    f[DF_F_COMPUTE_US] = (float)compute;
    f[DF_F_MEMORY_US] = (float)memory;
    f[DF_F_ANALYTIC_US] = (float)((compute > memory ? compute : memory) + fork + call_us);
}

/* Largest share of step j's rows one lane computes, halo included, and the
 * halo: rows computed beyond the step's height, over its height. */
static void lane_share(const df_program *p, const df_segment *seg, int j, double *share,
                       double *halo)
{
    const df_seg_step *st = &seg->steps[j];
    if (seg->shared > 1) {
        /* depth.c: a conv's channel blocks, else the band's rows */
        const df_step *s = &p->steps[st->step];
        const int units = df_step_parts_by_channels(s, seg->shared)
                              ? s->conv_units
                              : (seg->band < st->out_h ? seg->band : st->out_h);
        *share = (double)((units + seg->shared - 1) / seg->shared) / units;
        *halo = 0.0;
        return;
    }
    if (seg->strips <= 1) {
        int per_lane = (seg->batch + seg->lanes - 1) / seg->lanes;
        *share = (double)per_lane / seg->batch;
        *halo = 0.0;
        return;
    }
    int most = 0, total = 0;
    for (int s = 0; s < seg->strips; s++) {
        int rows = seg->end[s * seg->n + j] - seg->start[s * seg->n + j];
        most = rows > most ? rows : most;
        total += rows;
    }
    *share = (double)most / st->out_h;
    *halo = (double)(total - st->out_h) / st->out_h;
}

void df_segment_features(const df_program *p, const df_segment *seg, int threads,
                         const df_machine *m, float *f)
{
    const df_graph *g = p->graph;
    memset(f, 0, sizeof(float) * DF_F_COUNT);
    double share = l3_share(m, threads);
    double ws = (double)(seg->lane_bytes + seg->weight_bytes);
    int ring_level = level_of(m, ws, share);
    int w_level = level_of(m, (double)seg->weight_bytes, share);
    const int last_h = seg->steps[seg->n - 1].out_h;
    int images_per_lane = seg->strips > 1 ? 1 : (seg->batch + seg->lanes - 1) / seg->lanes;
    const int threads_used = seg->shared > 1 ? seg->shared : seg->lanes;
    double bands = 0.0;
    for (int s = 0; s < seg->strips; s++) {
        int lo = (int)((int64_t)last_h * s / seg->strips);
        int hi = (int)((int64_t)last_h * (s + 1) / seg->strips);
        double b = ceil((double)(hi - lo) / seg->band);
        bands = b > bands ? b : bands;
    }
    double passes = bands * images_per_lane;

    double mflop[4] = {0, 0, 0, 0};
    double in_bytes = 0, out_bytes = 0, ring_bytes = 0, largest_in = 0, row_sum = 0;
    double compute = 0, memory = 0, roof = 0, halo_rows = 0, need_rows = 0, worst_share = 0, waste = 0;
    double conv_flops = 0;
    int min_c = 1 << 30;
    conv_shape cs = {0};
    for (int j = 0; j < seg->n; j++) {
        const df_seg_step *st = &seg->steps[j];
        const df_step *s = &p->steps[st->step];
        const df_value *y = &g->values[st->value];
        double lane_frac, halo;
        lane_share(p, seg, j, &lane_frac, &halo);
        worst_share = lane_frac > worst_share ? lane_frac : worst_share;
        halo_rows += halo * st->out_h;
        need_rows += st->out_h;
        row_sum += (double)st->row_bytes;
        if ((int)y->dims[3] < min_c)
            min_c = (int)y->dims[3];
        int kind = step_kind(s);
        double flops = (double)s->flops;
        mflop[kind] += flops / 1e6;
        add_conv_shape(&cs, s);
        if (s->op == DF_OP_CONV) {
            waste += pad_waste(s) * flops;
            conv_flops += flops;
        }
        double step_compute = flops * lane_frac * (1.0 + halo) /
                              (m->peak_gflops * 1e3 * kind_efficiency[kind]);
        compute += step_compute;

        double step_mem = 0.0;
        double out_b = (double)df_value_bytes(y);
        if (st->full) {
            out_bytes += out_b;
            step_mem += move_us(m, out_b * lane_frac, level_of(m, out_b, share * threads), threads_used);
        } else {
            ring_bytes += out_b;
            step_mem += move_us(m, out_b * lane_frac, ring_level, 1);
        }
        for (int k = 0; k < s->node->n_in + 1; k++) {
            int v = k < s->node->n_in ? s->node->in[k] : s->node->residual;
            if (v < 0 || !is_activation(&g->values[v]))
                continue;
            double b = (double)df_value_bytes(&g->values[v]);
            int inside = 0, ring = 0;
            for (int q = 0; q < j; q++)
                if (seg->steps[q].value == v) {
                    inside = 1;
                    ring = !seg->steps[q].full;
                }
            if (ring) {
                step_mem += move_us(m, b * lane_frac, ring_level, 1);
            } else {
                int lvl = level_of(m, b, share * threads);
                step_mem += move_us(m, b * lane_frac, lvl, threads_used);
                if (!inside) {
                    in_bytes += b;
                    largest_in = b > largest_in ? b : largest_in;
                }
            }
            if (g->values[v].rank == 4 && (int)g->values[v].dims[3] < min_c)
                min_c = (int)g->values[v].dims[3];
        }
        step_mem += move_us(m, (double)step_weight_bytes(s) * passes, w_level, 1);
        memory += step_mem;
        roof += step_compute > step_mem ? step_compute : step_mem;
    }
    double calls = passes * seg->n;
    /* lanes fork once; shared steps once per step and band */
    double fork = seg->shared > 1 ? m->fork_join_us * calls
                                  : (seg->lanes > 1 ? m->fork_join_us : 0.0);

    f[DF_F_DEPTH] = 1;
    f[DF_F_STEPS] = (float)seg->n;
    for (int k = 0; k < 4; k++)
        f[DF_F_MFLOP_1X1 + k] = (float)mflop[k];
    f[DF_F_MB_IN] = (float)(in_bytes / 1e6);
    f[DF_F_MB_OUT] = (float)(out_bytes / 1e6);
    f[DF_F_MB_RING] = (float)(ring_bytes / 1e6);
    f[DF_F_MB_WEIGHTS] = (float)(seg->weight_bytes / 1e6);
    f[DF_F_WS_L1] = (float)(ws / (double)(m->l1 ? m->l1 : 32768));
    f[DF_F_WS_L2] = (float)(ws / (double)(m->l2 ? m->l2 : 524288));
    f[DF_F_WS_L3] = (float)(ws / share);
    f[DF_F_IN_L3] = (float)(largest_in / share);
    f[DF_F_BAND] = (float)seg->band;
    f[DF_F_PASSES] = (float)passes;
    f[DF_F_OUT_H] = (float)last_h;
    f[DF_F_ROW_KB] = (float)(row_sum / seg->n / 1024.0);
    f[DF_F_MIN_CHANNELS] = (float)min_c;
    f[DF_F_BATCH] = (float)seg->batch;
    f[DF_F_THREADS] = (float)threads;
    f[DF_F_LANES] = (float)threads_used;
    f[DF_F_STRIPS] = (float)seg->strips;
    f[DF_F_HALO] = (float)(need_rows > 0 ? halo_rows / need_rows : 0.0);
    f[DF_F_IMBALANCE] = (float)(worst_share * threads_used);
    f[DF_F_PAD_WASTE] = (float)(conv_flops > 0 ? waste / conv_flops : 0.0);
    f[DF_F_CALLS] = (float)calls;
    put_conv_shape(&cs, f);
    f[DF_F_OUT_W] = (float)g->values[seg->steps[seg->n - 1].value].dims[2];
    f[DF_F_COMPUTE_US] = (float)compute;
    f[DF_F_MEMORY_US] = (float)memory;
    f[DF_F_ANALYTIC_US] = (float)(roof + fork + calls * call_us);
}
