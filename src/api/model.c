/* The public API (include/deepfirst.h): models and sessions.
 * A model is the loaded, optimised and compiled program plus what reports need;
 * a session is an executor (arena, row tables, threads) bound to one model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/executor.h"
#include "loader/loader.h"
#include "passes/passes.h"
#include "plan/program.h"
#include "api/model_internal.h"
#include "plan/choose.h"
#include "plan/machine.h"
#include "plan/segment.h"

typedef struct op_count {
    char *op_type;
    int count;
} op_count;

struct df_model {
    df_program *program;
    df_options options;
    int threads;
    df_tensor_info *inputs, *outputs;
    char **names; /* owned storage of input and output names */
    int n_inputs, n_outputs;
    op_count *histogram;
    int n_op_types;
    int64_t params;
    size_t weight_bytes;
    df_planner planner;
    uint64_t hash;
};

struct df_session {
    const df_model *model;
    df_exec exec;
};

void df_options_init(df_options *o)
{
    memset(o, 0, sizeof *o);
    o->schedule = DF_SCHEDULE_AUTO;
}

static df_status read_file(const char *path, void **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return df_fail(DF_ERR_IO, "%s: cannot open the file", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return df_fail(DF_ERR_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return df_fail(DF_ERR_IO, "%s: read error", path);
    }
    *data = buf;
    *size = len;
    return DF_OK;
}

df_status df_model_open(const char *path, const df_options *options, df_model **model)
{
    if (!model)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_open: model is NULL");
    *model = NULL;
    if (!path)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_open: path is NULL");
    void *data = NULL;
    size_t size = 0;
    df_status st = read_file(path, &data, &size);
    if (st != DF_OK)
        return st;
    st = df_model_open_memory(data, size, path, options, model);
    free(data);
    return st;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static df_status count_ops(df_model *m, const df_graph *g)
{
    m->histogram = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *m->histogram);
    if (!m->histogram)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        int k = 0;
        while (k < m->n_op_types && strcmp(m->histogram[k].op_type, g->nodes[i].op_type) != 0)
            k++;
        if (k == m->n_op_types) {
            m->histogram[k].op_type = dup_string(g->nodes[i].op_type);
            if (!m->histogram[k].op_type)
                return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
            m->n_op_types++;
        }
        m->histogram[k].count++;
    }
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].is_param)
            m->params += df_value_numel(&g->values[v]);
    return DF_OK;
}

static df_status describe_io(df_model *m, const df_graph *g, const char *source)
{
    m->n_inputs = g->n_inputs;
    m->n_outputs = g->n_outputs;
    m->inputs = calloc((size_t)m->n_inputs + 1, sizeof *m->inputs);
    m->outputs = calloc((size_t)m->n_outputs + 1, sizeof *m->outputs);
    m->names = calloc((size_t)(m->n_inputs + m->n_outputs) + 1, sizeof *m->names);
    if (!m->inputs || !m->outputs || !m->names)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < m->n_inputs + m->n_outputs; k++) {
        int is_in = k < m->n_inputs;
        const df_value *v = &g->values[is_in ? g->inputs[k] : g->outputs[k - m->n_inputs]];
        if (v->dtype != DF_DT_F32)
            return df_fail(DF_ERR_UNSUPPORTED, "%s: %s '%s' is %s; deepfirst takes float32 only",
                           source, is_in ? "input" : "output", v->name, df_dtype_name(v->dtype));
        df_tensor_info *info = is_in ? &m->inputs[k] : &m->outputs[k - m->n_inputs];
        m->names[k] = dup_string(v->name);
        if (!m->names[k])
            return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
        info->name = m->names[k];
        info->rank = v->rank;
        info->numel = 1;
        for (int d = 0; d < v->rank; d++) {
            info->dims[d] = v->onnx_dims[d];
            info->numel *= v->onnx_dims[d];
        }
    }
    return DF_OK;
}

/* Chooses the planner and compiles. A cached tuned plan that no longer fits
 * (another deepfirst version formed different ops) is skipped, not fatal. */
static df_status plan_and_compile(df_model *m, df_graph *g, const df_options *opt,
                                  const void *data, size_t size)
{
    m->hash = df_model_hash(data, size);
    df_plan_choice choice;
    df_status st = df_plan_choice_init(opt, m->hash, m->threads, &choice);
    if (st != DF_OK) {
        df_plan_choice_free(&choice);
        return st;
    }
    for (;;) {
        int by_cost = choice.planner == DF_PLANNER_ANALYTIC || choice.planner == DF_PLANNER_LEARNED;
        df_plan_overrides over = {opt->band_rows, opt->segment_max_ops, opt->plan_seed,
                                  choice.has_spec ? &choice.spec : NULL,
                                  by_cost ? &choice.cost : NULL,
                                  choice.has_cost ? &choice.cost : NULL};
        st = df_compile(g, opt->schedule, m->threads, &over, &m->program);
        if (st == DF_OK || choice.planner != DF_PLANNER_TUNED)
            break;
        df_clear_error();
        df_plan_spec_free(&choice.spec);
        choice.has_spec = 0;
        choice.planner = choice.has_cost ? DF_PLANNER_LEARNED : DF_PLANNER_HEURISTIC;
    }
    m->planner = choice.planner;
    df_plan_choice_free(&choice);
    return st;
}

