/* fuse_add_rmsnorm.c - the residual add and the RMSNorm that reads it as
 * one kernel.
 *
 * Pattern: s = ADD(a, b); h = RMSNORM(s, g) where s has other uses too (the
 * residual stream: the next residual add reads it). Rewrite, at the ADD's
 * place: f = ADD_RMSNORM(a, b; g, eps) of shape [R, 2C], s = SLICE_COLS(f,
 * 0, C) and h = SLICE_COLS(f, C, C) (views; every kernel takes row strides).
 * The first RMSNORM user of s is fused; the first layer's norm (of the
 * embedding) and the final norm (of select_rows) do not match and stay.
 * Numerics are unchanged: the sum is rounded to float32 and stored as
 * before, and the norm is computed from those stored floats in the same
 * order as the RMSNORM kernel (double sum of squares, then the same float
 * operations), so both halves are bit-identical to the unfused pair. */
#include <stdio.h>
#include <stdlib.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

/* The ADD read by RMSNORM node `norm` if the pair can fuse; else -1. */
static int fusible_add(const IrGraph *g, int norm) {
    const IrNode *n = &g->nodes[norm];
    if (n->op != IR_OP_RMSNORM) return -1;
    int s = n->inputs[0];
    const IrNode *add = &g->nodes[s];
    if (add->op != IR_OP_ADD || add->rows != n->rows || add->is_output) return -1;
    return ir_count_uses(g, s) >= 2 ? s : -1;
}

static void emit_fused(IrGraph *g, const IrNode *old, int add_id, int norm_id, int *map) {
    const IrNode *add = &old[add_id], *norm = &old[norm_id];
    char name[IR_NAME_MAX];
    snprintf(name, sizeof name, "%.80s.add_norm", add->name);
    int in[2] = {map[add->inputs[0]], map[add->inputs[1]]};
    int f = ir_add_node(g, IR_OP_ADD_RMSNORM, name, in, 2, norm->weights, 1, add->rows, 2 * add->cols);
    g->nodes[f].attrs.eps = norm->attrs.eps;
    g->nodes[f].attrs.layer = add->attrs.layer;
    map[add_id] = fuse_add_view(g, add->name, add, f, 0, add->cols);
    map[norm_id] = fuse_add_view(g, norm->name, norm, f, add->cols, norm->cols);
}

int pass_fuse_add_rmsnorm(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    int *norm_of = llm_xcalloc((size_t)n_old, sizeof *norm_of); /* add -> its norm + 1 */
    int *absorbed = llm_xcalloc((size_t)n_old, sizeof *absorbed);
    for (int i = 0; i < n_old; i++) {
        int s = fusible_add(g, i);
        if (s < 0 || norm_of[s]) continue;
        norm_of[s] = i + 1;
        absorbed[i] = 1;
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        if (norm_of[i]) emit_fused(g, old, i, norm_of[i] - 1, map);
        else if (!absorbed[i]) map[i] = ir_copy_node(g, &old[i], map);
    }
    free(old);
    free(map);
    free(norm_of);
    free(absorbed);
    ir_compact(g);
    return LLM_OK;
}
