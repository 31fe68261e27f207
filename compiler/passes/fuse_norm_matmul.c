/* fuse_norm_matmul.c - an RMSNorm and the projection that reads it as one
 * kernel.
 *
 * Pattern: h = RMSNORM(x; g) used only by one MATMUL or MATMUL_SWIGLU (as
 * its input, same row kind). Rewrite at the projection's place:
 * NORM_MATMUL(x; g, W[, bias]) or NORM_MATMUL_SWIGLU(x; g, W), keeping the
 * projection's name. The normalised [R, K] activation is never stored by a
 * target that fuses the norm into its matrix-vector kernel (cuda decode:
 * each warp accumulates the sum of squares of x while it streams x for its
 * dot products and scales the result by the inverse RMS); the cpu target
 * normalises into the node's scratch and then runs the same dot products
 * as the unfused pair (bit-identical). */
#include <stdlib.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

/* The RMSNORM feeding projection node `id` if the pair can fuse; else -1. */
static int fusible_norm(const IrGraph *g, int id) {
    const IrNode *m = &g->nodes[id];
    if (m->op != IR_OP_MATMUL && m->op != IR_OP_MATMUL_SWIGLU) return -1;
    int h = m->inputs[0];
    const IrNode *n = &g->nodes[h];
    if (n->op != IR_OP_RMSNORM || n->is_output || n->rows != m->rows || ir_count_uses(g, h) != 1) return -1;
    return h;
}

int pass_fuse_norm_matmul(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    int *norm_of = llm_xcalloc((size_t)n_old, sizeof *norm_of); /* proj -> norm + 1 */
    int *absorbed = llm_xcalloc((size_t)n_old, sizeof *absorbed);
    for (int i = 0; i < n_old; i++) {
        int h = fusible_norm(g, i);
        if (h < 0) continue;
        norm_of[i] = h + 1;
        absorbed[h] = 1;
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        map[i] = -1;
        if (norm_of[i]) {
            const IrNode *m = &old[i], *n = &old[norm_of[i] - 1];
            int w[IR_MAX_WEIGHTS] = {n->weights[0]};
            for (int j = 0; j < m->n_weights; j++) w[1 + j] = m->weights[j];
            int in = map[n->inputs[0]];
            IrOp op = m->op == IR_OP_MATMUL ? IR_OP_NORM_MATMUL : IR_OP_NORM_MATMUL_SWIGLU;
            int f = ir_add_node(g, op, m->name, &in, 1, w, 1 + m->n_weights, m->rows, m->cols);
            g->nodes[f].attrs.eps = n->attrs.eps;
            g->nodes[f].attrs.layer = m->attrs.layer;
            g->nodes[f].is_output = m->is_output;
            map[i] = f;
        } else if (!absorbed[i]) {
            map[i] = ir_copy_node(g, &old[i], map);
        }
    }
    free(old);
    free(map);
    free(norm_of);
    free(absorbed);
    ir_compact(g);
    return LLM_OK;
}