df_status df_model_open_memory(const void *data, size_t size, const char *name,
                               const df_options *options, df_model **model)
{
    if (!model)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_open_memory: model is NULL");
    *model = NULL;
    if (!data && size)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_open_memory: data is NULL");
    df_options opt;
    if (options)
        opt = *options;
    else
        df_options_init(&opt);
    const char *source = name ? name : "<memory>";
    if (opt.threads < 0 || opt.threads > 1024)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "threads must be between 0 and 1024, not %d", opt.threads);
    if (opt.band_rows < 0 || opt.segment_max_ops < 0)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "band_rows and segment_max_ops must not be negative");
    if (opt.schedule != DF_SCHEDULE_AUTO && opt.schedule != DF_SCHEDULE_LAYER &&
        opt.schedule != DF_SCHEDULE_DEPTH)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "unknown schedule %d", (int)opt.schedule);

    df_model *m = calloc(1, sizeof *m);
    if (!m)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
    m->options = opt;
    m->threads = opt.threads ? opt.threads : df_available_cores();

    df_graph *g = NULL;
    df_status st = df_load_onnx(data, size, source, &g);
    if (st == DF_OK) {
        g->memory_limit = opt.memory_limit;
        st = count_ops(m, g);
    }
    if (st == DF_OK)
        st = df_infer_shapes(g);
    if (st == DF_OK)
        st = describe_io(m, g, source);
    if (st == DF_OK) {
        df_graph_count_uses(g);
        st = df_simplify(g);
    }
    if (st == DF_OK)
        st = df_assign_layout(g);
    if (st == DF_OK)
        st = df_fold_into_shuffles(g);
    if (st == DF_OK)
        st = plan_and_compile(m, g, &opt, data, size);
    if (st != DF_OK) {
        df_graph_free(g);
        df_model_close(m);
        return st;
    }
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].data)
            m->weight_bytes += df_value_bytes(&g->values[v]);
    for (int i = 0; i < m->program->n_steps; i++) {
        const df_conv_params *c = &m->program->steps[i].conv;
        if (m->program->steps[i].weight_ohwi)
            m->weight_bytes += (size_t)c->out_c * (size_t)(c->k_h * c->k_w) *
                               (size_t)(c->in_c / c->groups) * sizeof(float);
    }
    if (opt.memory_limit && m->weight_bytes + m->program->arena_bytes > opt.memory_limit) {
        st = df_fail(DF_ERR_MEMORY_LIMIT,
                     "%s: the model needs %zu bytes (weights %zu + activations %zu), over the "
                     "memory limit of %zu bytes",
                     source, m->weight_bytes + m->program->arena_bytes, m->weight_bytes,
                     m->program->arena_bytes, opt.memory_limit);
        df_model_close(m);
        return st;
    }
    *model = m;
    return DF_OK;
}

void df_model_close(df_model *m)
{
    if (!m)
        return;
    df_program_free(m->program);
    for (int k = 0; k < m->n_inputs + m->n_outputs && m->names; k++)
        free(m->names[k]);
    free(m->names);
    free(m->inputs);
    free(m->outputs);
    for (int k = 0; k < m->n_op_types; k++)
        free(m->histogram[k].op_type);
    free(m->histogram);
    free(m);
}

int df_model_input_count(const df_model *m) { return m ? m->n_inputs : 0; }
int df_model_output_count(const df_model *m) { return m ? m->n_outputs : 0; }

df_status df_model_input(const df_model *m, int index, df_tensor_info *info)
{
    if (!m || !info || index < 0 || index >= m->n_inputs)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_input: no input %d", index);
    *info = m->inputs[index];
    return DF_OK;
}

df_status df_model_output(const df_model *m, int index, df_tensor_info *info)
{
    if (!m || !info || index < 0 || index >= m->n_outputs)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_output: no output %d", index);
    *info = m->outputs[index];
    return DF_OK;
}

df_status df_model_get_stats(const df_model *m, df_model_stats *s)
{
    if (!m || !s)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_get_stats: NULL argument");
    memset(s, 0, sizeof *s);
    s->params = m->params;
    s->flops = m->program->flops;
    s->weight_bytes = m->weight_bytes;
    s->peak_bytes = m->program->arena_bytes;
    s->ops = m->program->n_steps;
    s->threads = m->threads;
    s->schedule = m->program->schedule;
    s->planner = m->planner;
    s->hash = m->hash;
    for (int i = 0; i < m->program->n_steps; i++)
        s->predicted_us += m->program->steps[i].predicted_us;
    for (int k = 0; k < m->program->n_segments; k++)
        s->predicted_us += m->program->segments[k].predicted_us;
    return DF_OK;
}

