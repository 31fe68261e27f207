/* fuse_matmul_add.c - a projection and the residual add that reads it as
 * one kernel.
 *
 * Pattern: s = ADD(a, b) where one input is a MATMUL used only by this ADD
 * (same row kind, not the output). Rewrite: s = MATMUL_ADD(x, r; W[, bias])
 * at the ADD's place, x the MATMUL's input and r the other ADD input (the
 * residual stream). If both inputs qualify, the second is fused (the
 * frontend writes residual + projection). The projection's [R, N] result is
 * never stored. Numerics: each element is r + (dot + bias), the same float
 * additions as before (float addition is commutative), so a target whose
 * dot product is unchanged gives bit-identical sums. */
#include <stdlib.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

static int fusible_proj(const IrGraph *g, const IrNode *add, int id) {
    const IrNode *m = &g->nodes[id];
    return m->op == IR_OP_MATMUL && !m->is_output && m->rows == add->rows && ir_count_uses(g, id) == 1;
}

/* Which input of ADD node `add` is the fused projection: 0, 1, or -1. */
static int proj_slot(const IrGraph *g, const IrNode *add) {
    if (add->op != IR_OP_ADD || add->is_output || add->inputs[0] == add->inputs[1]) return -1;
    if (fusible_proj(g, add, add->inputs[1])) return 1;
    if (fusible_proj(g, add, add->inputs[0])) return 0;
    return -1;
}

int pass_fuse_matmul_add(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    int *slot = llm_xcalloc((size_t)n_old, sizeof *slot); /* add -> proj slot + 1 */
    int *absorbed = llm_xcalloc((size_t)n_old, sizeof *absorbed);
    for (int i = 0; i < n_old; i++) {
        int s = proj_slot(g, &g->nodes[i]);
        if (s < 0) continue;
        slot[i] = s + 1;
        absorbed[g->nodes[i].inputs[s]] = 1;
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        map[i] = -1;
        if (slot[i]) {
            const IrNode *add = &old[i], *m = &old[add->inputs[slot[i] - 1]];
            int in[2] = {map[m->inputs[0]], map[add->inputs[2 - slot[i]]]};
            int f = ir_add_node(g, IR_OP_MATMUL_ADD, add->name, in, 2, m->weights, m->n_weights, add->rows,
                                add->cols);
            g->nodes[f].attrs.layer = m->attrs.layer >= 0 ? m->attrs.layer : add->attrs.layer;
            map[i] = f;
        } else if (!absorbed[i]) {
            map[i] = ir_copy_node(g, &old[i], map);
        }
    }
    free(old);
    free(map);
    free(slot);
    free(absorbed);
    ir_compact(g);
    return LLM_OK;
}
