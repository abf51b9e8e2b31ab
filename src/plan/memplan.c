/* Memory plan: one arena for all activations of a run.
 *
 * Every non-constant value lives from the unit of work (a step, or a whole
 * depth-first segment) that produces it (graph inputs: from the start) to the
 * last unit that reads it (graph outputs: to the end); values a segment keeps
 * in ring buffers take no room of their own, the rings do while it runs.
 * Walking the steps in order, a step's outputs are placed before its inputs are
 * released, so no kernel ever writes over what it reads; released blocks go to
 * a free list (best fit, coalesced), and the arena grows only when no free
 * block fits. The peak is known before the first run. Linear in the number of
 * values times the number of free blocks, which stays small for CNNs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan/program.h"
#include "plan/segment.h"

enum { ALIGN = 64 };

typedef struct block {
    size_t offset, size;
} block;

typedef struct allocator {
    block *free;
    int n_free, cap_free;
    size_t top;
    size_t peak;
} allocator;

static size_t round_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static int insert_free(allocator *a, size_t offset, size_t size)
{
    int pos = 0;
    while (pos < a->n_free && a->free[pos].offset < offset)
        pos++;
    if (a->n_free == a->cap_free) {
        int cap = a->cap_free ? a->cap_free * 2 : 32;
        block *b = realloc(a->free, (size_t)cap * sizeof *b);
        if (!b)
            return -1;
        a->free = b;
        a->cap_free = cap;
    }
    memmove(&a->free[pos + 1], &a->free[pos], (size_t)(a->n_free - pos) * sizeof(block));
    a->free[pos] = (block){offset, size};
    a->n_free++;
    /* coalesce with the next, then the previous neighbour */
    if (pos + 1 < a->n_free && a->free[pos].offset + a->free[pos].size == a->free[pos + 1].offset) {
        a->free[pos].size += a->free[pos + 1].size;
        memmove(&a->free[pos + 1], &a->free[pos + 2], (size_t)(a->n_free - pos - 2) * sizeof(block));
        a->n_free--;
    }
    if (pos > 0 && a->free[pos - 1].offset + a->free[pos - 1].size == a->free[pos].offset) {
        a->free[pos - 1].size += a->free[pos].size;
        memmove(&a->free[pos], &a->free[pos + 1], (size_t)(a->n_free - pos - 1) * sizeof(block));
        a->n_free--;
    }
    /* a free block at the top gives its room back to the top */
    if (a->n_free > 0 && a->free[a->n_free - 1].offset + a->free[a->n_free - 1].size == a->top) {
        a->top = a->free[a->n_free - 1].offset;
        a->n_free--;
    }
    return 0;
}

static size_t allocate(allocator *a, size_t size)
{
    int best = -1;
    for (int i = 0; i < a->n_free; i++)
        if (a->free[i].size >= size && (best < 0 || a->free[i].size < a->free[best].size))
            best = i;
    if (best < 0) {
        size_t offset = a->top;
        a->top += size;
        if (a->top > a->peak)
            a->peak = a->top;
        return offset;
    }
    size_t offset = a->free[best].offset;
    a->free[best].offset += size;
    a->free[best].size -= size;
    if (a->free[best].size == 0) {
        memmove(&a->free[best], &a->free[best + 1], (size_t)(a->n_free - best - 1) * sizeof(block));
        a->n_free--;
    }
    return offset;
}

/* A unit of work: one step, or a whole segment [first, last]. */
static int unit_last(const df_program *p, int i)
{
    int seg = p->steps[i].segment;
    return seg >= 0 ? p->segments[seg].last : i;
}

/* Values a segment keeps in rings get no room in the arena. */
static int in_ring(const df_program *p, int i, int v)
{
    int seg = p->steps[i].segment;
    if (seg < 0)
        return 0;
    const df_segment *s = &p->segments[seg];
    return !s->steps[i - s->first].full && s->steps[i - s->first].value == v;
}

static int step_value(const df_node *n, int k)
{
    return k < n->n_in ? n->in[k] : k == n->n_in ? n->residual : n->out[k - n->n_in - 1];
}

int df_input_read_in_place(const df_graph *g, int k)
{
    const df_value *v = &g->values[g->inputs[k]];
    return !(v->nhwc && v->rank == 4);
}

df_status df_plan_memory(df_program *p)
{
    df_graph *g = p->graph;
    int nv = g->n_values;
    int *last_use = malloc((size_t)(nv ? nv : 1) * sizeof *last_use);
    p->offsets = malloc((size_t)(nv ? nv : 1) * sizeof *p->offsets);
    allocator a = {0};
    if (!last_use || !p->offsets) {
        free(last_use);
        return df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning memory");
    }
    for (int v = 0; v < nv; v++) {
        last_use[v] = -2; /* never used */
        p->offsets[v] = SIZE_MAX;
    }
    /* lifetimes in units of work, numbered by their first step */
    for (int i = 0; i < p->n_steps; i++) {
        const df_node *n = p->steps[i].node;
        int unit = p->steps[i].segment >= 0 ? p->segments[p->steps[i].segment].first : i;
        for (int k = 0; k < n->n_in + 1 + n->n_out; k++) {
            int v = step_value(n, k);
            if (v >= 0 && last_use[v] < unit)
                last_use[v] = unit; /* an unused output still needs room */
        }
    }
    for (int k = 0; k < g->n_outputs; k++)
        last_use[g->outputs[k]] = p->n_steps;
    for (int k = 0; k < g->n_inputs; k++)
        if (last_use[g->inputs[k]] < 0)
            last_use[g->inputs[k]] = 0;

    df_status st = DF_OK;
    for (int k = 0; k < g->n_inputs; k++) {
        int v = g->inputs[k];
        if (!df_input_read_in_place(g, k))
            p->offsets[v] = allocate(&a, round_up(df_value_bytes(&g->values[v])));
    }
    for (int u = 0; u < p->n_steps && st == DF_OK; u = unit_last(p, u) + 1) {
        int end = unit_last(p, u);
        for (int i = u; i <= end; i++) {
            const df_node *n = p->steps[i].node;
            for (int k = 0; k < n->n_out; k++) {
                int v = n->out[k];
                if (v >= 0 && !g->values[v].data && p->offsets[v] == SIZE_MAX && !in_ring(p, i, v))
                    p->offsets[v] = allocate(&a, round_up(df_value_bytes(&g->values[v])));
            }
        }
        if (p->steps[u].segment >= 0) {
            /* rings live while the segment runs */
            df_segment *seg = &p->segments[p->steps[u].segment];
            size_t bytes = round_up((size_t)seg->lanes * seg->lane_bytes);
            seg->scratch_offset = allocate(&a, bytes);
            if (insert_free(&a, seg->scratch_offset, bytes) != 0)
                st = df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning memory");
        }
        /* release what this unit read for the last time (and unused outputs) */
        for (int i = u; i <= end && st == DF_OK; i++) {
            const df_node *n = p->steps[i].node;
            for (int k = 0; k < n->n_in + 1 + n->n_out; k++) {
                int v = step_value(n, k);
                if (v < 0 || p->offsets[v] == SIZE_MAX || last_use[v] != u)
                    continue;
                last_use[v] = -3; /* released: a value listed twice is released once */
                if (insert_free(&a, p->offsets[v], round_up(df_value_bytes(&g->values[v]))) != 0)
                    st = df_fail(DF_ERR_OUT_OF_MEMORY, "out of memory while planning memory");
            }
        }
    }
    p->arena_bytes = a.peak;
    free(a.free);
    free(last_use);
    return st;
}