int df_model_op_type_count(const df_model *m) { return m ? m->n_op_types : 0; }

df_status df_model_op_type(const df_model *m, int index, const char **op_type, int *count)
{
    if (!m || !op_type || !count || index < 0 || index >= m->n_op_types)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_op_type: no entry %d", index);
    *op_type = m->histogram[index].op_type;
    *count = m->histogram[index].count;
    return DF_OK;
}

int df_model_op_count(const df_model *m) { return m ? m->program->n_steps : 0; }

df_status df_model_op(const df_model *m, int index, df_op_info *info)
{
    if (!m || !info || index < 0 || index >= m->program->n_steps)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_op: no op %d", index);
    const df_step *s = &m->program->steps[index];
    const df_value *y = &m->program->graph->values[s->node->out[0]];
    memset(info, 0, sizeof *info);
    info->name = s->node->name;
    info->op_type = s->node->fused_types ? s->node->fused_types : s->node->op_type;
    info->rank = y->rank;
    for (int d = 0; d < y->rank && d < DF_MAX_RANK; d++)
        info->dims[d] = y->onnx_dims[d];
    info->flops = s->flops;
    info->segment = s->segment;
    info->predicted_us = s->predicted_us;
    return DF_OK;
}

int df_model_segment_count(const df_model *m) { return m ? m->program->n_segments : 0; }

df_status df_model_segment(const df_model *m, int index, df_segment_info *info)
{
    if (!m || !info || index < 0 || index >= m->program->n_segments)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_model_segment: no segment %d", index);
    const df_segment *seg = &m->program->segments[index];
    info->first_op = seg->first;
    info->last_op = seg->last;
    info->band_rows = seg->band;
    info->strips = seg->strips;
    info->lanes = seg->shared > 1 ? seg->shared : seg->lanes;
    info->shared = seg->shared > 1;
    info->ring_bytes = seg->lane_bytes;
    info->weight_bytes = seg->weight_bytes;
    info->predicted_us = seg->predicted_us;
    return DF_OK;
}

int df_model_plan(const df_model *m, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (!m)
        return 0;
    const df_program *p = m->program;
    df_plan_unit units[p->n_segments > 0 ? p->n_segments : 1];
    for (int k = 0; k < p->n_segments; k++)
        units[k] = (df_plan_unit){p->segments[k].first, p->segments[k].last, p->segments[k].band};
    df_plan_spec spec = {p->n_segments, units};
    return df_plan_spec_format(&spec, buf, size);
}

const char *df_planner_name(df_planner planner)
{
    switch (planner) {
    case DF_PLANNER_DEFAULT: return "default";
    case DF_PLANNER_HEURISTIC: return "heuristic";
    case DF_PLANNER_ANALYTIC: return "analytic";
    case DF_PLANNER_LEARNED: return "learned";
    case DF_PLANNER_TUNED: return "tuned";
    case DF_PLANNER_GIVEN: return "given";
    }
    return "unknown";
}

df_status df_session_create(const df_model *m, df_session **out)
{
    if (!out)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_create: session is NULL");
    *out = NULL;
    if (!m)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_create: model is NULL");
    df_session *s = calloc(1, sizeof *s);
    if (!s)
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory");
    s->model = m;
    df_status st = df_exec_init(&s->exec, m->program, m->threads);
    if (st != DF_OK) {
        free(s);
        return st;
    }
    *out = s;
    return DF_OK;
}

void df_session_destroy(df_session *s)
{
    if (!s)
        return;
    df_exec_release(&s->exec);
    free(s);
}

df_status df_session_run(df_session *s, const float *const *inputs, float *const *outputs)
{
    if (!s)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_run: session is NULL");
    if ((!inputs && s->model->n_inputs) || (!outputs && s->model->n_outputs))
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_run: inputs or outputs is NULL");
    for (int k = 0; k < s->model->n_inputs; k++)
        if (!inputs[k])
            return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_run: input %d ('%s') is NULL", k,
                           s->model->inputs[k].name);
    for (int k = 0; k < s->model->n_outputs; k++)
        if (!outputs[k])
            return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_run: output %d ('%s') is NULL", k,
                           s->model->outputs[k].name);
    return df_exec_run(&s->exec, inputs, outputs);
}

df_status df_session_enable_profiling(df_session *s, int enable)
{
    if (!s)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_enable_profiling: session is NULL");
    s->exec.profiling = enable != 0;
    return DF_OK;
}

df_status df_session_profile(const df_session *s, const df_op_profile **ops, int *count)
{
    if (!s || !ops || !count)
        return df_fail(DF_ERR_INVALID_ARGUMENT, "df_session_profile: NULL argument");
    *ops = s->exec.profile;
    *count = s->exec.profiling ? s->model->program->n_steps : 0;
    return DF_OK;
}

df_program *df_model_program(const df_model *m) { return m ? m->program : NULL; }
