/* graph.c - building and editing IrGraph: add, find, replace, compact.
 * Invariant kept by every editor: nodes stay in execution order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

void ir_graph_init(IrGraph *g, const ModelDesc *desc, int max_tokens, int block_size) {
    memset(g, 0, sizeof *g);
    if (desc) g->desc = *desc;
    g->max_tokens = max_tokens;
    g->block_size = block_size;
}

void ir_graph_free(IrGraph *g) {
    free(g->nodes);
    free(g->weights);
    free(g->rope.inv_freq);
    memset(g, 0, sizeof *g);
}

static void copy_name(char *dst, const char *src) {
    size_t n = strlen(src);
    if (n >= IR_NAME_MAX) LLM_BUG("IR name too long: %s", src);
    memcpy(dst, src, n + 1);
}

int ir_add_weight(IrGraph *g, const char *name, int64_t rows, int64_t cols, int is_vector) {
    if (g->n_weights == g->cap_weights) {
        g->cap_weights = g->cap_weights ? 2 * g->cap_weights : 64;
        g->weights = llm_xrealloc(g->weights, (size_t)g->cap_weights * sizeof *g->weights);
    }
    IrWeight *w = &g->weights[g->n_weights];
    memset(w, 0, sizeof *w);
    copy_name(w->name, name);
    w->rows = rows;
    w->cols = cols;
    w->is_vector = is_vector;
    w->dtype = DTYPE_F32;
    w->n_parts = 1;
    copy_name(w->parts[0], name);
    w->part_rows[0] = is_vector ? cols : rows;
    w->offset = -1;
    return g->n_weights++;
}

int ir_add_node(IrGraph *g, IrOp op, const char *name, const int *inputs, int n_inputs,
                const int *weights, int n_weights, IrRows rows, int cols) {
    if (n_inputs > IR_MAX_INPUTS || n_weights > IR_MAX_WEIGHTS) LLM_BUG("too many operands");
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 256;
        g->nodes = llm_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    IrNode *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    copy_name(n->name, name);
    for (int i = 0; i < n_inputs; i++) n->inputs[i] = inputs[i];
    for (int i = 0; i < n_weights; i++) n->weights[i] = weights[i];
    n->n_inputs = n_inputs;
    n->n_weights = n_weights;
    n->rows = rows;
    n->cols = cols;
    n->row_stride = cols;
    n->attrs.layer = -1;
    n->arena_offset = -1;
    n->scratch_offset = -1;
    return g->n_nodes++;
}

int ir_find_weight(const IrGraph *g, const char *name) {
    for (int i = 0; i < g->n_weights; i++)
        if (!g->weights[i].dead && strcmp(g->weights[i].name, name) == 0) return i;
    return -1;
}

int ir_find_node(const IrGraph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

void ir_replace_uses(IrGraph *g, int from, int to) {
    for (int i = 0; i < g->n_nodes; i++) {
        IrNode *n = &g->nodes[i];
        if (n->dead || i == to) continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] == from) n->inputs[j] = to;
    }
}

int ir_count_uses(const IrGraph *g, int id) {
    int uses = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_inputs; j++) uses += n->inputs[j] == id;
    }
    return uses;
}

void ir_move_before(IrGraph *g, int id, int before) {
    if (id < before) LLM_BUG("ir_move_before moves nodes earlier only");
    IrNode tmp = g->nodes[id];
    memmove(&g->nodes[before + 1], &g->nodes[before], (size_t)(id - before) * sizeof tmp);
    g->nodes[before] = tmp;
    /* renumber: ids in [before, id) shift up by one; id becomes before */
    for (int i = 0; i < g->n_nodes; i++) {
        IrNode *n = &g->nodes[i];
        for (int j = 0; j < n->n_inputs; j++) {
            int x = n->inputs[j];
            if (x == id) n->inputs[j] = before;
            else if (x >= before && x < id) n->inputs[j] = x + 1;
        }
    }
}

static void compact_weights(IrGraph *g) {
    int *used = llm_xcalloc((size_t)g->n_weights + 1, sizeof *used);
    int *map = llm_xcalloc((size_t)g->n_weights + 1, sizeof *map);
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_weights; j++) used[g->nodes[i].weights[j]] = 1;
    int out = 0;
    for (int i = 0; i < g->n_weights; i++) {
        map[i] = -1;
        if (!used[i] || g->weights[i].dead) continue;
        map[i] = out;
        g->weights[out++] = g->weights[i];
    }
    g->n_weights = out;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_weights; j++)
            g->nodes[i].weights[j] = map[g->nodes[i].weights[j]];
    free(used);
    free(map);
}

void ir_compact(IrGraph *g) {
    int *map = llm_xcalloc((size_t)g->n_nodes + 1, sizeof *map);
    int out = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        map[i] = -1;
        if (g->nodes[i].dead) continue;
        map[i] = out;
        g->nodes[out++] = g->nodes[i];
    }
    g->n_nodes = out;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_inputs; j++) {
            int m = map[g->nodes[i].inputs[j]];
            if (m < 0) LLM_BUG("node %s uses a dead node", g->nodes[i].name);
            g->nodes[i].inputs[j] = m;
        }
    free(map);
    compact_weights(g);
}

int64_t ir_row_bytes(const IrNode *n) { return (int64_t)n->cols * (int64_t)sizeof(float); }

int64_t ir_scratch_row_bytes(const IrGraph *g, const IrNode *n) {
    int64_t k = n->n_inputs > 0 ? (int64_t)g->nodes[n->inputs[0]].cols : 0, f = (int64_t)sizeof(float);
    switch (n->op) {
    case IR_OP_MATMUL:
    case IR_OP_MATMUL_ADD:
    case IR_OP_NORM_MATMUL: return k * f + 2 * (int64_t)n->cols * f;
    case IR_OP_MATMUL_SWIGLU:
    case IR_OP_NORM_MATMUL_SWIGLU: return k * f + 4 * (int64_t)n->cols * f;
    default: return 0;
    }
}

int ir_copy_node(IrGraph *g, const IrNode *src, const int *map) {
    int in[IR_MAX_INPUTS];
    for (int j = 0; j < src->n_inputs; j++) {
        in[j] = map[src->inputs[j]];
        if (in[j] < 0) LLM_BUG("node %s: input mapped to nothing", src->name);
    }
    int id = ir_add_node(g, src->op, src->name, in, src->n_inputs, src->weights, src->n_weights,
                         src->rows, src->cols);
    IrNode *n = &g->nodes[id];
    n->row_stride = src->row_stride;
    n->attrs = src->attrs;
    n->is_output = src->is_output;
    n->arena_offset = src->arena_offset;
    n->scratch_offset = src->scratch_offset;
    return id;
}
