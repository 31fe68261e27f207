/* plan_memory.c - one arena for all activations of a step.
 *
 * Every non-view node gets max_tokens rows of its columns at a fixed byte
 * offset (64-byte aligned). A buffer is live from its node to the last node
 * that reads it or any view of it; a node's output never shares memory with
 * a buffer still live at that node (inputs included), so kernels need not
 * care about aliasing. First fit over the live set, in execution order: the
 * plan is a pure function of the graph. The output node writes the caller's
 * logits buffer and gets no arena space. A node with scratch
 * (ir_scratch_row_bytes) gets max_tokens rows of it, live at that node
 * only: it overlaps neither the node's inputs nor its output. */
#include <stdlib.h>

#include "passes/pass.h"

typedef struct Live {
    int64_t offset, size; /* bytes */
    int last_use;         /* node index after which it is free */
} Live;

static int root_of(const IrGraph *g, int id) {
    while (ir_op_info(g->nodes[id].op)->is_view) id = g->nodes[id].inputs[0];
    return id;
}

static int64_t align64(int64_t x) { return (x + 63) & ~(int64_t)63; }

static int cmp_live(const void *a, const void *b) {
    const Live *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* First gap of at least size among live buffers sorted by offset. */
static int64_t first_fit(Live *live, int n, int64_t size) {
    qsort(live, (size_t)n, sizeof *live, cmp_live);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (live[i].offset - at >= size) return at;
        if (live[i].offset + live[i].size > at) at = live[i].offset + live[i].size;
    }
    return at;
}

int pass_plan_memory(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n = g->n_nodes;
    int *last = llm_xcalloc((size_t)n, sizeof *last);
    for (int i = 0; i < n; i++) last[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].n_inputs; j++) {
            int r = root_of(g, g->nodes[i].inputs[j]);
            if (last[r] < i) last[r] = i;
        }
    Live *live = llm_xcalloc(2 * (size_t)n + 1, sizeof *live); /* outputs and scratch */
    int n_live = 0;
    int64_t high = 0;
    for (int i = 0; i < n; i++) {
        IrNode *node = &g->nodes[i];
        node->arena_offset = -1;
        node->scratch_offset = -1;
        if (ir_op_info(node->op)->is_view) continue;
        int k = 0;
        for (int j = 0; j < n_live; j++)
            if (live[j].last_use >= i) live[k++] = live[j];
        n_live = k;
        if (!node->is_output) {
            int64_t size = align64((int64_t)g->max_tokens * ir_row_bytes(node));
            int64_t at = first_fit(live, n_live, size);
            live[n_live++] = (Live){at, size, last[i]};
            node->arena_offset = at;
            if (at + size > high) high = at + size;
        }
        int64_t sbytes = ir_scratch_row_bytes(g, node);
        if (sbytes > 0) {
            int64_t size = align64((int64_t)g->max_tokens * sbytes);
            int64_t at = first_fit(live, n_live, size);
            live[n_live++] = (Live){at, size, i};
            node->scratch_offset = at;
            if (at + size > high) high = at + size;
        }
    }
    g->arena_bytes = high;
    free(live);
    free(last);
    return LLM_OK;
}
