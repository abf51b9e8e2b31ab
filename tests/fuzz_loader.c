/* libFuzzer target for the ONNX loader (build with -DDF_FUZZ=ON and clang).
 *
 * Beyond "does not crash", it checks the promises the loader makes to the
 * passes: every index it wrote points inside the graph, every name is a
 * string, and a constant always has data. A broken promise traps, so the
 * fuzzer saves the input. */
#include <stddef.h>
#include <stdint.h>

#include "loader/loader.h"

static int index_ok(const df_graph *g, int v, int may_be_absent)
{
    return (v >= 0 && v < g->n_values) || (may_be_absent && v == -1);
}

static int graph_ok(const df_graph *g)
{
    if (!g->source || g->opset < 11 || g->opset > 17)
        return 0;
    for (int i = 0; i < g->n_values; i++) {
        const df_value *v = &g->values[i];
        if (!v->name || v->rank < -1 || v->rank > DF_MAX_RANK)
            return 0;
        if (v->data && (v->rank < 0 || v->graph_input >= 0))
            return 0;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (!index_ok(g, g->inputs[i], 0) || g->values[g->inputs[i]].graph_input != i)
            return 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (!index_ok(g, g->outputs[i], 0) || g->values[g->outputs[i]].graph_output != i)
            return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const df_node *n = &g->nodes[i];
        if (!n->name || !n->op_type || n->n_out < 1)
            return 0;
        for (int k = 0; k < n->n_in; k++)
            if (!index_ok(g, n->in[k], 1))
                return 0;
        for (int k = 0; k < n->n_out; k++)
            if (!index_ok(g, n->out[k], 1) ||
                (n->out[k] >= 0 && g->values[n->out[k]].producer != i))
                return 0;
        for (int a = 0; a < n->n_attrs; a++) {
            const df_attr *attr = &n->attrs[a];
            if (!attr->name || (attr->type == DF_ATTR_STRING && !attr->s))
                return 0;
            if (attr->type == DF_ATTR_TENSOR &&
                (!index_ok(g, attr->tensor, 0) || !g->values[attr->tensor].data))
                return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    df_graph *g = NULL;
    if (df_load_onnx(data, size, "fuzz.onnx", &g) == DF_OK) {
        if (!graph_ok(g))
            __builtin_trap();
        df_graph_free(g);
    } else if (g != NULL) {
        __builtin_trap();
    }
    return 0;
}
